"""https is verified by default: against a server whose certificate a throwaway CA
signed (made here with trustme), a run succeeds with ``http.tls.ca_file`` and is
refused before any load, in one line naming the certificate problem, without it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from other_server import other_portal

pytestmark = pytest.mark.integration

SCENARIO = """\
name: https-check
target: https://{host}:{port}
duration: 3s
population: {{size: 200}}
load: {{users: 2, spawn_rate: 2, think_time: 0.1s}}
{tls}
session:
  steps:
    - post: /api/v1/auth/token
      form: {{username: "{{citizen.cccd}}", password: "x"}}
      capture: {{token: "json:$.access_token"}}
  headers: {{Authorization: "Bearer {{token}}"}}
journeys:
  browse:
    steps:
      - get: /api/v1/thu-tuc
        check: {{"json:$[0].ma": "1.001"}}
"""


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """``other_portal.py`` on https, its certificate signed by a CA made for the test."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "chain.pem"))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(folder / "chain.pem"), append=True)
    with other_portal(folder, tls=(folder / "chain.pem", folder / "key.pem")) as server:
        yield server.port, folder


def _run(folder: Path, port: int, tls: str, out: str = "out") -> subprocess.CompletedProcess[str]:
    scenario = folder / f"s-{len(tls)}.yaml"
    scenario.write_text(SCENARIO.format(host="127.0.0.1", port=port, tls=tls))
    return subprocess.run(
        [sys.executable, "-m", "dvcload", "run", str(scenario), "--out", str(folder / out),
         "--quiet"],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_run_with_the_ca_file_succeeds(https_server: tuple[int, Path]) -> None:
    port, folder = https_server
    proc = _run(folder, port, f"http: {{tls: {{ca_file: {folder / 'ca.pem'}}}}}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = (Path(proc.stdout.strip().splitlines()[-1]) / "summary.json").read_text()
    assert '"GET /api/v1/thu-tuc"' in summary and '"failures": 0' in summary


def test_without_it_the_run_is_refused_in_one_line_naming_the_problem(
    https_server: tuple[int, Path],
) -> None:
    port, folder = https_server
    proc = _run(folder, port, "", out="refused")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "certificate not trusted" in lines[0] and "ca_file" in lines[0], lines[0]
    assert "self-signed" in lines[0] or "issuer" in lines[0], lines[0]
    refused = folder / "refused"
    assert not refused.exists() or not any(refused.iterdir())  # nothing measured, no folder


def test_verify_false_is_the_operators_explicit_choice(https_server: tuple[int, Path]) -> None:
    port, folder = https_server
    proc = _run(folder, port, "http: {tls: {verify: false}}")
    assert proc.returncode == 0, proc.stderr[-2000:]
