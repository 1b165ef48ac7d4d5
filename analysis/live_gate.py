"""Abort-on-fail budgets, checked while a run is going.

:class:`LiveGate` checks the budgets marked ``abort_on_fail`` on the load generator's
cumulative histograms, after each budget's ``delay`` (k6's ``abortOnFail`` and
``delayAbortEval``), and says why the run should stop. The finished run is gated by
:mod:`analysis.gate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.checks import FAILED, Measurements, evaluate
from analysis.distribution import LatencyDistribution
from dvcschema.budgets import BudgetSet
from dvcschema.histograms import EndpointHistogram


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
