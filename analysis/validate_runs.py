"""The validation experiment's runs: portal configurations, scenarios, measurements.

Each point of :mod:`analysis.validate` is one ``dvcload run`` (a subprocess, as a
user runs it) of an open-loop scenario against the embedded portal, configured with
known servers and service-time distributions. What is measured, after a warm-up:

* the harness's own response times (its HDR histograms, merged over the endpoints,
  from the per-interval histograms that start after the warm-up): what the
  predictions are compared with;
* from the portal's access log, for the requests that arrived in the same window:
  the arrival rate at each tier (an input of the predictions), each tier's mean
  service time and utilisation (diagnostics), and the server-side response time
  (wait + service), whose difference from the harness's is the harness overhead;
* the standard error of the server-side mean by batch means (10 consecutive
  batches; Law 2015, §9.5.3), a measure of how much the point itself is noise.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from analysis.accesslog import AccessLog, read_access_log
from analysis.distribution import LatencyDistribution
from dvcschema import results
from dvcschema.errors import RunError
from dvcschema.histograms import decode, merged

REPO = Path(__file__).resolve().parent.parent
JOURNEY = "browse"  # POST /auth/login, GET /services, GET /services/[code]/form
REQUESTS_PER_SESSION = 3
POPULATION = 2000
MAX_CONCURRENCY = 1000
QUEUE_LIMIT = 100_000  # practically unbounded: no 503s
BATCHES = 10
END_SLACK_S = 0.1
RUN_TIMEOUT_EXTRA_S = 240.0


@dataclass(frozen=True)
class TierDesign:
    """A tier of the reference portal as configured: servers and service time."""

    name: str
    servers: int
    dist: str
    mean_ms: float
    cv: float | None = None

    def yaml_service(self) -> str:
        cv = f", cv: {self.cv:g}" if self.cv is not None else ""
        return f"{{dist: {self.dist}, mean_ms: {self.mean_ms:g}{cv}}}"

    def describe(self) -> str:
        cv = f" (cv {self.cv:g})" if self.cv is not None else ""
        return f"{self.name}: {self.servers} servers, {self.dist}{cv} mean {self.mean_ms:g} ms"


@dataclass(frozen=True)
class Measurement:
    """One run's measurements in its steady-state window (times in ms)."""

    folder: Path
    window_s: float
    requests: int
    mean_ms: float
    p95_ms: float
    server_mean_ms: float
    server_p95_ms: float
    server_mean_se_ms: float
    arrival_rate_per_s: dict[str, float]
    service_mean_ms: dict[str, float]
    utilization: dict[str, float]
    generator_cpu_percent: float | None
    start_delay_p99_ms: float | None
    failures: int

    @property
    def overhead_ms(self) -> float:
        """Harness mean minus the portal's mean wait + service."""
        return self.mean_ms - self.server_mean_ms


def portal_config_text(tiers: tuple[TierDesign, ...], seed: int) -> str:
    """A portal configuration in the format of ``portal/configs/mm4.yaml``: every
    endpoint visits ``tiers`` in order with the same service times."""
    lines = [
        "# Written by dvcload validate: every endpoint visits these tiers, in order,",
        "# with the same service-time distribution (default_endpoint, no endpoints).",
        f"seed: {seed}",
        "retry_after_s: 1",
        "tiers:",
        *(f"  {t.name}: {{servers: {t.servers}, queue_limit: {QUEUE_LIMIT}}}" for t in tiers),
        "default_endpoint:",
        *(f"  {t.name}: {t.yaml_service()}" for t in tiers),
    ]
    return "\n".join(lines) + "\n"


def scenario_text(
    name: str, config: Path, sessions_per_s: float, duration_s: float, seed: int
) -> str:
    """An open-loop scenario: Poisson sessions of the browse journey (3 requests)."""
    return f"""\
# Written by dvcload validate: open-loop Poisson sessions, each POST /auth/login,
# GET /services, GET /services/[code]/form, against the portal configured in {config.name}.
name: {name}
seed: {seed}
target: embedded
duration: {duration_s:g}s
portal: {{config: {config}}}
population: {{size: {POPULATION}}}
load:
  model: open
  max_concurrency: {MAX_CONCURRENCY}
  rate: {{constant: {sessions_per_s:.6g}}}
mix:
  journeys: {{{JOURNEY}: 1}}
"""


