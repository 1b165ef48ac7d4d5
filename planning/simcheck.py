"""A plan's schedule checked hour by hour by time-varying simulation (Ciw).

PSA and MOL staff each moment as if it were a stationary queue; this simulates the
schedule itself against the plan's arrival curve and reports, per tier and per row,
the P(wait) and p95 achieved next to every budget, as the iterative staffing algorithm
of Feldman, Mandelbaum, Massey & Whitt (2008) [1]_ checks a staffing function.

Whole hours are too many customers (4.8 M web requests in the deadline's peak hour),
so each row is checked on a window: from the row's busiest grid step (the largest
offered load the row was staffed for), long enough to hold ``customers`` arrivals
(the whole row when it has fewer; moved back to end at the row's end when the busiest
step is late). Before the window runs a warm-up with the curve's own preceding rates
and the schedule then in force, so an hour boundary where rates and servers jump is
simulated as it happens, which PSA ignores. The warm-up lasts ``WARMUP_RELAXATIONS``
relaxation times, taken as those of an M/M/1 queue served at the pooled rate ``c/E[S]``
(Morse 1955 [2]_), at least one service time; at most as long as the window's
customers, and never before the curve's start (where the day starts empty).
Replications are independent (replication/deletion, Law 2015 [3]_): P(wait) is given
with its standard error, a quantile with the 95 % interval of sectioning ([4]_; an
order-statistic interval would assume independent waits, which one run's are not).

A budget is *not met* when its estimate is above the target; when the interval holds
the target the row is borderline and the text says so.

References
----------
.. [1] Feldman, Z., Mandelbaum, A., Massey, W. A. & Whitt, W. (2008). Staffing of
   time-varying queues to achieve time-stable performance. *Management Science*
   54(2), 324-338.
.. [2] Morse, P. M. (1955). Stochastic properties of waiting lines. *Journal of the
   Operations Research Society of America* 3(3), 255-261 (relaxation time
   ``1/(mu (1 - sqrt(rho))^2)``).
.. [3] Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., §9.5.
.. [4] Asmussen, S. & Glynn, P. W. (2007). *Stochastic Simulation*, §III.5a.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dvcschema.capacity import TierSpec
from dvcschema.errors import ConfigError, shown
from models import TierBudget, service_distribution
from models.distributions import ServiceTimeDistribution
from models.plan import TierPlan
from models.simulation import Estimate, WindowSample, simulate_window
from planning.plan import PlanRun, model_budget

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
DEFAULT_CUSTOMERS = 20_000
DEFAULT_REPLICATIONS = 5
DEFAULT_SEED = 1
WARMUP_RELAXATIONS = 50.0
UTILIZATION_CHECKED = 0.85  # every row at or below it must meet its targets


@dataclass(frozen=True)
class BudgetCheck:
    """One budget of one row: the target, its ``label`` as written, and what was achieved.

    ``max_utilization`` is checked on the row's planned utilisation (no error).
    """

    label: str
    budget: TierBudget
    achieved: Estimate

    @property
    def met(self) -> bool:
        """Not above the target (a window without customers misses nothing)."""
        return not self.achieved.value > self.budget.value

    @property
    def borderline(self) -> bool:
        """The 95 % interval holds the target: more replications could change the verdict."""
        return self.achieved.covers(self.budget.value) and self.achieved.se > 0


@dataclass(frozen=True)
class RowCheck:
    """One row (interval) of one tier: the schedule, the simulated window and the verdict.

    ``utilization`` is the row's peak offered load over its servers (as planned);
    ``window_s`` the measured window and ``warmup_from_s`` the start of its warm-up
    (clock s); ``customers`` those measured, over all replications.
    """

    start_s: float
    servers: int
    utilization: float
    window_s: tuple[float, float]
    warmup_from_s: float
    customers: int
    prob_wait: Estimate
    p95_response_s: Estimate
    budgets: tuple[BudgetCheck, ...]

    @property
    def met(self) -> bool:
        return all(b.met for b in self.budgets)

    @property
    def missed(self) -> list[str]:
        return [b.label for b in self.budgets if not b.met]

    @property
    def borderline(self) -> list[str]:
        return [b.label for b in self.budgets if b.borderline]


@dataclass(frozen=True)
class TierCheck:
    """The rows of one tier, with the tier's demand."""

    name: str
    service_time_s: float
    cv: float
    visits: float
    rows: tuple[RowCheck, ...]

    def missed(self, max_utilization: float = math.inf) -> list[RowCheck]:
        """Rows that miss a target, among those at or below ``max_utilization``."""
        return [r for r in self.rows if not r.met and r.utilization <= max_utilization]


