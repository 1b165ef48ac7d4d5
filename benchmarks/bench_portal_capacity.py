"""Benchmark: the reference portal behaves as the M/M/4 station it is configured as.

The portal runs ``portal/configs/mm4.yaml`` (one tier, 4 servers, exponential service
with a mean of 50 ms). Locust (headless, in a subprocess, ``FastHttpUser``) keeps a
closed load of 20 clients with no think time for 30 s, so the 4 servers are never
idle and requests queue. From the portal's access log, over a steady window that
drops the first and last seconds:

* throughput X (completions per second) must be within 10% of c / E[S] = 80/s, the
  saturation throughput of a closed network whose bottleneck has c servers;
* mean queue wait must be > 0 (requests did queue); Little's law for the closed
  loop, N = X (R + Z), predicts R close to N / X = 250 ms, minus what the clients
  spend outside the portal;
* mean service time must be within 10% of 50 ms (it is the time a server was held:
  the drawn time plus the event loop's timer error);
* utilisation U = X E[S] / c (the utilisation law) must be above 0.9.

References
----------
.. [1] Lazowska, Zahorjan, Graham, Sevcik (1984). *Quantitative System Performance*,
   ch. 3 (utilisation law, Little's law) and ch. 5 (bounds for closed networks).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dvcschema import routes
from portal.launcher import EmbeddedPortal

HERE = Path(__file__).resolve().parent
MM4_CONFIG = HERE.parent / "portal" / "configs" / "mm4.yaml"
LOCUSTFILE = HERE / "portal_capacity_locustfile.py"
CLIENTS = 20
SERVERS = 4
MEAN_SERVICE_MS = 50.0
RUN_S = 30
WARMUP_S = 3.0
COOLDOWN_S = 1.0
LOCUST_TIMEOUT_S = RUN_S + 60
TOLERANCE = 0.10
MIN_UTILISATION = 0.9


@dataclass(frozen=True)
class Measured:
    requests: int
    window_s: float
    throughput_per_s: float
    mean_queue_wait_ms: float
    mean_service_ms: float
    mean_response_ms: float
    utilisation: float
    errors: int

    @property
    def expected_throughput_per_s(self) -> float:
        return SERVERS / (MEAN_SERVICE_MS / 1000.0)


def main() -> bool:
    """Run the benchmark, print a table, return True when every target is met."""
    with tempfile.TemporaryDirectory(prefix="dvcload-bench-") as folder:
        log = Path(folder) / "access.jsonl"
        with EmbeddedPortal(MM4_CONFIG, access_log=log, seed=1) as portal:
            _run_locust(portal.url, Path(folder))
        measured = measure([json.loads(line) for line in log.read_text("utf-8").splitlines()])
    checks = _checks(measured)
    _print_table(measured, checks)
    return all(passed for _, _, passed in checks)


def _run_locust(url: str, folder: Path) -> None:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(CLIENTS), "-r", str(CLIENTS), "-t", f"{RUN_S}s", "--host", url,
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=LOCUST_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode not in (0, 1):  # 1: some requests failed (counted below)
        tail = " | ".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"locust exited with code {result.returncode}: {tail}")


def measure(records: list[dict]) -> Measured:
    """Throughput, waits and utilisation over the steady window of an access log."""
    probes = [r for r in records if r["endpoint"] == routes.SERVICES.template]
    if not probes:
        raise RuntimeError("the access log has no /services requests")
    start = min(r["t_arrival"] for r in probes) + WARMUP_S
    end = max(r["t_arrival"] + r["response_ms"] / 1000.0 for r in probes) - COOLDOWN_S
    done = [r for r in probes if start <= r["t_arrival"] + r["response_ms"] / 1000.0 < end]
    arrived = [r for r in probes if start <= r["t_arrival"] < end]
    window_s = end - start
    throughput = len(done) / window_s
    mean_service_ms = statistics.fmean(r["service_ms"] for r in done)
    return Measured(
        requests=len(done),
        window_s=window_s,
        throughput_per_s=throughput,
        mean_queue_wait_ms=statistics.fmean(r["queue_wait_ms"] for r in arrived),
        mean_service_ms=mean_service_ms,
        mean_response_ms=statistics.fmean(r["response_ms"] for r in arrived),
        utilisation=throughput * mean_service_ms / 1000.0 / SERVERS,
        errors=sum(1 for r in done if r["status"] >= 400),
    )


def _checks(m: Measured) -> list[tuple[str, str, bool]]:
    expected_x = m.expected_throughput_per_s
    return [
        (
            "throughput (req/s)",
            f"{expected_x:.1f} ± {TOLERANCE:.0%}",
            abs(m.throughput_per_s - expected_x) <= TOLERANCE * expected_x,
        ),
        ("mean queue wait (ms)", "> 0", m.mean_queue_wait_ms > 0),
        (
            "mean service (ms)",
            f"{MEAN_SERVICE_MS:.1f} ± {TOLERANCE:.0%}",
            abs(m.mean_service_ms - MEAN_SERVICE_MS) <= TOLERANCE * MEAN_SERVICE_MS,
        ),
        ("utilisation", f"> {MIN_UTILISATION}", m.utilisation > MIN_UTILISATION),
        ("errors", "0", m.errors == 0),
    ]


def _print_table(m: Measured, checks: list[tuple[str, str, bool]]) -> None:
    values = {
        "throughput (req/s)": f"{m.throughput_per_s:.2f}",
        "mean queue wait (ms)": f"{m.mean_queue_wait_ms:.1f}",
        "mean service (ms)": f"{m.mean_service_ms:.2f}",
        "utilisation": f"{m.utilisation:.3f}",
        "errors": str(m.errors),
    }
    print(
        f"portal capacity: mm4.yaml (c={SERVERS}, exponential {MEAN_SERVICE_MS:g} ms), "
        f"{CLIENTS} closed-loop Locust users, {m.requests} requests in a {m.window_s:.1f} s window"
    )
    print(f"  {'metric':<22} {'measured':>10}  {'target':<14} ok")
    for name, target, passed in checks:
        print(f"  {name:<22} {values[name]:>10}  {target:<14} {'yes' if passed else 'NO'}")
    little_ms = CLIENTS / m.throughput_per_s * 1000.0
    bound = SERVERS / (m.mean_service_ms / 1000.0)
    print(
        f"  saturation bound with the measured service mean: c / E[S] = {bound:.2f} req/s "
        f"(measured {m.throughput_per_s / bound:.1%} of it)"
    )
    print(
        f"  Little's law: N/X = {little_ms:.1f} ms per cycle; in-portal response "
        f"{m.mean_response_ms:.1f} ms (the rest is spent in the clients and the network)"
    )


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
