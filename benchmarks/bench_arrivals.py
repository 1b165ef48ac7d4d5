"""Open-loop arrivals at 50, 200 and 500 sessions/s, checked from the portal's access log.

For each rate, with one generator process and with ``--processes 2``: run
``dvcload run`` (open model, browse sessions: login + catalogue +
form) against the embedded portal with spare capacity (tests/integration/configs/
fast.yaml), then read the server's own arrival stamps of the logins and report:

- the rate the portal saw, against the target and against the generator's own
  realised schedule (a Poisson count is itself random: its standard error is
  sqrt(N)/T, 2.2% at 2,000 arrivals, so "within 2% of target" is judged against both);
- the coefficient of variation of the gaps (1 for a Poisson process);
- a Kolmogorov-Smirnov test of the gaps against the exponential (the target: not
  rejected at 1%), and, as a diagnostic, at a 2 ms resolution (gaps above 2 ms,
  minus 2 ms, are again exponential by memorylessness);
- the short gaps: how many gaps under 0.2 ms the portal saw, against a Poisson
  stream's share. One generator process sends from one cooperative thread, and
  Locust's request path takes about 0.2 ms from the hand-over to the socket, so two
  logins never leave closer together than that: 4% of the gaps at 200/s, which a KS
  test of 4,000 gaps detects. Two processes are two independent Poisson streams
  whose superposition is again Poisson, and only gaps within one stream are spaced;
- the generator's CPU and the sessions' start-delay p99.

First, in one process, the arrival clock alone: 2,000 exponential gaps at 200/s slept
with gevent's own timer and with the timerfd sleeper the dispatcher uses
(:mod:`loadgen.timer`), compared by lateness and by the KS test of the gaps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

from dvcschema import results, routes

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "tests" / "integration" / "configs" / "fast.yaml"
CASES = ((50, 40), (200, 20), (500, 15))  # (sessions/s, seconds)
PROCESSES = (1, 2)  # one generator process, and --processes 2 (Locust's workers)
RESOLUTION_S = 0.002
SHORT_GAP_S = 0.0002
SCENARIO = """\
name: bench-arrivals
seed: {seed}
target: embedded
duration: {duration}s
portal: {{config: {config}}}
population: {{size: 50000}}
load:
  model: open
  max_concurrency: 400
  rate: {{constant: {rate}}}
mix:
  journeys: {{browse: 1}}
