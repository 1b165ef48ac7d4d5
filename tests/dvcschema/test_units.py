from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvcschema.units import (
    format_duration_s,
    parse_duration_s,
    parse_fraction,
    parse_number,
    parse_size_bytes,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("45s", 45.0), ("2m", 120.0), ("1h30m", 5400.0), ("1.5s", 1.5)],
)
def test_durations_with_units_parse(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["45", 45, "", "s", "5 minutes", "1h 30m", "-5s", True, None])
def test_durations_without_a_valid_unit_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration with a unit"):
        parse_duration_s(text)


@given(st.integers(min_value=1, max_value=10 * 24 * 3600))
def test_format_then_parse_duration_is_identity(seconds: int) -> None:
    assert parse_duration_s(format_duration_s(float(seconds))) == seconds


def test_fractions_sizes_and_numbers() -> None:
    assert parse_fraction("5%") == 0.05
    assert parse_fraction(0.2) == 0.2
    assert parse_size_bytes("250KB") == 250_000
    assert parse_size_bytes("1MiB") == 1024**2
    with pytest.raises(ValueError):
        parse_fraction("150%")
    with pytest.raises(ValueError, match=">= 1"):
        parse_number(0, minimum=1)
    with pytest.raises(ValueError, match="finite"):
        parse_number(float("nan"))
