"""CPU per 1,000 requests: dvcload's journey users against bare FastHttpUsers.

dvcload's users run the requests declared in YAML (``session:``/``journeys:``) and
written in Python (the reference portal's ``browse`` in ``portal/journeys.py``). Also
the same bare requests through the wire guard alone (target policy and ceiling,
``loadgen.wire.GuardedHttpUser``), to show what the guard costs, and checked by hand
as a careful Locust user checks them (``catch_response``, the JSON parsed), to show
what content checks cost by themselves. All make the same requests (login once, then
the catalogue and a service's form, each with the login's bearer token, as the
declared session's ``headers:`` sends it; no think time) against the same embedded
portal, one after the other in the same minute, each for the same time with the same
users at the same pace (1,200 requests/s in all, which saturates neither the generator
nor the portal: a saturated event loop batches its work, and the CPU per request then
says more about the portal's speed than the generator's work), in a Locust process of
its own, with a ceiling high enough not to throttle.
The CPU time of each Locust process during its load phase (user + system, from the
OS, between Locust's test_start and test_stop) divided by its request count gives CPU
milliseconds per request. Each round runs every user once (in turn forward and back);
a user's ratio is the median over the rounds of its CPU per request against the same
round's bare users (printed with the middle half of the rounds' ratios: single runs on
this machine vary by 20-25%). Every request must succeed. The target is a ratio of at
most 1.2 for declared journeys. Then the engines' own share, measured apart without
the noise of the network and the portal (:mod:`benchmarks.engine_cpu`).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from portal.launcher import EmbeddedPortal

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "generator_cpu_locustfile.py"
CONFIG = REPO / "tests" / "integration" / "configs" / "fast.yaml"
USERS, SECONDS, ROUNDS = 20, 8, 7
RATE = 1200  # requests/s for every user class: below what saturates the generator or portal
PACING_S = USERS * 2 / RATE  # each user's two requests (a journey) every PACING_S
TARGET_RATIO = 1.2
SCENARIO = """\
name: bench-cpu
seed: 3
population: {size: 5000}
duration: 10s
load: {users: 20, max_request_rate: 50000}
journeys: {module: portal.journeys}
mix: {journeys: {browse: 1}}
"""
DECLARED = """\
name: bench-cpu-declared
seed: 3
population: {size: 5000}
duration: 10s
load: {users: 20, max_request_rate: 50000}
session:
  steps:
    - post: /auth/login
      json: {cccd: "{citizen.cccd}", passcode: "123456"}
      capture: {token: "json:$.access_token", level: "json:$.identification_level"}
  headers: {Authorization: "Bearer {token}"}
journeys:
  browse:
    steps:
      - get: /services
        capture: {service: {json: "$.services[*].code", pick: random}}
      - get: /services/{service}/form
        capture: {field: "json:$.fields[0].name"}
"""


def run_locust(user_class: str, host: str, workdir: Path) -> tuple[float, int]:
    """CPU seconds and requests of the load phase of one headless Locust run of
    ``user_class`` (measured by the Locust process itself, between its test_start and
    test_stop events: start-up, population and shutdown would otherwise weigh more in
    a run that makes fewer requests). A run with a failed request measured something
    else than the same requests: it stops the benchmark."""
    out = workdir / f"{user_class}.cpu.json"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
         "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s", "--host", host,
         "--only-summary", user_class],
        check=True, capture_output=True, cwd=REPO, timeout=120,
        env={**os.environ, "DVCLOAD_BENCH_SCENARIO": str(workdir / "scenario.yaml"),
             "DVCLOAD_BENCH_DECLARED": str(workdir / "declared.yaml"),
             "DVCLOAD_BENCH_OUT": str(out), "DVCLOAD_BENCH_PACING_S": str(PACING_S)},
    )  # fmt: skip
    cpu_s, requests, failures = json.loads(out.read_text())
    if failures or not requests:
        raise RuntimeError(f"{user_class}: {failures} of {requests} requests failed")
    return float(cpu_s), int(requests)


def engine_alone() -> dict[str, float]:
    """``benchmarks.engine_cpu``'s figures, from a process of its own (it imports
    Locust, which gevent-patches the process that imports it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.engine_cpu", "--json"],
        check=True, capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    return {k: float(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


LABELS = {
    "DeclaredUser": "declared",
    "JourneyUser": "python module",
    "CheckedUser": "checked by hand",
    "GuardedUser": "guarded users",
    "BareUser": "bare users",
}


def main() -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        workdir = Path(tmp)
        (workdir / "scenario.yaml").write_text(SCENARIO)
        (workdir / "declared.yaml").write_text(DECLARED)
        ms: dict[str, list[float]] = {name: [] for name in LABELS}
        with EmbeddedPortal(CONFIG) as portal:
            for r in range(ROUNDS):  # every user in each round, in turn forward and back
                for name in list(LABELS)[:: 1 if r % 2 == 0 else -1]:
                    cpu_s, requests = run_locust(name, portal.url, workdir)
                    ms[name].append(1000 * cpu_s / requests)
    # Each round's ratio to that round's bare run (the same minute, so the same machine
    # load), and the median over the rounds: a slow minute moves both sides of a ratio.
    ratios = {
        name: [v / b for v, b in zip(ms[name], ms["BareUser"], strict=True)] for name in LABELS
    }
    ratio = {name: statistics.median(r) for name, r in ratios.items()}
    print(f"CPU ms per request ({ROUNDS} rounds, {USERS} users, {SECONDS} s each); the median")
    print("over the rounds of its ratio to the same round's bare users, and the middle half:")
    for name, label in LABELS.items():
        runs = ", ".join(f"{v:.3f}" for v in ms[name])
        q1, _, q3 = statistics.quantiles(ratios[name], n=4)
        print(f"  {label:16s} {statistics.median(ms[name]):.3f}  x{ratio[name]:.2f}"
              f" ({q1:.2f}-{q3:.2f})  (all: {runs})")  # fmt: skip
    print(f"  declared / checked by hand: {ratio['DeclaredUser'] / ratio['CheckedUser']:.2f}")
    bare_us = 1000 * statistics.median(ms["BareUser"])
    engines = engine_alone()
    print("The engines alone (benchmarks/engine_cpu.py: recorded replies, no network): "
          f"declared {engines['declared_us']:.1f} us, python module "
          f"{engines['python_module_us']:.1f} us per request, "
          f"{engines['declared_us'] / bare_us:.1%} and {engines['python_module_us'] / bare_us:.1%}"
          " of the bare users' CPU per request")  # fmt: skip
    print(f"  declared / bare: {ratio['DeclaredUser']:.2f}   (target <= {TARGET_RATIO})")
    return ratio["DeclaredUser"] <= TARGET_RATIO


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
