"""Run the test suite as N pytest processes at once: ``make test``'s runner.

pytest-xdist cannot run this suite (every test process is gevent-patched, Locust is
imported first, and xdist's execnet workers then fail with ``LoopExit``), so the
files are dealt out by hand, as xdist's ``--dist loadfile`` would: each file whole to
one process, longest first to the least loaded (Graham's LPT rule, within 4/3 of the
best split), from each file's seconds in ``tests/durations.json``; a file not in it
counts as the median. Most of the suite's time is waiting on real runs of real
processes for a fixed duration, so two processes on two cores take about half the
time. Each process gets its own ``--basetemp``; the pytest arguments given after the
options go to every process (``-k`` or ``-m`` narrows each of them); given test
paths, or ``--jobs 1``, pytest runs once, as asked.

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
    files: list[str], seconds: dict[str, float], jobs: int, together: Groups = ()
) -> list[list[str]]:
    """``files`` split into ``jobs`` lists of about equal total seconds (LPT: longest
    first, each to the least loaded list); a file without a figure weighs the median.
    The files of a ``together`` group go to one list (they share a session fixture:
    in two processes it would be made twice)."""
    default = statistics.median(seconds.values()) if seconds else 1.0
    units = [[f for f in group if f in files] for group in together]
    grouped = {f for unit in units for f in unit}
    units = [u for u in units if u] + [[f] for f in files if f not in grouped]
    weighted = sorted(((sum(seconds.get(f, default) for f in u), u) for u in units),
                      key=lambda wu: (-wu[0], wu[1]))  # fmt: skip
    heap = [(0.0, i) for i in range(jobs)]
    shards: list[list[str]] = [[] for _ in range(jobs)]
    for weight, unit in weighted:
        load, i = heapq.heappop(heap)
        shards[i].extend(unit)
        heapq.heappush(heap, (load + weight, i))
    return [sorted(s) for s in shards if s]


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
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    shards = deal(test_files(), seconds, options.jobs, TOGETHER)
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


def _record(work: Path, n: int) -> None:
    """tests/durations.json updated with the processes' per-file seconds (rounded to
    0.1 s; files this run did not run keep theirs), and the files that took the most
    CPU (with the processes they started)."""
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for i in range(n):
        path = work / f"shard-{i}.json"
        if path.is_file():
            files = json.loads(path.read_text())
            seconds.update(files["seconds"])
            cpu.update(files["cpu_seconds"])
    known = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    known = {k: v for k, v in known.items() if (REPO / k).is_file()}  # files since removed
    known.update({k: round(v, 1) for k, v in seconds.items()})  # record from a whole run
    DURATIONS.write_text(json.dumps(dict(sorted(known.items())), indent=1) + "\n")
    print(f"wrote {DURATIONS.relative_to(REPO)} ({len(seconds)} files); the most CPU:")
    for name, cpu_s in sorted(cpu.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {cpu_s:6.1f} CPU s  {seconds.get(name, 0.0):6.1f} s  {name}")


if __name__ == "__main__":
    raise SystemExit(main())
