"""Abort-on-fail budgets while a run is going: after their delay, on cumulative histograms."""

from __future__ import annotations

import numpy as np

from analysis.live_gate import LiveGate
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.fields import Fields
from dvcschema.histograms import EndpointHistogram, new_histogram, record_values


def budgets(data: dict[str, list[object]]) -> BudgetSet:
    section = Fields({"budgets": data}, source="test").section("budgets")
    assert section is not None
    return parse_budgets(section)


def histogram(latency_ms: float, n: int = 200, failures: int = 0) -> EndpointHistogram:
    hist = new_histogram()
    record_values(hist, np.full(n, latency_ms * 1000.0))
    return EndpointHistogram(hist, failures)


ABORT = {
    "*": [{"expr": "p99 < 5s", "abort_on_fail": True, "delay": "30s"}, "p50 < 1ms"],
    "journey:payment": [{"expr": "error_rate < 10%", "abort_on_fail": True}],
}


def test_breach_aborts_only_after_the_delay() -> None:
    gate = LiveGate(budgets(ABORT))
    slow = {"GET /services": histogram(8000.0)}
    assert gate.active
    assert gate.check(slow, {}, elapsed_s=10.0) is None
    reason = gate.check(slow, {}, elapsed_s=31.0)
    assert reason is not None
    assert "GET /services: p99 < 5s [*]" in reason and "p99 = 8.00" in reason


def test_budgets_without_abort_on_fail_never_abort() -> None:
    gate = LiveGate(budgets(ABORT))
    fast = {"GET /services": histogram(20.0)}  # breaks "p50 < 1ms", which does not abort
    assert gate.check(fast, {}, elapsed_s=60.0) is None


def test_journey_error_rate_aborts_without_delay() -> None:
    gate = LiveGate(budgets(ABORT))
    journeys = {"payment": histogram(100.0, n=100, failures=25)}
    reason = gate.check({}, journeys, elapsed_s=1.0)
    assert reason is not None and "journey:payment: error_rate < 10%" in reason


def test_names_not_seen_yet_do_not_abort() -> None:
    gate = LiveGate(budgets({"POST /dossiers": [{"expr": "p95 < 1s", "abort_on_fail": True}]}))
    assert gate.check({}, {}, elapsed_s=100.0) is None


def test_tag_budgets_use_the_given_tags() -> None:
    rule = budgets({"tag:write": [{"expr": "p95 < 100ms", "abort_on_fail": True}]})
    gate = LiveGate(rule, tags={"write": ["POST /dossiers", "POST /attachments"]})
    endpoints = {"POST /dossiers": histogram(50.0), "POST /attachments": histogram(500.0, n=300)}
    reason = gate.check(endpoints, {}, elapsed_s=5.0)
    assert reason is not None and "tag:write" in reason


def test_gate_without_abort_budgets_is_inactive() -> None:
    assert not LiveGate(budgets({"*": ["p99 < 1s"]})).active
