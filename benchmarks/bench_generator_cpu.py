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
users, in a Locust process of its own, with a ceiling high enough not to throttle.
The CPU time of each Locust process during its load phase (user + system, from the
OS, between Locust's test_start and test_stop) divided by its request count gives CPU
seconds per 1,000 requests; the target is a ratio of at most 1.2 for declared
journeys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from portal.launcher import EmbeddedPortal

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "generator_cpu_locustfile.py"
CONFIG = REPO / "tests" / "integration" / "configs" / "fast.yaml"
USERS, SECONDS, ROUNDS = 20, 12, 3
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
    a run that makes fewer requests)."""
    out = workdir / f"{user_class}.cpu.json"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
         "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s", "--host", host,
         "--only-summary", user_class],
        check=True, capture_output=True, cwd=REPO, timeout=120,
        env={**os.environ, "DVCLOAD_BENCH_SCENARIO": str(workdir / "scenario.yaml"),
             "DVCLOAD_BENCH_DECLARED": str(workdir / "declared.yaml"),
             "DVCLOAD_BENCH_OUT": str(out)},
    )  # fmt: skip
    cpu_s, requests = json.loads(out.read_text())
    return float(cpu_s), int(requests)


def main() -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        workdir = Path(tmp)
        (workdir / "scenario.yaml").write_text(SCENARIO)
        (workdir / "declared.yaml").write_text(DECLARED)
        results: dict[str, list[float]] = {
            "DeclaredUser": [], "JourneyUser": [], "CheckedUser": [], "GuardedUser": [],
            "BareUser": [],
        }  # fmt: skip
        with EmbeddedPortal(CONFIG) as portal:
            for _ in range(ROUNDS):  # alternate, so drifts in machine load hit both
                for name, values in results.items():
                    cpu_s, requests = run_locust(name, portal.url, workdir)
                    values.append(1000 * cpu_s / requests)
    best = {name: min(values) for name, values in results.items()}
    print(f"CPU s per 1,000 requests (best of {ROUNDS}, {USERS} users, {SECONDS} s each):")
    for label, name in (
        ("declared", "DeclaredUser"),
        ("python module", "JourneyUser"),
        ("checked by hand", "CheckedUser"),
        ("guarded users", "GuardedUser"),
        ("bare users", "BareUser"),
    ):
        runs = ", ".join(f"{v:.3f}" for v in results[name])
        print(f"  {label:16s} {best[name]:.3f}   (all: {runs})")
    bare = best["BareUser"]
    print(f"  the wire guard alone (guarded / bare): {best['GuardedUser'] / bare:.2f}")
    print(f"  python module / bare:                  {best['JourneyUser'] / bare:.2f}")
    print(f"  checked by hand / bare:                {best['CheckedUser'] / bare:.2f}")
    print(
        f"  declared / checked by hand:            {best['DeclaredUser'] / best['CheckedUser']:.2f}"
    )
    ratio = best["DeclaredUser"] / bare
    print(f"  declared / bare: {ratio:.2f}   (target <= {TARGET_RATIO})")
    return ratio <= TARGET_RATIO


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
