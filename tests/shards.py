"""Run the test suite as N pytest processes at once: ``make test``'s runner.

pytest-xdist cannot run this suite (every test process is gevent-patched, Locust is
imported first, and xdist's execnet workers then fail with ``LoopExit``), so the
files are dealt out by hand, as xdist's ``--dist loadfile`` would: each file whole to
one process, longest first to the least loaded (Graham's LPT rule, within 4/3 of the
best split), from each file's seconds in ``tests/durations.json``; a file not in it
counts as the median. Each process gets its own ``--basetemp``; the pytest arguments
given after the options go to every process (``-k`` or ``-m`` narrows each of them);
given test paths, or ``--jobs 1``, pytest runs once, as asked.

``--jobs`` counts the processes that compete for the CPU. A file that mostly waits
(a real run of fixed length against a portal: its CPU, its child processes' included,
under ``WAITING_SHARE`` of its seconds, and at least ``WAITING_MIN_S`` long) goes to
one more process, beside them, as long as that process stays no longer than theirs
and holds at least ``WAITING_LANE_MIN_S``: on two cores, two CPU-bound processes leave
most of a third's waiting free.

    python tests/shards.py [--jobs N] [--record] [PYTEST ARGS...]

Prints a progress line a minute, each process's output when it ends, then one line
per process. Exit code: 0 when every process passed, else the first failure's code;
5 ("no tests") when no process ran a test. ``--record`` updates ``tests/durations.json``
from the run (each process writes its files' seconds and CPU seconds to
``$DVCLOAD_TEST_DURATIONS``, see ``conftest.py``) and prints the files that took the
most CPU.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DURATIONS = TESTS / "durations.json"
DURATIONS_ENV = "DVCLOAD_TEST_DURATIONS"
# Files sharing a session-scoped fixture (conftest.py's ``smoke_run``, a real run).
TOGETHER = (("tests/integration/test_smoke_run.py", "tests/analysis/test_audit.py"),)
PROGRESS_EVERY_S = 60.0
NO_TESTS = 5  # pytest's exit code when it collected nothing
PERCENT = re.compile(r"\[\s*(\d+)%\]")


def test_files() -> list[str]:
    """Every test file, as a path relative to the repository (``tests/x/test_y.py``)."""
    return sorted(str(p.relative_to(REPO)) for p in TESTS.rglob("test_*.py"))


Groups = tuple[tuple[str, ...], ...]


def deal(
    files: list[str],
    seconds: dict[str, float],
    jobs: int,
    together: Groups = (),
    cpu: dict[str, float] | None = None,
) -> list[list[str]]:
    """``files`` split into ``jobs`` lists of about equal total seconds (LPT: longest
    first, each to the least loaded list); a file without a figure weighs the median.
    The files of a ``together`` group go to one list (they share a session fixture:
    in two processes it would be made twice). With ``cpu`` seconds, files that mostly
    wait (:func:`waits`) make one more list, last, no longer than the others' mean."""
    default = statistics.median(seconds.values()) if seconds else 1.0
    units = [[f for f in group if f in files] for group in together]
    grouped = {f for unit in units for f in unit}
    units = [u for u in units if u] + [[f] for f in files if f not in grouped]
    weighted = sorted(((sum(seconds.get(f, default) for f in u), u) for u in units),
                      key=lambda wu: (-wu[0], wu[1]))  # fmt: skip
    waiting: list[str] = []
    if cpu is not None and jobs > 1:
        cap = sum(w for w, _ in weighted)  # the CPU lanes' total, as waiting units leave
        for weight, unit in [wu for wu in weighted if waits(wu[1], seconds, cpu)]:
            if sum(seconds[f] for f in waiting) + weight <= (cap - weight) / jobs:
                waiting.extend(unit)
                cap -= weight
        if sum(seconds[f] for f in waiting) < WAITING_LANE_MIN_S:
            waiting = []  # not worth a process
        weighted = [wu for wu in weighted if wu[1][0] not in waiting]
    heap = [(0.0, i) for i in range(jobs)]
    shards: list[list[str]] = [[] for _ in range(jobs)]
    for weight, unit in weighted:
        load, i = heapq.heappop(heap)
        shards[i].extend(unit)
        heapq.heappush(heap, (load + weight, i))
    return [sorted(s) for s in [*shards, waiting] if s]


