"""Fuzzing the readers of scenario, capacity, budgets, portal configuration and fault
files in-process: every generated input loads or fails with one clean line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fuzz_inputs import (
    EXAMPLES,
    MIN_TOTAL_EXAMPLES,
    PORTAL_CONFIGS,
    SCENARIOS,
    STRUCTURES,
    Tally,
    dump,
    fuzz_settings,
    loads_or_fails_cleanly,
    mutate,
    mutated_document,
    read_yaml,
)
from hypothesis import given
from hypothesis import strategies as st

from dvcschema.budgets import load_budgets_file
from dvcschema.scenario import load_scenario
from portal.config import load_config
from portal.faults import faults_from_data

CSV_SCENARIO = {
    "name": "csv-rates",
    "target": "embedded",
    "load": {
        "model": "open",
        "max_concurrency": 10,
        "rate": {"csv": {"file": "counts.csv", "interval": "10s"}, "speed": 2},
    },
}
COUNTS_CSV = "t,count\n0,10\n10,20\n20,5\n"
BAD_COUNTS = ["", "count\n", "t,count\n0,\x00\n", "t,count\n0,-1\n", "t,count\n0,1e400\n",
              't,count\n0,"1\n', "\ufeffcount\n1\n", "count\n" + "9" * 200_000 + "\n"]  # fmt: skip
BUDGETS = {
    "budgets": {
        "*": ["p99 < 2s", "error_rate < 1%"],
        "total": ["rps > 5", "dropped < 5%"],
        "POST /dossiers": ["p95 < 800ms", "p(99.9) <= 3s"],
        "journey:payment": ["p95 < 1.5s"],
        "tag:write": ["mean < 1s"],
        "GET /services": [
            {"expr": "p99 < 5s", "abort_on_fail": True, "delay": "30s"},
            "p95 may not rise more than 10%",
        ],
    }
}
EXPRESSION_PARTS = st.tuples(
    st.sampled_from(["p95", "p(99)", "p100", "p0", "max", "mean", "avg", "error_rate", "rps",
                     "dropped", "p95(error_rate)", "P(wait)", "", "p-1", "p95.5.5"]),
    st.sampled_from([" < ", " <= ", " > ", " >= ", " = ", " == ", " != ", "<",
                     " may not rise more than "]),
    st.sampled_from(["800ms", "1s", "800", "1%", "0.01", "50/s", "-1ms", "1e999s", "nan",
                     "inf%", "5 µs", "10%%", "", "1e-400s", "99999999999999999999h"]),
).map("".join)  # fmt: skip


def _check_all(tally: Tally, load: Any) -> None:
    tally.count += 1
    loads_or_fails_cleanly(load)


def test_the_fuzz_budget_adds_up_to_2000_inputs() -> None:
    assert sum(EXAMPLES.values()) >= MIN_TOTAL_EXAMPLES


def test_mutated_scenarios_load_or_fail_cleanly(tmp_path: Path) -> None:
    tally = Tally("scenario_mutations")
    bases = [read_yaml(p) for p in SCENARIOS] + [CSV_SCENARIO]
    path = tmp_path / "scenario.yaml"

    @fuzz_settings(tally.name)
    @given(st.sampled_from(bases).flatmap(mutated_document), st.booleans(), st.data())
    def check(text: str, damage_counts: bool, data: st.DataObject) -> None:
        counts = COUNTS_CSV
        if damage_counts:
            counts = data.draw(st.sampled_from(BAD_COUNTS))
        (tmp_path / "counts.csv").write_text(counts, encoding="utf-8")
        path.write_text(text, encoding="utf-8")
        _check_all(tally, lambda: load_scenario(path))

    check()
    tally.check()


def test_random_yaml_structures_as_scenarios_load_or_fail_cleanly(tmp_path: Path) -> None:
    tally = Tally("scenario_structures")
    path = tmp_path / "scenario.yaml"
    base = read_yaml(SCENARIOS[0])

    @fuzz_settings(tally.name)
    @given(st.one_of(STRUCTURES, st.dictionaries(st.sampled_from(list(base)), STRUCTURES)))
    def check(doc: Any) -> None:
        path.write_text(dump(doc), encoding="utf-8")
        _check_all(tally, lambda: load_scenario(path))

    check()
    tally.check()


def test_mutated_capacity_sections_load_and_plan_or_fail_cleanly(tmp_path: Path) -> None:
    from planning import build_plan

    tally = Tally("capacity_mutations")
    path = tmp_path / "plan.yaml"
    base = read_yaml(next(p for p in SCENARIOS if p.stem == "national-plan"))

    def load_and_plan() -> None:
        scenario = load_scenario(path)
        if scenario.capacity is not None:
            build_plan(scenario.capacity, method=scenario.capacity.method, surge=1.0, source="f")

    @fuzz_settings(tally.name)
    @given(mutated_document(base))
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        _check_all(tally, load_and_plan)

    check()
    tally.check()


def test_budgets_files_load_or_fail_cleanly(tmp_path: Path) -> None:
    tally = Tally("budgets")
    path = tmp_path / "budgets.yaml"

    @st.composite
    def budget_texts(draw: st.DrawFn) -> str:
        choice = draw(st.integers(min_value=0, max_value=2))
        if choice == 0:
            return draw(mutated_document(BUDGETS))
        key = draw(st.sampled_from(["*", "total", "POST /dossiers", "journey:x", "tag:y", "?"]))
        expressions = draw(st.lists(st.one_of(EXPRESSION_PARTS, st.text(max_size=30)), max_size=3))
        return dump({"budgets": {key: expressions}})

    @fuzz_settings(tally.name)
    @given(budget_texts())
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        _check_all(tally, lambda: load_budgets_file(path))

    check()
    tally.check()


def test_portal_configs_load_or_fail_cleanly(tmp_path: Path) -> None:
    tally = Tally("portal_configs")
    path = tmp_path / "portal.yaml"
    bases = [read_yaml(p) for p in PORTAL_CONFIGS]

    @fuzz_settings(tally.name)
    @given(st.sampled_from(bases).flatmap(mutated_document))
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        _check_all(tally, lambda: load_config(path))

    check()
    tally.check()


def test_fault_sections_load_or_fail_cleanly() -> None:
    """The admin endpoint's JSON bodies: structures, and mutations of a full fault set."""
    tally = Tally("fault_sections")
    faults = read_yaml(next(p for p in PORTAL_CONFIGS if p.stem == "faults"))["faults"]

    @st.composite
    def bodies(draw: st.DrawFn) -> Any:
        if draw(st.booleans()):
            return draw(STRUCTURES)
        body = copy.deepcopy(faults)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            body = mutate(draw, body)
        return body

    @fuzz_settings(tally.name)
    @given(bodies())
    def check(body: Any) -> None:
        _check_all(tally, lambda: faults_from_data(body, source="POST /admin/faults"))

    check()
    tally.check()


def test_the_valid_starting_points_load(tmp_path: Path) -> None:
    """Mutations start from valid files: check they are (else the fuzz stays shallow)."""
    for path in SCENARIOS:
        load_scenario(path)
    for path in PORTAL_CONFIGS:
        load_config(path)
    (tmp_path / "counts.csv").write_text(COUNTS_CSV, encoding="utf-8")
    (tmp_path / "csv.yaml").write_text(dump(CSV_SCENARIO), encoding="utf-8")
    load_scenario(tmp_path / "csv.yaml")
    (tmp_path / "budgets.yaml").write_text(dump(BUDGETS), encoding="utf-8")
    assert len(load_budgets_file(tmp_path / "budgets.yaml")) == 10
