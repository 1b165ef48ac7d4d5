"""Writing a run's results folder: during the run (every 5 s) and at its end.

Every flush writes the histograms, the interval series, the audit ledger and a
``summary.json`` marked ``"partial": true, "complete": false``, each file atomically,
so a process killed at any moment leaves a usable folder that loses at most the last
interval and never looks complete. The final write adds the manifest's end and the
report, and marks the summary ``complete`` (still ``partial`` if interrupted).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from analysis.summary import build_summary, section_figures
from dvcschema.budgets import BudgetSet
from dvcschema.scenario import Scenario
from loadgen.journeys import tag_index
from loadgen.results import (
    append_jsonl,
    build_manifest,
    run_environment,
    write_json,
    write_jsonl,
)
from loadgen.runner import LoadRun
from loadgen.workload import Workload

if TYPE_CHECKING:
    from analysis.gate import GateResult

GENERATOR_CPU_LIMIT_PERCENT = 90.0
YIELD_S = 1e-4  # > 0: a timer (see _yield)


def _yield() -> None:
    """Let the load run between the pieces of a flush (``time.sleep`` is gevent's then).

    A flush mid-run must not hold the arrival clock and in-flight responses for the
    whole write, which would bunch the arrivals the portal sees. The pause is a short
    timer, not ``sleep(0)``: gevent runs ``sleep(0)`` wake-ups as callbacks before it
    polls for I/O, so a flush yielding that way kept the arrival clock's timer (an
    I/O event) waiting for the whole flush, 13-20 ms every 5 s at 200 sessions/s. A
    timer fires after the I/O of the same loop iteration. Measured in
    tests/dvcload/test_flush_yield.py.
    """
    time.sleep(YIELD_S)


@dataclass
class ResultsWriter:
    """Writes one run's folder; ``flush`` during the run, ``final`` at its end."""

    folder: Path
    scenario: Scenario
    target: str
    workload: Workload
    aborted: str | None = None
    _process: psutil.Process = field(default_factory=psutil.Process)
    _cpu_start_s: float = 0.0
    _intervals_written: int | None = None  # rows in histograms_intervals.jsonl; None: rewrite

    def __post_init__(self) -> None:
        self._cpu_start_s = self._cpu_s()
        run_environment()  # now, not in the first flush, while arrivals are due

    def flush(self, load: LoadRun) -> None:
        """What was measured so far (partial, not complete)."""
        self._write(load, complete=False)

    def final(
        self,
        load: LoadRun,
        *,
        budgets: BudgetSet | None = None,
        aborted: str | None = None,
        allow_unreliable: bool = False,
    ) -> tuple[dict[str, Any], GateResult | None]:
        """The finished (or interrupted) run: its files, its gate, then its report
        (``allow_unreliable``: a saturated generator does not fail the gate)."""
        from analysis.gate import run_gate  # imported here: SciPy and Matplotlib take seconds
        from analysis.report import write_report

        self.aborted = aborted
        summary = self._write(load, complete=True)
        if (self.folder / "portal.sqlite").exists():  # the embedded portal, now stopped
            summary = self._audit(summary)
        gate = None
        if (budgets is not None and not budgets.is_empty) or "audit" in summary:
            # before the report, which shows the verdict; a failed audit fails the gate
            gate = run_gate(self.folder, budgets or BudgetSet(), allow_unreliable=allow_unreliable)
        write_report(self.folder)
        return summary, gate

    def _write(self, load: LoadRun, *, complete: bool) -> dict[str, Any]:
        recorder, ledger = self.workload.recorder, self.workload.ledger
        summary = self._summary(load, complete=complete)  # the most important file first
        write_json(self.folder / "summary.json", summary)
        _yield()
        write_json(self.folder / "histograms.json", recorder.to_dict(between=_yield))
        _yield()
        self._write_intervals(recorder.intervals, rewrite=complete)
        _yield()
        ledger.write(self.folder)
        _yield()
        write_json(
            self.folder / "manifest.json",
            build_manifest(
                scenario=self.scenario.as_dict(),
                seed=self.scenario.seed,
                target=self.target,
                started_at=load.started_at,
                ended_at=load.ended_at,
            ),
        )
        return summary

    def _write_intervals(self, rows: list[dict[str, Any]], *, rewrite: bool) -> None:
        """Flushes append the intervals closed since the last one; the final write (or
        the flush after a failed one) rewrites the file atomically. Rewriting every
        interval at every flush grew with the run: 46 ms of the load loop per flush
        after an hour of the full journey mix, 0.4 s after eight."""
        path = self.folder / "histograms_intervals.jsonl"
        if rewrite or self._intervals_written is None:
            self._intervals_written = None  # until this write has succeeded
            write_jsonl(path, rows)
        else:
            new = rows[self._intervals_written :]
            self._intervals_written = None
            append_jsonl(path, new)
        self._intervals_written = len(rows)

    def _audit(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Compare what the portal acknowledged with what its database holds."""
        from analysis.audit import audit_run

        summary = {**summary, "audit": audit_run(self.folder)}
        write_json(self.folder / "summary.json", summary)
        return summary

    def _summary(self, load: LoadRun, *, complete: bool) -> dict[str, Any]:
        recorder, ledger = self.workload.recorder, self.workload.ledger
        stats = load.environment.stats.total

        def figures(section: str, seconds: float = load.duration_s) -> dict[str, dict[str, Any]]:
            return section_figures(recorder.section(section), seconds, between=_yield)

        extra: dict[str, Any] = {
            "journeys": figures("journeys"),
            "tags": tag_index(list(recorder.endpoints())),
            "breakdown": {
                "services": figures("services"),
                "provinces": figures("provinces"),
            },
            "partial": load.interrupted or not complete,
            "complete": complete,
            "locust_totals": {"requests": stats.num_requests, "failures": stats.num_failures},
            "behaviour": self.workload.behaviour_counters(),
            "users": {"max": load.max_users},
            "population": {"size": self.scenario.population.size, "seed": self.scenario.seed},
            "generator": generator_health(
                self._cpu_s() - self._cpu_start_s, load.duration_s, load.workers
            ),
            "ledger": {
                "dossiers_acknowledged": len(ledger.dossiers),
                "payments_confirmed": len(ledger.payments),
            },
        }
        if self.aborted:
            extra["aborted"] = self.aborted
        if load.workers:
            extra["workers"] = load.workers
        if load.workers_lost:
            extra["workers_lost"] = load.workers_lost
        if load.arrivals:
            extra["arrivals"] = load.arrivals
        sessions = figures("sessions", 1.0)
        if sessions:
            extra["sessions"] = sessions
        # During a run the load goes on while the sections above are read (the flush
        # yields between histograms), so a partial summary is as of now, not as of the
        # snapshot: the endpoints and totals below are read without a pause, and every
        # request they count had finished by the summary's ended_at.
        ended_at = load.ended_at if complete else max(load.ended_at, time.time())
        return build_summary(
            scenario=self.scenario.name,
            started_at=load.started_at,
            ended_at=ended_at,
            target=self.target,
            endpoints=recorder.endpoints(),
            extra=extra,
        )

    def _cpu_s(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)


def generator_health(
    cpu_s: float, duration_s: float, workers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The load generator's CPU use; above 90% of a core its timings are suspect.

    A generator process is one thread, so the limit is per process: with workers
    (``--processes``, ``--master``) the figure is the busiest process's, and each
    process's share is listed (the master's own is coordination only)."""
    duration_s = max(duration_s, 1e-9)
    percent = 100.0 * cpu_s / duration_s
    busiest = "the load generator"
    health: dict[str, Any] = {"cpu_seconds": round(cpu_s, 3)}
    if workers:
        shares = {w["worker"]: 100.0 * float(w.get("cpu_seconds", 0.0)) / duration_s
                  for w in workers}  # fmt: skip
        health["processes"] = {"master": round(percent, 1)} | {
            name: round(share, 1) for name, share in shares.items()
        }
        name, share = max(shares.items(), key=lambda kv: kv[1])
        if share > percent:
            percent, busiest = share, f"worker {name}"
    health["cpu_percent"] = round(percent, 1)
    health["reliable"] = percent <= GENERATOR_CPU_LIMIT_PERCENT
    if not health["reliable"]:
        health["reason"] = (
            f"{busiest} used {percent:.0f}% of a CPU core (limit "
            f"{GENERATOR_CPU_LIMIT_PERCENT:.0f}%): response times include time spent waiting "
            "for the generator itself; use --processes or a lighter load"
        )
    return health
