"""The exception root of dvcload and its few subclasses.

Messages follow one shape: where (file, line, field), the value quoted with ``!r``,
and what is allowed. The command line prints ``str(error)`` on one line and exits 2.
"""

from __future__ import annotations

import itertools
import math
import reprlib
from pathlib import PurePath
from typing import Any


class DvcloadError(Exception):
    """Root of every error dvcload raises on purpose."""


class ConfigError(DvcloadError):
    """A configuration file or option is wrong (exit code 2)."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class ScenarioError(ConfigError):
    """A scenario file is wrong."""


class TargetError(ConfigError):
    """A target is not allowed (not HTTP, or not loopback without --allow-target)."""


class RunError(DvcloadError):
    """The run itself broke (exit code 3): the portal did not start, Locust failed."""


# -- quoting values in messages -----------------------------------------------------------
MAX_SHOWN_CHARS = 80
MAX_LINE_CHARS = 300
_MAX_INT_BITS = 256  # repr of a larger int is slow (and refused above 4,300 digits)


class _ShortRepr(reprlib.Repr):
    """``reprlib.Repr`` that never computes a whole repr: containers (subclasses too, such
    as the YAML reader's ``LineDict``) are cut by count and depth, strings by length, and
    objects of other types are named, not shown."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 4
        self.maxstring = self.maxother = MAX_SHOWN_CHARS
        self.maxlong = 40

    def repr1(self, x: Any, level: int) -> str:
        if x is None or isinstance(x, bool | float):
            return repr(x)
        if isinstance(x, str):
            return self.repr_str(x, level)
        if isinstance(x, int):
            return self._int(x)
        if isinstance(x, bytes | bytearray):
            return repr(bytes(x[: self.maxstring]))[: self.maxstring]
        if isinstance(x, PurePath):
            return self.repr_str(str(x), level)
        for kind, method in _CONTAINERS:
            if isinstance(x, kind):
                return str(getattr(self, method)(x, level))
        return f"<{type(x).__name__}>"

    def repr_dict(self, x: Any, level: int) -> str:
        """In insertion order (``reprlib`` sorts every key first)."""
        if not x:
            return "{}"
        if level <= 0:
            return "{" + self.fillvalue + "}"
        pieces = [
            f"{self.repr1(key, level - 1)}: {self.repr1(x[key], level - 1)}"
            for key in itertools.islice(x, self.maxdict)
        ]
        if len(x) > self.maxdict:
            pieces.append(self.fillvalue)
        return "{" + ", ".join(pieces) + "}"

    def _int(self, x: int) -> str:
        if x.bit_length() > _MAX_INT_BITS:
            return f"<a whole number of about {int(x.bit_length() * math.log10(2))} digits>"
        return self.repr_int(x, 0)


_CONTAINERS: tuple[tuple[type, str], ...] = (
    (dict, "repr_dict"),
    (list, "repr_list"),
    (tuple, "repr_tuple"),
    (set, "repr_set"),
    (frozenset, "repr_frozenset"),
)
_SHORT = _ShortRepr()


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr(value)`` for a message, at most ``limit`` characters, in bounded time.

    Every message that quotes a value a user gave goes through here: a value can be
    a 4 MiB string or a YAML alias bomb whose full repr is exponential.

    >>> shown("45 s")
    "'45 s'"
    >>> shown("x" * 1000)[:12], len(shown("x" * 1000)) <= MAX_SHOWN_CHARS
    ("'xxxxxxxxxxx", True)
    >>> shown([[1, 2, 3, 4, 5]])
    '[[1, 2, 3, 4, ...]]'
    """
    text = " ".join(_SHORT.repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """``text`` on one line of at most ``limit`` characters (the middle elided).

    The last guard of the command line's error line: messages quote values through
    :func:`shown`, so this cuts only what nothing else shortened.
    """
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    head = (limit - 5) * 2 // 3
    return f"{line[:head]} ... {line[len(line) - (limit - 5 - head) :]}"
