"""Ranges and the derivation of the arrival peak in a capacity section: what loads, what
each figure is worth, and every kind of mistake as one located line."""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcschema.capacity_expressions import evaluate_formula, formula_names
from dvcschema.capacity_inputs import Quantity, parse_amount
from dvcschema.errors import ConfigError
from dvcschema.scenario import Scenario, load_scenario, scenario_from_data

SHAPE = [0.1] * 9 + [1.0] + [0.5] * 14  # peak 1 at 09:00-10:00; 7.9 hours at the peak rate
RANGES = f"""\
name: ranges
capacity:
  method: psa
  arrivals:
    hourly: {SHAPE}
  derivation:
    peak: peak_per_s
    figures:
      per_half_year: {{value: 6.8M, unit: payments, source: "domain.md: 6.8 M in H1 2023"}}
      growth: {{low: 1.5, high: 3, source: "guess"}}
      share: {{low: 51.5%, high: 55.5%, source: "domain.md: share online"}}
      factor: {{low: 2, high: 8, dist: loguniform, source: "guess: peak factor"}}
      per_day: {{formula: "per_half_year / 181 * growth", unit: payments/day}}
      peak_per_s: {{formula: "per_day * share * factor / 3600", unit: sessions/s}}
      day_sessions: {{formula: "peak_per_s * 3600 * peak_equivalent_hours", note: "check"}}
  budgets: ["p95 < 1s", "P(wait) < 0.2"]
  tiers:
    web:
      service_time: {{low: 25ms, high: 40ms, source: "guess"}}
      visits: {{low: 4, high: 16, dist: loguniform}}
    db: {{service_time: {{value: 4ms, source: "calibrated"}}, visits: 12, cv: 0.8}}
"""


def _load(text: str, tmp_path: Path) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(path)


def test_tier_ranges_load_with_their_medians_as_central_values(tmp_path: Path) -> None:
    capacity = _load(RANGES, tmp_path).capacity
    assert capacity is not None
    web, db = capacity.tiers
    assert web.service_time_s == pytest.approx(0.0325)  # (25 + 40) / 2
    assert web.visits == pytest.approx(8.0)  # sqrt(4 * 16): the log-uniform median
    assert web.service_time_input == Quantity(0.025, 0.04, "uniform", "guess")
    assert web.visits_input == Quantity(4.0, 16.0, "loguniform")
    assert db.service_time_s == 0.004 and db.service_time_input is not None
    assert not db.service_time_input.is_range and db.service_time_input.source == "calibrated"
    assert db.visits == 12 and db.visits_input is None  # one plain value, as before


def test_derivation_evaluates_in_order_from_central_values(tmp_path: Path) -> None:
    capacity = _load(RANGES, tmp_path).capacity
    assert capacity is not None and capacity.derivation is not None
    d = capacity.derivation
    central = d.central()
    assert central["growth"] == 2.25 and central["share"] == pytest.approx(0.535)
    assert central["factor"] == pytest.approx(4.0)  # sqrt(2 * 8)
    per_day = 6.8e6 / 181 * 2.25
    assert central["per_day"] == pytest.approx(per_day)
    assert central["peak_per_s"] == pytest.approx(per_day * 0.535 * 4.0 / 3600)
    hours = sum(SHAPE)  # hourly steps with a peak of 1: the day holds sum(shape) peak-hours
    assert central["peak_equivalent_hours"] == pytest.approx(hours, rel=1e-6)
    assert central["day_sessions"] == pytest.approx(central["peak_per_s"] * 3600 * hours)
    assert d.depends_on("peak_per_s") == {"peak_per_s", "per_day", "share", "factor"} | {
        "per_half_year",
        "growth",
    }
    assert "day_sessions" not in d.depends_on(d.peak)


def test_derivation_evaluates_arrays_of_samples_elementwise(tmp_path: Path) -> None:
    capacity = _load(RANGES, tmp_path).capacity
    assert capacity is not None and capacity.derivation is not None
    growth = np.array([1.5, 3.0])
    env = capacity.derivation.evaluate({"growth": growth})
    assert env["per_day"].tolist() == pytest.approx((6.8e6 / 181 * growth).tolist())
    assert env["factor"].shape == ()  # an input not given takes its central value


