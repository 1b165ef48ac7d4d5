"""Comparing runs: a slower portal is a regression, a rerun of the same one is noise."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.compare import compare_runs
from analysis.runfolder import RunFolder

MakeRun = Callable[..., Path]


def test_slowed_run_is_flagged_and_rerun_is_not(make_run: MakeRun) -> None:
    baseline = RunFolder.open(make_run("baseline", seed=11))
    rerun = RunFolder.open(make_run("rerun", seed=12))
    slowed = RunFolder.open(make_run("slowed", seed=13, slowdown=1.3))
    same = compare_runs(baseline, rerun)
    worse = compare_runs(baseline, slowed)
    assert not same.row("total").regressed
    assert same.regressions == ()
    assert worse.row("total").regressed
    flagged = {r.key for r in worse.regressions if r.kind == "endpoint"}
    assert len(flagged) >= 6, flagged  # the two rarest names have wide intervals
    p95 = worse.row("total").change("p95")
    assert p95.low > 0 and 0.15 < p95.relative < 0.45


def test_comparison_lists_names_in_only_one_run(
    make_run: MakeRun, endpoint_models: dict[str, Any]
) -> None:
    baseline = RunFolder.open(make_run("baseline"))
    del endpoint_models["POST /auth/login"]
    fewer = RunFolder.open(make_run("fewer", endpoints=endpoint_models))
    comparison = compare_runs(baseline, fewer)
    assert comparison.only_in_baseline == ("POST /auth/login",)
    assert "POST /auth/login" not in {r.key for r in comparison.rows}
    data = comparison.as_dict()
    assert data["rows"][0]["changes"][1]["metric"] == "p95"
    assert {"ci_low", "ci_high", "verdict"} <= data["rows"][0]["changes"][1].keys()


def test_error_rate_regression_is_flagged(
    make_run: MakeRun, endpoint_models: dict[str, Any]
) -> None:
    baseline = RunFolder.open(make_run("baseline", seed=1))
    model = endpoint_models["POST /dossiers"]
    endpoint_models["POST /dossiers"] = dataclasses.replace(model, failure_ratio=0.05)
    failing = RunFolder.open(make_run("failing", seed=2, endpoints=endpoint_models))
    row = compare_runs(baseline, failing).row("POST /dossiers")
    change = row.change("error_rate")
    assert change.verdict == "regression" and change.low > 0
