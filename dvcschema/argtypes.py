"""Types of command-line values: every number has a range, every text a length.

Each type is an argparse ``type=`` callable: it returns the parsed value or raises
``argparse.ArgumentTypeError``, which argparse prints as one line
(``dvcload run: error: argument --master-port: '70000' is out of range; allowed: 1
to 65535``) before exiting with code 2. Digits are ASCII only: ``int('٧٠')`` is 70, and
``int`` also takes ``' 1_000 '``.

The types are registered by name on every parser of ``dvcload`` and ``python -m
portal`` (:class:`ArgumentParser`, whose usage errors are one line), so a command
declares ``type="port"`` without importing this module; an unknown name fails when
the parser is built, not when a user types the option.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from dvcschema.errors import one_line, shown

MAX_TEXT_CHARS = 4096  # PATH_MAX: the longest path (or any text option)
MAX_URL_CHARS = 2048
MAX_HOST_CHARS = 253
MAX_NAME_BYTES = 255  # NAME_MAX: the longest name of one file or folder
MAX_SEED = 2**63 - 1
_WHOLE = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?"
)
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _refuse(value: str, allowed: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{shown(value)} is not valid; allowed: {allowed}")


def whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    """A whole number of ASCII digits in ``[minimum, maximum]``."""

    def parse(value: str) -> int:
        if not _WHOLE.fullmatch(value):
            raise argparse.ArgumentTypeError(
                f"{shown(value)} is not a whole number; allowed: {minimum} to {maximum}"
            )
        number = int(value)
        if not minimum <= number <= maximum:
            raise argparse.ArgumentTypeError(
                f"{shown(value)} is out of range; allowed: {minimum} to {maximum}"
            )
        return number

    parse.__name__ = "whole number"
    return parse


def number(
    minimum: float, maximum: float, *, above_minimum: bool = False
) -> Callable[[str], float]:
    """A decimal number of ASCII digits in ``[minimum, maximum]`` (``(minimum, ...]`` with
    ``above_minimum``); no ``nan``, ``inf`` or ``1_000``."""
    low = f"above {minimum:g}" if above_minimum else f"from {minimum:g}"

    def parse(value: str) -> float:
        if not _DECIMAL.fullmatch(value):
            raise argparse.ArgumentTypeError(
                f"{shown(value)} is not a number; allowed: {low} to {maximum:g}"
            )
        result = float(value)
        too_low = result <= minimum if above_minimum else result < minimum
        if too_low or result > maximum:
            raise argparse.ArgumentTypeError(
                f"{shown(value)} is out of range; allowed: {low} to {maximum:g}"
            )
        return result

    parse.__name__ = "number"
    return parse


def text(max_length: int = MAX_TEXT_CHARS) -> Callable[[str], str]:
    """Any text of at most ``max_length`` characters without control characters (a line
    break in a value would make a two-line error message)."""

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise argparse.ArgumentTypeError(
                f"a value of {len(value):,} characters; at most {max_length:,} are allowed"
            )
        if not value.isprintable():
            raise _refuse(value, "printable text (no line breaks or control characters)")
        return value

    parse.__name__ = "text"
    return parse


def bind_address(value: str) -> str:
    """Where a master listens: an IP address (v4 or v6), ``localhost``, or ``*`` (all)."""
    if value in ("*", "localhost"):
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise _refuse(value, "an IP address such as 127.0.0.1 or ::1, 'localhost' or '*'") from None


def host(value: str) -> str:
    """A host to connect to: an IP address or a DNS name (letters, digits, '-', dots)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.removesuffix(".").split(".")
    if len(value) > MAX_HOST_CHARS or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refuse(value, "an IP address or a host name such as loadgen-1.example.vn")
    return value


def partition(value: str) -> str:
    """``K/N`` with ASCII digits, 0 <= K < N (the command parses the text itself)."""
    match = re.fullmatch(r"([0-9]{1,9})/([0-9]{1,9})", value.strip())
    if match is None or not 0 <= int(match[1]) < int(match[2]):
        raise _refuse(value, "K/N with K counted from 0 and 0 <= K < N, e.g. 0/2")
    return value


def path(value: str) -> Path:
    """A path the file system can have: at most 4,096 characters, each name at most
    255 bytes (else ``stat`` raises "File name too long" wherever the path is used)."""
    text()(value)
    if any(
        len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in Path(value).parts
    ):
        raise argparse.ArgumentTypeError(
            f"{shown(value)} has a name over {MAX_NAME_BYTES} bytes; no file system allows it"
        )
    return Path(value)