@dataclass(frozen=True)
class SimCheck:
    """Result of :func:`simulate_plan`: every tier's rows, and how they were simulated."""

    name: str
    interval_s: float
    customers: int
    replications: int
    seed: int
    tiers: tuple[TierCheck, ...]

    @property
    def met(self) -> bool:
        """Every row at or below ``UTILIZATION_CHECKED`` meets every target."""
        return not any(t.missed(UTILIZATION_CHECKED) for t in self.tiers)


def simulate_plan(
    run: PlanRun,
    *,
    servers: Mapping[str, ArrayLike] | None = None,
    customers: int = DEFAULT_CUSTOMERS,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int = DEFAULT_SEED,
) -> SimCheck:
    """Simulate ``run``'s schedule row by row and compare each tier's rows with its budgets.

    Parameters
    ----------
    run : PlanRun
        The plan (its arrival curve, tiers, budgets and schedule).
    servers : mapping of str to array_like of int, optional
        Servers per row for some tiers (e.g. a provisioned schedule); the central
        plan's for the others.
    customers : int
        Expected arrivals in each window, per replication (the whole row when fewer).
    replications : int
        Independent replications per window (>= 2).
    seed : int
        Each row of each tier is seeded from ``(seed, tier, row)``: reproducible, and
        one row's result does not depend on the others.

    Returns
    -------
    SimCheck

    Notes
    -----
    The time is Ciw's, about 25,000 customers/s: ``customers x replications`` per row
    and tier (fewer in quiet rows), plus the warm-ups. A row whose servers cannot
    carry its load (util >= 1) is slower still, as Ciw's time per event grows with
    the queue.

    References
    ----------
    Feldman, Mandelbaum, Massey & Whitt (2008) [1]_.

    Examples
    --------
    >>> run = plan_scenario(load_scenario("scenarios/national-deadline.yaml"))  # doctest: +SKIP
    >>> check = simulate_plan(run, servers={"web": provisioned_web})  # doctest: +SKIP
    >>> print("\\n".join(lines(check)))  # doctest: +SKIP
    """
    if customers < 1:
        raise ConfigError(f"{shown(customers)} is not a number of customers; allowed: >= 1",
                          field="customers")  # fmt: skip
    if replications < 2:
        raise ConfigError(
            f"{shown(replications)} replications give no standard error; allowed: >= 2",
            field="replications",
        )
    staff = _schedules(run, servers)
    tiers = tuple(
        _check_tier(
            run,
            k,
            tier,
            staff[tier.name],
            customers=customers,
            replications=replications,
            seed=seed,
        )
        for k, tier in enumerate(run.spec.tiers)
    )
    return SimCheck(run.name, run.plan.interval_s, customers, replications, seed, tiers)


def _schedules(run: PlanRun, servers: Mapping[str, ArrayLike] | None) -> dict[str, IntArray]:
    plan = run.plan
    out = {t.name: np.asarray(t.servers, dtype=np.int64) for t in plan.tiers}
    for name, given in (servers or {}).items():
        if name not in out:
            raise ConfigError(f"no tier {shown(name)}; tiers are {', '.join(out)}", field="servers")
        arr = np.asarray(given)
        if arr.shape != out[name].shape or arr.dtype.kind not in "iu" or np.any(arr < 1):
            raise ConfigError(
                f"tier {shown(name)}: {shown(arr.tolist())} is not a schedule; allowed:"
                f" {out[name].size} integers >= 1, one per row",
                field="servers",
            )
        out[name] = arr.astype(np.int64)
    return out


