"""CPU per 1,000 requests: dvcload's journey users against bare FastHttpUsers.

Also the same bare requests through the wire guard alone (target policy and ceiling,
``loadgen.wire.GuardedHttpUser``), to show what the guard costs. All make the same
requests (login once, then catalogue + a service's form, no think
time) against the same embedded portal, one after the other in the same minute, each
for the same time with the same users, in a Locust process of its own. The CPU time of
each Locust process (user + system, from the OS) divided by its request count gives
CPU seconds per 1,000 requests; the target is a ratio of at most 1.2.
"""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from portal.launcher import EmbeddedPortal

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "generator_cpu_locustfile.py"
CONFIG = REPO / "tests" / "integration" / "configs" / "fast.yaml"
USERS, SECONDS, ROUNDS = 20, 12, 2
TARGET_RATIO = 1.2
SCENARIO = """\
name: bench-cpu
seed: 3
population: {size: 5000}
duration: 10s
load: {users: 20}
mix: {journeys: {browse: 1}}
"""


def run_locust(user_class: str, host: str, workdir: Path) -> tuple[float, int]:
    """CPU seconds and requests of one headless Locust run of ``user_class``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    prefix = workdir / user_class
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
         "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s", "--host", host,
         "--csv", str(prefix), "--only-summary", user_class],
        check=True, capture_output=True, cwd=REPO, timeout=120,
        env={**os.environ, "DVCLOAD_BENCH_SCENARIO": str(workdir / "scenario.yaml")},
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with (workdir / f"{user_class}_stats.csv").open(newline="") as handle:
        total = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return cpu_s, int(total["Request Count"])


def main() -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        workdir = Path(tmp)
        (workdir / "scenario.yaml").write_text(SCENARIO)
        results: dict[str, list[float]] = {"JourneyUser": [], "GuardedUser": [], "BareUser": []}
        with EmbeddedPortal(CONFIG) as portal:
            for _ in range(ROUNDS):  # alternate, so drifts in machine load hit both
                for name, values in results.items():
                    cpu_s, requests = run_locust(name, portal.url, workdir)
                    values.append(1000 * cpu_s / requests)
    journey, guarded, bare = (min(results[n]) for n in ("JourneyUser", "GuardedUser", "BareUser"))
    print(f"CPU s per 1,000 requests (best of {ROUNDS}, {USERS} users, {SECONDS} s each):")
    for label, name, best in (
        ("journey users", "JourneyUser", journey),
        ("guarded users", "GuardedUser", guarded),
        ("bare users", "BareUser", bare),
    ):
        runs = ", ".join(f"{v:.3f}" for v in results[name])
        print(f"  {label:14s} {best:.3f}   (all: {runs})")
    print(f"  the wire guard alone (guarded / bare): {guarded / bare:.2f}")
    ratio = journey / bare
    print(f"  ratio          {ratio:.2f}   (target <= {TARGET_RATIO})")
    return ratio <= TARGET_RATIO


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
