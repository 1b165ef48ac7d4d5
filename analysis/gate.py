"""The release gate: budgets checked on a finished run, and abort-on-fail during one.

:func:`run_gate` evaluates a :class:`~dvcschema.budgets.BudgetSet` on a results folder
(and, with a baseline, the regression budgets and a full comparison), then writes:

- ``gate.json``: the verdict, one entry per check, the comparison when there is one;
- ``junit.xml``: one test case per check, for CI systems (:mod:`analysis.junit`);
- ``gate.md``: a summary fit for a pull-request comment (:mod:`analysis.markdown`);
- ``summary.json``'s ``gate``: ``{"passed": bool, "budgets": [...]}`` (DESIGN.md).

It writes nothing itself: :func:`evaluate_gate` returns a :class:`GateResult`, whose
:meth:`~GateResult.record` goes into the summary and :func:`gate_files` into the
folder, both through :class:`dvcschema.results.RunFiles` (the run's one writer).

Two checks come from the run itself, budgets or not: the integrity audit
(``summary["audit"]``) and the load generator's health (``summary["generator"]``,
as :class:`dvcschema.results.GeneratorHealth` records it). A run whose generator was unreliable
(busier than 90% of a CPU core in any process) measured its own queue as much as the
target's, so it fails the gate as untrustworthy unless ``allow_unreliable`` is given;
then the check is still listed, passed and marked ``"allowed": true``.

:class:`analysis.live_gate.LiveGate` checks abort-on-fail budgets during a run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.checks import FAILED, PASSED, SKIPPED, Check, Measurements, evaluate
from analysis.compare import Comparison, compare_runs
from analysis.junit import junit_xml
from analysis.markdown import gate_markdown
from analysis.runfolder import RunFolder
from dvcschema.budgets import Budget, BudgetSet
from dvcschema.results import (
    ALLOW_UNRELIABLE,
    GENERATOR_CPU_LIMIT_PERCENT,
    GateRecord,
    GeneratorHealth,
    RunFiles,
    Summary,
)

RUN_SCOPE = "the run"


@dataclass(frozen=True)
class GateResult:
    """The verdict on one run: every check, and the comparison with a baseline if any."""

    run: str
    scenario: str
    checks: tuple[Check, ...]
    partial: bool
    baseline: str | None
    comparison: Comparison | None
    elapsed_s: float
    checked_at: str
    generator: GeneratorHealth | None = None
    allow_unreliable: bool = False

    @property
    def passed(self) -> bool:
        """No check failed (skipped checks do not fail the gate)."""
        return all(c.passed for c in self.checks)

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def headline(self) -> str:
        """``FAILED: 2 of 14 budget checks failed (1 skipped); partial run``."""
        word = "PASSED" if self.passed else "FAILED"
        n = len(self.checks)
        if n == 0:
            text = f"{word}: no budgets were checked"
        elif self.passed:
            text = f"{word}: all {n - self.count(SKIPPED)} budget checks passed"
        else:
            text = f"{word}: {self.count(FAILED)} of {n} budget checks failed"
        if self.checks and self.count(SKIPPED):
            text += f" ({self.count(SKIPPED)} skipped)"
        if self.partial:
            text += "; partial run: the load was interrupted, figures cover what ran"
        return text + self._untrustworthy_text()

    def _untrustworthy_text(self) -> str:
        health = self.generator
        if health is None or health.reliable:
            return ""
        if self.allow_unreliable:
            return f"; {health.short_reason}, allowed by {ALLOW_UNRELIABLE}"
        return f"; untrustworthy run: {health.short_reason}; {ALLOW_UNRELIABLE} gates it anyway"

    @staticmethod
    def is_generator(check: Check) -> bool:
        """Whether ``check`` is the load generator's health, not a budget."""
        return check.budget == GENERATOR

    def is_allowed(self, check: Check) -> bool:
        """Whether ``check`` passed only because an unreliable generator was allowed."""
        return self.allow_unreliable and self.is_generator(check) and check.status == PASSED

    def scope(self, check: Check) -> str:
        """What a check applies to, in words (the audit and the generator: the run)."""
        return RUN_SCOPE if check.budget in (INTEGRITY, GENERATOR) else check.budget.scope

    def budgets_entries(self) -> list[dict[str, Any]]:
        entries = []
        for check in self.checks:
            entry = check.as_dict() | {"scope": self.scope(check)}
            if self.is_generator(check):
                entry["allowed"] = self.is_allowed(check)
            entries.append(entry)
        return entries

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "headline": self.headline,
            "run": self.run,
            "scenario": self.scenario,
            "partial": self.partial,
            "checked_at": self.checked_at,
            "counts": {s: self.count(s) for s in (PASSED, FAILED, SKIPPED)},
            "wildcard": "'*' checks each request name separately; 'total' merges all requests",
            "baseline": self.baseline,
            "budgets": self.budgets_entries(),
            "comparison": None if self.comparison is None else self.comparison.as_dict(),
            "generator": self.generator_entry(),
        }

    def generator_entry(self) -> dict[str, Any] | None:
        """``gate.json``'s ``generator``: its health and whether it was allowed."""
        if self.generator is None:
            return None
        return self.generator.gate_entry(
            allowed=self.allow_unreliable and not self.generator.reliable
        )

    def record(self) -> GateRecord:
        """``summary.json``'s ``gate``: the verdict, each budget, the generator."""
        return GateRecord(
            passed=self.passed,
            partial=self.partial,
            headline=self.headline,
            baseline=self.baseline,
            budgets=self.budgets_entries(),
            generator=self.generator_entry(),
        )


