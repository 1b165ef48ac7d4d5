"""Bad input at the command line: exit code 2, one line, no traceback.

The cases call :func:`dvcload.cli.main` in-process (every one is refused before any
load starts, so no gevent is needed; a ``python -m dvcload`` start-up costs 1-2 s of
imports). Two of them, and ``--debug``, also go through the real command line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from inprocess import LEFT_BEHIND, run_main

SCENARIO = """\
name: cli
target: embedded
duration: 5s
load: {users: 1}
"""


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def _main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    """``dvcload ARGV`` in-process: its exit code and stderr (argparse exits by SystemExit).
    The call must leave no logging handler, signal handler or working folder behind."""
    proc = run_main(argv)
    assert LEFT_BEHIND not in proc.stderr
    return proc.returncode, proc.stderr


def _assert_one_line_exit_2(code: int, stderr: str, fragment: str) -> None:
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert fragment in lines[0], lines[0]


BAD_SCENARIOS = [
    ("unknown key", SCENARIO + "colour: red\n", "unknown key 'colour'"),
    ("duplicate key", SCENARIO + "duration: 6s\n", "duplicate key 'duration'"),
    ("no unit", SCENARIO.replace("5s", "5"), "duration with a unit"),
    ("negative users", SCENARIO.replace("users: 1", "users: -1"), "out of range"),
    ("text users", SCENARIO.replace("users: 1", "users: lots"), "not a whole number"),
    ("ftp target", SCENARIO.replace("embedded", "ftp://127.0.0.1"), "not an HTTP target"),
    ("object tag", SCENARIO + "x: !!python/object:os.system {}\n", "not allowed"),
    ("broken YAML", SCENARIO + "load: {users: [\n", "invalid YAML"),
    ("a list", "- a\n- b\n", "expected a mapping"),
    ("empty", "", "empty"),
    ("non-loopback target", SCENARIO.replace("embedded", "http://10.1.2.3:8080"), "loopback"),
    ("public target", SCENARIO.replace("embedded", "https://dichvucong.gov.vn"), "loopback"),
]


@pytest.mark.parametrize(
    ("case", "text", "fragment"), BAD_SCENARIOS, ids=[c[0] for c in BAD_SCENARIOS]
)
def test_bad_scenario_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code, stderr = _main(capsys, ["run", str(path), "--out", str(tmp_path / "results")])
    _assert_one_line_exit_2(code, stderr, fragment)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


BAD_ARGUMENTS = [
    (["run"], "required"),
    (["run", "missing.yaml"], "no such file"),
    (["frobnicate"], "invalid choice"),
    (["run", "S", "--duration", "soon"], "--duration"),
    (["run", "S", "--users", "0"], "--users"),
    (["run", "S", "--target", "gopher://127.0.0.1"], "not an HTTP target"),
]


def _with_out(args: list[str], tmp_path: Path) -> list[str]:
    return [*args, "--out", str(tmp_path / "r")] if len(args) > 1 else args


@pytest.mark.parametrize(("args", "fragment"), BAD_ARGUMENTS)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "S").write_text(SCENARIO, encoding="utf-8")
    code, stderr = _main(capsys, _with_out(args, tmp_path))
    _assert_one_line_exit_2(code, stderr, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["run", "S", "--users", "0"], "--users"),  # refused by argparse
     (["run", "bad.yaml"], "unknown key 'colour'")],  # refused by the scenario's schema
    ids=["argument", "scenario"],
)  # fmt: skip
def test_the_real_command_line_exits_2_with_one_line(
    tmp_path: Path, dvcload_cmd: list[str], args: list[str], fragment: str
) -> None:
    (tmp_path / "S").write_text(SCENARIO, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(SCENARIO + "colour: red\n", encoding="utf-8")
    proc = _run([*dvcload_cmd, *_with_out(args, tmp_path)], tmp_path)
    _assert_one_line_exit_2(proc.returncode, proc.stderr, fragment)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_debug_shows_the_traceback(tmp_path: Path, dvcload_cmd: list[str]) -> None:
    proc = _run([*dvcload_cmd, "--debug", "run", "missing.yaml"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
