"""The two small formats every block of a plan's text shares: a wrapped paragraph and a figure."""

from __future__ import annotations

import math
import textwrap

WIDTH = 100


def fill(text: str, indent: int = 0) -> str:
    """``text`` wrapped at 100 columns, indented by ``indent``, continued 2 further in."""
    return textwrap.fill(
        text, width=WIDTH, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2)
    )


def figure(x: float) -> str:
    """A figure for people: thousands separators, whole numbers whole, else ~4 digits.

    >>> figure(1234.5), figure(12.0), figure(3.14159), figure(123.456), figure(0.012345)
    ('1,234', '12', '3.142', '123.5', '0.01235')
    """
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000 or (x == round(x) and abs(x) < 1e15):
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.4g}" if abs(x) < 100 else f"{x:,.1f}"
    return f"{x:.4g}"
