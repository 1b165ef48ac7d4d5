"""End to end: ``dvcload run`` against the embedded portal, real Locust, real results.

Bounded: a few seconds of load on 127.0.0.1; the portal is the run's own child and the
test checks it is gone afterwards. The run is the session's ``smoke_run`` (5 s of
load, tests/conftest.py), which the audit of a real run reads too.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ENDPOINTS = {
    "POST /auth/login",
    "GET /services",
    "GET /services/[code]/form",
    "POST /attachments",
    "POST /dossiers",
    "POST /dossiers/[code]/payments",
    "POST /paygov/confirm",
    "GET /dossiers/[code]",
}
CONTRACT_KEYS = {"count", "failures", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"}


def test_run_prints_its_results_folder(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = smoke_run
    assert folder.is_dir()
    assert re.fullmatch(r"\d{8}T\d{6}Z-smoke", folder.name)
    for name in (
        "manifest.json",
        "summary.json",
        "report.html",
        "histograms.json",
        "histograms_intervals.jsonl",
        "locust_stats.csv",
        "locust_stats_history.csv",
        "locust_failures.csv",
        "portal_access.jsonl",
        "acknowledged_dossiers.csv",
    ):
        assert (folder / name).stat().st_size > 0, name


def test_progress_lines_were_shown(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, _ = smoke_run
    assert re.search(r"\[\s*\d+s / 5s\] users\s+\d+ \|\s+[\d.]+ req/s \| p95", proc.stderr)


def test_summary_covers_every_journey_endpoint_with_few_failures(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = smoke_run
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"] == "smoke"
    assert summary["target"].startswith("embedded (http://127.0.0.1:")
    assert set(summary["endpoints"]) >= ENDPOINTS, set(summary["endpoints"])
    for row in summary["endpoints"].values():
        assert row.keys() >= CONTRACT_KEYS
        assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert summary["requests"] > 200
    assert summary["failures"] / summary["requests"] < 0.01
    assert 4.0 <= summary["duration_s"] <= 9.0


def test_portal_saw_what_the_harness_measured(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = smoke_run
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    with (folder / "portal_access.jsonl").open(encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    for field in ("t_arrival", "method", "endpoint", "status", "queue_wait_ms", "service_ms"):
        assert field in lines[0]
    # The portal may log a few requests that Locust cut off when stopping, never fewer.
    assert summary["requests"] <= len(lines) <= summary["requests"] + 200


def test_every_acknowledged_dossier_is_in_the_portal_database(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = smoke_run
    with (folder / "acknowledged_dossiers.csv").open(encoding="utf-8", newline="") as handle:
        codes = {row["dossier_code"] for row in csv.DictReader(handle)}
    assert len(codes) > 10
    db = sqlite3.connect(f"file:{folder / 'portal.sqlite'}?mode=ro", uri=True)
    try:
        stored = {row[0] for row in db.execute("SELECT dossier_code FROM dossiers")}
    finally:
        db.close()
    assert codes <= stored


def test_embedded_portal_process_is_gone(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = smoke_run
    match = re.search(r"embedded portal at \S+ \(pid (\d+)\)", (folder / "run.log").read_text())
    assert match, "run.log names the portal's pid"
    pid = int(match.group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_report_is_self_contained(smoke_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, folder = smoke_run
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    assert "POST /dossiers" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)


def test_locust_cli_runs_a_scenario_with_its_own_ui_machinery(tmp_path: Path) -> None:
    """``locust -f locustfile.py --scenario ...`` works (headless; the UI shares the path)."""
    repo = Path(__file__).resolve().parents[2]
    # The scenario's stages drive Locust (a shape), so it is the scenario's own length
    # that ends the run: shortened here through the DVCLOAD_* environment (3 s: some 500
    # requests, ten times the count asserted).
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(repo / "locustfile.py"),
            "--scenario",
            str(repo / "scenarios" / "smoke.yaml"),
            "--headless",
            "--csv",
            str(tmp_path / "l"),
            "--only-summary",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=repo,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "DVCLOAD_DURATION": "3s"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (tmp_path / "l_stats.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(rows["Aggregated"]["Request Count"]) > 50
    assert "/dossiers" in rows
