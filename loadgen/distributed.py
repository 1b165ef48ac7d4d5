"""Distributed runs: what workers send with each Locust report, and how the master
merges it.

Locust's workers report to their master every 3 s and once more when told to quit.
Locust's master waits a fixed 0.5 s for that last report, which a loaded machine can
miss, so dvcload's master waits until each worker has reported with all its users
stopped (:func:`quit_master`). dvcload rides on those reports (``report_to_master`` /
``worker_report`` events). A worker sends the HDR histograms recorded since its
previous report (so they merge exactly, by addition), the new lines of its audit
ledger, and its cumulative arrival and behaviour counters plus its own request totals,
which the master keeps per worker so that ``summary.json`` can show that the merged
counts equal the workers' sums.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from loadgen.arrivals import ArrivalStats
from loadgen.workload import Workload

REPORT_KEY = "dvcload"


class WorkerReporter:
    """Worker side: attach what was measured since the last report."""

    def __init__(
        self,
        workload: Workload,
        partition: tuple[int, int],
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        self.workload = workload
        self.partition = partition
        self.stopped = stopped  # whether this worker's users have all stopped
        self.arrivals: ArrivalStats | None = None
        self._sent_dossiers = 0
        self._sent_payments = 0
        self._cpu_start_s = time.process_time()

    def on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        recorder, ledger = self.workload.recorder, self.workload.ledger
        requests, failures = recorder.totals()
        data[REPORT_KEY] = {
            "partition": list(self.partition),
            "delta": recorder.roll_interval(),
            "dossiers": ledger.dossiers[self._sent_dossiers :],
            "payments": ledger.payments[self._sent_payments :],
            "arrivals": vars(self.arrivals).copy() if self.arrivals else None,
            "counters": self.workload.behaviour_counters(),
            "totals": {"requests": requests, "failures": failures},
            "cpu_s": time.process_time() - self._cpu_start_s,  # generator health, per worker
            # sent with every user stopped: this report completes the worker's measurements
            "stopped": self.stopped(),
        }
        self._sent_dossiers = len(ledger.dossiers)
        self._sent_payments = len(ledger.payments)


@dataclass
class WorkerView:
    """What the master knows of one worker."""

    partition: list[int]
    reported: dict[str, int] = field(default_factory=dict)  # the worker's own totals
    merged_requests: int = 0  # requests the master merged from its deltas
    arrivals: dict[str, int] | None = None
    counters: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0  # the worker process's CPU since it started
    complete: bool = False  # a report came after every user of the worker had stopped


class MasterMerger:
    """Master side: merge every worker's report into the master's workload."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.workers: dict[str, WorkerView] = {}

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        report = data.get(REPORT_KEY)
        if not report:
            return
        view = self.workers.setdefault(client_id, WorkerView(report["partition"]))
        view.merged_requests += self.workload.recorder.merge_row(report["delta"])
        worker = view.partition[0]
        self.workload.ledger.dossiers.extend((*row, worker) for row in report["dossiers"])
        self.workload.ledger.payments.extend((*row, worker) for row in report["payments"])
        view.reported = report["totals"]
        view.arrivals = report["arrivals"]
        view.counters = report["counters"]
        view.cpu_s = float(report.get("cpu_s", 0.0))
        view.complete = bool(report.get("stopped", False))

    def incomplete(self, workers: Iterable[str]) -> list[str]:
        """Of ``workers`` (client ids), those not yet heard from since all their users stopped."""
        return [w for w in workers if w not in self.workers or not self.workers[w].complete]

    def arrival_stats(self) -> ArrivalStats:
        total = ArrivalStats()
        for view in self.workers.values():
            if view.arrivals:
                total.merge(view.arrivals)
        return total

    def counters(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for view in self.workers.values():
            for name, value in view.counters.items():
                out[name] = out.get(name, 0) + value
        return out

    def summary(self) -> list[dict[str, Any]]:
        """Per worker: partition, its own totals, and what the master merged from it."""
        return [
            {
                "worker": client_id,
                "partition": f"{view.partition[0]}/{view.partition[1]}",
                "requests_reported": view.reported.get("requests", 0),
                "failures_reported": view.reported.get("failures", 0),
                "requests_merged": view.merged_requests,
                "cpu_seconds": round(view.cpu_s, 3),
            }
            for client_id, view in sorted(self.workers.items(), key=lambda kv: kv[1].partition)
        ]


def quit_master(runner: Any, merger: MasterMerger, *, timeout_s: float) -> list[str]:
    """Quit a master after every worker's final report, or ``timeout_s``; the ids missed.

    Locust's ``MasterRunner.quit`` sends ``quit`` and sleeps 0.5 s before it stops
    listening; a worker busy finishing its users (or a loaded machine) reports later, and
    its last interval would be lost. This sends the same ``quit`` and listens until each
    worker has sent a report made with all its users stopped.
    """
    import gevent
    from locust.rpc import Message

    runner.stop(send_stop_to_client=False)
    workers = [client.id for client in runner.clients.all]
    for client_id in workers:
        runner.server.send_to_client(Message("quit", None, client_id))
    deadline = time.monotonic() + timeout_s
    while merger.incomplete(workers) and time.monotonic() < deadline:
        gevent.sleep(0.05)
    missed = merger.incomplete(workers)
    runner.greenlet.kill(block=True)
    return missed
