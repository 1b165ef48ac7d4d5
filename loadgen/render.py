"""Columnar text: fields made of dictionary-encoded parts, rendered to bytes in bulk.

A field (a column of the population) is a sequence of *parts*: a constant, a fixed-width
number, or indices into a vocabulary of strings. Rendering many rows at once builds one
``uint8`` matrix with a fixed-width slot per part, each vocabulary entry stored as UTF-8
padded with NUL bytes, and then deletes every NUL: ``matrix.tobytes().translate(None,
b"\\0")``. What is left is the rows' text, parts joined without padding. No Python string
is built per row, which is what makes writing a million citizens take a second or two.
NUL never occurs in the text itself (vocabularies refuse it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

ROW_SEPARATOR = "\x1e"
"""Separates rows when rendering to Python strings; never part of a valid value."""


def _digit_table(width: int) -> npt.NDArray[np.uint8]:
    text = "".join(f"{v:0{width}d}" for v in range(10**width)).encode("ascii")
    return np.frombuffer(text, dtype=np.uint8).reshape(10**width, width)


_DIGIT_GROUPS = {width: _digit_table(width) for width in (1, 2, 3)}


def _take_rows(
    table: npt.NDArray[np.uint8], rows: npt.NDArray[np.integer], out: npt.NDArray[np.uint8]
) -> None:
    """``out[:] = table[rows]``, copying each row as one block (a void item), not byte by byte."""
    width = table.shape[1]
    void = np.dtype(f"V{width}")
    out.view(void)[:, 0] = np.ascontiguousarray(table).view(void)[:, 0][rows]


@dataclass(frozen=True, eq=False)
class Vocab:
    """Strings and their UTF-8 bytes in a NUL-padded ``(len, width)`` matrix."""

    entries: tuple[str, ...]
    matrix: npt.NDArray[np.uint8] = field(repr=False)

    @classmethod
    def of(cls, entries: Sequence[str]) -> Vocab:
        items = tuple(entries)
        if any("\0" in e for e in items):
            raise ValueError("vocabulary entries must not contain NUL")
        encoded = [e.encode("utf-8") for e in items]
        width = max((len(b) for b in encoded), default=0) or 1
        matrix = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in encoded), dtype=np.uint8)
        return cls(items, matrix.reshape(len(items), width))

    @property
    def width(self) -> int:
        return int(self.matrix.shape[1])

    def mapped(self, function: Callable[[str], str]) -> Vocab:
        """A vocabulary with ``function`` applied to every entry (same indices)."""
        return Vocab.of([function(e) for e in self.entries])


class Part(Protocol):
    """One slot of a field."""

    @property
    def width(self) -> int: ...

    def fill(self, out: npt.NDArray[np.uint8], start: int, stop: int) -> None:
        """Write rows ``start:stop`` into ``out`` (shape ``(stop - start, width)``)."""

    def value(self, index: int) -> str:
        """The text of one row."""

    def texts(self) -> tuple[str, ...]:
        """Every string this part can hold (for escaping decisions)."""


@dataclass(frozen=True, eq=False)
class Const:
    """The same text in every row."""

    text: str

    @property
    def width(self) -> int:
        return len(self.text.encode("utf-8"))

    def fill(self, out: npt.NDArray[np.uint8], start: int, stop: int) -> None:
        out[:] = np.frombuffer(self.text.encode("utf-8"), dtype=np.uint8)

    def value(self, index: int) -> str:
        return self.text

    def texts(self) -> tuple[str, ...]:
        return (self.text,)


@dataclass(frozen=True, eq=False)
class Digits:
    """Non-negative integers written with exactly ``width`` digits (zero-padded)."""

    values: npt.NDArray[np.int64] = field(repr=False)
    digits: int

    @property
    def width(self) -> int:
        return self.digits

    def fill(self, out: npt.NDArray[np.uint8], start: int, stop: int) -> None:
        values = self.values[start:stop].astype(np.int64)
        end = self.digits
        while end > 0:  # three digits at a time, from the right, through a lookup table
            width = min(3, end)
            group = values % 10**width
            values = values // 10**width
            _take_rows(_DIGIT_GROUPS[width], group, out[:, end - width : end])
            end -= width

    def value(self, index: int) -> str:
        return f"{int(self.values[index]):0{self.digits}d}"

    def texts(self) -> tuple[str, ...]:
        return ("0123456789",)


@dataclass(frozen=True, eq=False)
class Coded:
    """Indices into a vocabulary."""

    vocab: Vocab
    codes: npt.NDArray[np.integer] = field(repr=False)

    @property
    def width(self) -> int:
        return self.vocab.width

    def fill(self, out: npt.NDArray[np.uint8], start: int, stop: int) -> None:
        _take_rows(self.vocab.matrix, self.codes[start:stop], out)

    def value(self, index: int) -> str:
        return self.vocab.entries[int(self.codes[index])]

    def texts(self) -> tuple[str, ...]:
        return self.vocab.entries


@dataclass(frozen=True, eq=False)
class Field:
    """A column: its parts, in order, and whether its text is a number (JSON unquoted)."""

    parts: tuple[Part, ...]
    numeric: bool = False

    def value(self, index: int) -> str:
        return "".join(p.value(index) for p in self.parts)

    def texts(self) -> tuple[str, ...]:
        return tuple(t for p in self.parts for t in p.texts())

    def map_text(self, function: Callable[[str], str]) -> Field:
        """The same field with ``function`` applied to every constant and vocabulary entry.

        Only valid for functions that distribute over concatenation (escaping does).
        """
        parts: list[Part] = []
        for part in self.parts:
            if isinstance(part, Const):
                parts.append(Const(function(part.text)))
            elif isinstance(part, Coded):
                parts.append(Coded(part.vocab.mapped(function), part.codes))
            else:
                parts.append(part)
        return Field(tuple(parts), self.numeric)


def single_part(values: Sequence[str], *, numeric: bool = False) -> Field:
    """A field from plain strings, dictionary-encoded in order of first appearance."""
    index = {v: i for i, v in enumerate(dict.fromkeys(values))}
    codes = np.fromiter(map(index.__getitem__, values), np.int64, len(values))
    return Field((Coded(Vocab.of(list(index)), codes),), numeric)


def render(parts: Sequence[Part], start: int, stop: int) -> bytes:
    """The UTF-8 text of rows ``start:stop``: each row is its parts joined, rows joined."""
    n = max(stop - start, 0)
    widths = [p.width for p in parts]
    out = np.empty((n, sum(widths)), dtype=np.uint8)  # every byte is written below
    offset = 0
    for part, width in zip(parts, widths, strict=True):
        if width:
            part.fill(out[:, offset : offset + width], start, stop)
        offset += width
    return out.tobytes().translate(None, b"\0")


def render_strings(fld: Field, start: int, stop: int) -> list[str]:
    """The field's text for rows ``start:stop`` as Python strings."""
    if stop <= start:
        return []
    text = render([*fld.parts, Const(ROW_SEPARATOR)], start, stop).decode("utf-8")
    return text.split(ROW_SEPARATOR)[:-1]
