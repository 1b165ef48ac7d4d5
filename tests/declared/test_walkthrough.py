"""The README's "Load-testing your own portal", step by step, as a new user runs it.

The scenario is the README's own text (only the target's port differs), run against
``other_portal.py`` (the API the walk-through describes), through the commands the
README prints: ``dvcload check``, ``dvcload run``, ``dvcload gate``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from other_server import other_portal

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
SECTION = "### Load-testing your own portal"


def walkthrough() -> tuple[str, list[str]]:
    """The README section's scenario and its shell commands, in order."""
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n### ", 1)[0]
    scenario = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    commands = [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
        for line in block.splitlines()
        if line.strip().startswith(".venv/bin/dvcload")
    ]
    return scenario, commands


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("walkthrough")
    with other_portal(folder) as server:
        yield server.url, folder


def _dvcload(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvcload", *args],
        capture_output=True, text=True, timeout=180, check=False, cwd=cwd,
        stdin=subprocess.DEVNULL, env={"DVCLOAD_PASSCODE": "654321", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_the_readme_walkthrough_runs_as_written(portal: tuple[str, Path]) -> None:
    target, folder = portal
    scenario, commands = walkthrough()
    assert "target: http://127.0.0.1:8000" in scenario
    assert [c.split()[1] for c in commands] == ["check", "run", "gate"]
    text = scenario.replace("http://127.0.0.1:8000", target).replace(
        "duration: 30s", "duration: 6s"
    )
    (folder / "my-portal.yaml").write_text(text, encoding="utf-8")

    check = _dvcload(commands[0].split()[1:], folder)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "✔ filing completed" in check.stdout

    run = _dvcload([*commands[1].split()[1:], "--quiet"], folder)
    assert run.returncode == 0, run.stderr[-2000:]
    run_folder = folder / run.stdout.strip().splitlines()[-1]  # printed relative to --out
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["failures"] == 0 and summary["requests"] > 0
    assert set(summary["endpoints"]) == {
        "POST /api/v1/auth/token",
        "GET /api/v1/thu-tuc",
        "POST /api/v1/ho-so",
        "GET /api/v1/ho-so/[code]",
    }
    acknowledged = (run_folder / "acknowledged_dossiers.csv").read_text().splitlines()[1:]
    assert len(acknowledged) == summary["endpoints"]["POST /api/v1/ho-so"]["count"]
    assert all(line.split(",")[1].startswith("HS-") for line in acknowledged)

    gate = _dvcload(commands[2].replace("results/<run>", str(run_folder)).split()[1:], folder)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert (run_folder / "gate.md").exists() and (run_folder / "junit.xml").exists()
