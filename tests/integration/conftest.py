"""Helpers for runs against the embedded portal: write a scenario, run dvcload as a
subprocess (the test process is gevent-patched; a subprocess is what users run),
read the results folder."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIGS = Path(__file__).resolve().parent / "configs"


@dataclass
class Run:
    folder: Path
    summary: dict[str, Any]
    stderr: str

    def access_log(self) -> list[dict[str, Any]]:
        with (self.folder / "portal_access.jsonl").open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    def arrivals_at_portal(self, endpoint: str = "/auth/login") -> np.ndarray:
        return np.sort([r["t_arrival"] for r in self.access_log() if r["endpoint"] == endpoint])


@dataclass
class Started:
    """A ``dvcload run`` started in the background; :meth:`finish` waits for its results."""

    proc: subprocess.Popen[bytes]
    work: Path
    timeout_s: float

    def finish(self) -> Run:
        try:
            self.proc.wait(timeout=self.timeout_s)
        finally:
            stop(self.proc)
        stdout = (self.work / "stdout").read_text(encoding="utf-8")
        stderr = (self.work / "stderr").read_text(encoding="utf-8")
        assert self.proc.returncode == 0, stderr[-3000:]
        folder = Path(stdout.strip().splitlines()[-1])
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        return Run(folder, summary, stderr)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` (by its own PID) if it is still running, and reap it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture
def start_scenario(tmp_path: Path) -> Iterator[Callable[..., Started]]:
    """``start_scenario(text, *args)``: a ``dvcload run`` of the scenario ``text`` in the
    background (each in a folder of its own, so several can run at once). Any still
    running when the test ends are killed."""
    started: list[Started] = []

    def start(text: str, *args: str, timeout_s: float = 240) -> Started:
        work = tmp_path / f"run{len(started)}"
        work.mkdir()
        path = work / "scenario.yaml"
        path.write_text(text.replace("CONFIGS", str(CONFIGS)), encoding="utf-8")
        # output to files, not pipes: nobody reads a pipe while several runs go on
        with (work / "stdout").open("wb") as out, (work / "stderr").open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dvcload", "run", str(path), "--out",
                 str(work / "results"), "--quiet", *args],
                stdout=out, stderr=err, cwd=REPO, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        started.append(Started(proc, work, timeout_s))
        return started[-1]

    yield start
    for run in started:
        stop(run.proc)


@pytest.fixture
def run_scenario(start_scenario: Callable[..., Started]) -> Callable[..., Run]:
    """``run_scenario(text, *args)``: run the scenario ``text`` to its end; its results."""

    def run(text: str, *args: str, timeout_s: float = 240) -> Run:
        return start_scenario(text, *args, timeout_s=timeout_s).finish()

    return run
