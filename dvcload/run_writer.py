"""Writing a run's results folder: during the run (every 5 s) and at its end.

Every flush writes the histograms, the interval series, the audit ledger and a
``summary.json`` marked ``"partial": true, "complete": false``, each file atomically,
so a process killed at any moment leaves a usable folder that loses at most the last
interval and never looks complete.

The end of a run has one order, and :func:`conclude` is the only code that follows it:
the measurements are written; the summary is built (:func:`summarise`); the audit and
the gate each *return* data (the gate reads the summary the audit completed); the
summary, with both, is written once; then the gate's files; the report comes last and
shows them all. The files and records are :mod:`dvcschema.results`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import psutil

from analysis.summary import build_summary, section_figures
from dvcschema import results
from dvcschema.budgets import BudgetSet
from dvcschema.results import GeneratorHealth, RunFiles, Summary
from dvcschema.scenario import Scenario
from loadgen.provenance import build_manifest, run_environment
from loadgen.runner import LoadRun
from loadgen.visit import tag_index
from loadgen.workload import Workload

if TYPE_CHECKING:
    from analysis.gate import GateResult

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


class Gate(Protocol):
    """What :func:`conclude` needs of a gate: data from the summary, nothing written."""

    def __call__(self, summary: Summary) -> GateResult: ...


def conclude(
    files: RunFiles,
    summary: Summary,
    *,
    audit: Callable[[], Mapping[str, Any]] | None,
    gate: Gate | None,
    report: Callable[[], object],
) -> tuple[Summary, GateResult | None]:
    """summary → audit → gate → report, the only order: each step reads what the one
    before returned, and ``summary.json`` is written once, before the gate's files
    and the report that show it."""
    from analysis.gate import gate_files  # imported here: SciPy and Matplotlib take seconds

    if audit is not None:
        summary = summary.with_audit(audit())
    verdict = gate(summary) if gate is not None else None
    if verdict is not None:
        summary = summary.with_gate(verdict.record())
    files.write_summary(summary)
    if verdict is not None:
        files.write_gate(*gate_files(verdict))
    report()
    return summary, verdict


class IntervalsFile:
    """``histograms_intervals.jsonl`` during a run: flushes append the intervals closed
    since the last one; the final write (or the flush after a failed one) rewrites the
    file atomically. Rewriting every interval at every flush grew with the run: 46 ms
    of the load loop per flush after an hour of the full journey mix, 0.4 s after
    eight."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: int | None = None  # rows in the file; None: rewrite

    def write(self, rows: list[dict[str, Any]], *, rewrite: bool) -> None:
        if rewrite or self._written is None:
            self._written = None  # until this write has succeeded
            results.write_jsonl(self.path, rows)
        else:
            new = rows[self._written :]
            self._written = None
            results.append_jsonl(self.path, new)
        self._written = len(rows)


def summarise(
    load: LoadRun,
    workload: Workload,
    scenario: Scenario,
    target: str,
    *,
    complete: bool,
    generator: GeneratorHealth,
    aborted: str | None = None,
) -> Summary:
    """The summary of a run so far (``complete``: of the finished run)."""
    recorder, ledger = workload.recorder, workload.ledger
    stats = load.environment.stats.total

    def figures(section: str, seconds: float = load.duration_s) -> dict[str, dict[str, Any]]:
        return section_figures(recorder.section(section), seconds, between=_yield)

    extra: dict[str, Any] = {
        "journeys": figures("journeys"),
        "tags": tag_index(list(recorder.endpoints()), workload.endpoint_tags()),
        "breakdown": {
            "services": figures("services"),
            "provinces": figures("provinces"),
        },
        "partial": load.interrupted or not complete,
        "complete": complete,
        "locust_totals": {"requests": stats.num_requests, "failures": stats.num_failures},
        "behaviour": workload.behaviour_counters(),
        "users": {"max": load.max_users},
        "population": {"size": scenario.population.size, "seed": scenario.seed},
        "generator": generator,
        "ledger": {
            "dossiers_acknowledged": len(ledger.dossiers),
            "payments_confirmed": len(ledger.payments),
        },
        "aborted": aborted or None,
        "workers": load.workers or None,
        "workers_lost": load.workers_lost or None,
        "arrivals": load.arrivals or None,
        "sessions": figures("sessions", 1.0) or None,
        "replay": load.replay,
    }
    # During a run the load goes on while the sections above are read (the flush
    # yields between histograms), so a partial summary is as of now, not as of the
    # snapshot: the endpoints and totals below are read without a pause, and every
    # request they count had finished by the summary's ended_at.
    ended_at = load.ended_at if complete else max(load.ended_at, time.time())
    return build_summary(
        scenario=scenario.name,
        started_at=load.started_at,
        ended_at=ended_at,
        target=target,
        endpoints=recorder.endpoints(),
        extra=extra,
    )


