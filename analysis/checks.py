"""Evaluating budgets against measurements: one :class:`Check` per budget and target.

What a key measures:

- a request name (``"POST /dossiers"``): that request name's histogram;
- ``"*"``: **each request name separately**, one check per name (a ``dropped``
  budget under ``"*"`` is checked once, for the run);
- ``"total"``: all requests merged into one histogram;
- ``"journey:NAME"``: whole journeys of that name;
- ``"tag:NAME"``: the requests of every name carrying the tag, merged (as k6 filters
  samples by tag).

Latencies include failed requests (as Locust's statistics do). ``rps`` is requests
of the target divided by the run's measured duration. ``error_rate`` is failures over
requests. ``dropped`` compares ``arrivals.dropped`` of an open-loop run (as a count,
or as a share of the scheduled arrivals: ``arrivals.scheduled`` when present, else
dropped + achieved rate x duration). A budget whose target has no data in the run
(a misspelt request name, a journey that never ran) **fails**, because a gate that
checks nothing must not pass; one that cannot be checked (a regression budget without
a baseline, ``dropped`` in a closed-loop run) is **skipped** and says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.bootstrap import DEFAULT_SEED, N_RESAMPLES, difference_interval
from analysis.distribution import LatencyDistribution, merge
from analysis.runfolder import RunFolder
from dvcschema.budgets import ALL_KEY, TOTAL_KEY, Budget, BudgetSet
from models._rng import RngLike, as_generator

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class Measurements:
    """What budgets are checked against: distributions by name, and the run's length."""

    endpoints: Mapping[str, LatencyDistribution]
    journeys: Mapping[str, LatencyDistribution]
    duration_s: float
    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    arrivals: Mapping[str, Any] | None = None

    @classmethod
    def from_run(cls, run: RunFolder) -> Measurements:
        arrivals = run.summary.get("arrivals")
        return cls(
            endpoints=run.endpoints,
            journeys=run.journeys,
            duration_s=run.duration_s,
            tags=run.tags,
            arrivals=arrivals if isinstance(arrivals, Mapping) else None,
        )


@dataclass(frozen=True)
class Check:
    """The outcome of one budget on one target."""

    budget: Budget
    target: str
    status: str
    measured: float | None
    count: int
    message: str
    baseline: float | None = None
    ci: tuple[float, float] | None = None

    @property
    def passed(self) -> bool:
        """Skipped checks do not fail a gate (and are reported as skipped)."""
        return self.status != FAILED

    @property
    def name(self) -> str:
        """``POST /dossiers: p95 < 800ms``; ``[*]`` marks a check that came from ``"*"``."""
        suffix = " [*]" if self.budget.key == ALL_KEY and self.target != ALL_KEY else ""
        return f"{self.target}: {self.budget.expression}{suffix}"

    def as_dict(self) -> dict[str, Any]:
        b = self.budget
        return {
            "key": b.key,
            "target": self.target,
            "scope": b.scope,
            "expression": b.expression,
            "metric": b.metric,
            "op": b.op,
            "limit": b.limit,
            "unit": b.unit,
            "measured": _finite(self.measured),
            "count": self.count,
            "passed": self.passed,
            "status": self.status,
            "message": self.message,
            "regression": b.regression,
            "abort_on_fail": b.abort_on_fail,
            "baseline": _finite(self.baseline),
            "ci_low": None if self.ci is None else _finite(self.ci[0]),
            "ci_high": None if self.ci is None else _finite(self.ci[1]),
        }


def evaluate(
    budgets: BudgetSet | Iterable[Budget],
    measured: Measurements,
    *,
    baseline: Measurements | None = None,
    n_resamples: int = N_RESAMPLES,
    rng: RngLike = DEFAULT_SEED,
) -> list[Check]:
    """Check every budget; ``"*"`` expands to one check per request name."""
    generator = as_generator(rng)
    checks: list[Check] = []
    for budget in budgets:
        for target, dist in resolve(budget, measured):
            if budget.regression:
                base = None if baseline is None else _lookup(budget, target, baseline)
                checks.append(
                    _regression(
                        budget,
                        target=target,
                        dist=dist,
                        base=base,
                        baseline=baseline,
                        n_resamples=n_resamples,
                        rng=generator,
                    )
                )
            elif budget.metric == "dropped":
                checks.append(_dropped(budget, target, measured))
            else:
                checks.append(_absolute(budget, target, dist, measured))
    return checks


def resolve(budget: Budget, measured: Measurements) -> list[tuple[str, LatencyDistribution | None]]:
    """The targets of a budget: ``(label, distribution or None when there is no data)``."""
    key = budget.key
    if budget.metric == "dropped":
        return [(TOTAL_KEY if key == TOTAL_KEY else ALL_KEY, None)]
    if key == ALL_KEY:
        named = sorted(measured.endpoints.items())
        return list(named) if named else [(ALL_KEY, None)]
    if key == TOTAL_KEY:
        return [(TOTAL_KEY, merge(measured.endpoints.values()) if measured.endpoints else None)]
    return [(key, _lookup(budget, key, measured))]