def run_scenario(scenario: Path, out: Path, duration_s: float) -> Path:
    """``dvcload run SCENARIO --out OUT`` in a subprocess; the results folder."""
    command = [sys.executable, "-m", "dvcload", "run", str(scenario), "--out", str(out), "--quiet"]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration_s + RUN_TIMEOUT_EXTRA_S,
            cwd=REPO,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise RunError(f"dvcload run {scenario} did not finish in time") from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " ".join(proc.stderr.strip().splitlines()[-2:])
        raise RunError(f"dvcload run {scenario} exited with {proc.returncode}: {tail}")
    return Path(lines[-1])


def measure(
    folder: Path, *, duration_s: float, warmup_s: float, servers: Mapping[str, int]
) -> Measurement:
    """The run's measurements in its window: the harness's reporting intervals that
    start ``warmup_s`` or more after the load began and end before its ``duration_s``
    did (the last, partial one holds the shutdown: requests cut short or recorded
    late); ``servers`` per tier, for utilisations."""
    summary = _json(folder / results.SUMMARY)
    started = _unix(summary["started_at"])
    ended = started + duration_s
    intervals = [
        json.loads(line)
        for line in (folder / results.INTERVALS).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    kept = [
        row
        for row in intervals
        if row["t_start"] >= started + warmup_s and row["t_end"] <= ended + END_SLACK_S
    ]
    if not kept:
        raise RunError(
            f"{folder}: no whole reporting interval after the {warmup_s:g} s warm-up;"
            " make the points longer"
        )
    harness = LatencyDistribution.from_histogram(
        merged(decode(e["histogram"]) for row in kept for e in row["endpoints"].values())
    )
    t0, t1 = float(kept[0]["t_start"]), float(kept[-1]["t_end"])
    log = read_access_log(folder / results.PORTAL_ACCESS_LOG)
    return _measurement(
        folder, summary, harness, log.completed_between(t0, t1), log.between(t0, t1),
        window_s=t1 - t0, servers=servers,
    )  # fmt: skip


def _measurement(
    folder: Path,
    summary: dict[str, Any],
    harness: LatencyDistribution,
    log: AccessLog,
    arrivals: AccessLog,
    *,
    window_s: float,
    servers: Mapping[str, int],
) -> Measurement:
    server_ms = log.server_time_s()[log.ok] * 1000.0
    tiers = list(log.service_s)
    visited = {t: log.ok & ~np.isnan(log.service_s[t]) for t in tiers}
    service = {t: float(np.mean(log.service_s[t][visited[t]])) * 1000 for t in tiers}
    busy_s = {t: float(np.sum(log.service_s[t][visited[t]])) for t in tiers}
    delay = (summary.get("sessions") or {}).get("start_delay") or {}
    return Measurement(
        folder=folder,
        window_s=window_s,
        requests=harness.count,
        mean_ms=harness.mean_ms(),
        p95_ms=harness.percentile_ms(95),
        server_mean_ms=float(server_ms.mean()),
        server_p95_ms=float(np.percentile(server_ms, 95)),
        server_mean_se_ms=batch_means_se(server_ms),
        arrival_rate_per_s={t: _visits(arrivals, t) / window_s for t in tiers},
        service_mean_ms=service,
        utilization={t: busy_s[t] / (servers.get(t, 1) * window_s) for t in tiers},
        generator_cpu_percent=(summary.get("generator") or {}).get("cpu_percent"),
        start_delay_p99_ms=delay.get("p99_ms"),
        failures=int(summary.get("failures") or 0),
    )


def _visits(log: AccessLog, tier: str) -> int:
    return int(np.sum(log.ok & ~np.isnan(log.service_s[tier])))


def batch_means_se(values: np.ndarray, batches: int = BATCHES) -> float:
    """Standard error of the mean of a time-ordered series by batch means.

    >>> round(batch_means_se(np.arange(100.0)), 3)   # a trend: batches differ a lot
    9.083
    """
    if values.size < 2 * batches:
        return math.nan
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    return float(means.std(ddof=1) / math.sqrt(batches))


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object")
    return data


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
