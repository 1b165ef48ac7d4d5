"""Interruptions lose nothing: SIGINT at random moments leaves usable partial results;
SIGKILL loses at most the last flush interval (5 s)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
STOP_LIMIT_S = 15.0

REPO = Path(__file__).resolve().parents[2]
SCENARIO = """\
name: interrupt-me
seed: {seed}
target: embedded
duration: 20s
population: {{size: 300}}
load: {{users: 8, spawn_rate: 8, think_time: 0.05s}}
mix: {{journeys: {{filing: 2, payment: 1, status: 1}}}}
"""
# The SIGINTs are spread over the first WINDOW_S seconds after the users are spawned
# (about 1 s after the load starts): one at a random moment in each of RUNS equal slices
# of it (0.83 s each). So even a few runs reach every phase of the window: the first
# requests, the middle of the first interval, the first 5 s flush (about 4 s after the
# spawn), where a signal can meet a flush being written, and the time after it, with
# partial results already on disk. (This test once drew 20 moments anywhere in 0-4 s:
# a denser cover of a window that missed the flush, at over three times the time.)
RUNS = 6
WINDOW_S = 5.0
PARALLEL_RUNS = 3  # most of a run is waiting: three at a time on two cores
FLUSH_INTERVAL_S = 5.0


def _start(tmp: Path, seed: int) -> tuple[subprocess.Popen[str], Path]:
    scenario = tmp / f"s{seed}.yaml"
    scenario.write_text(SCENARIO.format(seed=seed), encoding="utf-8")
    out = tmp / f"out{seed}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvcload", "run", str(scenario), "--out", str(out), "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, out


def _wait_for_load(out: Path, timeout_s: float = 60.0) -> Path:
    """Poll until the run's folder exists and Locust has started users."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        folders = list(out.glob("*-interrupt-me")) if out.exists() else []
        if folders and "users spawned" in _read(folders[0] / "run.log"):
            return folders[0]
        time.sleep(0.1)
    raise AssertionError(f"the run in {out} did not start within {timeout_s} s")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _interrupt_once(tmp: Path, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    proc, out = _start(tmp, seed)
    try:
        folder = _wait_for_load(out)
        slice_s = WINDOW_S / RUNS
        time.sleep(slice_s * (seed + rng.random()))  # a random moment of slice ``seed``
        signalled_at = time.time()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return {
        "code": proc.returncode,
        "stderr": stderr,
        "folder": folder,
        "summary": summary,
        "signalled_at": signalled_at,
    }


def test_sigint_at_random_moments_leaves_usable_partial_results(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        results = list(pool.map(lambda seed: _interrupt_once(tmp_path, seed), range(RUNS)))
    for r in results:
        summary, folder = r["summary"], r["folder"]
        assert r["code"] == 130, r["stderr"]
        assert "Traceback" not in r["stderr"]
        assert summary["partial"] is True and summary["complete"] is True
        assert summary["requests"] > 0
        ended_at = _unix(summary["ended_at"])
        # the load stopped on the signal (a poll tick, here generous: three runs share two
        # cores with their portals), and not before it
        assert -0.5 <= ended_at - r["signalled_at"] < STOP_LIMIT_S
        assert (folder / "report.html").stat().st_size > 10_000
        assert json.loads((folder / "histograms.json").read_text())["endpoints"]
    assert len(results) == RUNS


def test_sigkill_loses_at_most_the_last_flush_interval(tmp_path: Path) -> None:
    proc, out = _start(tmp_path, 99)
    try:
        folder = _wait_for_load(out)
        time.sleep(7.0)  # past the first flush (5 s after the start), before the second
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["partial"] is True and summary["complete"] is False
    assert killed_at - _unix(summary["ended_at"]) <= FLUSH_INTERVAL_S + 0.5
    assert summary["requests"] > 0
    # what the summary holds was measured up to its flush: the portal saw at least as much
    deadline = time.time() + 15  # the portal exits when its parent's stdin pipe closes
    log = folder / "portal_access.jsonl"
    while not _portal_done(folder):
        assert time.time() < deadline, "the portal did not exit after its parent was killed"
        time.sleep(0.2)
    served = sum(
        1
        for line in log.read_text().splitlines()
        if json.loads(line)["t_arrival"] <= _unix(summary["ended_at"])
    )
    assert served >= summary["requests"]


def _portal_done(folder: Path) -> bool:
    """The embedded portal (its PID from run.log) has exited, its access log complete."""
    match = re.search(r"embedded portal at \S+ \(pid (\d+)\)", _read(folder / "run.log"))
    assert match, "run.log does not name the embedded portal's PID"
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    return False


def _unix(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()