"""


def measure(rate: int, duration_s: int, workdir: Path, processes: int = 1) -> dict[str, float]:
    path = workdir / f"rate{rate}.yaml"
    path.write_text(SCENARIO.format(seed=rate, duration=duration_s, config=CONFIG, rate=rate))
    out = subprocess.run(
        [sys.executable, "-m", "dvcload", "run", str(path), "--out", str(workdir), "--quiet",
         *(["--processes", str(processes)] if processes > 1 else [])],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=600,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    folder = Path(out)
    summary = json.loads((folder / results.SUMMARY).read_text())
    with (folder / results.PORTAL_ACCESS_LOG).open() as handle:
        t = np.sort(
            [
                r["t_arrival"]
                for r in map(json.loads, handle)
                if r["endpoint"] == routes.LOGIN.template
            ]
        )
    gaps = np.diff(t)
    above = gaps[gaps > RESOLUTION_S] - RESOLUTION_S
    arrivals = summary["arrivals"]
    server_rate = len(gaps) / (t[-1] - t[0])
    return {
        "target": float(rate),
        "processes": processes,
        "server_rate": server_rate,
        "vs_target_pct": 100 * (server_rate / rate - 1),
        "vs_schedule_pct": 100 * (len(t) / max(arrivals["offered"], 1) - 1),
        "poisson_se_pct": 100 / np.sqrt(max(arrivals["expected"], 1)),
        "dropped": arrivals["dropped"],
        "cv": float(gaps.std() / gaps.mean()),
        "ks_p": float(stats.kstest(gaps, "expon", args=(0, gaps.mean())).pvalue),
        "ks_p_2ms": float(stats.kstest(above, "expon", args=(0, above.mean())).pvalue),
        "short_gaps": float(np.mean(gaps < SHORT_GAP_S) / -np.expm1(-SHORT_GAP_S / gaps.mean())),
        "cpu_pct": summary["generator"]["cpu_percent"],
        "delay_p99_ms": summary["sessions"]["start_delay"]["p99_ms"],
    }


def clock_precision(n: int = 2000, rate: float = 200.0) -> dict[str, dict[str, float]]:
    """Lateness and KS p of ``n`` Poisson wake-ups, gevent's sleep against the timerfd."""
    import gevent

    from loadgen.timer import LoopSleeper, precise_sleeper

    out = {}
    sleepers = (("gevent.sleep", LoopSleeper(gevent.sleep)), ("timerfd", precise_sleeper()))
    for name, sleeper in sleepers:
        with sleeper:
            gaps = np.random.default_rng(1).exponential(1 / rate, n)
            due = time.monotonic() + 0.05 + np.cumsum(gaps)
            woke = []
            for t in due:
                sleeper.sleep(t - time.monotonic())
                woke.append(time.monotonic())
        late, gaps = (np.array(woke) - due) * 1e3, np.diff(woke)
        out[name] = {
            "late_mean_ms": float(late.mean()),
            "late_p99_ms": float(np.percentile(late, 99)),
            "cv": float(gaps.std() / gaps.mean()),
            "ks_p": float(stats.kstest(gaps, "expon", args=(0, gaps.mean())).pvalue),
        }
    return out


def main() -> bool:
    print("arrival clock alone, 2,000 wake-ups at 200/s in one process:")
    for name, r in clock_precision().items():
        print(
            f"  {name:13} late mean {r['late_mean_ms']:.3f} ms, p99 {r['late_p99_ms']:.3f} ms;"
            f" gaps CV {r['cv']:.3f}, KS p {r['ks_p']:.2g}"
        )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-arrivals-") as tmp:
        for rate, duration_s in CASES:
            for processes in PROCESSES:
                rows.append(measure(rate, duration_s, Path(tmp), processes))
    print(
        f"{'rate/s':>7} {'procs':>5} {'portal':>8} {'vs tgt':>7} {'vs sched':>8} "
        f"{'Poisson SE':>10} {'drop':>5} {'CV':>6} {'KS p':>8} {'KS p@2ms':>9} "
        f"{'<0.2ms':>6} {'CPU%':>5} {'delay p99':>9}"
    )
    ok = True
    for r in rows:
        print(
            f"{r['target']:7.0f} {r['processes']:5d} {r['server_rate']:8.1f} "
            f"{r['vs_target_pct']:+6.2f}% {r['vs_schedule_pct']:+7.2f}% "
            f"{r['poisson_se_pct']:9.2f}% {r['dropped']:5d} "
            f"{r['cv']:6.3f} {r['ks_p']:8.2g} {r['ks_p_2ms']:9.2g} {r['short_gaps']:5.2f}x "
            f"{r['cpu_pct']:5.0f} "
            f"{r['delay_p99_ms']:8.1f}ms"
        )
        within_target = abs(r["vs_target_pct"]) <= max(2.0, 3 * r["poisson_se_pct"])
        ok &= within_target and abs(r["vs_schedule_pct"]) <= 2.0 and r["dropped"] == 0
        ok &= 0.95 <= r["cv"] <= 1.05 and r["ks_p"] >= 0.01
    print(
        "targets: rate within 2% of target (or 3 Poisson SE) and of the schedule, nothing "
        "dropped, CV 0.95-1.05, KS not rejected at 1%; <0.2ms: gaps under 0.2 ms "
        "against a Poisson stream's share (1.00x)"
    )
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
