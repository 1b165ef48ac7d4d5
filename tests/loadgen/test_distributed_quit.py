"""A master quits only after every worker's final report (loadgen/distributed.py).

Locust's own ``MasterRunner.quit`` sleeps 0.5 s for the workers' last reports; a worker
that reports later (finishing its journeys, or on a loaded machine) lost its last
interval: a two-process run on a busy CI machine once measured 170 requests fewer than
its server answered. ``quit_master`` waits for a report made with all users stopped.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import gevent

from loadgen.distributed import REPORT_KEY, MasterMerger, WorkerReporter, quit_master
from loadgen.workload import Workload


class FakeMaster:
    """What ``quit_master`` uses of a Locust master: clients, a server, a greenlet."""

    def __init__(self, merger: MasterMerger, delays_s: dict[str, float | None]) -> None:
        self.clients = SimpleNamespace(all=[SimpleNamespace(id=c) for c in delays_s])
        self.server = SimpleNamespace(send_to_client=self._send)
        self.greenlet = gevent.spawn(gevent.sleep, 60)
        self.merger, self.delays_s = merger, delays_s
        self.stopped, self.sent = False, []

    def stop(self, send_stop_to_client: bool = True) -> None:
        self.stopped = not send_stop_to_client

    def _send(self, message: Any) -> None:
        self.sent.append((message.type, message.node_id))
        delay = self.delays_s[message.node_id]
        if delay is not None:  # the worker's final report, ``delay`` seconds later
            gevent.spawn(self._report, message.node_id, time.monotonic() + delay)

    def _report(self, client_id: str, at: float) -> None:
        while time.monotonic() < at:  # by the clock: the loop's cached time may be stale
            gevent.sleep(0.01)
        report = {"partition": [0, 2], "delta": None, "dossiers": [], "payments": [],
                  "arrivals": None, "counters": {}, "totals": {}, "stopped": True}  # fmt: skip
        self.merger.on_worker_report(client_id, {REPORT_KEY: report})


def _merger() -> MasterMerger:
    merger = MasterMerger.__new__(MasterMerger)
    merger.workload = SimpleNamespace(  # type: ignore[assignment]
        recorder=SimpleNamespace(merge_row=lambda row: 0),
        ledger=SimpleNamespace(dossiers=[], payments=[]),
    )
    merger.workers = {}
    return merger


def test_the_master_waits_for_a_final_report_later_than_locusts_half_second() -> None:
    merger = _merger()
    master = FakeMaster(merger, {"w1": 0.05, "w2": 1.2})
    started = time.monotonic()
    missed = quit_master(master, merger, timeout_s=10)
    took = time.monotonic() - started
    assert missed == [] and 1.2 <= took < 5  # waited for w2's report, not for the timeout
    assert master.stopped and master.greenlet.dead
    assert sorted(master.sent) == [("quit", "w1"), ("quit", "w2")]
    assert all(merger.workers[w].complete for w in ("w1", "w2"))


def test_a_worker_that_never_reports_is_named_after_the_timeout() -> None:
    merger = _merger()
    master = FakeMaster(merger, {"w1": 0.01, "gone": None})
    assert quit_master(master, merger, timeout_s=0.5) == ["gone"]
    assert master.greenlet.dead


def test_a_report_made_while_users_still_run_does_not_complete_a_worker() -> None:
    merger = _merger()
    running = {"partition": [1, 2], "delta": None, "dossiers": [], "payments": [],
               "arrivals": None, "counters": {}, "totals": {}, "stopped": False}  # fmt: skip
    merger.on_worker_report("w1", {REPORT_KEY: running})
    assert merger.incomplete(["w1", "w2"]) == ["w1", "w2"]
    merger.on_worker_report("w1", {REPORT_KEY: {**running, "stopped": True}})
    assert merger.incomplete(["w1", "w2"]) == ["w2"]


def test_a_worker_says_in_each_report_whether_its_users_have_stopped() -> None:
    state = {"stopped": False}
    reporter = WorkerReporter(Workload.__new__(Workload), (0, 2), lambda: state["stopped"])
    reporter.workload = SimpleNamespace(  # type: ignore[assignment]
        recorder=SimpleNamespace(totals=lambda: (3, 0), roll_interval=lambda: None),
        ledger=SimpleNamespace(dossiers=[], payments=[]),
        behaviour_counters=dict,
    )
    data: dict[str, Any] = {}
    reporter.on_report_to_master("w1", data)
    assert data[REPORT_KEY]["stopped"] is False
    state["stopped"] = True
    reporter.on_report_to_master("w1", data)
    assert data[REPORT_KEY]["stopped"] is True
