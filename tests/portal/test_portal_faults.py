"""Injected faults over real HTTP: each kind seen by a client and marked in the access log,
outages in and out, resets after commit replayed exactly once, and the admin endpoint's
token rule. One portal (with an admin token) serves the module; each test sets its own
fault set through ``POST /admin/faults`` and clears it afterwards."""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from portal_client import Answer, Api, RunningPortal, admin_portal, cccd_with_level

from dvcschema.load import RetryPolicy
from loadgen.pyjourneys import Http
from loadgen.visit import Conduct, Visit
from portal import journeys
from portal.config import DEFAULT_CONFIG_PATH
from portal.launcher import EmbeddedPortal

TOKEN = "test-admin-token-7f3a"
ADMIN = {"X-Admin-Token": TOKEN}
LEVEL2 = cccd_with_level(2, start=300)
FEE = 135_000
LOG_WAIT_S = 5.0


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortal]:
    folder = tmp_path_factory.mktemp("faults")
    with admin_portal(folder, seed=7, token=TOKEN) as running:
        yield running
    access_log = running.access_log
    stderr = (folder / "stderr.log").read_text(encoding="utf-8")
    assert TOKEN not in stderr and TOKEN not in access_log.read_text(encoding="utf-8")


@pytest.fixture
def set_faults(faulty: RunningPortal) -> Iterator[Callable[[dict[str, Any]], Answer]]:
    def put(data: dict[str, Any]) -> Answer:
        answer = faulty.api.post("/admin/faults", json_body=data, headers=ADMIN)
        assert answer.status == 200, answer
        return answer

    yield put
    put({})


