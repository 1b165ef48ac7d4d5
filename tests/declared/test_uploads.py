"""Multipart uploads of generated attachments, declared (``files:``) and from Python
(``files=``), as the other portal's standard-library MIME parser reads them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from other_server import OtherPortal, other_portal

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
HEAD = """\
name: uploads
seed: 9
target: {target}
duration: 5s
population: {{size: 200}}
load: {{users: 1}}
"""
DECLARED = """\
session:
  steps:
    - post: /api/v1/auth/token
      form: {username: "{citizen.cccd}", password: "{env.DVCLOAD_PASSCODE}"}
      capture: {token: "json:$.access_token"}
  headers: {Authorization: "Bearer {token}"}
journeys:
  upload:
    steps:
      - post: /api/v1/tep
        files: {tep: scan}
        expect: 201
        check: {"json:$.loai": "application/pdf", "json:$.ten": "tep.scan", "json:$.hop_le": "true"}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtherPortal]:
    with other_portal(tmp_path_factory.mktemp("uploads")) as portal:
        yield portal


def _check(folder: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    (folder / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "dvcload", "check", str(folder / name), "--pause", "0"],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        env={"DVCLOAD_PASSCODE": "654321", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def _uploads(portal: OtherPortal) -> list[dict[str, object]]:
    return [r for r in portal.requests() if r["route"] == "/api/v1/tep"]


@pytest.mark.parametrize("how", ["declared", "python"])
def test_an_upload_reaches_the_portal_as_a_multipart_file(server: OtherPortal, how: str) -> None:
    target, folder = server.url, server.log.parent
    before = len(_uploads(server))
    if how == "declared":
        text = HEAD.format(target=target) + DECLARED
    else:
        module = HERE / "upload_journeys.py"
        text = HEAD.format(target=target) + f"journeys: {{module: {module}}}\n"
    proc = _check(folder, f"{how}.yaml", text)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✔ upload completed" in proc.stdout
    uploads = _uploads(server)[before:]
    assert [u["status"] for u in uploads] == [201]
    size = uploads[0]["size"]
    assert isinstance(size, int) and 8 * 1024 <= size <= 5_000_000  # the attachment profiles