def file_to_write(value: str) -> Path:
    """A file to write: a path that is a regular file or nothing yet (a folder, a FIFO
    or a device is refused: writing to a FIFO blocks until someone reads it)."""
    result = path(value)
    try:
        refused = result.exists() and not result.is_file()
    except OSError as exc:  # no permission to look
        raise argparse.ArgumentTypeError(f"{shown(value)} cannot be used: {exc.strerror}") from None
    if refused:
        raise argparse.ArgumentTypeError(f"{shown(value)} exists and is not a regular file")
    return result


def out_folder(value: str) -> Path:
    """A folder to write under: it may not exist yet, but nothing on the way may be a file,
    and it is not the root of the file system."""
    result = path(value)
    check_out_folder(result, error=argparse.ArgumentTypeError)
    return result


def check_out_folder(folder: Path, *, error: Callable[[str], Exception]) -> None:
    """Raise ``error(message)`` unless ``folder`` can be a folder that dvcload creates
    things in: an existing folder, or a path whose existing part is a folder, other
    than the root of the file system."""
    try:
        resolved = folder.resolve()  # symlinks too: a link to / is the root
        existing = next(part for part in (resolved, *resolved.parents) if part.exists())
    except (OSError, RuntimeError) as exc:  # no permission, a symlink loop, ...
        why = getattr(exc, "strerror", None) or str(exc)
        raise error(f"{shown(str(folder))} cannot be used: {why}") from None
    if resolved == Path(resolved.anchor):
        raise error(f"{shown(str(folder))} is the root of the file system; give a folder")
    if not existing.is_dir():
        what = "is" if existing == resolved else f"is under {shown(str(existing))}, which is"
        raise error(f"{shown(str(folder))} {what} not a folder")


# The limits repeat the schema's (dvcschema.load.MAX_USERS, MAX_RATE_PER_S; portal.config
# MAX_SERVERS, MAX_MEAN_MS; dvcload.commands.population.MAX_SIZE; planning.montecarlo
# MAX_SAMPLES) without importing them: every command would pay for NumPy at start-up.
# tests/dvcschema/test_argtypes.py checks that they agree.
TYPES: dict[str, Callable[[str], Any]] = {
    "port": whole_number(1, 65_535),
    "port_or_0": whole_number(0, 65_535),
    "processes": whole_number(1, 64),
    "workers": whole_number(0, 10_000),
    "seed": whole_number(0, MAX_SEED),
    "users": whole_number(1, 100_000),
    "servers": whole_number(1, 100_000),
    "population_size": whole_number(1, 50_000_000),
    "samples": whole_number(1, 20_000),
    "customers": whole_number(100, 10_000_000),
    "arrival_rate": number(0.0, 100_000.0, above_minimum=True),
    "service_time_ms": number(0.0, 600_000.0),
    "pause_s": number(0.0, 60.0),
    "text": text(),
    "short_text": text(64),
    "url": text(MAX_URL_CHARS),
    "host_text": text(MAX_HOST_CHARS + 2),  # "[::1]": brackets allowed; the schema judges
    "bind_address": bind_address,
    "host": host,
    "partition": partition,
    "path": path,
    "file_to_write": file_to_write,
    "out_folder": out_folder,
}


def register(parser: argparse.ArgumentParser) -> None:
    """Make ``type="port"`` (and every other name of :data:`TYPES`) work on ``parser``."""
    for name, parse in TYPES.items():
        parser.register("type", name, parse)


EXIT_BAD_INPUT = 2
_LONG_WORD = re.compile(r"\S{81,}")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the types of :data:`TYPES` by name, and a usage error that is one
    short line (``PREFIX: MESSAGE (see 'PROG --help')``) and exit code 2."""

    def __init__(self, *args: Any, error_prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_prefix = error_prefix or f"{self.prog}: error"
        register(self)

    def error(self, message: str) -> NoReturn:
        # argparse quotes whole arguments ("unrecognized arguments: ..."): shorten them
        message = _LONG_WORD.sub(lambda m: m[0][:37] + "..." + m[0][-37:], message)
        line = one_line(f"{self.error_prefix}: {message} (see '{self.prog} --help')")
        self.exit(EXIT_BAD_INPUT, line + "\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """argparse's check of ``choices``, quoting the value with :func:`shown`."""
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(
                action, f"invalid choice: {shown(value)} (choose from {choices})"
            )
