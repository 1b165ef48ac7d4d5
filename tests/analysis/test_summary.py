"""summary.json keeps DESIGN.md's contract and its figures come from the histograms."""

from __future__ import annotations

import pytest

from analysis.summary import build_summary
from loadgen.histograms import LatencyRecorder

CONTRACT_ENDPOINT_KEYS = {
    "count",
    "failures",
    "rps",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
}


def test_summary_has_the_contract_keys_and_correct_figures() -> None:
    recorder = LatencyRecorder()
    for i in range(1, 1001):
        recorder.record("GET /services", float(i), failed=i <= 5)
    recorder.record("POST /dossiers", 42.0)
    summary = build_summary(
        scenario="s",
        started_at=100.0,
        ended_at=110.0,
        target="embedded",
        endpoints=recorder.endpoints(),
    ).as_dict()
    for key in (
        "scenario",
        "started_at",
        "duration_s",
        "target",
        "requests",
        "failures",
        "endpoints",
    ):
        assert key in summary
    services = summary["endpoints"]["GET /services"]
    assert services.keys() >= CONTRACT_ENDPOINT_KEYS
    assert services["count"] == 1000 and services["failures"] == 5
    assert services["rps"] == pytest.approx(100.0)
    assert services["p50_ms"] == pytest.approx(500.0, rel=1e-3)
    assert services["p99_ms"] == pytest.approx(990.0, rel=1e-3)
    assert services["max_ms"] == pytest.approx(1000.0, rel=1e-3)
    assert summary["requests"] == 1001 and summary["failures"] == 5
    assert summary["started_at"].startswith("1970-01-01T00:01:40")


def test_empty_run_has_zero_counts_and_no_percentiles() -> None:
    summary = build_summary(scenario="s", started_at=0.0, ended_at=1.0, target="t", endpoints={})
    summary = summary.as_dict()
    assert summary["requests"] == 0
    assert summary["total"]["p95_ms"] is None


def test_a_flush_can_yield_between_entries_and_gets_the_same_figures() -> None:
    """The hook a run's flush uses to keep the event loop (and the arrival clock) free."""
    from analysis.summary import section_figures

    recorder = LatencyRecorder()
    for province in ("Hà Nội", "Huế", "Cần Thơ", "Lào Cai"):
        for ms in (10.0, 20.0, 400.0):
            recorder.record(province, ms, section="provinces")
    calls: list[int] = []
    entries = recorder.section("provinces")
    with_hook = section_figures(entries, 10.0, between=lambda: calls.append(1))
    assert len(calls) == len(entries) - 1 == 3
    assert with_hook == section_figures(entries, 10.0)
    assert list(with_hook) == sorted(entries)