def test_ranges_and_derivation_round_trip_through_as_dict(tmp_path: Path) -> None:
    s = _load(RANGES, tmp_path)
    data = s.as_dict()
    web = data["capacity"]["tiers"]["web"]
    assert web["service_time"] == {"low": "25ms", "high": "40ms", "source": "guess"}
    assert web["visits"] == {"low": 4.0, "high": 16.0, "dist": "loguniform"}
    figures = data["capacity"]["derivation"]["figures"]
    assert figures["per_half_year"] == {"value": 6800000, "source": "domain.md: 6.8 M in H1 2023",
                                        "unit": "payments"}  # fmt: skip
    assert figures["per_day"] == {"formula": "per_half_year / 181 * growth", "unit": "payments/day"}
    data.pop("source")
    again = scenario_from_data(data, source="roundtrip")
    assert again.capacity == s.capacity


@pytest.mark.parametrize(
    ("text", "expected"),
    [(5000, 5000.0), ("7.7M", 7.7e6), ("6.8 M", 6.8e6), ("5k", 5000.0), ("2.4bn", 2.4e9),
     ("51.5%", 0.515), ("1e3", 1000.0), (0.25, 0.25)],
)  # fmt: skip
def test_amounts_take_suffixes(text: object, expected: float) -> None:
    assert parse_amount(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["-5", "5 MB", True, None, "M", "1e999", [1, 2], "5,000"])
def test_bad_amounts_say_what_is_allowed(text: object) -> None:
    with pytest.raises(ValueError, match=r"is not a number such as|out of range"):
        parse_amount(text)


def test_formula_names_and_vectorised_values() -> None:
    assert formula_names("(a + b) * max(c, 2) / 3600") == {"a", "b", "c"}
    env = {"a": np.array([1.0, 2.0]), "b": np.array(3.0)}
    assert evaluate_formula("min(a, b) ** 2 - -a", env).tolist() == [2.0, 6.0]
    assert math.isinf(float(evaluate_formula("1 / (b - 3)", env)))  # no warning: a value