def _log(running: RunningPortal, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The access-log records matching ``match``, waiting for the log's next flush."""
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        lines = running.access_log.read_text(encoding="utf-8").splitlines()
        found = [r for r in map(json.loads, lines) if match(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _timed(call: Callable[[], Answer]) -> tuple[Answer, float]:
    started = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - started


def _dossier(api: Api) -> tuple[str, str]:
    token = api.login(LEVEL2)
    return token, api.file_licence_renewal(token, LEVEL2)


def _pay(api: Api, token: str, code: str, key: str) -> Answer:
    return api.post(
        f"/dossiers/{code}/payments",
        token=token,
        headers={"Idempotency-Key": key},
        json_body={"channel": "vietqr", "amount_vnd": FEE},
    )


def _charges(running: RunningPortal, code: str) -> int:
    rows = running.sql(
        "SELECT COUNT(*) FROM charges JOIN payments USING (payment_id) WHERE dossier_code = ?", code
    )
    return int(rows[0][0])


# -- each kind ---------------------------------------------------------------------------
def test_injected_error_answers_its_status_without_serving(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    set_faults({"errors": {"GET /services": {"rate": 1.0, "status": 502}}})
    answer = faulty.api.get("/services?probe=error")
    assert answer.status == 502
    assert answer.body["error"] == "injected fault: HTTP 502"
    assert faulty.api.get("/services/passport/form").status == 200  # other endpoints serve
    (record,) = _log(faulty, lambda r: r.get("fault") == "error")
    assert (record["endpoint"], record["status"], record["tiers"]) == ("/services", 502, {})


def test_latency_spike_holds_the_web_server_longer(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    set_faults({"latency_spikes": {"*": {"rate": 1.0, "extra": "400ms"}}})
    answer, elapsed_s = _timed(lambda: faulty.api.get("/services"))
    assert answer.status == 200 and elapsed_s >= 0.4
    (record,) = _log(faulty, lambda r: r.get("fault") == "spike")
    assert record["tiers"]["web"]["service_ms"] >= 400


def test_slow_database_delays_sql_at_the_db_tier_only(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    set_faults({"slow_database": {"extra": "300ms"}})
    login, login_s = _timed(
        lambda: faulty.api.post("/auth/login", json_body={"cccd": LEVEL2, "passcode": "123456"})
    )
    catalogue, catalogue_s = _timed(lambda: faulty.api.get("/services"))
    assert (login.status, catalogue.status) == (200, 200)
    assert login_s >= 0.3 > catalogue_s
    (record,) = _log(faulty, lambda r: r.get("fault") == "slow_db")
    assert record["endpoint"] == "/auth/login"
    assert record["tiers"]["db"]["service_ms"] >= 300


def test_gateway_timeout_hangs_the_confirmation_until_the_client_gives_up(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    token, code = _dossier(faulty.api)
    payment = _pay(faulty.api, token, code, f"gw-{code}").body
    confirm = {"payment_id": payment["payment_id"], "gateway_ref": payment["gateway_ref"]}
    set_faults({"gateway_timeouts": {"rate": 1.0, "hang": "2s"}})
    impatient = Api(faulty.portal.url, timeout_s=0.5)
    with pytest.raises(TimeoutError):
        impatient.post("/paygov/confirm", json_body=confirm)
    hung = _log(faulty, lambda r: r.get("fault") == "gateway_timeout")
    assert hung[0]["status"] == 499  # the client went away while PayGov hung
    assert _charges(faulty, code) == 0
    answer, elapsed_s = _timed(lambda: faulty.api.post("/paygov/confirm", json_body=confirm))
    assert answer.status == 200 and elapsed_s >= 2.0  # a patient client is answered
    assert _charges(faulty, code) == 1


def test_connection_reset_closes_without_any_response(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    set_faults({"connection_resets": {"GET /services": {"rate": 1.0}}})
    with pytest.raises(ConnectionResetError):
        faulty.api.get("/services")
    assert faulty.api.get("/services/passport/form").status == 200
    records = _log(faulty, lambda r: r.get("fault") == "reset")
    assert records and {(r["status"], r["endpoint"]) for r in records} == {(444, "/services")}


def test_reset_after_commit_then_retry_with_the_same_key_charges_once(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    token, code = _dossier(faulty.api)
    resets = {
        "POST /dossiers/{code}/payments": {"rate": 1.0, "after_commit": True},
        "POST /paygov/confirm": {"rate": 1.0, "after_commit": True},
    }
    set_faults({"connection_resets": resets})
    with pytest.raises(ConnectionResetError):
        _pay(faulty.api, token, code, f"reset-{code}")
    stored = faulty.sql("SELECT payment_id, gateway_ref FROM payments WHERE dossier_code = ?", code)
    assert len(stored) == 1  # committed, though the client never heard of it
    confirm = {"payment_id": stored[0][0], "gateway_ref": stored[0][1]}
    with pytest.raises(ConnectionResetError):
        faulty.api.post("/paygov/confirm", json_body=confirm)
    assert _charges(faulty, code) == 1  # charged, though the client never heard of it
    set_faults({})
    replay = _pay(faulty.api, token, code, f"reset-{code}")
    assert (replay.status, replay.headers.get("idempotent-replayed")) == (200, "true")
    assert replay.body["payment_id"] == stored[0][0]
    again = faulty.api.post("/paygov/confirm", json_body=confirm)
    assert again.status == 200 and again.body["status"] == "paid"
    assert _charges(faulty, code) == 1
    assert faulty.sql("SELECT COUNT(*) FROM payments WHERE dossier_code = ?", code) == [(1,)]


class _Ledger:
    def __init__(self) -> None:
        self.payments: list[tuple[str, str]] = []

    def dossier_acknowledged(self, code: str, cccd: str) -> None:
        pass

    def payment_confirmed(self, payment_id: str, dossier_code: str) -> None:
        self.payments.append((payment_id, dossier_code))


def test_harness_sees_connection_errors_and_its_retries_pay_exactly_once(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    token, code = _dossier(faulty.api)
    errors: list[str] = []
    environment = Environment()
    environment.events.request.add_listener(
        lambda exception=None, **_: errors.append(str(exception)) if exception else None
    )
    session = FastHttpSession(faulty.portal.url, environment.events.request, user=None)
    ledger = _Ledger()
    visit = Visit(
        client=session,
        citizen=SimpleNamespace(cccd=LEVEL2),
        rng=random.Random(1),
        services={},
        attachments=None,
        ledger=ledger,
        conduct=Conduct(retries=RetryPolicy(max_retries=8, backoff_s=0.01, backoff_max_s=0.02)),
    )
    http = Http(visit, headers={"Authorization": f"Bearer {token}"})
    http.state.update(
        level=2,
        dossiers=[{"code": code, "service_code": "driving-licence-renewal", "fee_vnd": FEE,
                   "paid": False}],
    )  # fmt: skip
    resets = {"rate": 0.5, "after_commit": True}
    set_faults(
        {
            "seed": 16,  # draws 0.36, 0.66, 0.34, 0.96: reset, replay, reset, replay
            "connection_resets": {
                "POST /dossiers/{code}/payments": resets,
                "POST /paygov/confirm": resets,
            },
        }
    )
    try:
        assert journeys.payment({"cccd": LEVEL2, "payment_channel": "momo"}, http), errors
    finally:
        session.client.close()
    assert len(errors) == 2, errors
    assert all(e.startswith("connection error:") for e in errors), errors
    assert len(ledger.payments) == 1 and ledger.payments[0][1] == code
    assert _charges(faulty, code) == 1
    assert faulty.sql("SELECT COUNT(*) FROM payments WHERE dossier_code = ?", code) == [(1,)]


# -- outages -----------------------------------------------------------------------------
def _raw_get(api: Api, path: str) -> tuple[int, dict[str, str], str]:
    """GET without decoding JSON: status, lower-case headers, text."""
    connection = http.client.HTTPConnection(api.host, api.port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        connection.close()


def _through_an_outage(api: Api, path: str = "/services") -> None:
    status, headers, page = _raw_get(api, path)
    assert status == 503
    assert 1 <= int(headers["retry-after"]) <= 2
    assert headers["content-type"].startswith("text/html")
    assert "Hệ thống đang bảo trì" in page
    deadline = time.monotonic() + 10.0
    while _raw_get(api, path)[0] == 503:
        assert time.monotonic() < deadline, "the outage did not end"
        time.sleep(0.2)
    assert api.get(path).status == 200


def test_outage_from_the_admin_endpoint_answers_503_then_ends(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    set_faults({"outages": [{"start": "0s", "duration": "2s"}]})
    assert faulty.api.get("/health").status == 200  # the probe is never in an outage
    _through_an_outage(faulty.api)
    records = _log(faulty, lambda r: r.get("fault") == "outage")
    assert records and {r["status"] for r in records} == {503}


def test_outage_from_a_config_file_counts_from_the_portal_start(tmp_path: Path) -> None:
    config = tmp_path / "outage.yaml"
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    config.write_text(text + "faults:\n  outages: [{start: 0s, duration: 2s}]\n", "utf-8")
    with EmbeddedPortal(config) as portal:
        _through_an_outage(Api(portal.url), "/services/passport/form")


# -- the admin endpoint ------------------------------------------------------------------
def test_admin_endpoint_needs_the_right_token(faulty: RunningPortal) -> None:
    api = faulty.api
    assert api.get("/admin/faults").status == 403
    assert api.get("/admin/faults", headers={"X-Admin-Token": "wrong"}).status == 403
    refused = api.post(
        "/admin/faults", json_body={"errors": {"*": {"rate": 1}}}, headers={"X-Admin-Token": ""}
    )
    assert refused.status == 403
    assert api.get("/services").status == 200  # the refused POST changed nothing
    shown = api.get("/admin/faults", headers=ADMIN)
    assert shown.status == 200 and shown.body["faults"] == {}
    assert set(shown.body["injected"]) >= {"error", "reset", "outage", "slow_db"}


def test_admin_endpoint_replaces_the_fault_set_and_refuses_bad_bodies(
    faulty: RunningPortal, set_faults: Callable[[dict[str, Any]], Answer]
) -> None:
    data = {"errors": {"POST /dossiers": {"rate": 0.25, "status": 503}}}
    assert set_faults(data).body["faults"] == data
    assert faulty.api.get("/admin/faults", headers=ADMIN).body["faults"] == data
    bad = faulty.api.post("/admin/faults", json_body={"errors": {"*": 5}}, headers=ADMIN)
    assert bad.status == 400 and "\n" not in bad.body["error"]
    assert bad.body["error"].startswith("POST /admin/faults: faults.errors.*")
    broken = faulty.api.post("/admin/faults", raw=b"{not json", headers=ADMIN)
    assert broken.status == 400
    assert faulty.api.get("/admin/faults", headers=ADMIN).body["faults"] == data  # unchanged


def test_admin_endpoint_does_not_exist_without_a_token(running: RunningPortal) -> None:
    assert running.api.get("/admin/faults").status == 404
    assert running.api.get("/admin/faults", headers=ADMIN).status == 404
    assert running.api.post("/admin/faults", json_body={}, headers=ADMIN).status == 404
