"""Parsing of quantities with units: durations, rates, percentages, sizes.

Durations must carry a unit (``"45s"``, ``"2m"``, ``"1h30m"``, ``"250ms"``); a bare
number is refused, because "duration: 45" is ambiguous between seconds and minutes.
Each parser raises ``ValueError`` with a message that says what is allowed; the
schema turns it into a located :class:`~dvcschema.errors.ScenarioError`.

Digits are ASCII only (``re.ASCII``): a Unicode pattern's digit class also matches
``١٠`` (Arabic-Indic), which ``float`` reads as 10, so ``"١٠s"`` was ten seconds.
"""

from __future__ import annotations

import math
import re

from dvcschema.errors import shown

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)", re.ASCII)
_DURATION_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_HELP = "a duration with a unit, such as '250ms', '45s', '2m' or '1h30m'"

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$", re.ASCII)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\s*$", re.ASCII)
_SIZE_UNITS = {
    "B": 1,
    "KB": 1000,
    "KiB": 1024,
    "MB": 1000**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "GiB": 1024**3,
    "TB": 1000**4,
    "TiB": 1024**4,
}


def parse_duration_s(value: object) -> float:
    """Seconds in a duration such as ``"1h30m"``; a bare number is refused.

    >>> parse_duration_s("1m30s")
    90.0
    """
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not {DURATION_HELP}")
    text = value.strip()
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS_S[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{shown(value)} is not {DURATION_HELP}")
    return total


def format_duration_s(seconds: float) -> str:
    """The inverse of :func:`parse_duration_s` for display: ``90.0`` -> ``'1m30s'``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, secs = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if secs or not out:
        out += f"{secs:g}s"
    return out


def parse_fraction(value: object) -> float:
    """A share given as ``"5%"`` or a number in [0, 1]; returns a fraction."""
    if isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not a percentage such as '5%' or a fraction in [0, 1]")
    if isinstance(value, int | float) and 0 <= value <= 1:  # no float(): ints may be huge
        return float(value)
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match and float(match.group(1)) <= 100.0:
            return float(match.group(1)) / 100.0
    raise ValueError(f"{shown(value)} is not a percentage such as '5%' or a fraction in [0, 1]")


def parse_size_bytes(value: object) -> int:
    """A size such as ``"250KB"`` or ``"1.5MiB"``; plain integers are bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    raise ValueError(
        f"{shown(value)} is not a size such as '250KB', '1.5MiB', '16GiB' or a number of bytes"
    )


def parse_number(
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    integer: bool = False,
) -> float:
    """A finite number within bounds; booleans and text are refused."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{shown(value)} is not {kind}")
    if integer and not isinstance(value, int):
        raise ValueError(f"{shown(value)} is not {kind}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond 1.8e308
        raise ValueError(f"{shown(value)} is out of range; allowed: a finite number") from None
    if not math.isfinite(number):
        raise ValueError(f"{shown(value)} is not a finite number")
    if minimum is not None:
        too_low = number <= minimum if exclusive_minimum else number < minimum
        if too_low:
            bound = f"> {minimum:g}" if exclusive_minimum else f">= {minimum:g}"
            raise ValueError(f"{shown(value)} is out of range; allowed: {bound}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{shown(value)} is out of range; allowed: <= {maximum:g}")
    return number


def iso_utc(t_s: float) -> str:
    """Unix seconds as an ISO 8601 UTC timestamp with milliseconds."""
    import datetime as dt

    return dt.datetime.fromtimestamp(t_s, tz=dt.UTC).isoformat(timespec="milliseconds")
