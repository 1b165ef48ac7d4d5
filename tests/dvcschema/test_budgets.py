"""Budgets: the k6-like grammar, and every mistake one located line at load time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvcschema.budgets import BudgetSet, load_budgets_file, parse_expression
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.scenario import load_scenario, scenario_from_data

VALID = """\
budgets:
  "*": ["p99 < 2s", "error_rate < 1%"]
  total: ["rps > 50/s", "dropped < 100"]
  "POST /dossiers": ["p95 < 800ms", "p95 may not rise more than 10%"]
  "journey:payment": ["p95 < 1.5s"]
  "tag:write":
    - "p(99.9) <= 3s"
    - {expr: "p99 < 5s", abort_on_fail: true, delay: 30s}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "budgets.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_budgets_file_loads_with_units_converted(tmp_path: Path) -> None:
    budgets = load_budgets_file(_write(tmp_path, VALID))
    assert budgets.keys == ("*", "total", "POST /dossiers", "journey:payment", "tag:write")
    got = {(b.key, b.expression): (b.metric, b.op, b.limit, b.unit) for b in budgets}
    assert got[("*", "p99 < 2s")] == ("p99", "<", 2000.0, "ms")
    assert got[("*", "error_rate < 1%")] == ("error_rate", "<", 0.01, "fraction")
    assert got[("total", "rps > 50/s")] == ("rps", ">", 50.0, "per_s")
    assert got[("total", "dropped < 100")] == ("dropped", "<", 100.0, "count")
    assert got[("POST /dossiers", "p95 < 800ms")] == ("p95", "<", 800.0, "ms")
    assert got[("journey:payment", "p95 < 1.5s")] == ("p95", "<", 1500.0, "ms")
    assert got[("tag:write", "p(99.9) <= 3s")] == ("p99.9", "<=", 3000.0, "ms")
    regression = budgets.for_key("POST /dossiers")[1]
    assert regression.regression and regression.limit == pytest.approx(0.10)
    abort = budgets.for_key("tag:write")[1]
    assert abort.abort_on_fail and abort.delay_s == 30.0
    assert budgets.abort_budgets == (abort,)
    assert not budgets.is_empty and BudgetSet().is_empty


@pytest.mark.parametrize(
    ("expression", "metric", "limit", "unit"),
    [
        ("p50<250ms", "p50", 250.0, "ms"),
        ("med < 1s", "p50", 1000.0, "ms"),
        ("avg <= 120ms", "mean", 120.0, "ms"),
        ("max < 10s", "max", 10_000.0, "ms"),
        ("p95(latency) < 800ms", "p95", 800.0, "ms"),
        ("p99 < 900us", "p99", 0.9, "ms"),
        ("error_rate <= 0.005", "error_rate", 0.005, "fraction"),
        ("rps >= 12.5", "rps", 12.5, "per_s"),
        ("dropped < 0.5%", "dropped", 0.005, "fraction"),
        ("mean may not rise more than 20ms", "mean", 20.0, "ms"),
    ],
)
def test_expressions_parse_to_canonical_metric_and_unit(
    expression: str, metric: str, limit: float, unit: str
) -> None:
    budget = parse_expression(expression)
    assert (budget.metric, budget.unit) == (metric, unit)
    assert budget.limit == pytest.approx(limit)


