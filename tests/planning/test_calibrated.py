"""A calibrated model file read strictly, and its demands put into a capacity section."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from planning import apply_model, describe_model, plan_scenario, read_model

REPO = Path(__file__).resolve().parents[2]
MODEL = """\
version: 1
runs: [results/a-run]
sessions: 800
client_overhead_ms: 0.5
tiers:
  web: {service_time: 16.5ms, cv: 1.0, visits: 3, dist: exponential, source: access_log, n: 2400}
  cache: {service_time: 2ms, cv: 0.5, visits: 2, source: regression}
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "calibrated.yaml"
    path.write_text(MODEL, encoding="utf-8")
    return path


def test_the_tiers_are_read_in_capacity_vocabulary(model: Path) -> None:
    web, cache = read_model(model)
    assert (web.name, web.service_time_s, web.cv, web.visits) == ("web", 0.0165, 1.0, 3.0)
    assert (cache.name, cache.service_time_s, cache.cv, cache.visits) == ("cache", 0.002, 0.5, 2)


def test_a_model_tier_replaces_the_scenarios_demands_and_keeps_its_limits(model: Path) -> None:
    spec = load_scenario(REPO / "scenarios" / "national-deadline.yaml").capacity
    assert spec is not None
    assert apply_model(spec, None) is spec
    merged = apply_model(spec, model)
    by_name, original = {t.name: t for t in merged.tiers}, {t.name: t for t in spec.tiers}
    web = by_name["web"]
    assert (web.service_time_s, web.visits, web.max_servers) == (
        0.0165,
        3.0,
        original["web"].max_servers,
    )
    assert web.service_time_input is None and web.visits_input is None  # the range gives way
    # an access log's times are whole requests, db and gateway calls included: not again
    assert original["web"].calls and web.calls == {}
    assert by_name["payment"] == original["payment"]  # not in the model: unchanged
    assert [t.name for t in merged.tiers] == ["web", "cache", "db", "payment", "vneid"]


def test_a_service_demand_keeps_the_scenarios_calls(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(MODEL.replace("source: access_log", "source: regression"), encoding="utf-8")
    spec = load_scenario(REPO / "scenarios" / "national-deadline.yaml").capacity
    assert spec is not None
    web = next(t for t in apply_model(spec, path).tiers if t.name == "web")
    assert web.calls == {"db": 1.5, "payment": 0.013, "vneid": 0.125}


def test_the_plan_is_made_with_the_models_demands(model: Path) -> None:
    run = plan_scenario(load_scenario(REPO / "scenarios" / "national-plan.yaml"), model=model)
    assert {t.name for t in run.plan.tiers} == {"web", "cache", "db", "payment"}
    assert run.hand["web"]["service_time_s"] == 0.0165
    assert describe_model(model) == (
        f"demands of web (access_log), cache (regression) from the calibrated model {model}"
        " (dvcload calibrate)"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 1\ntiers:\n  web: {service_time: 5, cv: 1, visits: 3}\n",
         r"calibrated.yaml:3: tiers.web.service_time"),
        ("version: 1\ntiers:\n  web: {service_time: 5ms, cv: 1, visits: 3, x: 1}\n",
         "unknown key 'x'"),
        ("version: 2\ntiers:\n  web: {service_time: 5ms, cv: 1, visits: 3}\n",
         "version 2 is not supported"),
        ("version: 1\ntiers: {}\n", "no tiers"),
        ("version: 1\ntiers:\n  web: {service_time: 2h, cv: 1, visits: 3}\n", "at most 1h"),
    ],
)  # fmt: skip
def test_a_malformed_model_file_is_one_clear_error(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "calibrated.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        read_model(path)


def test_a_model_tier_without_a_budget_is_refused(tmp_path: Path, model: Path) -> None:
    scenario = tmp_path / "plan.yaml"
    scenario.write_text(
        "name: own-budgets\ncapacity:\n  arrivals: {diurnal: {peak: 4, trough: 1}}\n  tiers:\n"
        '    web: {service_time: 20ms, budgets: ["p95 < 1s"]}\n',
        encoding="utf-8",
    )
    spec = load_scenario(scenario).capacity
    assert spec is not None
    with pytest.raises(ConfigError, match="tier 'cache' comes from the model but has no budget"):
        apply_model(spec, model)
