"""The release gate: budgets checked on a finished run, and abort-on-fail during one.

:func:`run_gate` evaluates a :class:`~dvcschema.budgets.BudgetSet` on a results folder
(and, with a baseline, the regression budgets and a full comparison), then writes:

- ``gate.json``: the verdict, one entry per check, the comparison when there is one;
- ``junit.xml``: one test case per check, for CI systems (:mod:`analysis.junit`);
- ``gate.md``: a summary fit for a pull-request comment (:mod:`analysis.markdown`);
- ``summary.json``'s ``gate``: ``{"passed": bool, "budgets": [...]}`` (DESIGN.md).

Two checks come from the run itself, budgets or not: the integrity audit
(``summary["audit"]``) and the load generator's health (``summary["generator"]``,
written by ``dvcload.results.generator_health``). A run whose generator was unreliable
(busier than 90% of a CPU core in any process) measured its own queue as much as the
target's, so it fails the gate as untrustworthy unless ``allow_unreliable`` is given;
then the check is still listed, passed and marked ``"allowed": true``.

:class:`LiveGate` checks the budgets marked ``abort_on_fail`` on the load generator's
cumulative histograms while a run is going, after each budget's ``delay`` (k6's
``abortOnFail`` and ``delayAbortEval``), and says why the run should stop.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.checks import FAILED, PASSED, SKIPPED, Check, Measurements, evaluate
from analysis.compare import Comparison, compare_runs
from analysis.distribution import LatencyDistribution
from analysis.junit import junit_xml
from analysis.markdown import gate_markdown
from analysis.runfolder import RunFolder, write_json, write_text
from dvcschema.budgets import Budget, BudgetSet
from dvcschema.errors import one_line
from dvcschema.histograms import EndpointHistogram

GATE_JSON = "gate.json"
JUNIT_XML = "junit.xml"
GATE_MD = "gate.md"
ALLOW_UNRELIABLE = "--allow-unreliable"
# The limit dvcload.results.generator_health applies (tests/analysis keep them equal).
GENERATOR_CPU_LIMIT_PERCENT = 90.0
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
        allowed = self.allow_unreliable and not self.generator.reliable
        return self.generator.as_dict() | {"allowed": allowed}


def evaluate_gate(
    folder: Path,
    budgets: BudgetSet,
    *,
    baseline: Path | None = None,
    allow_unreliable: bool = False,
) -> GateResult:
    """Evaluate budgets on a results folder without writing anything."""
    started = time.perf_counter()
    run = RunFolder.open(folder)
    base = RunFolder.open(baseline) if baseline is not None else None
    checks = evaluate(
        budgets,
        Measurements.from_run(run),
        baseline=None if base is None else Measurements.from_run(base),
    )
    checks.extend(integrity_checks(run.summary))
    health = GeneratorHealth.from_summary(run.summary)
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


@dataclass(frozen=True)
class GeneratorHealth:
    """``summary["generator"]`` as the gate reads it: the writer's verdict, not a new one.

    ``reliable`` is the summary's own (``dvcload.results.generator_health``, the one
    writer); a summary without it (older runs) is judged on ``cpu_percent`` alone.
    """

    reliable: bool
    cpu_percent: float | None
    reason: str

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> GeneratorHealth | None:
        section = summary.get("generator")
        if not isinstance(section, Mapping):
            return None
        cpu = _finite_number(section.get("cpu_percent"))
        reliable = section.get("reliable")
        if not isinstance(reliable, bool):
            reliable = cpu is None or cpu <= GENERATOR_CPU_LIMIT_PERCENT
        reason = section.get("reason")
        if reliable:
            return cls(True, cpu, "")
        if not isinstance(reason, str) or not reason.strip():
            reason = _cpu_reason(cpu)
        return cls(False, cpu, one_line(reason))

    @property
    def short_reason(self) -> str:
        """``the load generator was saturated (96% of a CPU core, limit 90%)``."""
        if self.cpu_percent is not None and self.cpu_percent > GENERATOR_CPU_LIMIT_PERCENT:
            return (
                f"the load generator was saturated ({self.cpu_percent:.0f}% of a CPU core, "
                f"limit {GENERATOR_CPU_LIMIT_PERCENT:g}%)"
            )
        return "the load generator was unreliable"

    def as_dict(self) -> dict[str, Any]:
        return {
            "reliable": self.reliable,
            "cpu_percent": self.cpu_percent,
            "limit_percent": GENERATOR_CPU_LIMIT_PERCENT,
            "reason": self.reason or None,
        }


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


def _cpu_reason(cpu_percent: float | None) -> str:
    if cpu_percent is None:
        return "the run's summary marks the load generator unreliable"
    return (
        f"the load generator used {cpu_percent:.0f}% of a CPU core "
        f"(limit {GENERATOR_CPU_LIMIT_PERCENT:g}%)"
    )


def _finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def run_gate(
    folder: Path,
    budgets: BudgetSet,
    *,
    baseline: Path | None = None,
    allow_unreliable: bool = False,
) -> GateResult:
    """Evaluate budgets on ``folder`` and write the gate's files into it.

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
        ``.passed`` is the verdict. ``gate.json``, ``junit.xml`` and ``gate.md`` are
        written into ``folder`` and ``summary.json`` gains ``gate``.

    Raises
    ------
    dvcschema.errors.ConfigError
        ``folder`` or ``baseline`` is not a readable results folder.
    """
    result = evaluate_gate(
        Path(folder), budgets, baseline=baseline, allow_unreliable=allow_unreliable
    )
    write_gate_files(Path(folder), result)
    return result


def write_gate_files(folder: Path, result: GateResult) -> None:
    write_json(folder / GATE_JSON, result.as_dict())
    write_text(folder / JUNIT_XML, junit_xml(result))
    write_text(folder / GATE_MD, gate_markdown(result))
    run = RunFolder.open(folder)
    summary = dict(run.summary)
    summary["gate"] = {
        "passed": result.passed,
        "partial": result.partial,
        "headline": result.headline,
        "baseline": result.baseline,
        "budgets": result.budgets_entries(),
        "generator": result.generator_entry(),
    }
    write_json(folder / "summary.json", summary)


class LiveGate:
    """Abort-on-fail budgets, checked on cumulative histograms while a run is going.

    Parameters
    ----------
    budgets
        The run's budgets; only those with ``abort_on_fail`` are checked here.
    tags
        ``{tag: [request names]}``, for ``tag:NAME`` budgets (as in ``summary.json``).

    Examples
    --------
    >>> from dvcschema.budgets import BudgetSet, parse_expression
    >>> import dataclasses
    >>> b = dataclasses.replace(parse_expression("p99 < 5s", key="*"), abort_on_fail=True)
    >>> LiveGate(BudgetSet((b,))).check({}, {}, elapsed_s=1.0) is None
    True
    """

    def __init__(
        self, budgets: BudgetSet, *, tags: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.budgets = budgets.abort_budgets
        self.tags = dict(tags or {})

    @property
    def active(self) -> bool:
        """Whether there is anything to check (skip the calls when not)."""
        return bool(self.budgets)

    def check(
        self,
        endpoints: Mapping[str, EndpointHistogram],
        journeys: Mapping[str, EndpointHistogram],
        elapsed_s: float,
    ) -> str | None:
        """The reason to abort the run now, or ``None`` to go on.

        Parameters
        ----------
        endpoints, journeys
            Cumulative histograms so far (``LatencyRecorder.section(...)``).
        elapsed_s
            Seconds since the load started; a budget is checked once its delay passed.
        """
        due = [b for b in self.budgets if elapsed_s >= b.delay_s]
        if not due:
            return None
        measured = Measurements(
            endpoints=_distributions(endpoints),
            journeys=_distributions(journeys),
            duration_s=elapsed_s,
            tags=self.tags,
        )
        for check in evaluate(due, measured):
            if check.status == FAILED and check.count > 0:
                return (
                    f"abort-on-fail budget {check.name} failed at {elapsed_s:.0f}s: {check.message}"
                )
        return None


def _distributions(entries: Mapping[str, EndpointHistogram]) -> dict[str, LatencyDistribution]:
    return {
        key: LatencyDistribution.from_histogram(entry.histogram, entry.failures)
        for key, entry in entries.items()
        if entry.count
    }