WAITING_SHARE = 0.4  # CPU seconds per second under which a file mostly waits
WAITING_MIN_S = 10.0  # and long enough for its figures to say so
WAITING_LANE_MIN_S = 30.0  # what the waiting files must add up to, to be worth a process


def waits(unit: list[str], seconds: dict[str, float], cpu: dict[str, float]) -> bool:
    """Whether the files of ``unit`` mostly wait: measured, at least ``WAITING_MIN_S``
    long, with CPU under ``WAITING_SHARE`` of their seconds."""
    if not all(f in seconds and f in cpu for f in unit):
        return False
    wall = sum(seconds[f] for f in unit)
    return wall >= WAITING_MIN_S and sum(cpu[f] for f in unit) < WAITING_SHARE * wall


def read_durations(path: Path = DURATIONS) -> tuple[dict[str, float], dict[str, float]]:
    """Each file's seconds and CPU seconds from ``path`` (``{file: {"seconds": s,
    "cpu_seconds": c}}``; a bare number is seconds with the CPU unknown)."""
    known = json.loads(path.read_text()) if path.is_file() else {}
    seconds, cpu = {}, {}
    for name, figures in known.items():
        if isinstance(figures, dict):
            seconds[name], cpu[name] = float(figures["seconds"]), float(figures["cpu_seconds"])
        else:
            seconds[name] = float(figures)
    return seconds, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--jobs", "-j", type=int, default=2, help="pytest processes (default 2)")
    parser.add_argument("--record", action="store_true", help="update tests/durations.json")
    options, pytest_args = parser.parse_known_args(argv)
    if options.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if options.jobs == 1 or _names_paths(pytest_args):  # one process, as asked
        command = [sys.executable, "-m", "pytest", *pytest_args]
        return subprocess.run(command, cwd=REPO, check=False).returncode
    seconds, cpu = read_durations()
    shards = deal(test_files(), seconds, options.jobs, TOGETHER, cpu)
    if len(shards) > options.jobs:
        print(f"shard {options.jobs} holds the files that mostly wait: {' '.join(shards[-1])}")
    work = Path(tempfile.mkdtemp(prefix="dvcload-tests-"))
    try:
        codes = run_shards(shards, pytest_args, work)
    except KeyboardInterrupt:  # the processes were stopped on the way out (see _wait)
        print(f"interrupted; the shards' logs are in {work}", file=sys.stderr)
        return 130
    if options.record:
        _record(work, len(shards))
    code = combined(codes)
    if code == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"the shards' logs and temporary folders are in {work}")
    return code


def run_shards(
    shards: list[list[str]], pytest_args: list[str], work: Path, cwd: Path = REPO
) -> list[int]:
    """Run one pytest process per shard at once, in ``cwd``; their exit codes."""
    started = time.monotonic()
    procs = [_start(i, files, pytest_args, work, cwd) for i, files in enumerate(shards)]
    return _wait(procs, work, started)


def combined(codes: list[int]) -> int:
    """The run's exit code: 0 when every shard passed; the first failure's code; 5 ("no
    tests") only when no shard ran any (a ``-k`` may leave one shard with nothing)."""
    failed = [c for c in codes if c not in (0, NO_TESTS)]
    if failed:
        return failed[0]
    return NO_TESTS if all(c == NO_TESTS for c in codes) else 0


def _names_paths(pytest_args: list[str]) -> bool:
    """Whether the arguments name tests by path (``tests/models``, ``file.py::test``)."""
    return any(not a.startswith("-") and (REPO / a.split("::")[0]).exists() for a in pytest_args)


