"""Benchmark: the national deadline's plan, and its journey latency against a baseline.

Issue #17 added journey latency (:mod:`planning.journeys`): a journey of k visits to a
tier is k stations of that tier in tandem (:func:`models.tandem_response_quantile`).
Binning a lognormal station's response-time distribution takes quadrature, so a station
visited k times is binned once. Measured in one process, best of 3:

- the baseline: the filing journey's p95 (8 web requests at the peak, the plan's own
  station) with 8 distinct copies of the station, each binned as before;
- the same with the one station visited 8 times, and the ratio (target: at least 3x
  faster), the two quantiles equal;
- for information, a whole ``plan_scenario`` of ``scenarios/national-deadline.yaml``
  (1,000 samples) and its report and JSON.

Run: ``.venv/bin/python -m benchmarks plan`` (or ``make bench``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path

from dvcschema.scenario import load_scenario
from models.tandem import tandem_response_quantile

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "national-deadline.yaml"
VISITS = 8
TARGET_RATIO = 3.0


def _best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> bool:
    import planning
    from planning.journeys import peak_stations

    started = time.perf_counter()
    run = planning.plan_scenario(load_scenario(SCENARIO))
    plan_s = time.perf_counter() - started
    report_s = _best_of(lambda: planning.report(run))
    json_s = _best_of(lambda: planning.plan_json(run))
    print(f"plan of {SCENARIO.name}: {plan_s:.2f} s; report {report_s:.3f} s, JSON {json_s:.3f} s")

    web = peak_stations(run)["web"]
    same = [web] * VISITS
    copies = [copy.deepcopy(web) for _ in range(VISITS)]
    p95_same = tandem_response_quantile(0.95, same)
    p95_copies = tandem_response_quantile(0.95, copies)
    baseline_s = _best_of(lambda: tandem_response_quantile(0.95, copies))
    shared_s = _best_of(lambda: tandem_response_quantile(0.95, same))
    ratio = baseline_s / shared_s
    print(
        f"filing journey, {VISITS} web visits: p95 {p95_same * 1000:.1f} ms"
        f" (copies {p95_copies * 1000:.1f} ms); baseline {baseline_s:.3f} s, binned once"
        f" {shared_s:.3f} s: {ratio:.1f}x faster (target >= {TARGET_RATIO:g}x)"
    )
    return p95_same == p95_copies and ratio >= TARGET_RATIO
