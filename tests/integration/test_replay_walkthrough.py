"""The README's "Replaying last year's deadline", step by step, as a new user runs it.

The commands and the replay scenario are the README's own text, run in a temporary
folder; only the replay's ``speed`` is raised (60 to 300: the same requests in 12 s
instead of a minute), to keep the suite quick. (At 600, 650 requests a second, the
embedded portal's p95 passed its 1 s budget when the machine was shared with the
other test processes.) The figures the README quotes from ``derive`` are checked
against what it prints.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SECTION = "### Replaying last year's deadline"


def section() -> str:
    return README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n### ", 1)[0]


def commands(text: str) -> list[list[str]]:
    """The section's shell commands, continuation lines joined, as argument lists."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            if not words:
                continue
            if words[0] == ".venv/bin/python":
                words = [sys.executable, *words[1:]]
            elif words[0] == ".venv/bin/dvcload":
                words = [sys.executable, "-m", "dvcload", *words[1:]]
            out.append(words)
    return out


def _run(words: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    words = [str(REPO / w) if w.startswith("scenarios/") else w for w in words]
    return subprocess.run(
        words, capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
        stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip


def test_the_replay_walkthrough_runs_as_written(tmp_path: Path) -> None:
    text = section()
    steps = commands(text)
    names = [w[3] if w[1:3] == ["-m", "dvcload"] else w[2] for w in steps]
    assert names == ["benchmarks.make_access_log", "derive", "run", "calibrate", "plan"]
    scenario = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "speed: 60 " in scenario
    (tmp_path / "replay.yaml").write_text(scenario.replace("speed: 60 ", "speed: 300 "))
    printed = {}
    for words, name in zip(steps, names, strict=True):
        done = _run(words, tmp_path)
        assert done.returncode == 0, (name, done.stderr[-2000:])
        printed[name] = done.stdout
    quoted = re.search(r"It prints `(derived [^`]+)`", text)
    assert quoted is not None and quoted.group(1) in printed["derive"]
    truth = json.loads((tmp_path / "truth.json").read_text())
    arrivals = (tmp_path / "derived" / "arrivals.csv").read_text().splitlines()[1:]
    recorded = [f"{a['start']},{a['count']}" for a in truth["arrivals"]]
    assert arrivals[: len(recorded)] == recorded
    assert all(row.endswith(",0") for row in arrivals[len(recorded) :])
    run = next((tmp_path / "results").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    replay = summary["replay"]
    assert replay["scale"] == 2.0 and replay["skipped_by_method"].get("POST", 0) > 0
    # Twice the recorded GETs, each sent or, when every one of the 1,000 users was busy
    # (a machine shared with other tests), dropped and counted: none lost, none cut.
    dropped = summary["arrivals"]["dropped"]
    assert summary["requests"] + dropped == 2 * replay["eligible"] == replay["scheduled"]
    assert dropped <= 0.01 * replay["scheduled"] and replay["cut_at_end"] == 0
    assert summary["gate"]["passed"] is True
    assert "from" in printed["plan"] and "arrivals.csv" in printed["plan"]
    assert "response times" in printed["calibrate"]
