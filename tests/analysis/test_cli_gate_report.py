"""``dvcload gate`` and ``dvcload report`` at the command line: exit codes and one-line errors.

:func:`dvcload.cli.main` runs in-process (neither command needs gevent, and a ``python
-m dvcload`` start-up costs 1-2 s of imports); a failing gate also goes through the
real command line, for its exit code 1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from inprocess import run_main

PASS = 'budgets:\n  "*": ["p99 < 2s"]\n  "POST /dossiers": ["p95 < 800ms"]\n'
FAIL = 'budgets:\n  "POST /dossiers": ["p95 < 5ms"]\n'


@pytest.fixture
def run_copy(recorded_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(recorded_run, tmp_path / "run"))


def dvcload(cmd: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def dvcload_main(
    capsys: pytest.CaptureFixture[str], *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``dvcload ARGS`` in-process: exit code, stdout and stderr."""
    return run_main(args)


def budgets_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "budgets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_gate_exits_0_on_pass_and_1_on_fail(
    dvcload_cmd: list[str], capsys: pytest.CaptureFixture[str], run_copy: Path, tmp_path: Path
) -> None:
    passed = dvcload_main(capsys, "gate", run_copy, "--budgets", budgets_file(tmp_path, PASS))
    assert passed.returncode == 0, passed.stderr
    assert "dvcload gate passed" in passed.stdout
    # the failing gate through the real command line: its exit code is the process's
    failed = dvcload(dvcload_cmd, "gate", run_copy, "--budgets", budgets_file(tmp_path, FAIL))
    assert failed.returncode == 1, failed.stderr
    assert "FAILED: 1 of 1 budget checks failed" in failed.stderr
    gate = json.loads((run_copy / "gate.json").read_text(encoding="utf-8"))
    assert gate["passed"] is False


def test_gate_with_baseline_writes_the_comparison(
    capsys: pytest.CaptureFixture[str], run_copy: Path, recorded_run: Path, tmp_path: Path
) -> None:
    rule = budgets_file(tmp_path, 'budgets:\n  total: ["p95 may not rise more than 10%"]\n')
    proc = dvcload_main(capsys, "gate", run_copy, "--baseline", recorded_run, "--budgets", rule)
    assert proc.returncode == 0, proc.stderr
    gate = json.loads((run_copy / "gate.json").read_text(encoding="utf-8"))
    assert gate["comparison"]["baseline"] == str(recorded_run)
    assert gate["budgets"][0]["status"] == "passed"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["gate", "/nonexistent/run"], "no such results folder"),
        (["report", "/nonexistent/run"], "no such results folder"),
        (["gate", "{run}", "--budgets", "{bad}"], "'p95 < 800': p95 is a latency"),
        (["gate", "{run}", "--budgets", "/nonexistent.yaml"], "no such file"),
        (["gate", "{run}"], "no budgets to check"),
        (["gate", "{run}", "--baseline", "/nonexistent/base", "--budgets", "{good}"], "no such"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    run_copy: Path,
    tmp_path: Path,
    args: list[str],
    fragment: str,
) -> None:
    bad = budgets_file(tmp_path, 'budgets:\n  "*": ["p95 < 800"]\n')
    good = tmp_path / "good.yaml"
    good.write_text(PASS, encoding="utf-8")
    filled = [a.format(run=run_copy, bad=bad, good=good) for a in args]
    proc = dvcload_main(capsys, *filled)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert fragment in lines[0]


def test_report_writes_the_page_and_prints_its_path(
    capsys: pytest.CaptureFixture[str], run_copy: Path, recorded_run: Path
) -> None:
    proc = dvcload_main(capsys, "report", run_copy, "--baseline", recorded_run)
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip())
    assert path == run_copy / "report.html"
    assert "Comparison with baseline" in path.read_text(encoding="utf-8")


def test_scenario_budgets_from_the_manifest_are_used(
    capsys: pytest.CaptureFixture[str], run_copy: Path, tmp_path: Path
) -> None:
    manifest = json.loads((run_copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["scenario"]["budgets"] = {"*": ["p99 < 2s"], "POST /dossiers": ["p95 < 5ms"]}
    (run_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert dvcload_main(capsys, "gate", run_copy, "--quiet").returncode == 1
    override = budgets_file(tmp_path, 'budgets:\n  "POST /dossiers": ["p95 < 1s"]\n')
    assert dvcload_main(capsys, "gate", run_copy, "--budgets", override).returncode == 0
