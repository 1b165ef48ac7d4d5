"""Helpers for runs against the embedded portal: write a scenario, run dvcload as a
subprocess (the test process is gevent-patched; a subprocess is what users run),
read the results folder."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
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


@pytest.fixture
def run_scenario(tmp_path: Path) -> Callable[..., Run]:
    def run(text: str, *args: str, timeout_s: float = 240) -> Run:
        path = tmp_path / "scenario.yaml"
        path.write_text(text.replace("CONFIGS", str(CONFIGS)), encoding="utf-8")
        out = tmp_path / "results"
        proc = subprocess.run(
            [sys.executable, "-m", "dvcload", "run", str(path), "--out", str(out), "--quiet",
             *args],
            capture_output=True, text=True, timeout=timeout_s, cwd=REPO, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        folder = Path(proc.stdout.strip().splitlines()[-1])
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        return Run(folder, summary, proc.stderr)

    return run
