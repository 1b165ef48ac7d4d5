"""What-ifs as text: ``--surge`` factors and ``--spike`` windows, parsed or refused in one line."""

from __future__ import annotations

import pytest

from dvcschema.errors import ConfigError
from planning import Spike, check_surge, parse_spike, parse_surge


@pytest.mark.parametrize(
    ("text", "factor"), [("2", 2.0), ("2x", 2.0), (" 1.5 × ", 1.5), ("1000x", 1000.0)]
)
def test_a_surge_is_a_number_with_an_optional_x(text: str, factor: float) -> None:
    assert parse_surge(text) == factor


@pytest.mark.parametrize("text", ["lots", "0x", "0", "-2", "1001", "2xx", "١x"])
def test_anything_else_is_not_a_surge(text: str) -> None:
    with pytest.raises(ConfigError, match="is not a factor; allowed: a number > 0") as caught:
        parse_surge(text)
    assert caught.value.field == "--surge"


def test_a_surge_given_as_a_number_is_checked_the_same_way() -> None:
    assert check_surge(2.0) == 2.0
    with pytest.raises(ConfigError, match="is not a factor"):
        check_surge(0.0)


def test_a_spike_is_a_factor_a_time_of_day_and_a_length() -> None:
    spike = parse_spike("3x@17:00+30m")
    assert spike == Spike(3.0, 17 * 3600.0, 1800.0)
    assert spike.end_s == 17.5 * 3600
    assert spike.describe() == "x3 at 17:00 for 30m"
    assert parse_spike(" 1.5 @ 9:05 + 1h ") == Spike(1.5, 9 * 3600.0 + 300.0, 3600.0)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("3x@25:00+30m", "not a time of day"), ("3x@17:60+30m", "not a time of day"),
     ("3x17:00", "not a spike"), ("0x@17:00+30m", "factor out of range"),
     ("3x@23:50+30m", "ending by 24:00"), ("3x@17:00+30", "a unit")],
)  # fmt: skip
def test_a_bad_spike_is_one_clear_error(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        parse_spike(text)
    assert caught.value.field == "--spike"


@pytest.mark.parametrize(
    ("factor", "start_s", "length_s"), [(0.0, 0.0, 60.0), (2.0, -1.0, 60.0), (2.0, 0.0, 0.0)]
)
def test_a_spike_made_in_python_is_checked_too(
    factor: float, start_s: float, length_s: float
) -> None:
    with pytest.raises(ConfigError):
        Spike(factor, start_s, length_s)