def _start(
    i: int, files: list[str], pytest_args: list[str], work: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """pytest on ``files`` with its own basetemp, its output in ``work/shard-i.log``."""
    env = {**os.environ, DURATIONS_ENV: str(work / f"shard-{i}.json")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
               f"--basetemp={work / f'tmp-{i}'}", *files, *pytest_args]  # fmt: skip
    print(f"shard {i}: {len(files)} files", flush=True)
    with (work / f"shard-{i}.log").open("wb") as log:  # the process keeps its own copy
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip


def _wait(procs: list[subprocess.Popen[bytes]], work: Path, started: float) -> list[int]:
    """Each process's exit code, printing its output as it ends (Ctrl-C stops them all)."""
    codes: dict[int, int] = {}
    next_progress = started + PROGRESS_EVERY_S
    try:
        while len(codes) < len(procs):
            for i, proc in enumerate(procs):
                if i not in codes and proc.poll() is not None:
                    codes[i] = proc.returncode
                    _show(i, work, codes[i], time.monotonic() - started)
            if time.monotonic() >= next_progress and len(codes) < len(procs):
                next_progress += PROGRESS_EVERY_S
                done = ", ".join(f"shard {i} {_percent(work, i)}" for i in range(len(procs)))
                print(f"{time.monotonic() - started:.0f} s: {done}", flush=True)
            time.sleep(0.5)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    return [codes[i] for i in range(len(procs))]


def _percent(work: Path, i: int) -> str:
    """How far shard ``i`` is, from the last ``[ 42%]`` pytest printed (or its exit)."""
    log = work / f"shard-{i}.log"
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 4096))
        tail = f.read().decode(errors="replace")
    marks = PERCENT.findall(tail)
    return f"{marks[-1].strip()}%" if marks else "starting"


def _show(i: int, work: Path, code: int, elapsed_s: float) -> None:
    text = (work / f"shard-{i}.log").read_text(errors="replace")
    print(f"\n{'=' * 30} shard {i} (exit {code}) {'=' * 30}\n{text}", flush=True)
    lines = text.strip().splitlines()
    print(f"shard {i}: {lines[-1] if lines else 'no output'} -- {elapsed_s:.0f} s since start",
          flush=True)  # fmt: skip


def write_durations(known: dict[str, dict[str, float]], path: Path = DURATIONS) -> None:
    """``known`` as :func:`read_durations` reads it, a file per line, sorted."""
    rows = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(known.items())]
    path.write_text("{\n" + ",\n".join(rows) + "\n}\n")


def _record(work: Path, n: int) -> None:
    """tests/durations.json updated with the processes' per-file seconds and CPU
    seconds (rounded to 0.1 s; files this run did not run keep theirs), and the files
    that took the most CPU (with the processes they started)."""
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for i in range(n):
        path = work / f"shard-{i}.json"
        if path.is_file():
            files = json.loads(path.read_text())
            seconds.update(files["seconds"])
            cpu.update(files["cpu_seconds"])
    known_s, known_cpu = read_durations()
    known = {
        name: {"seconds": round(s, 1), "cpu_seconds": round(known_cpu.get(name, s), 1)}
        for name, s in known_s.items()
        if (REPO / name).is_file()  # files since removed go
    }
    known.update({k: {"seconds": round(v, 1), "cpu_seconds": round(cpu.get(k, v), 1)}
                  for k, v in seconds.items()})  # fmt: skip
    write_durations(known)
    print(f"wrote {DURATIONS.relative_to(REPO)} ({len(seconds)} files); the most CPU:")
    for name, cpu_s in sorted(cpu.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {cpu_s:6.1f} CPU s  {seconds.get(name, 0.0):6.1f} s  {name}")


if __name__ == "__main__":
    raise SystemExit(main())
