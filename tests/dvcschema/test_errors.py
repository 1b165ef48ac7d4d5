"""``shown``: every value a message quotes, short and in bounded time; ``one_line``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dvcschema.errors import MAX_SHOWN_CHARS, one_line, shown
from dvcschema.yamlio import LineDict, LineList


def alias_bomb(levels: int, width: int = 9) -> list[Any]:
    """Nested lists sharing one child per level: width**levels leaves, tiny in memory."""
    value: list[Any] = ["x"] * width
    for _ in range(levels):
        value = [value] * width
    return value


def line_types(levels: int) -> LineList:
    value = LineList(["x"] * 9)
    for _ in range(levels):
        value = LineList([value] * 9)
    return value


@pytest.mark.parametrize(
    "value",
    [
        alias_bomb(9),  # 9**10 leaves: repr() would take hours and terabytes
        line_types(9),  # the YAML reader's own list type (reprlib would fall back to repr())
        LineDict({"k": alias_bomb(9)}),
        "x" * 5_000_000,
        b"\xff" * 5_000_000,
        10**100_000,  # repr() refuses ints over 4,300 digits
        {str(i): i for i in range(100_000)},
        set(range(100_000)),
        object(),
    ],
    ids=["bomb", "line-list-bomb", "line-dict", "long-text", "bytes", "huge-int", "dict", "set",
         "object"],
)  # fmt: skip
def test_shown_is_short_and_quick_whatever_the_value(value: object) -> None:
    started = time.perf_counter()
    text = shown(value)
    assert time.perf_counter() - started < 10.0  # a runaway (a full repr is exponential)
    assert len(text) <= MAX_SHOWN_CHARS
    assert "\n" not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [("45 s", "'45 s'"), (3, "3"), (1.5, "1.5"), (None, "None"), (True, "True"),
     ([1, 2], "[1, 2]"), ({"a": 1}, "{'a': 1}")],
)  # fmt: skip
def test_shown_is_repr_for_small_values(value: object, text: str) -> None:
    assert shown(value) == text == repr(value)


def test_shown_keeps_both_ends_of_a_long_text() -> None:
    text = shown("/very/long/" + "x" * 500 + "/scenario.yaml")
    assert text.startswith("'/very/long/") and text.endswith("/scenario.yaml'")


def test_shown_says_how_big_a_huge_integer_is() -> None:
    assert shown(10**100_000) == "<a whole number of about 100000 digits>"


def test_one_line_joins_lines_and_elides_the_middle() -> None:
    assert one_line("a\nb\r\n  c") == "a b c"
    line = one_line("start " + "x " * 1000 + " end", limit=300)
    assert len(line) == 300
    assert line.startswith("start") and line.endswith("end") and " ... " in line
