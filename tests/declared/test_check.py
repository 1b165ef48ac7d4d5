"""``dvcload check``: one slow session of each journey against the other portal, every
step printed; exit 0 when all complete, 1 when one fails (with an excerpt of the
response), 2 for bad input."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from other_scenario import SCENARIO
from other_server import other_portal

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("check")
    with other_portal(folder) as portal:
        yield portal.url, folder


def _check(folder: Path, target: str, text: str) -> subprocess.CompletedProcess[str]:
    scenario = folder / "check.yaml"
    scenario.write_text(text.format(target=target, duration="5s", load="{users: 1}"))
    return subprocess.run(
        [sys.executable, "-m", "dvcload", "check", str(scenario), "--pause", "0"],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        env={"DVCLOAD_PASSCODE": "654321", "PORTAL_API_KEY": "k-42", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_every_step_is_printed_and_every_journey_completes(server: tuple[str, Path]) -> None:
    target, folder = server
    proc = _check(folder, target, SCENARIO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "journey filing" in out and "journey browse" in out
    assert "POST " in out and "/api/v1/auth/token · 200" in out
    assert "captured token=" in out and "captured code='HS-" in out
    assert "/bien-nhan/HS-" in out and "✔ filing completed" in out
    assert out.rstrip().endswith("dvcload check: every journey completed")


def test_a_failing_check_stops_its_journey_with_an_excerpt_and_exit_1(
    server: tuple[str, Path],
) -> None:
    target, folder = server
    wrong = SCENARIO.replace('"json:$.trang_thai": "moi"', '"json:$.trang_thai": "da_duyet"')
    assert wrong != SCENARIO
    proc = _check(folder, target, wrong)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "content check: json:$.trang_thai is 'moi', expected 'da_duyet'" in out
    assert 'response: {"ma_ho_so":"HS-' in out  # what the server said
    assert "✘ filing failed" in out and "✔ browse completed" in out
    assert "/bien-nhan/" not in out  # the journey ended at the failing step


def test_bad_input_is_one_line_and_exit_2(server: tuple[str, Path]) -> None:
    target, folder = server
    proc = _check(folder, target, SCENARIO.replace("record: dossier", "record: invoice"))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "record" in lines[0] and "Traceback" not in proc.stderr
