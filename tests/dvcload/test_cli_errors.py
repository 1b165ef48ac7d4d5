"""Bad input through the real command line: exit code 2, one line, no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

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


def _assert_one_line_exit_2(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
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
    tmp_path: Path, dvcload_cmd: list[str], case: str, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    proc = _run([*dvcload_cmd, "run", str(path), "--out", str(tmp_path / "results")], tmp_path)
    _assert_one_line_exit_2(proc, fragment)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run"], "required"),
        (["run", "missing.yaml"], "no such file"),
        (["frobnicate"], "invalid choice"),
        (["run", "S", "--duration", "soon"], "--duration"),
        (["run", "S", "--users", "0"], "--users"),
        (["run", "S", "--target", "gopher://127.0.0.1"], "not an HTTP target"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, dvcload_cmd: list[str], args: list[str], fragment: str
) -> None:
    (tmp_path / "S").write_text(SCENARIO, encoding="utf-8")
    proc = _run(
        [*dvcload_cmd, *args, "--out", str(tmp_path / "r")]
        if len(args) > 1
        else [*dvcload_cmd, *args],
        tmp_path,
    )
    _assert_one_line_exit_2(proc, fragment)


def test_debug_shows_the_traceback(tmp_path: Path, dvcload_cmd: list[str]) -> None:
    proc = _run([*dvcload_cmd, "--debug", "run", "missing.yaml"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
