"""What-ifs of a plan: a surge (every arrival rate multiplied) and spikes (a window multiplied).

``surge 2x`` doubles the whole day's arrivals; a spike ``3x@17:00+30m`` triples them
from 17:00 for 30 minutes (a sudden event). Spikes may be given several times;
overlapping spikes multiply. Both apply on top of the scenario's arrivals (and of a
derived peak): :func:`planning.curve.plan_curve` applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dvcschema.errors import ConfigError, shown
from dvcschema.rates import DAY_S
from dvcschema.units import format_duration_s, parse_duration_s
from planning.clock import clock

MAX_FACTOR = 1000.0
_SURGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[x×]?\s*", re.ASCII)
_SPIKE = re.compile(
    r"\s*(?P<factor>\d+(?:\.\d+)?)\s*[x×]?\s*@\s*(?P<h>\d{1,2}):(?P<m>\d{2})"
    r"\s*\+\s*(?P<length>\S+)\s*",
    re.ASCII,
)


@dataclass(frozen=True)
class Spike:
    """Arrivals multiplied by ``factor`` over ``[start_s, start_s + length_s)`` (clock s)."""

    factor: float
    start_s: float
    length_s: float

    def __post_init__(self) -> None:
        if not 0 < self.factor <= MAX_FACTOR:
            raise ConfigError(
                f"{shown(self.factor)} is not a spike's factor; allowed: > 0, <= 1000",
                field="--spike",
            )
        if not (self.start_s >= 0 and self.length_s > 0):
            raise ConfigError(
                f"start {shown(self.start_s)}, length {shown(self.length_s)} is not a spike;"
                " allowed: a start >= 0 s and a length > 0 s",
                field="--spike",
            )

    @property
    def end_s(self) -> float:
        return self.start_s + self.length_s

    def describe(self) -> str:
        return f"x{self.factor:g} at {clock(self.start_s)} for {format_duration_s(self.length_s)}"


def parse_surge(text: str) -> float:
    """``"2"``, ``"2x"`` or ``"1.5x"`` to a factor in (0, 1000]."""
    match = _SURGE.fullmatch(text)
    factor = float(match[1]) if match else 0.0
    if not 0 < factor <= MAX_FACTOR:
        raise _not_a_surge(text)
    return factor


def check_surge(factor: float) -> float:
    """``factor`` if it is a surge (a number in (0, 1000]), else :class:`ConfigError`."""
    if not 0 < factor <= MAX_FACTOR:
        raise _not_a_surge(factor)
    return factor


def _not_a_surge(value: object) -> ConfigError:
    return ConfigError(
        f"{shown(value)} is not a factor; allowed: a number > 0 and <= {MAX_FACTOR:g},"
        " e.g. 2 or 2x",
        field="--surge",
    )


def parse_spike(text: str) -> Spike:
    """``"3x@17:00+30m"``: three times the arrivals from 17:00 for 30 minutes."""
    match = _SPIKE.fullmatch(text)
    allowed = "FACTOR@HH:MM+DURATION, e.g. 3x@17:00+30m"
    if match is None:
        raise ConfigError(f"{shown(text)} is not a spike; allowed: {allowed}", field="--spike")
    factor = float(match["factor"])
    hours, minutes = int(match["h"]), int(match["m"])
    try:
        length_s = parse_duration_s(match["length"])
    except ValueError as exc:
        raise ConfigError(f"{shown(text)}: {exc}", field="--spike") from None
    start_s = hours * 3600.0 + minutes * 60.0
    if not 0 < factor <= MAX_FACTOR:
        raise ConfigError(
            f"{shown(text)}: factor out of range; allowed: > 0, <= 1000", field="--spike"
        )
    if minutes >= 60 or start_s >= DAY_S:
        raise ConfigError(
            f"{shown(text)}: not a time of day; allowed: 00:00 to 23:59", field="--spike"
        )
    if not 1.0 <= length_s <= DAY_S - start_s:
        raise ConfigError(
            f"{shown(text)}: length out of range; allowed: >= 1s, ending by 24:00", field="--spike"
        )
    return Spike(factor, start_s, length_s)
