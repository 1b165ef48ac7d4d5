"""One run set-up (:mod:`dvcload.run_setup`) for ``dvcload run``, ``dvcload worker`` and
``locust -f locustfile.py``: the same scenario resolution, pins, citizens and workload."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dvcload.run_setup import prepare_run, require_load, resolve_scenario
from dvcschema.errors import ScenarioError, TargetError
from dvcschema.scenario import load_scenario
from dvcschema.settings import Overrides

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "scenarios" / "smoke.yaml"
ENTRY_POINTS = ("dvcload/orchestrate.py", "dvcload/commands/worker.py", "locustfile.py")


def test_the_scenario_is_resolved_with_its_settings_and_its_target_checked() -> None:
    scenario = resolve_scenario(load_scenario(SMOKE), Overrides(seed=7, users=3), {})
    assert scenario.seed == 7
    with pytest.raises(TargetError, match="--target"):
        resolve_scenario(
            load_scenario(SMOKE), Overrides(target="http://192.0.2.1:80"), {}, field="--target"
        )


def test_a_scenario_without_load_is_for_plan() -> None:
    plan_only = REPO / "scenarios" / "national-deadline.yaml"
    scenario = load_scenario(plan_only)
    if scenario.load is not None:  # pragma: no cover - the shipped file has no load
        pytest.skip("national-deadline.yaml has a load section")
    with pytest.raises(ScenarioError, match="dvcload plan"):
        require_load(scenario)


def test_each_process_gets_its_share_of_the_same_citizens() -> None:
    scenario = resolve_scenario(load_scenario(SMOKE), Overrides(seed=11), {})
    said: list[str] = []
    whole = prepare_run(scenario, say=said.append)
    halves = [prepare_run(scenario, partition=(k, 2), say=said.append) for k in (0, 1)]
    assert said == []  # loopback only: nothing pinned, nothing to say
    cccds = {c.cccd for c in whole.population}
    assert {c.cccd for h in halves for c in h.population} == cccds
    assert halves[0].workload.partition == (0, 2) and whole.workload.policy == whole.policy


def test_every_entry_point_builds_its_run_through_the_one_set_up() -> None:
    for name in ENTRY_POINTS:
        tree = ast.parse((REPO / name).read_text(encoding="utf-8"))
        called = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert "prepare_run" in called, name
        assert not called & {"generate_population", "build_workload", "EmbeddedPortal"}, name
