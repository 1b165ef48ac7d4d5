"""The portal as a queueing system: queue limits (503), waits in the access log, and
clients that give up while waiting (no server slot may leak)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from portal_client import Answer, Api

from portal.launcher import EmbeddedPortal

TINY = """\
tiers:
  web: {{servers: 1, queue_limit: {queue_limit}}}
default_endpoint:
  web: {{dist: deterministic, mean_ms: {mean_ms}}}
"""


def _config(tmp_path: Path, queue_limit: int, mean_ms: float) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.format(queue_limit=queue_limit, mean_ms=mean_ms), encoding="utf-8")
    return path


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _wait_for_health(api: Api, predicate: object, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = api.get("/health").body
        if predicate(body["tiers"]["web"]) or time.monotonic() > deadline:  # type: ignore[operator]
            return body
        time.sleep(0.02)


def test_queue_limit_gives_503_with_retry_after_and_waits_are_logged(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    with EmbeddedPortal(_config(tmp_path, queue_limit=1, mean_ms=200), access_log=log) as portal:
        api = Api(portal.url)
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers: list[Answer] = list(pool.map(lambda _: api.get("/services"), range(6)))
    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) >= 2  # one served at once, one after waiting
    assert statuses.count(503) >= 1
    assert set(statuses) == {200, 503}
    for refused in (a for a in answers if a.status == 503):
        assert refused.headers["retry-after"] == "1"
        assert refused.body["field"] is None
        assert "queue limit" in refused.body["error"]
    records = [r for r in _records(log) if r["endpoint"] == "/services"]
    assert len(records) == 6  # flushed at shutdown, 503s included
    for record in records:
        assert {"t_arrival", "method", "endpoint", "status", "queue_wait_ms", "service_ms"} <= set(
            record
        )
        assert {"response_ms", "tiers", "bytes_in"} <= set(record)
        assert record["method"] == "GET"
        assert abs(record["t_arrival"] - time.time()) < 60
    served = [r for r in records if r["status"] == 200]
    refused_records = [r for r in records if r["status"] == 503]
    assert all(r["rejected_at"] == "web" for r in refused_records)
    assert all(r["service_ms"] == 0 for r in refused_records)
    assert max(r["queue_wait_ms"] for r in served) > 100  # waited behind a 200 ms service
    for record in served:
        assert record["service_ms"] == pytest.approx(200, abs=15)
        assert record["tiers"]["web"]["service_ms"] == record["service_ms"]
        assert record["response_ms"] >= record["queue_wait_ms"] + record["service_ms"]


def test_a_client_giving_up_while_queued_leaks_no_server(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    with EmbeddedPortal(_config(tmp_path, queue_limit=8, mean_ms=300), access_log=log) as portal:
        api = Api(portal.url)
        with ThreadPoolExecutor(max_workers=1) as pool:
            holder = pool.submit(api.get, "/services")
            _wait_for_health(api, lambda web: web["busy"] == 1)
            impatient = Api(portal.url, timeout_s=0.1)
            with pytest.raises((TimeoutError, socket.timeout, http.client.HTTPException)):
                impatient.get("/services/passport/form")
            after_leaving = _wait_for_health(api, lambda web: web["waiting"] == 0)
            assert after_leaving["tiers"]["web"]["waiting"] == 0
            assert holder.result(timeout=5).status == 200
        idle = _wait_for_health(api, lambda web: web["busy"] == 0)
        assert idle["tiers"]["web"]["busy"] == 0
        started = time.monotonic()
        assert api.get("/services").status == 200  # the server is free again
        assert time.monotonic() - started < 0.6
    gave_up = [r for r in _records(log) if r["endpoint"] == "/services/{code}/form"]
    assert [r["status"] for r in gave_up] == [499]


def test_access_log_is_flushed_while_running(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    with EmbeddedPortal(_config(tmp_path, queue_limit=4, mean_ms=1), access_log=log) as portal:
        api = Api(portal.url)
        assert api.post("/auth/login", json_body={"cccd": "1"}).status == 400
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "/auth/login" not in log.read_text("utf-8"):
            time.sleep(0.05)
        (record,) = [r for r in _records(log) if r["endpoint"] == "/auth/login"]
    assert record["status"] == 400
    assert record["bytes_in"] == len(json.dumps({"cccd": "1"}))