def evaluate_gate(
    folder: Path,
    budgets: BudgetSet,
    *,
    summary: Summary | None = None,
    baseline: Path | None = None,
    allow_unreliable: bool = False,
) -> GateResult:
    """Evaluate budgets on a results folder without writing anything.

    ``summary`` is the run's summary when the run is still being concluded (with its
    audit, not yet written); by default it is read from the folder."""
    started = time.perf_counter()
    run = RunFolder.open(folder) if summary is None else RunFolder.concluding(folder, summary)
    base = RunFolder.open(baseline) if baseline is not None else None
    checks = evaluate(
        budgets,
        Measurements.from_run(run),
        baseline=None if base is None else Measurements.from_run(base),
    )
    checks.extend(integrity_checks(run.summary))
    health = run.record.generator
    checks.extend(generator_checks(health, run.summary, allow_unreliable=allow_unreliable))
    comparison = None if base is None else compare_runs(base, run)
    return GateResult(
        run=str(run.path),
        scenario=run.name,
        checks=tuple(checks),
        partial=run.partial,
        baseline=None if base is None else str(base.path),
        comparison=comparison,
        elapsed_s=time.perf_counter() - started,
        checked_at=dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds"),
        generator=health,
        allow_unreliable=allow_unreliable,
    )


INTEGRITY = Budget(
    key="audit",
    expression="integrity: 0 missing dossiers, 0 double charges, 0 orphan payments",
    metric="integrity",
    op="<=",
    limit=0.0,
    unit="count",
)


def integrity_checks(summary: Mapping[str, Any]) -> list[Check]:
    """A failed integrity audit (``summary["audit"]``) fails the gate, budgets or not."""
    audit = summary.get("audit")
    if not audit:
        return []
    problems = {
        k: int(audit.get(k, 0) or 0)
        for k in ("dossiers_missing", "payments_missing", "double_charges", "orphan_payments")
    }
    bad = sum(problems.values())
    message = "the portal kept every acknowledged dossier and charged every payment once"
    if bad:
        message = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in problems.items() if v)
    status = FAILED if bad or audit.get("passed") is False else PASSED
    count = int(audit.get("dossiers_acknowledged", 0)) + int(audit.get("payments_confirmed", 0))
    return [Check(INTEGRITY, "audit", status, float(bad), count, message)]


GENERATOR = Budget(
    key="generator",
    expression=f"reliable: at most {GENERATOR_CPU_LIMIT_PERCENT:g}% of a CPU core in every process",
    metric="generator_cpu",
    op="<=",
    limit=GENERATOR_CPU_LIMIT_PERCENT / 100.0,
    unit="fraction",
)


def generator_checks(
    health: GeneratorHealth | None, summary: Mapping[str, Any], *, allow_unreliable: bool
) -> list[Check]:
    """An unreliable generator fails the gate (one check), unless it is allowed.

    A healthy generator adds no check, so a healthy run's gate is what its budgets say.
    """
    if health is None or health.reliable:
        return []
    measured = None if health.cpu_percent is None else health.cpu_percent / 100.0
    count = int(summary.get("requests") or 0)  # the requests whose timings are suspect
    if allow_unreliable:
        message = f"allowed by {ALLOW_UNRELIABLE}: {health.reason}"
        return [Check(GENERATOR, "generator", PASSED, measured, count, message)]
    message = f"untrustworthy run: {health.reason}; {ALLOW_UNRELIABLE} gates it on its budgets"
    return [Check(GENERATOR, "generator", FAILED, measured, count, message)]


def run_gate(
    folder: Path,
    budgets: BudgetSet,
    *,
    baseline: Path | None = None,
    allow_unreliable: bool = False,
) -> GateResult:
    """Gate a finished run again (``dvcload gate``): evaluate, then write the verdict.

    Parameters
    ----------
    folder
        A results folder (``summary.json``, ``histograms.json``; ``manifest.json``).
    budgets
        What to check: usually ``file_budgets.merged_over(scenario.budgets)``.
    baseline
        Another results folder to compare with (regression budgets need it).
    allow_unreliable
        Gate a run whose load generator was unreliable on its budgets alone: the
        generator check is listed as passed and ``"allowed": true`` instead of failing.

    Returns
    -------
    GateResult
        ``.passed`` is the verdict. ``summary.json`` gains ``gate``, and ``gate.json``,
        ``junit.xml`` and ``gate.md`` are written into ``folder``.

    Raises
    ------
    dvcschema.errors.ConfigError
        ``folder`` or ``baseline`` is not a readable results folder.
    """
    run = RunFolder.open(folder)
    result = evaluate_gate(
        run.path, budgets, summary=run.record, baseline=baseline, allow_unreliable=allow_unreliable
    )
    files = RunFiles(run.path)
    files.write_summary(run.record.with_gate(result.record()))
    files.write_gate(*gate_files(result))
    return result


def gate_files(result: GateResult) -> tuple[dict[str, Any], str, str]:
    """``gate.json``, ``junit.xml`` and ``gate.md`` of a verdict, for
    :meth:`dvcschema.results.RunFiles.write_gate`."""
    return result.as_dict(), junit_xml(result), gate_markdown(result)
