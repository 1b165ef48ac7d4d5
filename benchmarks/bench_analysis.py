"""Benchmark: summary, gate and report of a synthetic run of 10 million requests.

Target (issue #6): a run of 10,000,000 requests summarises, gates and reports in
under 30 s. The synthetic results folder has 8 request names and 3 journeys over one
hour in 720 intervals of 5 s, written by the real histogram codec with vectorised
recording (its generation is timed apart and not counted). Also reported: a gate with
a baseline, which adds the bootstrap comparison of every request name.

Run: ``.venv/bin/python -m benchmarks.bench_analysis`` (or ``make bench``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from analysis.gate import run_gate
from analysis.report import write_report
from analysis.runfolder import RunFolder
from analysis.summary import build_summary, section_figures
from analysis.synthetic import T0_UNIX, EndpointModel, RunModel, write_synthetic_run
from dvcschema import routes
from dvcschema.budgets import load_budgets_file
from dvcschema.results import RunFiles

REQUESTS = 10_000_000
DURATION_S = 3600.0
TARGET_S = 30.0
NAMES = tuple(route.name for route in routes.REFERENCE_PORTAL)
BUDGETS = """\
budgets:
  "*": ["p99 < 2s", "error_rate < 1%"]
  total: ["rps > 1000", "p95 may not rise more than 10%"]
  "POST /dossiers": ["p95 < 800ms"]
  "journey:payment": ["p95 < 1.5s"]
  "tag:write": ["p99.9 < 3s"]
"""


def _model(slowdown: float = 1.0) -> RunModel:
    rate = REQUESTS / DURATION_S / len(NAMES)
    endpoints = {
        name: EndpointModel(
            median_ms=8.0 + 6.0 * i,
            sigma=0.7,
            failure_ratio=0.002,
            rate_per_s=rate,
            tags=("write",) if name.startswith("POST") else ("read",),
        )
        for i, name in enumerate(NAMES)
    }
    journeys = {
        name: EndpointModel(median_ms=median, rate_per_s=40.0)
        for name, median in (("filing", 90.0), ("payment", 150.0), ("status", 20.0))
    }
    return RunModel(
        endpoints=endpoints,
        journeys=journeys,
        duration_s=DURATION_S,
        users=2000,
        scenario="bench-10m",
        slowdown=slowdown,
    )


def _summarise(folder: Path) -> int:
    run = RunFolder.open(folder)
    summary = build_summary(
        scenario=run.name,
        started_at=T0_UNIX,
        ended_at=T0_UNIX + DURATION_S,
        target="synthetic",
        endpoints=run.endpoints,
        extra={
            **{k: v for k, v in run.summary.items() if k not in ("endpoints", "total")},
            "journeys": section_figures(run.journeys, DURATION_S),
        },
    )
    RunFiles(folder).write_summary(summary)
    return summary.requests


def main() -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        folder = write_synthetic_run(root / "run", _model(), rng=1)
        baseline = write_synthetic_run(root / "baseline", _model(slowdown=0.97), rng=2)
        generated_s = time.perf_counter() - started
        (root / "budgets.yaml").write_text(BUDGETS, encoding="utf-8")
        budgets = load_budgets_file(root / "budgets.yaml")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        requests = _summarise(folder)
        timings["summary"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_gate(folder, budgets)
        timings["gate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_report(folder)
        timings["report"] = time.perf_counter() - t0
        total_s = sum(timings.values())
        t0 = time.perf_counter()
        compared = run_gate(folder, budgets, baseline=baseline)
        timings["gate with baseline (extra)"] = time.perf_counter() - t0
    print(
        f"synthetic runs: 2 x {requests:,} requests, 720 intervals "
        f"(generated in {generated_s:.1f} s, not counted)"
    )
    for name, seconds in timings.items():
        print(f"  {name:28s} {seconds:6.2f} s")
    print(f"summary + gate + report: {total_s:.2f} s (target < {TARGET_S:.0f} s)")
    print(f"gate: {result.headline}")
    print(f"gate with baseline: {compared.headline}")
    return requests >= REQUESTS * 0.99 and total_s < TARGET_S


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
