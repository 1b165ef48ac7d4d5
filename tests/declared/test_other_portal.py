"""Declared journeys against a portal whose API is unlike the reference portal's
(``other_portal.py``): a form login with a CSRF cookie that writes echo in a header, a
top-level JSON list, an HTML receipt, server-issued codes and the server's own log.

Each run is a real ``dvcload run`` (real Locust, real HTTP) against that server on
127.0.0.1; the server's log and store are held against dvcload's results.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from other_scenario import PY_SCENARIO, SCENARIO
from other_server import NAMES, ServerRun, served_late

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
CLOSED = "{users: 4, spawn_rate: 4, think_time: 0.1s}"
OPEN = "{model: open, rate: {constant: 6}, max_concurrency: 40}"


@dataclass
class Outcome:
    folder: Path
    summary: dict[str, Any]
    log: list[dict[str, Any]]
    store: dict[str, str]
    stdout: str
    stderr: str


class OtherRun(ServerRun):
    """One ``dvcload run`` of the declared or Python scenario against its own server."""

    def __init__(
        self, folder: Path, load: str, extra: tuple[str, ...], duration: str, python: bool
    ) -> None:
        text = SCENARIO if not python else PY_SCENARIO.replace("{module}", str(MODULE))
        text = text.format(target="{target}", duration=duration, load=load)
        env = {"DVCLOAD_PASSCODE": "654321", "PORTAL_API_KEY": "k-42"}
        super().__init__(folder, text, extra, env)
        self.log, self.store = self.server.log, self.server.store

    def outcome(self) -> Outcome:
        code, folder, stdout, stderr = self.finish()
        assert code == 0 and folder is not None, stderr[-3000:]
        return Outcome(
            folder,
            json.loads((folder / "summary.json").read_text()),
            self.server.requests(),
            json.loads(self.store.read_text()),
            stdout,
            stderr,
        )


RUNS = {  # name: (load, extra arguments, duration, journeys in Python)
    "closed": (CLOSED, (), "6s", False),
    "open": (OPEN, (), "6s", False),
    "processes": (CLOSED, ("--processes", "2"), "8s", False),
    "python": (CLOSED, (), "6s", True),
    "python-open-processes": (OPEN, ("--processes", "2"), "6s", True),
}
MODULE = HERE / "other_journeys.py"


@pytest.fixture(scope="module")
def other_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OtherRun]]:
    """The three runs at once, each against its own server (they are light: 4 users or
    6 sessions/s, a few percent of a core each)."""
    root = tmp_path_factory.mktemp("other")
    runs: dict[str, OtherRun] = {}
    try:
        for name, (load, extra, duration, python) in RUNS.items():
            runs[name] = OtherRun(root / name, load, extra, duration, python)
        yield runs
    finally:
        for run in runs.values():
            run.stop()


def _check_against_the_server(run: Outcome, in_flight: int, *, tags: bool = True) -> None:
    """``in_flight``: requests the server may have answered after the load stopped
    (at most one per user still in a journey when the run ended); ``tags``: the
    scenario tagged its requests."""
    summary, log = run.summary, run.log
    assert set(summary["endpoints"]) == NAMES, summary["endpoints"].keys()
    # the server's log and dvcload agree on requests per name, and nothing failed
    late = served_late(summary, log, in_flight)
    # http.headers on every request: the key from the environment, the citizen's number
    assert {r["api_key"] for r in log} == {"k-42"}
    assert all(r["citizen"] == r["user"] for r in log if r["user"])
    # only server-issued codes were asked for, by their owners
    asked = [r["path"].rsplit("/", 1)[1] for r in log if r["route"].endswith("{code}")]
    assert asked and set(asked) <= set(run.store)
    # every login is a different citizen (partitions never share an ID number)
    logins = [r["user"] for r in log if r["route"] == "/api/v1/auth/token"]
    assert len(logins) == len(set(logins))
    # the audit ledger is what the server stored
    with (run.folder / "acknowledged_dossiers.csv").open() as handle:
        ledger = {row["dossier_code"]: row["cccd"] for row in csv.DictReader(handle)}
    assert ledger.items() <= run.store.items()  # every acknowledged dossier is stored
    assert len(run.store) - len(ledger) <= late["POST /api/v1/ho-so"]  # or was in flight
    # gate, JUnit and report as for the reference portal
    gate = json.loads((run.folder / "gate.json").read_text())
    assert gate["passed"] is True and summary["gate"]["passed"] is True
    assert (run.folder / "junit.xml").read_text().count("<testcase") == len(gate["budgets"])
    assert "POST /api/v1/ho-so" in (run.folder / "report.html").read_text()
    if tags:
        assert summary["tags"]["write"] == ["POST /api/v1/ho-so"]


def test_closed_model_against_another_api(other_runs: dict[str, OtherRun]) -> None:
    run = other_runs["closed"].outcome()
    _check_against_the_server(run, in_flight=4)
    logins = [r for r in run.log if r["route"] == "/api/v1/auth/token"]
    assert len(logins) == 4  # one session per user
    assert "654321" not in (run.folder / "manifest.json").read_text()  # secrets stay out


def test_open_model_against_another_api(other_runs: dict[str, OtherRun]) -> None:
    run = other_runs["open"].outcome()
    _check_against_the_server(run, in_flight=0)  # sessions in flight finish
    started = run.summary["arrivals"]["started"]
    logins = [r for r in run.log if r["route"] == "/api/v1/auth/token"]
    assert started == len(logins) >= 20  # one login per session


def test_two_processes_against_another_api(other_runs: dict[str, OtherRun]) -> None:
    run = other_runs["processes"].outcome()
    _check_against_the_server(run, in_flight=4)


def test_journeys_written_in_python_against_another_api(other_runs: dict[str, OtherRun]) -> None:
    run = other_runs["python"].outcome()
    _check_against_the_server(run, in_flight=4, tags=False)
    manifest = json.loads((run.folder / "manifest.json").read_text())
    journeys = manifest["scenario"]["journeys"]
    assert journeys["module"] == str(MODULE)
    assert journeys["sha256"] == hashlib.sha256(MODULE.read_bytes()).hexdigest()


def test_python_journeys_in_the_open_model_with_two_processes(
    other_runs: dict[str, OtherRun],
) -> None:
    run = other_runs["python-open-processes"].outcome()
    _check_against_the_server(run, in_flight=0, tags=False)
