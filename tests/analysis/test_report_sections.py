"""The report reads as a report: the audit in its own section with a small table and
nothing empty, and axes of counts that never go below zero."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis import figures
from analysis.audit import FAILING_COUNTS
from analysis.report import write_report
from analysis.report_tables import AUDIT_CHECKS
from analysis.synthetic import EndpointModel
from analysis.timeseries import read_intervals, read_users

MakeRun = Callable[..., Path]
CLEAN_AUDIT: dict[str, Any] = {
    "dossiers_acknowledged": 1200,
    "payments_confirmed": 400,
    "dossiers_in_database": 1206,
    "charges_in_database": 400,
    **dict.fromkeys(FAILING_COUNTS, 0),
    "dossiers_unacknowledged": 6,
    "charges_unreported": 0,
    "charges_in_excess": 0,
    "passed": True,
    "examples": {},
}


def section(page: str, heading: str) -> str:
    start = page.index(f"<h2>{heading}</h2>")
    return page[start : page.index("</section>", start)]


def test_audit_has_its_own_section_with_a_row_per_check_and_nothing_empty(
    make_run: MakeRun,
) -> None:
    ledger = {"dossiers_acknowledged": 1200, "payments_confirmed": 400}
    folder = make_run("audited", extra={"audit": CLEAN_AUDIT, "ledger": ledger})
    page = write_report(folder).read_text(encoding="utf-8")
    assert "examples {}" not in page and "{}" not in page.partition("</style>")[2]
    assert "audit:" not in section(page, "Run") and "ledger:" not in section(page, "Run")
    audit = section(page, "Integrity audit")
    assert "✔ The portal kept every acknowledged dossier" in audit
    assert audit.count("<tr>") == 1 + len(FAILING_COUNTS)  # the head and one row per check
    assert "1,200 acknowledged dossiers, 400 confirmed payments" in audit
    assert "6 dossiers stored but never acknowledged to the citizen" in audit
    assert "examples" not in audit


def test_a_failed_audit_says_what_failed_and_shows_its_examples(make_run: MakeRun) -> None:
    audit = CLEAN_AUDIT | {
        "dossiers_missing": 2,
        "passed": False,
        "examples": {"dossiers_missing": ["HS-0001", "HS-0002"]},
    }
    page = write_report(make_run("broken", extra={"audit": audit})).read_text(encoding="utf-8")
    found = section(page, "Integrity audit")
    assert "✘ The audit failed: 2 acknowledged dossiers missing from the database" in found
    assert "<code>HS-0001, HS-0002</code>" in found
    assert "2 acknowledged dossiers are missing" in section(page, "Verdict")


def test_an_unaudited_run_points_to_its_ledgers(make_run: MakeRun) -> None:
    ledger = {"dossiers_acknowledged": 30, "payments_confirmed": 9}
    page = write_report(make_run("other", extra={"ledger": ledger})).read_text(encoding="utf-8")
    found = section(page, "Integrity audit")
    assert "Not audited" in found and "30 acknowledged dossiers, 9 confirmed payments" in found


def test_every_failing_count_of_the_audit_has_a_row() -> None:
    assert set(AUDIT_CHECKS) == set(FAILING_COUNTS)


def _no_failures(models: dict[str, EndpointModel]) -> dict[str, EndpointModel]:
    return {k: dataclasses.replace(m, failure_ratio=0.0) for k, m in models.items()}


@pytest.mark.parametrize("failing", [False, True])
def test_count_axes_start_at_zero(
    make_run: MakeRun, endpoint_models: dict[str, EndpointModel], failing: bool
) -> None:
    endpoints = endpoint_models if failing else _no_failures(endpoint_models)
    folder = make_run("axes", endpoints=endpoints)
    series = read_intervals(folder / "histograms_intervals.jsonl")
    users = read_users(folder / "locust_stats_history.csv", series.t0_unix)
    fig = figures.throughput_over_time(series, users, target_rate_per_s=150.0)
    labels = {ax.get_ylabel(): ax.get_ylim() for ax in fig.axes}
    assert set(labels) == {"requests per second", "users", "failures per second", "error rate (%)"}
    assert all(bottom == 0.0 for bottom, _ in labels.values()), labels
    top = labels["failures per second"][1]
    assert top > series.failures_per_s.max() if failing else top == 1.0
    assert labels["requests per second"][1] > max(series.rps.max(), 150.0)
    latency = figures.latency_over_time(series)
    assert all(ax.get_ylim()[0] == 0.0 for ax in latency.axes)
