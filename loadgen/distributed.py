"""Distributed runs: what workers send with each Locust report, and how the master
merges it.

Locust's workers report to their master every 3 s and once more when told to quit;
dvcload rides on those reports (``report_to_master`` / ``worker_report`` events). A
worker sends the HDR histograms recorded since its previous report (so they merge
exactly, by addition), the new lines of its audit ledger, and its cumulative arrival
and behaviour counters plus its own request totals, which the master keeps per worker
so that ``summary.json`` can show that the merged counts equal the workers' sums.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from loadgen.arrivals import ArrivalStats
from loadgen.workload import Workload

REPORT_KEY = "dvcload"


class WorkerReporter:
    """Worker side: attach what was measured since the last report."""

    def __init__(self, workload: Workload, partition: tuple[int, int]) -> None:
        self.workload = workload
        self.partition = partition
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
