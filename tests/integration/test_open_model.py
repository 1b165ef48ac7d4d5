"""The open workload model against the embedded portal, checked from the portal's own
access log: rate, Poisson arrivals, percentile accuracy, overload, distribution."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dvcschema.histograms import decode, merged

pytestmark = pytest.mark.integration
SERVER_END_LAG_MS = 1.0

OPEN = """\
name: open-check
seed: {seed}
target: embedded
duration: {duration}
portal: {{config: CONFIGS/{config}.yaml}}
population: {{size: 20000}}
load:
  model: open
  max_concurrency: {concurrency}
  rate: {{constant: {rate}}}
mix:
  journeys: {{browse: 1}}
"""


def test_arrivals_reach_the_portal_at_the_target_rate_as_a_poisson_stream(
    run_scenario: Callable[..., Any],
) -> None:
    # 15 s at 70/s: ~1,050 arrivals (the 30 s at 50/s this test once ran gave ~1,500),
    # enough for the CV's 3-standard-error band below to be narrow (0.14 around 1)
    run = run_scenario(OPEN.format(seed=7, duration="15s", config="fast", concurrency=100, rate=70))
    arrivals = run.summary["arrivals"]
    t = run.arrivals_at_portal()
    # Every session the generator started reached the portal (fidelity, not luck).
    assert len(t) == arrivals["started"] == arrivals["offered"]
    assert arrivals["dropped"] == 0
    # The count is Poisson around the target: within 4 standard deviations.
    expected = arrivals["expected"]
    assert abs(len(t) - expected) < 4 * np.sqrt(expected)
    server_rate = (len(t) - 1) / (t[-1] - t[0])
    assert server_rate == pytest.approx(arrivals["achieved_rate"], rel=0.02)
    gaps = np.diff(t)
    cv = gaps.std() / gaps.mean()
    # CV of exponential gaps is 1 with a standard error of ~1/sqrt(n) (n ~ 1,050 here).
    assert abs(cv - 1.0) < 0.05 + 3 / np.sqrt(len(gaps)), cv
    # The Kolmogorov-Smirnov test of the gaps against the exponential is not asserted
    # here: a test at 1% fails 1% of the time even for a perfect stream, and more on a
    # shared machine where the generator's one thread spaces logins at least ~0.2 ms
    # apart. benchmarks/bench_arrivals.py measures it, with the short gaps' share.


def test_harness_percentiles_match_the_portal_after_network_overhead(
    run_scenario: Callable[..., Any],
) -> None:
    """Same requests, two instruments: the harness's HDR histogram and the server's log.

    The harness sees the server's time plus a small, nearly constant overhead (loopback,
    HTTP parsing on both sides). The overhead is estimated as the difference of the
    medians (robust: the mean is pulled up by the generator's rare scheduling stalls);
    after subtracting it, each percentile must agree within 1%.
    """
    # 12 s at 20 sessions/s: ~230 requests of GET /services, p99 among its 3 slowest.
    # (A higher rate would give more in less time, but widens the overhead's spread: in
    # three 10 s runs at 40/s the overhead was 5-8 ms and p95 up to 0.85% off; at 20/s
    # under 1 ms and 0.1%.)
    run = run_scenario(
        OPEN.format(seed=8, duration="12s", config="slow_wide", concurrency=200, rate=20)
    )
    server_ms = np.array(
        [
            r["response_ms"]
            for r in run.access_log()
            if r["endpoint"] == "/services" and r["status"] == 200
        ]
    )
    hist = decode_endpoint(run, "GET /services")
    assert hist.get_total_count() == len(server_ms)
    median_us = hist.get_value_at_percentile(50)
    overhead_ms = median_us / 1000 - _at_hdr_rank(server_ms, 50)
    # the histogram holds the median to within one bucket (0.128 ms near 200 ms), and the
    # portal stamps a response's end when its handler resumes after the last send, which
    # the client may already have read: on a loaded machine the portal's loop resumes it
    # a fraction of a millisecond late (a fresh-clone run measured -0.2 ms). So the
    # estimate may land up to a bucket plus that lag below 0.
    bucket_ms = (
        hist.get_highest_equivalent_value(median_us) - hist.get_lowest_equivalent_value(median_us)
    ) / 1000
    assert -(bucket_ms + SERVER_END_LAG_MS) <= overhead_ms < 10, (overhead_ms, bucket_ms)
    for p in (50, 90, 95, 99):
        harness = hist.get_value_at_percentile(p) / 1000 - overhead_ms
        server = _at_hdr_rank(server_ms, p)
        assert harness == pytest.approx(server, rel=0.01), (p, harness, server, overhead_ms)


def _at_hdr_rank(values: np.ndarray, percentile: float) -> float:
    """The value at the rank HdrHistogram reads a percentile at: ``round(p x n)``, where
    numpy's ``inverted_cdf`` takes ``ceil(p x n)``. Where the two differ, the instruments
    would be compared on different requests: in the sparse tail, 2-15% apart (measured)."""
    rank = max(int(percentile * len(values) / 100 + 0.5), 1)
    return float(np.sort(values)[rank - 1])


def decode_endpoint(run: Any, key: str) -> Any:
    import json

    data = json.loads((run.folder / "histograms.json").read_text(encoding="utf-8"))
    return decode(data["endpoints"][key]["histogram"])


def _interval_p95_ms(run: Any, min_length_s: float = 4.0) -> list[float]:
    """p95 per reporting interval (5 s), full intervals only: the last one is the few
    requests still in flight at the stop (measured once: 26 ms long), not a level."""
    import json

    rows = [
        json.loads(line)
        for line in (run.folder / "histograms_intervals.jsonl").read_text().splitlines()
    ]
    out = []
    for row in rows:
        hists = [decode(e["histogram"]) for e in row["endpoints"].values()]
        if hists and row["t_end"] - row["t_start"] >= min_length_s:
            out.append(merged(hists).get_value_at_percentile(95) / 1000)
    return out


def test_overload_shows_in_the_open_model_but_hides_in_the_closed_one(
    start_scenario: Callable[..., Any],
) -> None:
    """Capacity 100 requests/s (2 servers x 20 ms); 38 sessions/s of 3 requests is 114.

    Open model: sessions in flight grow through the run, and so do waits, until the
    100 sessions allowed in flight are reached (~12 s in: the portal's queue waits reach
    1 s); then arrivals are dropped.
    Closed model at the same nominal rate (21 users, 0.5 s think, ~60 ms per journey
    unloaded): the users slow down with the server, latency levels off, nothing drops.

    The two runs have portals of their own and run at the same time: both wait on their
    portal's two servers far more than they use a core. 20 s of load each: the open run
    has its first interval (5 s, plus the start-up) and three to grow in; the closed one
    three after its first to level off in.
    """
    open_started = start_scenario(
        OPEN.format(seed=9, duration="20s", config="small", concurrency=100, rate=38)
    )
    closed_started = start_scenario(
        """\
name: closed-check
seed: 9
target: embedded
duration: 20s
portal: {config: CONFIGS/small.yaml}
population: {size: 20000}
load: {users: 21, spawn_rate: 21, think_time: 0.5s}
mix: {journeys: {browse: 1}}
"""
    )
    open_run, closed_run = open_started.finish(), closed_started.finish()
    p95 = _interval_p95_ms(open_run)
    assert len(p95) >= 3, p95  # the first interval and at least two to grow in
    assert max(p95[2:]) > 1.5 * p95[0], p95  # latency keeps growing through the run
    assert max(p95) > 10 * 20, p95  # far above the bare 20 ms service time
    assert open_run.summary["arrivals"]["dropped"] > 0  # and arrivals are dropped
    p95_closed = _interval_p95_ms(closed_run)
    assert len(p95_closed) >= 3, p95_closed  # at least two after the first
    assert max(p95_closed[1:]) < 2 * min(p95_closed[1:]), p95_closed  # levels off
    assert max(p95_closed) < max(p95[2:]) / 2, (p95_closed, p95)
    assert "arrivals" not in closed_run.summary  # nothing to drop: the overload is hidden


def test_two_processes_merge_exactly_and_use_disjoint_citizens(
    run_scenario: Callable[..., Any],
) -> None:
    run = run_scenario(
        OPEN.format(seed=10, duration="5s", config="fast", concurrency=100, rate=40).replace(
            "browse: 1", "filing: 1, status: 1"
        ),
        "--processes",
        "2",
    )
    workers = run.summary["workers"]
    assert [w["partition"] for w in workers] == ["0/2", "1/2"]
    assert sum(w["requests_reported"] for w in workers) == run.summary["requests"]
    assert all(w["requests_reported"] == w["requests_merged"] for w in workers)
    # generator health sees the workers, where the load is made, not only the master
    cpu = run.summary["generator"]
    assert set(cpu["processes"]) == {"master", *(w["worker"] for w in workers)}
    busiest = max(v for k, v in cpu["processes"].items() if k != "master")
    assert busiest > 0 and cpu["cpu_percent"] == max(busiest, cpu["processes"]["master"])
    assert run.summary["locust_totals"]["requests"] == run.summary["requests"]
    assert run.summary["arrivals"]["offered"] == sum(
        1 for r in run.access_log() if r["endpoint"] == "/auth/login"
    )
    with (run.folder / "acknowledged_dossiers.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_worker: dict[str, set[str]] = {}
    for row in rows:
        by_worker.setdefault(row["worker"], set()).add(row["cccd"])
    assert set(by_worker) == {"0", "1"}
    assert not (by_worker["0"] & by_worker["1"])  # no ID number used by both workers
    db = sqlite3.connect(f"file:{run.folder / 'portal.sqlite'}?mode=ro", uri=True)
    try:
        owners = dict(db.execute("SELECT dossier_code, owner_cccd FROM dossiers"))
    finally:
        db.close()
    assert all(owners[row["dossier_code"]] == row["cccd"] for row in rows)