def _lookup(budget: Budget, target: str, measured: Measurements) -> LatencyDistribution | None:
    kind, _, name = target.partition(":")
    if target == TOTAL_KEY:
        return merge(measured.endpoints.values()) if measured.endpoints else None
    if kind == "journey" and name:
        return measured.journeys.get(name)
    if kind == "tag" and name:
        members = [
            measured.endpoints[n] for n in measured.tags.get(name, ()) if n in measured.endpoints
        ]
        return merge(members) if members else None
    return measured.endpoints.get(target)


def metric_value(budget: Budget, dist: LatencyDistribution, duration_s: float) -> float:
    """The measured value of an absolute budget, in the budget's unit."""
    if budget.metric == "error_rate":
        return dist.failure_ratio
    if budget.metric == "rps":
        return dist.count / duration_s if duration_s > 0 else 0.0
    if budget.metric == "max":
        return dist.max_ms()
    if budget.metric == "mean":
        return dist.mean_ms()
    return dist.percentile_ms(float(budget.metric[1:]))


def _absolute(
    budget: Budget, target: str, dist: LatencyDistribution | None, measured: Measurements
) -> Check:
    if dist is None or dist.count == 0:
        return Check(budget, target, FAILED, None, 0, _no_data(budget, target, measured))
    value = metric_value(budget, dist, measured.duration_s)
    ok = budget.holds(value)
    message = (
        f"{budget.metric} = {budget.format(value)}, limit {budget.format_limit()} "
        f"(n = {dist.count:,})"
    )
    return Check(budget, target, PASSED if ok else FAILED, value, dist.count, message)


def _dropped(budget: Budget, target: str, measured: Measurements) -> Check:
    arrivals = measured.arrivals
    if not arrivals or "dropped" not in arrivals:
        return Check(
            budget, target, SKIPPED, None, 0, "skipped: not an open-loop run (no arrivals)"
        )
    dropped = float(arrivals["dropped"])
    scheduled = float(
        arrivals.get("scheduled")
        or dropped + float(arrivals.get("achieved_rate") or 0.0) * measured.duration_s
    )
    value = dropped if budget.unit == "count" else (dropped / scheduled if scheduled else 0.0)
    ok = budget.holds(value)
    message = (
        f"dropped = {budget.format(value)} ({dropped:,.0f} of {scheduled:,.0f} arrivals), "
        f"limit {budget.format_limit()}"
    )
    return Check(budget, target, PASSED if ok else FAILED, value, int(scheduled), message)


def _regression(
    budget: Budget,
    *,
    target: str,
    dist: LatencyDistribution | None,
    base: LatencyDistribution | None,
    baseline: Measurements | None,
    n_resamples: int,
    rng: np.random.Generator,
) -> Check:
    if baseline is None:
        return Check(budget, target, SKIPPED, None, 0, "skipped: needs a baseline run (--baseline)")
    if dist is None or dist.count == 0:
        return Check(budget, target, SKIPPED, None, 0, "skipped: no data in this run")
    if base is None or base.count == 0:
        return Check(budget, target, SKIPPED, None, dist.count, "skipped: not in the baseline run")
    interval = difference_interval(base, dist, budget.metric, n_resamples=n_resamples, rng=rng)
    relative = budget.unit == "fraction"
    change = interval.relative if relative else interval.difference_ms
    ci = (
        (interval.relative_low, interval.relative_high)
        if relative
        else (interval.low_ms, interval.high_ms)
    )
    failed = interval.low_ms > 0 and change > budget.limit
    message = (
        f"{budget.metric} {interval.baseline_ms:,.1f} -> {interval.candidate_ms:,.1f} ms: "
        f"{_signed(change, relative)} ({interval.confidence:.0%} CI {_signed(ci[0], relative)} "
        f"to {_signed(ci[1], relative)}), allowed rise {budget.format_limit()}; "
        + ("a real rise over the limit" if failed else _why_not(interval.low_ms, change, budget))
    )
    return Check(
        budget,
        target,
        FAILED if failed else PASSED,
        change,
        dist.count,
        message,
        baseline=interval.baseline_ms,
        ci=ci,
    )


def _why_not(low_ms: float, change: float, budget: Budget) -> str:
    if change <= budget.limit:
        return "within the allowed rise"
    return (
        "over the limit but not significant (the interval includes no rise)" if low_ms <= 0 else ""
    )


def _signed(value: float, relative: bool) -> str:
    return f"{value:+.1%}" if relative else f"{value:+,.1f} ms"


def _no_data(budget: Budget, target: str, measured: Measurements) -> str:
    kind, _, name = target.partition(":")
    if kind == "journey" and name:
        known = ", ".join(sorted(measured.journeys)) or "none"
        return f"no '{name}' journeys in this run (journeys: {known})"
    if kind == "tag" and name:
        known = ", ".join(sorted(measured.tags)) or "none"
        return f"no requests tagged '{name}' in this run (tags: {known})"
    if target in (ALL_KEY, TOTAL_KEY):
        return "no requests in this run"
    known = ", ".join(sorted(measured.endpoints)) or "none"
    return f"no requests named '{target}' in this run (request names: {known})"


def _finite(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 6)
