"""The gate on a recorded run: pass, fail, skip, no data, partial runs, and files written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.checks import Measurements, evaluate
from analysis.distribution import LatencyDistribution, merge
from analysis.gate import run_gate
from analysis.runfolder import RunFolder
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.errors import ConfigError
from dvcschema.fields import Fields

MakeRun = Callable[..., Path]


def budgets(data: dict[str, list[object]]) -> BudgetSet:
    section = Fields({"budgets": data}, source="test").section("budgets")
    assert section is not None
    return parse_budgets(section)


PASSING = {
    "*": ["p99 < 2s", "error_rate < 5%"],
    "total": ["rps > 100", "mean < 200ms"],
    "POST /dossiers": ["p95 < 800ms"],
    "journey:payment": ["p95 < 1.5s"],
    "tag:write": ["p99.9 < 3s"],
}
FAILING = {
    "*": ["error_rate < 1%"],  # the payments endpoint fails 2% of its requests
    "POST /dossiers": ["p95 < 5ms"],  # median 10 ms
    "total": ["rps > 10000"],
}


@pytest.fixture
def run_copy(recorded_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(recorded_run, tmp_path / "copy"))


def test_passing_budget_set_passes_and_writes_its_files(run_copy: Path) -> None:
    result = run_gate(run_copy, budgets(PASSING))
    assert result.passed, result.headline
    assert len(result.checks) == 8 * 2 + 2 + 1 + 1 + 1
    for name in ("gate.json", "junit.xml", "gate.md"):
        assert (run_copy / name).stat().st_size > 0
    gate = json.loads((run_copy / "gate.json").read_text(encoding="utf-8"))
    assert gate["passed"] is True and gate["counts"]["failed"] == 0
    summary = json.loads((run_copy / "summary.json").read_text(encoding="utf-8"))
    assert summary["gate"]["passed"] is True
    assert len(summary["gate"]["budgets"]) == len(result.checks)
    entry = summary["gate"]["budgets"][0]
    assert entry.keys() >= {"key", "expression", "metric", "measured", "limit", "passed"}
    assert summary["endpoints"], "the rest of summary.json is kept"


def test_failing_budget_set_fails_with_measured_values(run_copy: Path) -> None:
    result = run_gate(run_copy, budgets(FAILING))
    assert not result.passed
    failed = {c.name: c for c in result.checks if c.status == "failed"}
    assert set(failed) == {
        "POST /dossiers/[code]/payments: error_rate < 1% [*]",
        "POST /dossiers: p95 < 5ms",
        "total: rps > 10000",
    }
    p95 = failed["POST /dossiers: p95 < 5ms"]
    summary = json.loads((run_copy / "summary.json").read_text(encoding="utf-8"))
    assert p95.measured == pytest.approx(summary["endpoints"]["POST /dossiers"]["p95_ms"])
    assert p95.message.startswith(f"p95 = {p95.measured:,.1f} ms, limit 5 ms")
    assert summary["gate"]["passed"] is False
    markdown = (run_copy / "gate.md").read_text(encoding="utf-8")
    assert (
        "❌ dvcload gate failed" in markdown and "| ❌ | `POST /dossiers`: `p95 < 5ms`" in markdown
    )


def test_star_checks_each_request_name_and_total_merges_them(recorded_run: Path) -> None:
    run = RunFolder.open(recorded_run)
    measured = Measurements.from_run(run)
    checks = evaluate(budgets({"*": ["p50 < 1s"], "total": ["p50 < 1s"]}), measured)
    assert [c.target for c in checks[:-1]] == sorted(run.endpoints)
    assert all(c.name.endswith("[*]") for c in checks[:-1])
    total = checks[-1]
    assert total.target == "total" and total.count == sum(d.count for d in run.endpoints.values())
    assert total.measured == pytest.approx(merge(run.endpoints.values()).percentile_ms(50))


def test_tag_budget_merges_the_tagged_request_names(recorded_run: Path) -> None:
    run = RunFolder.open(recorded_run)
    [check] = evaluate(budgets({"tag:payment": ["p99 < 10s"]}), Measurements.from_run(run))
    members = [run.endpoints[n] for n in ("POST /dossiers/[code]/payments", "POST /paygov/confirm")]
    assert check.count == sum(d.count for d in members)
    assert check.measured == pytest.approx(merge(members).percentile_ms(99))


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("POST /dossier", "no requests named 'POST /dossier'"),
        ("journey:refund", "no 'refund' journeys"),
        ("tag:nothing", "no requests tagged 'nothing'"),
    ],
)
def test_budget_on_something_absent_fails_and_says_what_exists(
    recorded_run: Path, key: str, fragment: str
) -> None:
    [check] = evaluate(
        budgets({key: ["p95 < 1s"]}), Measurements.from_run(RunFolder.open(recorded_run))
    )
    assert check.status == "failed" and fragment in check.message


def test_regression_budget_without_baseline_is_skipped_not_passed(run_copy: Path) -> None:
    result = run_gate(run_copy, budgets({"total": ["p95 may not rise more than 10%"]}))
    [check] = result.checks
    assert check.status == "skipped" and "needs a baseline" in check.message
    assert result.passed and "1 skipped" in result.headline
    assert "<skipped" in (run_copy / "junit.xml").read_text(encoding="utf-8")


def test_regression_budget_fails_a_slower_run_and_passes_a_rerun(make_run: MakeRun) -> None:
    baseline = make_run("baseline", seed=1)
    rerun = make_run("rerun", seed=2)
    slower = make_run("slower", seed=3, slowdown=1.3)
    rule = budgets(
        {"*": ["p95 may not rise more than 10%"], "total": ["p95 may not rise more than 10%"]}
    )
    assert run_gate(rerun, rule, baseline=baseline).passed
    result = run_gate(slower, rule, baseline=baseline)
    assert not result.passed
    total = next(c for c in result.checks if c.target == "total")
    assert total.status == "failed"
    assert 0.15 < total.measured < 0.45, total.message
    assert total.ci is not None and total.ci[0] > 0.0 and total.ci[0] < 0.30 < total.ci[1]
    gate = json.loads((slower / "gate.json").read_text(encoding="utf-8"))
    assert gate["comparison"]["rows"][0]["key"] == "total"


def test_dropped_budget_reads_the_arrivals_of_an_open_loop_run(make_run: MakeRun) -> None:
    arrivals = {"target_rate": 100.0, "achieved_rate": 98.0, "dropped": 60, "scheduled": 3000}
    folder = make_run("open", extra={"arrivals": arrivals})
    result = run_gate(folder, budgets({"total": ["dropped < 100", "dropped < 1%"]}))
    by_expr = {c.budget.expression: c for c in result.checks}
    assert by_expr["dropped < 100"].status == "passed" and by_expr["dropped < 100"].measured == 60
    assert by_expr["dropped < 1%"].status == "failed"
    assert by_expr["dropped < 1%"].measured == pytest.approx(0.02)


def test_dropped_budget_is_skipped_for_a_closed_loop_run(recorded_run: Path) -> None:
    measured = Measurements.from_run(RunFolder.open(recorded_run))
    [check] = evaluate(budgets({"*": ["dropped < 1%"]}), measured)
    assert check.status == "skipped" and "not an open-loop run" in check.message


def test_partial_run_still_gates_and_says_so(make_run: MakeRun) -> None:
    folder = make_run("partial", partial=True)
    result = run_gate(folder, budgets({"*": ["p99 < 5s"]}))
    assert result.passed and result.partial
    assert "partial run" in result.headline
    assert "partial run" in (folder / "gate.md").read_text(encoding="utf-8")


def test_gate_on_a_folder_that_is_not_a_run_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such results folder"):
        run_gate(tmp_path / "missing", budgets(PASSING))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a dvcload results folder"):
        run_gate(tmp_path / "empty", budgets(PASSING))


def test_gate_measures_what_the_summary_reports(recorded_run: Path) -> None:
    run = RunFolder.open(recorded_run)
    checks = evaluate(budgets({"*": ["p90 < 3600s", "max < 3600s"]}), Measurements.from_run(run))
    for check in checks:
        row = run.summary["endpoints"][check.target]
        assert check.measured == pytest.approx(row[f"{check.budget.metric}_ms"])


def test_distribution_of_a_run_matches_its_count(recorded_run: Path) -> None:
    run = RunFolder.open(recorded_run)
    for key, dist in run.endpoints.items():
        assert isinstance(dist, LatencyDistribution)
        assert dist.count == run.summary["endpoints"][key]["count"]