@pytest.mark.parametrize(
    "formula",
    ["__import__('os').system('true')", "a.real", "a if a else b", "[a]", "a < b", "abs(a)",
     "lambda: 1", "a; b", "max(a)", "max(a, b=1)", "'text'", "1j", "a @ b", "", "(" * 300],
)  # fmt: skip
def test_formulas_allow_arithmetic_only(formula: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        formula_names(formula)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_formula_or_a_value_error(text: str) -> None:
    try:
        names = formula_names(text)
    except ValueError:
        return
    evaluate_formula(text, dict.fromkeys(names, np.array(2.0)))


# Each case: (what is wrong, replaced text, replacement, a fragment of the message). The
# message must start with the file and the line of the replacement.
MALFORMED = [
    ("a list for a range", '{low: 25ms, high: 40ms, source: "guess"}', "[25ms, 40ms]",
     "give one value, or a range as {low: ..., high: ...}"),
    ("low above high", "low: 25ms, high: 40ms", "low: 45ms, high: 40ms", "must be above low"),
    ("value and a range", "{low: 4, high: 16, dist", "{value: 3, low: 4, high: 16, dist",
     "either value, or low and high"),
    ("no high", "low: 25ms, high: 40ms,", "low: 25ms,",
     "'capacity.tiers.web.service_time.high' is missing"),
    ("unknown dist", "dist: loguniform}", "dist: normal}", "options are uniform, loguniform"),
    ("unknown range key", '{low: 25ms, high: 40ms, source: "guess"}',
     '{low: 25ms, high: 40ms, source: "guess", mode: 30ms}', "unknown key 'mode'"),
    ("a range of cv", "visits: 12, cv: 0.8", "visits: 12, cv: {low: 0.5, high: 1}",
     "give one value"),
    ("a shape that is not one", "1.0, 0.5", "2.0, 0.5",
     "arrivals give the shape only: its peak must be 1, found 2"),
    ("input without a source", 'growth: {low: 1.5, high: 3, source: "guess"}',
     "growth: {low: 1.5, high: 3}", "needs its source"),
    ("a forward reference", "per_half_year / 181 * growth", "per_half_year / 181 * factor2",
     "'factor2', not a figure above it"),
    ("a later figure", "per_day * share * factor / 3600", "day_sessions / 3600",
     "'day_sessions', not a figure above it"),
    ("a call", "per_half_year / 181 * growth", "open(growth)", "is not allowed in a formula"),
    ("bad syntax", "per_half_year / 181 * growth", "per_half_year / / growth",
     "is not a formula"),
    ("peak of no figure", "peak: peak_per_s", "peak: peak_rate", "not one of the figures"),
    ("a peak of 0", "per_day * share * factor / 3600", "per_day * share * 0",
     "the peak peak_per_s is not above 0"),
    ("division by zero", "per_half_year / 181 * growth", "per_half_year / (growth - growth)",
     "per_day is not a finite number"),
    ("a negative low end", "per_day * share * factor / 3600",
     "per_day * (share - 0.52) * factor / 3600", "not above 0 at the lows of the ranges"),
    ("a built-in's name", "growth: {", "peak_equivalent_hours: {", "not a figure name"),
    ("a bad amount", "value: 6.8M", "value: 6.8 MB", "not a number such as"),
    ("a loguniform from 0", "low: 2, high: 8, dist", "low: 0, high: 8, dist", "low > 0"),
    ("no figures", "    figures:\n", "    figures: {}\n    x:\n", "no figures"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "old", "new", "fragment"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_inputs_are_one_located_line(
    tmp_path: Path, case: str, old: str, new: str, fragment: str
) -> None:
    assert old in RANGES, case
    text = RANGES.replace(old, new, 1)
    where = "  arrivals:" if "shape" in case else new  # the shape: at its section's line
    line = text[: text.index(where)].count("\n") + 1
    with pytest.raises(ConfigError) as info:
        _load(text, tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message, message
    assert message.startswith(f"{tmp_path / 's.yaml'}:{line}:"), message


def test_without_derivation_arrivals_keep_their_own_scale(tmp_path: Path) -> None:
    text = re.sub(r"  derivation:.*?  budgets:", "  budgets:", RANGES, flags=re.S)
    capacity = _load(text, tmp_path).capacity
    assert capacity is not None and capacity.derivation is None
    assert capacity.arrivals.peak_rate_per_s == 1.0


def test_shipped_national_deadline_matches_its_comments(repo: Path) -> None:
    s = load_scenario(repo / "scenarios" / "national-deadline.yaml")
    assert s.load is None and s.capacity is not None and s.capacity.derivation is not None
    c = s.capacity.derivation.central()
    # the steps of the file's comments, at central values
    expected = {
        "online_dossiers_per_day": 43_500,
        "portal_dossiers_per_day": 17_400,
        "payments_per_day": 105_600,
        "transactions_per_day": 116_000,
        "sessions_per_day": 1.62e6,
        "deadline_normal_sessions": 1.87e6,
        "pit_day_sessions": 189_000,
        "peak_sessions_per_s": 53.4,
        "sessions_per_s_1500": 51.3,
        "deadline_day_sessions": 2.06e6,
    }
    for name, value in expected.items():
        assert c[name] == pytest.approx(value, rel=0.005), name
    assert c["normal_share_0900"] == pytest.approx(0.095, abs=0.0005)
    assert c["pit_share_0900"] == pytest.approx(0.078, abs=0.0005)
    assert c["peak_equivalent_hours"] == pytest.approx(10.713, abs=0.001)
    # cross-checks
    assert c["shape_vs_derivation"] == pytest.approx(1.0, abs=0.005)
    assert c["deadline_vs_normal_day"] == pytest.approx(1.27, abs=0.005)
    assert c["sessions_vs_visits_2020_2022"] == pytest.approx(1.7, abs=0.05)
    assert c["sessions_per_vneid_user"] == pytest.approx(0.46, abs=0.005)
    assert c["sessions_per_account"] == pytest.approx(0.27, abs=0.005)
    assert c["payment_share_of_sessions"] == pytest.approx(0.065, abs=0.0005)
    hourly = s.capacity.arrivals.spec["hourly"]
    assert max(hourly) == 1.0 and hourly.index(1.0) == 9  # 09:00-10:00
    for fig in s.capacity.derivation.inputs:  # every input names its source; guesses say so
        assert fig.quantity is not None and fig.quantity.source
        assert re.match(r"(domain\.md|guess|calendar):", fig.quantity.source), fig.name
        if fig.quantity.is_range and not fig.quantity.source.startswith("domain.md"):
            assert "guess" in fig.quantity.source, fig.name