@dataclass(frozen=True)
class _TierCurve:
    """A tier's arrivals as constant rates between ``edges`` (clock s), and their integral."""

    edges: FloatArray
    rates: FloatArray
    cum: FloatArray

    @classmethod
    def of(cls, run: PlanRun, visits: float) -> _TierCurve:
        """The curve's exact mean over each grid step (split at its own knots and rows)."""
        plan, times, rate = run.plan, run.curve.times_s, run.curve.rate_per_s
        end = plan.interval_starts_s[0] + plan.interval_starts_s.size * plan.interval_s
        knots = times[(times > plan.times_s[0]) & (times < end)]
        edges = np.unique(np.concatenate([plan.times_s, knots, plan.interval_starts_s, [end]]))
        r = np.interp(edges, times, rate) * visits
        rates = (r[:-1] + r[1:]) / 2  # linear between knots: the mean is the midpoint
        return cls(edges, rates, np.concatenate([[0.0], np.cumsum(rates * np.diff(edges))]))

    def count(self, a: float, b: float) -> float:
        return float(np.interp(b, self.edges, self.cum) - np.interp(a, self.edges, self.cum))

    def forward(self, t: float, n: float) -> float:
        """The earliest time by which ``n`` arrivals are expected from ``t``."""
        y = float(np.interp(t, self.edges, self.cum)) + n
        k = int(np.searchsorted(self.cum, y, side="left"))
        if k >= self.cum.size:
            return float(self.edges[-1])
        return float(self.edges[k - 1] + (y - self.cum[k - 1]) / self.rates[k - 1])

    def backward(self, t: float, n: float) -> float:
        """The latest time from which ``n`` arrivals are expected by ``t``."""
        y = float(np.interp(t, self.edges, self.cum)) - n
        k = int(np.searchsorted(self.cum, y, side="right")) - 1
        if k < 0:
            return float(self.edges[0])
        return float(self.edges[k] + (y - self.cum[k]) / self.rates[k])

    def piece(self, t: ArrayLike) -> IntArray:
        k = np.searchsorted(self.edges, t, side="right") - 1
        return np.clip(k, 0, self.rates.size - 1).astype(np.int64)


@dataclass(frozen=True)
class _Tier:
    """One tier's inputs to the check: its plan, curve, service and the schedule checked."""

    run: PlanRun
    plan: TierPlan
    curve: _TierCurve
    service: ServiceTimeDistribution
    staff: IntArray

    def row_of(self, t: ArrayLike) -> IntArray:
        plan = self.run.plan
        i = np.floor((np.asarray(t) - plan.interval_starts_s[0]) / plan.interval_s)
        return np.clip(i, 0, self.staff.size - 1).astype(np.int64)

    def window(self, i: int, customers: int) -> tuple[float, float]:
        """From row ``i``'s busiest grid step, ``customers`` arrivals, inside the row."""
        plan, curve = self.run.plan, self.curve
        start = float(plan.interval_starts_s[i])
        end = start + plan.interval_s
        if curve.count(start, end) <= customers:
            return start, end
        in_row = np.flatnonzero(self.row_of(plan.times_s) == i)
        busiest = float(plan.times_s[in_row[np.argmax(self.plan.offered_load_fine[in_row])]])
        if (stop := curve.forward(busiest, customers)) <= end:
            return busiest, stop
        return curve.backward(end, customers), end

    def warmup_from(self, ws: float, we: float, customers: int) -> float:
        """The warm-up's start: relaxation times at the utilisation around ``ws``."""
        curve, grid = self.curve, self.run.plan.times_s
        step_s = float(grid[1] - grid[0]) if grid.size > 1 else self.run.plan.interval_s
        k = curve.piece([max(ws - step_s, curve.edges[0]), min(ws + step_s, we)])
        near = np.arange(k[0], k[1] + 1)
        load = curve.rates[near] * self.service.mean
        rho = float(np.max(load / self.staff[self.row_of(curve.edges[near])]))
        servers = int(self.staff[self.row_of(ws)])
        relaxation_s = _relaxation_s(self.service.mean, servers, rho)
        start = float(curve.edges[0])
        return max(start, ws - WARMUP_RELAXATIONS * relaxation_s, curve.backward(ws, customers))

    def simulate(
        self, i: int, customers: int, replications: int, rng: np.random.Generator
    ) -> tuple[WindowSample, float]:
        """Row ``i``'s window (on the clock) after its warm-up, and the warm-up's start."""
        curve = self.curve
        ws, we = self.window(i, customers)
        w0 = self.warmup_from(ws, we, customers)
        bounds = np.concatenate([[w0], curve.edges[(curve.edges > w0) & (curve.edges < we)], [we]])
        sample = simulate_window(
            bounds[1:] - w0,
            curve.rates[curve.piece(bounds[:-1])],
            self.staff[self.row_of(bounds[:-1])],
            self.service,
            measure_from_s=ws - w0,
            replications=replications,
            rng=rng,
        )
        return WindowSample(sample.waits_s, sample.responses_s, (ws, we)), w0