@dataclass
class ResultsWriter:
    """Writes one run's folder; ``flush`` during the run, ``final`` at its end."""

    folder: Path
    scenario: Scenario
    target: str
    workload: Workload
    _process: psutil.Process = field(default_factory=psutil.Process)
    _cpu_start_s: float = 0.0
    _intervals: IntervalsFile | None = None

    def __post_init__(self) -> None:
        self._cpu_start_s = self._cpu_s()
        self._intervals = IntervalsFile(self.folder / results.INTERVALS)
        run_environment()  # now, not in the first flush, while arrivals are due

    @property
    def files(self) -> RunFiles:
        return RunFiles(self.folder)

    def flush(self, load: LoadRun) -> None:
        """What was measured so far (partial, not complete): the summary first."""
        self.files.write_summary(self._summary(load, complete=False))
        _yield()
        self._write_measurements(load, complete=False)

    def final(
        self,
        load: LoadRun,
        *,
        budgets: BudgetSet | None = None,
        aborted: str | None = None,
        allow_unreliable: bool = False,
    ) -> tuple[Summary, GateResult | None]:
        """The finished (or interrupted) run: its files, its audit and gate, then its
        report (``allow_unreliable``: a saturated generator does not fail the gate)."""
        from analysis.audit import audit_run
        from analysis.gate import evaluate_gate
        from analysis.report import write_report

        self._write_measurements(load, complete=True)
        summary = self._summary(load, complete=True, aborted=aborted)
        folder = self.folder
        audited = (folder / results.PORTAL_DATABASE).exists()  # the embedded portal, stopped
        budgets = budgets or BudgetSet()

        def gate(summary: Summary) -> GateResult:
            return evaluate_gate(
                folder, budgets, summary=summary, allow_unreliable=allow_unreliable
            )

        return conclude(
            self.files,
            summary,
            audit=(lambda: audit_run(folder)) if audited else None,
            gate=gate if (not budgets.is_empty or audited) else None,
            report=lambda: write_report(folder),
        )

    def _write_measurements(self, load: LoadRun, *, complete: bool) -> None:
        """Everything but the summary: histograms, intervals, ledger, manifest."""
        recorder = self.workload.recorder
        results.write_json(self.folder / results.HISTOGRAMS, recorder.to_dict(between=_yield))
        _yield()
        assert self._intervals is not None
        self._intervals.write(recorder.intervals, rewrite=complete)
        _yield()
        self.workload.ledger.write(self.folder)
        _yield()
        self.files.write_manifest(
            build_manifest(
                scenario=self.scenario.as_dict(),
                seed=self.scenario.seed,
                target=self.target,
                started_at=load.started_at,
                ended_at=load.ended_at,
            )
        )

    def _summary(self, load: LoadRun, *, complete: bool, aborted: str | None = None) -> Summary:
        health = GeneratorHealth.measure(
            self._cpu_s() - self._cpu_start_s, load.duration_s, load.workers
        )
        return summarise(
            load, self.workload, self.scenario, self.target,
            complete=complete, generator=health, aborted=aborted,
        )  # fmt: skip

    def _cpu_s(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)