# (case, the budgets YAML, key, the offending expression, fragment of what is allowed, line)
MALFORMED = [
    (
        "percentile of a rate",
        '"*": ["p95(error_rate) < 1%"]',
        "*",
        "p95(error_rate) < 1%",
        "applies to latency only",
        2,
    ),
    (
        "latency without unit",
        '"POST /dossiers": ["p95 < 800"]',
        "POST /dossiers",
        "p95 < 800",
        "needs a unit, ms or s",
        2,
    ),
    ("latency given as %", '"*": ["p99 < 5%"]', "*", "p99 < 5%", "a % applies to error_rate", 2),
    ("unit on a count", 'total: ["dropped < 5ms"]', "total", "dropped < 5ms", "without a unit", 2),
    ("unit on a rate", '"*": ["error_rate < 5ms"]', "*", "error_rate < 5ms", "is a share", 2),
    ("rate above 100%", '"*": ["error_rate < 150%"]', "*", "error_rate < 150%", "0% to 100%", 2),
    ("floor as a ceiling", 'total: ["rps < 50"]', "total", "rps < 50", "throughput floor", 2),
    ("latency floor", '"*": ["p95 > 1s"]', "*", "p95 > 1s", "is a ceiling", 2),
    ("p100", '"*": ["p100 < 1s"]', "*", "p100 < 1s", "use 'max'", 2),
    ("unknown metric", '"*": ["latency95 < 1s"]', "*", "latency95 < 1s", "allowed: pNN", 2),
    ("equality", '"*": ["p95 == 1s"]', "*", "p95 == 1s", "options are <, <=, >, >=", 2),
    ("not an expression", '"*": ["fast please"]', "*", "fast please", "<metric> <op> <value>", 2),
    (
        "regression of a rate",
        '"*": ["error_rate may not rise more than 1%"]',
        "*",
        "error_rate may not rise more than 1%",
        "latency percentile or the mean",
        2,
    ),
    (
        "abort on a regression",
        '"*": [{expr: "p95 may not rise more than 5%", abort_on_fail: true}]',
        "*",
        "p95 may not rise more than 5%",
        "cannot abort",
        2,
    ),
    (
        "delay without abort",
        '"*": [{expr: "p99 < 5s", delay: 30s}]',
        "*",
        "p99 < 5s",
        "only applies with abort_on_fail",
        2,
    ),
    (
        "dropped per endpoint",
        '"POST /dossiers": ["dropped < 1%"]',
        "POST /dossiers",
        "dropped < 1%",
        "whole run",
        2,
    ),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_expression_is_one_located_line(
    tmp_path: Path, case: tuple[str, str, str, str, str, int]
) -> None:
    _, body, key, expr, fragment, line = case
    path = _write(tmp_path, "budgets:\n  " + body + "\n")
    with pytest.raises(ConfigError) as info:
        load_budgets_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: budgets.{key}: {expr!r}: "), message
    assert fragment in message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('dossiers: ["p95 < 1s"]', "not a budget key"),
        ('"journey:": ["p95 < 1s"]', "not a budget key"),
        ('"Journey:payment": ["p95 < 1s"]', "not a budget key"),
        ('"*": "p95 < 1s"', "expected a list"),
        ('"*": []', "non-empty list"),
        ('"*": [{expr: "p99 < 5s", abort: true}]', "unknown key 'abort'"),
        ('"*": [{expr: "p99 < 5s", abort_on_fail: "yes"}]', "options are true, false"),
        ('"*": [42]', "an expression is a text"),
    ],
)
def test_malformed_key_or_item_is_a_config_error(tmp_path: Path, body: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        load_budgets_file(_write(tmp_path, "budgets:\n  " + body + "\n"))
    assert f"{tmp_path / 'budgets.yaml'}:2" in str(info.value)


def test_budgets_file_needs_a_budgets_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="required section 'budgets'"):
        load_budgets_file(_write(tmp_path, "thresholds: {}\n"))
    with pytest.raises(ConfigError, match="unknown key 'extra'"):
        load_budgets_file(_write(tmp_path, VALID + "extra: 1\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_budgets_file(tmp_path / "missing.yaml")


def test_file_overrides_scenario_per_key() -> None:
    scenario = _set({"*": ["p99 < 2s"], "POST /dossiers": ["p95 < 800ms"]})
    file = _set({"POST /dossiers": ["p95 < 1s"], "journey:status": ["p95 < 3s"]})
    merged = file.merged_over(scenario)
    assert [(b.key, b.expression) for b in merged] == [
        ("*", "p99 < 2s"),
        ("POST /dossiers", "p95 < 1s"),
        ("journey:status", "p95 < 3s"),
    ]


def _set(data: dict[str, list[str]]) -> BudgetSet:
    scenario = scenario_from_data(
        {"name": "x", "duration": "10s", "load": {"users": 1}, "budgets": data}, source="m"
    )
    return scenario.budgets


SCENARIO = """\
name: gated
duration: 10s
load: {users: 2}
budgets:
  "*": ["p99 < 2s"]
  "GET /services":
    - {expr: "p99 < 5s", abort_on_fail: true, delay: 1m30s}
"""


def test_scenario_budgets_load_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(path)
    assert [b.expression for b in scenario.budgets] == ["p99 < 2s", "p99 < 5s"]
    data = scenario.as_dict()
    data.pop("source")
    again = scenario_from_data(data, source="roundtrip")
    assert again.budgets == scenario.budgets
    assert again.budgets.for_key("GET /services")[0].delay_s == 90.0


def test_scenario_without_budgets_has_an_empty_set_and_no_key() -> None:
    scenario = scenario_from_data(
        {"name": "x", "duration": "10s", "load": {"users": 1}}, source="m"
    )
    assert scenario.budgets.is_empty
    assert "budgets" not in scenario.as_dict()


def test_scenario_budget_error_is_a_located_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("p99 < 2s", "p99 < 2"), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:5: budgets.*: 'p99 < 2': ")


@given(
    percentile=st.floats(min_value=0.1, max_value=99.9, allow_nan=False).map(lambda p: round(p, 1)),
    limit_ms=st.integers(min_value=1, max_value=3_600_000),
    op=st.sampled_from(["<", "<="]),
)
def test_any_latency_budget_parses_back_to_its_numbers(
    percentile: float, limit_ms: int, op: str
) -> None:
    budget = parse_expression(f"p{percentile:g} {op} {limit_ms}ms")
    assert budget.percentile == pytest.approx(percentile)
    assert budget.limit == limit_ms and budget.op == op
    assert budget.holds(limit_ms - 0.5) and budget.holds(limit_ms) == (op == "<=")