def _check_tier(
    run: PlanRun,
    k: int,
    tier: TierSpec,
    staff: IntArray,
    *,
    customers: int,
    replications: int,
    seed: int,
) -> TierCheck:
    rows = _check_rows(
        run, k, tier, staff, range(staff.size),
        customers=customers, replications=replications, seed=seed,
    )  # fmt: skip
    return TierCheck(tier.name, tier.service_time_s, tier.cv, tier.visits, tuple(rows))


def _check_rows(
    run: PlanRun,
    k: int,
    tier: TierSpec,
    staff: IntArray,
    rows: Iterable[int],
    *,
    customers: int,
    replications: int,
    seed: int,
) -> list[RowCheck]:
    service = service_distribution(tier.service_time_s, tier.cv)
    tp = run.plan.tier(tier.name)
    one = _Tier(run, tp, _TierCurve.of(run, tier.visits), service, staff)
    budgets = tuple((b.expression, model_budget(b, tier.name)) for b in run.spec.budgets_for(tier))
    out = []
    for i in rows:
        sample, w0 = one.simulate(i, customers, replications, np.random.default_rng([seed, k, i]))
        util = float(tp.peak_offered_load[i] / staff[i])
        checks = tuple(BudgetCheck(lbl, b, _achieved(b, sample, util)) for lbl, b in budgets)
        start = float(run.plan.interval_starts_s[i])
        out.append(
            RowCheck(
                start,
                int(staff[i]),
                util,
                sample.window_s,
                w0,
                sample.customers,
                sample.prob_wait(),
                sample.quantile(0.95),
                checks,
            )
        )
    return out


@dataclass(frozen=True)
class Correction:
    """Servers the iterative staffing algorithm added to one row of one tier."""

    tier: str
    row: RowCheck  # as planned: the first simulation
    fixed: RowCheck  # with the added servers, simulated again

    @property
    def added(self) -> int:
        return self.fixed.servers - self.row.servers


def iterate_staffing(
    run: PlanRun,
    check: SimCheck,
    *,
    servers: Mapping[str, ArrayLike] | None = None,
    rounds: int = 3,
) -> tuple[Correction, ...]:
    """Add a server to each row that missed a target and simulate it again, ``rounds`` times.

    The correction step of the iterative staffing algorithm (ISA) of Feldman,
    Mandelbaum, Massey & Whitt (2008) [1]_, one server at a time and only where the
    simulation found the plan short (ISA proper re-staffs every row from the simulated
    offered load; the plan's rows are already at their stationary staffing, so only the
    rows that miss move). Each row keeps its seed, so the comparison uses common random
    numbers. A row still short after ``rounds`` additions is returned as it stands.
    """
    staff = _schedules(run, servers)
    out = []
    for k, (tier, tc) in enumerate(zip(run.spec.tiers, check.tiers, strict=True)):
        for i, row in enumerate(tc.rows):
            if row.met:
                continue
            fixed, trial = row, staff[tier.name].copy()
            for _ in range(rounds):
                trial[i] += 1
                (fixed,) = _check_rows(
                    run, k, tier, trial, [i], customers=check.customers,
                    replications=check.replications, seed=check.seed,
                )  # fmt: skip
                if fixed.met:
                    break
            out.append(Correction(tier.name, row, fixed))
    return tuple(out)


def _relaxation_s(mean_s: float, servers: int, rho: float) -> float:
    """Morse's M/M/1 relaxation time at the pooled rate ``servers / mean_s``, >= ``mean_s``."""
    if rho >= 1:
        return math.inf
    return mean_s * max(1.0, 1.0 / (servers * (1.0 - math.sqrt(rho)) ** 2))


def _achieved(budget: TierBudget, sample: WindowSample, utilization: float) -> Estimate:
    if budget.kind == "max_utilization":
        return Estimate(utilization, 0.0, utilization, utilization)
    if budget.kind == "prob_wait":
        return sample.prob_wait()
    if budget.kind == "mean_wait":
        return sample.mean_wait()
    assert budget.quantile is not None
    of = "response" if budget.kind == "response_quantile" else "wait"
    return sample.quantile(budget.quantile, of=of)
