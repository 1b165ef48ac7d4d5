"""A plain Locust file (``other_locustfile.py``) run by dvcload against the other portal
(``other_portal.py``): ``journeys: {user_class: ...}`` and the top-level ``user_class:``.

Each run is a real ``dvcload run`` (real Locust, real HTTP) against its own server on
127.0.0.1; the server's request log is held against summary.json, closed and open, on
Locust's ``FastHttpUser`` and its requests-based ``HttpUser``. The guarded requests
client is also checked in-process: what the policy refuses is never sent.
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from other_server import NAMES, ROUTE_TO_NAME, ServerRun, served_late

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "other_locustfile.py"
CLOSED = "{users: 4, spawn_rate: 4}"
OPEN = "{model: open, rate: {constant: 6}, max_concurrency: 40}"
SCENARIO = """\
name: other-portal-locust
seed: 5
target: {target}
duration: {duration}
population: {{size: 1000}}
load: {load}
http:
  headers: {{X-Api-Key: "{{env.PORTAL_API_KEY}}", X-Citizen: "{{citizen.cccd}}"}}
{traffic}
budgets:
  "*": ["p99 < 5s"]
  "journey:filing": ["error_rate < 1%"]
"""
REQUESTS = f"user_class: {LOCUSTFILE}:RequestsPortalUser"
RUNS = {  # name: (traffic, load, extra arguments, duration)
    "closed": (f"journeys: {{user_class: '{LOCUSTFILE}:PortalUser'}}", CLOSED, (), "6s"),
    "open": (f"user_class: {LOCUSTFILE}:PortalUser", OPEN, (), "6s"),
    "requests-processes": (REQUESTS, CLOSED, ("--processes", "2"), "8s"),
    "stray": (f"user_class: {LOCUSTFILE}:StrayUser", "{users: 2, spawn_rate: 2}", (), "3s"),
}


@dataclass
class Outcome:
    returncode: int
    folder: Path
    summary: dict[str, Any]
    log: list[dict[str, Any]]
    stderr: str


class ClassRun(ServerRun):
    """One ``dvcload run`` of a Locust class against its own ``other_portal.py``."""

    def __init__(self, folder: Path, spec: tuple[str, str, tuple[str, ...], str]) -> None:
        traffic, load, extra, duration = spec
        text = SCENARIO.format(target="{target}", duration=duration, load=load, traffic=traffic)
        super().__init__(folder, text, extra, {"PORTAL_API_KEY": "k-42"})

    def outcome(self) -> Outcome:
        code, folder, _, stderr = self.finish()
        assert code in (0, 1) and folder is not None, stderr[-3000:]  # 1: a budget failed
        summary = json.loads((folder / "summary.json").read_text())
        return Outcome(code, folder, summary, self.server.requests(), stderr)


@pytest.fixture(scope="module")
def class_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ClassRun]]:
    """The runs at once, each against its own server (a few users or 6 sessions/s)."""
    root = tmp_path_factory.mktemp("locust-class")
    runs: dict[str, ClassRun] = {}
    try:
        for name, spec in RUNS.items():
            runs[name] = ClassRun(root / name, spec)
        yield runs
    finally:
        for run in runs.values():
            run.stop()


def _check_against_the_server(run: Outcome, in_flight: int) -> None:
    """The server's log and summary.json agree on requests per name (``in_flight``: at
    most that many answered after the load stopped), nothing failed, the scenario's
    headers went with every request, and the gate and the reports were written."""
    summary, log = run.summary, run.log
    assert run.returncode == 0, run.stderr[-3000:]
    assert set(summary["endpoints"]) == NAMES, summary["endpoints"].keys()
    served_late(summary, log, in_flight)
    measured = {name: e["count"] for name, e in summary["endpoints"].items()}
    assert {r["api_key"] for r in log} == {"k-42"}  # http.headers, from the environment
    assert all(len(r["citizen"]) == 12 for r in log)  # {citizen.cccd}: each user has one
    # each task run is a journey named after its function, weighted as the class says
    journeys = summary["journeys"]
    assert set(journeys) == {"filing", "browsing"}
    filed = measured["POST /api/v1/ho-so"]
    assert filed - in_flight <= journeys["filing"]["count"] <= filed
    assert journeys["filing"]["count"] > journeys["browsing"]["count"]  # 7 : 3
    gate = json.loads((run.folder / "gate.json").read_text())
    assert gate["passed"] is True and summary["gate"]["passed"] is True
    assert "journey:filing" in {b["key"] for b in gate["budgets"]}
    assert "POST /api/v1/ho-so" in (run.folder / "report.html").read_text()
    manifest = json.loads((run.folder / "manifest.json").read_text())
    user_class = manifest["scenario"]["journeys"]["user_class"]
    assert user_class.startswith(f"{LOCUSTFILE}:")
    assert (
        manifest["scenario"]["journeys"]["sha256"]
        == hashlib.sha256(LOCUSTFILE.read_bytes()).hexdigest()
    )


def test_a_fast_http_user_class_in_the_closed_model(class_runs: dict[str, ClassRun]) -> None:
    run = class_runs["closed"].outcome()
    _check_against_the_server(run, in_flight=4)
    logins = [r for r in run.log if r["route"] == "/api/v1/auth/token"]
    assert len(logins) == 4  # on_start once per user; the class's own host was ignored


def test_a_fast_http_user_class_in_the_open_model(class_runs: dict[str, ClassRun]) -> None:
    run = class_runs["open"].outcome()
    _check_against_the_server(run, in_flight=0)  # sessions in flight finish
    started = run.summary["arrivals"]["started"]
    logins = [r for r in run.log if r["route"] == "/api/v1/auth/token"]
    assert started == len(logins) >= 20  # a fresh instance per arrival: one on_start each
    journeys = run.summary["journeys"]
    assert journeys["filing"]["count"] + journeys["browsing"]["count"] == started  # one task
    sessions = json.loads((run.folder / "histograms.json").read_text())["sessions"]
    assert sessions["session"]["count"] == sessions["start_delay"]["count"] == started


def test_a_requests_http_user_class_with_two_processes(class_runs: dict[str, ClassRun]) -> None:
    run = class_runs["requests-processes"].outcome()
    _check_against_the_server(run, in_flight=4)
    assert run.summary["journeys"]["filing"]["count"] > 0


def test_a_request_outside_the_policy_is_refused_never_sent(
    class_runs: dict[str, ClassRun],
) -> None:
    run = class_runs["stray"].outcome()
    endpoints = run.summary["endpoints"]
    stray = endpoints["GET stray"]
    assert stray["count"] == stray["failures"] >= 2  # each user tried once, then stopped
    served = collections.Counter(ROUTE_TO_NAME[(r["method"], r["route"])] for r in run.log)
    assert {n: e["count"] for n, e in endpoints.items() if n != "GET stray"} == served
    assert run.summary["journeys"]["stray"]["failures"] == stray["count"]
    failures = (run.folder / "locust_failures.csv").read_text()
    assert "not sent" in failures and "192.0.2.10" in failures
    assert (run.folder / "gate.json").exists() and (run.folder / "report.html").exists()


# -- the guarded requests client, in-process -----------------------------------------------
class Events:
    def __init__(self) -> None:
        self.fired: list[dict[str, Any]] = []

    def fire(self, **kwargs: Any) -> None:
        self.fired.append(kwargs)


def test_the_requests_client_refuses_an_outside_host_before_sending() -> None:
    import requests
    from locust.exception import StopUser

    from dvcschema.target import TargetPolicy
    from loadgen.pacing import RateCeiling
    from loadgen.userclass import GuardedRequestsSession, RefusedRequestError

    ceiling = RateCeiling(1000.0)
    events = Events()
    session = GuardedRequestsSession(
        "http://127.0.0.1:9", events, None, policy=TargetPolicy(), ceiling=ceiling
    )
    assert session.refusal is None
    with pytest.raises(StopUser):
        session.get("http://192.0.2.10/x", name="stray")
    assert [e["name"] for e in events.fired] == ["stray"]
    assert "not sent" in str(events.fired[0]["exception"])
    assert ceiling.acquired == 0  # no token taken: nothing was sent
    # the adapter checks every wire request (a redirect hop), whoever sends it
    hop = requests.Request("GET", "http://192.0.2.10/").prepare()
    with pytest.raises(RefusedRequestError):
        session.get_adapter(hop.url).send(hop)
    refused = GuardedRequestsSession(
        "https://portal.example.vn", events, None, policy=TargetPolicy(), ceiling=None
    )
    assert refused.refusal is not None and "loopback" in refused.refusal
