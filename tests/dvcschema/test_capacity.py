"""The capacity section: valid sections load; every kind of mistake is one located line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from dvcschema.capacity import parse_budget_expression
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.scenario import Scenario, load_scenario, scenario_from_data

VALID = """\
name: cap
capacity:
  method: mol
  interval: 1h
  arrivals:
    diurnal: {peak: 40, trough: 2}
  budgets: ["p95 < 2s", "P(wait) < 0.2", "utilization < 0.8"]
  tiers:
    web: {service_time: 40ms, cv: 1.0, visits: 6, max_servers: 2000}
    db: {service_time: 5ms, cv: 0.5, visits: 4}
    payment:
      service_time: 120ms
      cv: 0.8
      visits: 0.3
      budgets: ["p95 < 3s"]
"""


def _load(text: str, tmp_path: Path) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(path)


def _arrivals(tmp_path: Path, arrivals: str) -> tuple[np.ndarray, np.ndarray]:
    text = VALID.replace("    diurnal: {peak: 40, trough: 2}\n", arrivals)
    capacity = _load(text, tmp_path).capacity
    assert capacity is not None
    return np.asarray(capacity.arrivals.times_s), np.asarray(capacity.arrivals.rate_per_s)


def test_valid_capacity_section_loads_without_a_load_section(tmp_path: Path) -> None:
    s = _load(VALID, tmp_path)
    assert s.load is None
    assert s.capacity is not None
    web, db, _payment = s.capacity.tiers
    assert (web.name, web.service_time_s, web.visits, web.max_servers) == ("web", 0.04, 6, 2000)
    assert (db.service_time_s, db.cv, db.max_servers) == (0.005, 0.5, None)
    assert s.capacity.method == "mol" and s.capacity.interval_s == 3600.0


def test_diurnal_arrivals_cover_the_day_on_the_clock(tmp_path: Path) -> None:
    t, r = _arrivals(tmp_path, "    diurnal: {peak: 40, trough: 2}\n")
    assert t[0] == 0.0 and t[-1] == 86_400.0
    assert np.all(np.diff(t) > 0)
    assert r.max() == pytest.approx(40.0) and r.min() == pytest.approx(2.0)
    assert 9 * 3600 <= t[r.argmax()] <= 10 * 3600  # the morning peak


def test_a_tiers_own_budget_replaces_the_shared_one_of_the_same_metric(tmp_path: Path) -> None:
    capacity = _load(VALID, tmp_path).capacity
    assert capacity is not None
    web, _db, payment = capacity.tiers
    assert [b.expression for b in capacity.budgets_for(web)] == [
        "p95 < 2s",
        "P(wait) < 0.2",
        "utilization < 0.8",
    ]
    own = capacity.budgets_for(payment)
    assert [b.expression for b in own] == ["p95 < 3s", "P(wait) < 0.2", "utilization < 0.8"]
    assert own[0].tier == "payment" and own[1].tier is None


def test_hourly_arrivals_are_steps_made_strictly_increasing(tmp_path: Path) -> None:
    hours = [1] * 9 + [10] * 8 + [2] * 7
    t, r = _arrivals(tmp_path, f"    hourly: {hours}\n")
    assert np.all(np.diff(t) > 0)
    assert t[0] == 0.0 and t[-1] == 86_400.0
    assert np.interp(9.5 * 3600, t, r) == 10.0
    assert np.interp(9 * 3600 - 0.01, t, r) == 1.0  # the step is a 1 ms ramp
    assert np.trapezoid(r, t) == pytest.approx(3600 * sum(hours), rel=1e-6)


def test_start_at_and_length_place_the_profile_on_the_clock(tmp_path: Path) -> None:
    t, r = _arrivals(tmp_path, "    constant: 5\n    start_at: 8h\n    length: 10h\n")
    assert t.tolist() == [8 * 3600.0, 18 * 3600.0]
    assert r.tolist() == [5.0, 5.0]


def test_constant_without_length_ends_at_midnight(tmp_path: Path) -> None:
    t, _r = _arrivals(tmp_path, "    constant: 5\n    start_at: 20h\n")
    assert t.tolist() == [20 * 3600.0, 24 * 3600.0]


def test_deadline_and_stages_share_the_load_rate_parser(tmp_path: Path) -> None:
    deadline = (
        "    deadline: {peak: 12, trough: 0.5, deadline_at: 17h, surge: 4, rise: 3h}\n"
        "    start_at: 8h\n    length: 10h\n"
    )
    t, r = _arrivals(tmp_path, deadline)
    assert t[0] == 8 * 3600 and t[-1] == 18 * 3600 and np.all(np.diff(t) > 0)
    assert 16 * 3600 <= t[r.argmax()] <= 17 * 3600  # the surge peaks before the deadline
    before, after = np.interp([17 * 3600 - 0.01, 17 * 3600], t, r)
    assert after == pytest.approx(before / 4 * 0.3)  # then collapses: 'after' x the shape
    t, r = _arrivals(tmp_path, "    stages: [{duration: 1h, rate: 5}, {duration: 1h, rate: 9}]\n")
    assert t.tolist() == [0.0, 3600.0, 7200.0] and r.tolist() == [0.0, 5.0, 9.0]


def test_csv_arrivals_are_read_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "counts.csv").write_text("count\n3600\n7200\n", encoding="utf-8")
    t, r = _arrivals(tmp_path, "    csv: {file: counts.csv, interval: 1h}\n")
    assert t[0] == 0.0 and t[-1] == 7200.0
    assert np.interp(1800, t, r) == 1.0 and np.interp(5400, t, r) == 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p95 < 2s", ("response_quantile", 2.0, 0.95)),
        ("p99.9 <= 800ms", ("response_quantile", 0.8, 0.999)),
        ("p(90) < 1s", ("response_quantile", 1.0, 0.9)),
        ("wait_p95 < 500ms", ("wait_quantile", 0.5, 0.95)),
        ("mean_wait < 100ms", ("mean_wait", 0.1, None)),
        ("P(wait) < 20%", ("prob_wait", 0.2, None)),
        ("prob_wait < 0.05", ("prob_wait", 0.05, None)),
        ("utilization < 0.8", ("max_utilization", 0.8, None)),
        ("utilisation<=85%", ("max_utilization", 0.85, None)),
    ],
)
def test_budget_expressions_parse_to_model_budget_kinds(
    text: str, expected: tuple[str, float, float | None]
) -> None:
    kind, value, quantile = parse_budget_expression(text)
    assert kind == expected[0]
    assert value == pytest.approx(expected[1])
    assert quantile == (None if expected[2] is None else pytest.approx(expected[2]))


def test_as_dict_round_trips_a_capacity_scenario(tmp_path: Path) -> None:
    s = _load(
        VALID.replace("diurnal: {peak: 40, trough: 2}", "constant: 3\n    start_at: 6h"), tmp_path
    )
    data = s.as_dict()
    assert "load" not in data and data["capacity"]["arrivals"]["start_at"] == "6h"
    data.pop("source")
    again = scenario_from_data(data, source="roundtrip")
    assert again.as_dict() | {"source": s.source} == s.as_dict()
    assert again.capacity == s.capacity


def test_a_scenario_needs_load_or_capacity(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="'load' is missing"):
        _load("name: nothing\n", tmp_path)


def test_shipped_national_plan_is_valid_and_matches_its_comments(repo: Path) -> None:
    s = load_scenario(repo / "scenarios" / "national-plan.yaml")
    assert s.load is None and s.capacity is not None
    arrivals = s.capacity.arrivals
    assert arrivals.peak_rate_per_s == 53.0
    assert arrivals.sessions == pytest.approx(2.01e6, rel=0.01)  # step 6 of its comments
    assert {t.name for t in s.capacity.tiers} == {"web", "db", "payment"}


# Each case: (what is wrong, the section's replacement, a fragment of the message, line).
MALFORMED = [
    (
        "unknown tier key",
        ("cv: 0.5, visits: 4}", "cv: 0.5, visits: 4, colour: red}"),
        "unknown key 'colour'",
        10,
    ),
    (
        "missing service time",
        ("service_time: 5ms, ", ""),
        "'capacity.tiers.db.service_time' is missing",
        10,
    ),
    ("service time without unit", ("service_time: 5ms", "service_time: 5"), "with a unit", 10),
    ("zero visits", ("visits: 6", "visits: 0"), "out of range", 9),
    (
        "a range for one value",
        ("service_time: 5ms", "service_time: [4ms, 6ms]"),
        "give one value",
        10,
    ),
    ("unknown budget metric", ('"p95 < 2s"', '"latency < 2s"'), "unknown metric 'latency'", 7),
    ("a floor, not a ceiling", ('"p95 < 2s"', '"p95 > 2s"'), "upper limit", 7),
    ("latency without unit", ('"p95 < 2s"', '"p95 < 2"'), "with a unit", 7),
    ("percentile of 100", ('"p95 < 2s"', '"p100 < 2s"'), "0 < NN < 100", 7),
    ("probability above 1", ('"P(wait) < 0.2"', '"P(wait) < 2"'), "fraction in [0, 1]", 7),
    ("same metric twice", ('"P(wait) < 0.2"', '"p95 < 1s"'), "same metric", 7),
    ("two arrival kinds", ("trough: 2}", "trough: 2}\n    constant: 4"), "exactly one of", 7),
    ("no arrival kind", ("diurnal: {peak: 40, trough: 2}", "start_at: 1h"), "exactly one of", 6),
    ("speed", ("trough: 2}", "trough: 2}\n    speed: 60"), "clock time", 7),
    ("trough above peak", ("trough: 2}", "trough: 50}"), "above peak", 6),
    (
        "length past midnight",
        ("trough: 2}", "trough: 2}\n    start_at: 20h\n    length: 6h"),
        "passes 24:00",
        8,
    ),
    ("hourly of 23", ("diurnal: {peak: 40, trough: 2}", f"hourly: {[1] * 23}"), "give 24", 6),
    (
        "negative hourly",
        ("diurnal: {peak: 40, trough: 2}", f"hourly: {[1] * 23 + [-1]}"),
        "out of range",
        6,
    ),
    (
        "a profile of no time",
        ("diurnal: {peak: 40, trough: 2}", "stages: [{duration: 0s, rate: 5}]"),
        "under a second",
        6,
    ),
    ("unknown method", ("method: mol", "method: erlang"), "options are mol, psa", 3),
    ("interval too short", ("interval: 1h", "interval: 10s"), "too short", 4),
    ("bad tier name", ("    web: {", "    Web Tier: {"), "not a tier name", 9),
    ("no tiers", ("  tiers:\n", "  tiers: {}\n  x:\n"), "no tiers", 8),
    (
        "tier without budget",
        ('  budgets: ["p95 < 2s", "P(wait) < 0.2", "utilization < 0.8"]\n', ""),
        "has no budget",
        7,
    ),
    (
        "unknown capacity key",
        ("  interval: 1h\n", "  interval: 1h\n  servers: 3\n"),
        "unknown key 'servers'",
        5,
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "fragment", "line"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_capacity_is_one_located_line(
    tmp_path: Path, case: str, change: tuple[str, str], fragment: str, line: int
) -> None:
    assert change[0] in VALID, case
    with pytest.raises(ConfigError) as info:
        _load(VALID.replace(change[0], change[1], 1), tmp_path)
    message = str(info.value)
    assert "\n" not in message, case
    assert fragment in message, message
    assert message.startswith(f"{tmp_path / 's.yaml'}:{line}:"), message
