"""The tier network in-process: visiting order, where work runs, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from portal.access_log import AccessLogWriter, AccessRecord
from portal.config import load_config
from portal.network import TierNetwork
from portal.replies import ApiError, Reply


class RecordingJob:
    """A job that notes which tier it was at when prepare and execute ran."""

    def __init__(self, network: TierNetwork, fail_at: str | None = None) -> None:
        self.network = network
        self.fail_at = fail_at
        self.events: list[tuple[str, dict[str, int]]] = []

    def _busy(self) -> dict[str, int]:
        return {name: s.busy for name, s in self.network.stations.items()}

    def prepare(self) -> None:
        self.events.append(("prepare", self._busy()))
        if self.fail_at == "prepare":
            raise ApiError(400, "bad request")

    async def execute(self) -> Reply:
        self.events.append(("execute", self._busy()))
        if self.fail_at == "execute":
            raise ApiError(404, "not found")
        return Reply(200, {"ok": True})


CONFIG = """\
seed: 1
tiers:
  web: {servers: 2, queue_limit: 4}
  db: {servers: 1, queue_limit: 0}
  payment: {servers: 1, queue_limit: 4}
endpoints:
  "POST /paygov/confirm":
    web: {dist: deterministic, mean_ms: 1}
    payment: {dist: deterministic, mean_ms: 20}
    db: {dist: deterministic, mean_ms: 0}
  "GET /services":
    web: {dist: deterministic, mean_ms: 1}
"""


@pytest.fixture
def network(tmp_path: Path) -> TierNetwork:
    path = tmp_path / "network.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return TierNetwork(load_config(path))


def _visit(network: TierNetwork, key: str, job: RecordingJob) -> tuple[Reply, AccessRecord]:
    record = AccessRecord(t_arrival=0.0, method="POST")

    async def go() -> Reply:
        return await network.visit(key, job, record)

    return asyncio.run(go()), record


def test_tiers_are_visited_in_order_and_work_runs_where_configured(network: TierNetwork) -> None:
    job = RecordingJob(network)
    reply, record = _visit(network, "POST /paygov/confirm", job)
    assert reply.status == 200
    assert list(record.tiers) == ["web", "payment", "db"]
    assert job.events == [
        ("prepare", {"web": 1, "db": 0, "payment": 0}),
        ("execute", {"web": 0, "db": 1, "payment": 0}),
    ]
    assert record.tiers["payment"].service_s == pytest.approx(0.020, abs=0.008)
    assert all(s.busy == 0 for s in network.stations.values())


def test_without_a_db_tier_execute_runs_on_the_web_server(network: TierNetwork) -> None:
    job = RecordingJob(network)
    reply, record = _visit(network, "GET /services", job)
    assert reply.status == 200
    assert list(record.tiers) == ["web"]
    assert [busy["web"] for _, busy in job.events] == [1, 1]


def test_a_refusal_at_web_skips_the_remaining_tiers(network: TierNetwork) -> None:
    reply, record = _visit(network, "POST /paygov/confirm", RecordingJob(network, "prepare"))
    assert reply.status == 400
    assert reply.body == {"error": "bad request", "field": None}
    assert list(record.tiers) == ["web"]
    assert record.tiers["web"].service_s >= 0.001  # the drawn time was still held


def test_unknown_endpoints_use_the_default_profile(network: TierNetwork) -> None:
    reply, record = _visit(network, "(unmatched)", RecordingJob(network))
    assert reply.status == 200
    assert list(record.tiers) == ["web"]


def test_a_full_tier_answers_503_with_retry_after(network: TierNetwork) -> None:
    async def go() -> list[tuple[Reply, AccessRecord]]:
        records = [AccessRecord(t_arrival=0.0, method="POST") for _ in range(2)]
        first = asyncio.create_task(
            network.visit("POST /paygov/confirm", SlowDbJob(network), records[0])
        )
        await asyncio.sleep(0.01)  # the first holds the only db server
        second = await network.visit("POST /paygov/confirm", RecordingJob(network), records[1])
        return [(await first, records[0]), (second, records[1])]

    (first, _), (second, record) = asyncio.run(go())
    assert first.status == 200
    assert second.status == 503
    assert second.headers == {"Retry-After": "1"}
    assert record.rejected_at == "db"
    assert list(record.tiers) == ["web", "payment"]


class SlowDbJob(RecordingJob):
    async def execute(self) -> Reply:
        await asyncio.sleep(0.1)
        return await super().execute()


def test_access_record_sums_the_tiers(tmp_path: Path) -> None:
    record = AccessRecord(t_arrival=1700000000.25, method="GET", endpoint="/services")
    record.add_tier("web", 0.010, 0.002)
    record.add_tier("db", 0.003, 0.0005)
    record.finish(200)
    line = record.as_dict()
    assert line["queue_wait_ms"] == pytest.approx(13.0)
    assert line["service_ms"] == pytest.approx(2.5)
    assert line["tiers"]["db"] == {"wait_ms": 3.0, "service_ms": 0.5}
    log = AccessLogWriter(tmp_path / "log.jsonl")
    log.append(record)
    log.close()
    assert (tmp_path / "log.jsonl").read_text("utf-8").count("\n") == 1
    AccessLogWriter(None).append(record)  # disabled: a no-op
