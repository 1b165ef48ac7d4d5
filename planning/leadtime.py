"""Autoscaling lead time: the backlog and the waits while a spike's servers are on their way.

A plan with ``--spike`` staffs each tier for the spike as if its servers appeared the
moment it starts. With reactive autoscaling they come a lead time ``L`` later (machines
to boot, images to pull, workers to warm). This module assumes the spike is detected as
it starts (a detection delay adds to ``L``): until ``start + L`` each tier runs what the
plan without spikes provisioned for the forecast (:func:`planning.plan.build_plan`); from
then on, what the plan with the spikes asks for. Each spike is taken on its own: before
its servers arrive the capacity is the plan's without any spike. Each tier is taken on its
own too: a callee's backlog does not lengthen its callers' holding time here.

Each tier is then a fluid queue (:func:`models.fluid_queue`) fed at visits x the run's
sessions/s, with its central service time, from the spike's start (its servers busy with
the load just before it) to the end of the plan. The backlog grows at arrivals minus
servers / service time while that is positive; waits are first come, first served (the
wait of a request that does not give up). Optionally, requests give up after an
exponential patience (Erlang-A's abandonment) and a fraction of them retry after a
delay: both are computed next to the plain case, so a plan can say whether they make
things better or worse. :func:`must_run_floor` is the fewest servers that must already
run before the spike for the fluid wait to stay under a limit during the scale-up.

References
----------
.. [1] Whitt, W. (2006). Fluid models for multiserver queues with abandonments.
   *Operations Research* 54(1), 37-54.
.. [2] Mandelbaum, A., Massey, W. A., Reiman, M. I., Stolyar, A. & Rider, B. (2002).
   Queue lengths and waiting times for multiserver queues with abandonment and
   retrials. *Telecommunication Systems* 21(2-4), 149-171.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dvcschema.capacity import STEP_S, TierSpec
from dvcschema.errors import ConfigError, shown
from models import CapacityPlan, FluidPath, fluid_queue, step_means
from planning.plan import PlanRun, build_plan
from planning.whatif import Spike

FloatArray = NDArray[np.float64]
TIME_BUDGETS = ("response_quantile", "wait_quantile", "mean_wait")
FLOOR_TAIL_S = 3600.0  # the floor's search follows waits this long after the scale-up


@dataclass(frozen=True)
class Reaction:
    """How requests react to waiting: patience (s, exponential) and retries; ``None``: never."""

    patience_s: float | None = None
    retry_fraction: float = 0.0
    retry_delay_s: float | None = None


@dataclass(frozen=True)
class TierScaleUp:
    """One tier during one spike's scale-up.

    ``servers_before`` run from the spike's start (the plan without spikes) until
    ``servers_after`` (the plan with them) arrive; ``requests_per_s`` arrive when the
    spike starts. ``plain`` is the fluid without abandonment; ``abandoning`` with the
    patience, ``retrying`` with patience and retries (``None`` when not asked).
    ``must_run`` is :func:`must_run_floor` for ``wait_limit_s`` (``None`` without a limit).
    """

    tier: str
    service_time_s: float
    visits: float
    servers_before: int
    servers_after: int
    requests_per_s: float
    plain: FluidPath
    abandoning: FluidPath | None
    retrying: FluidPath | None
    wait_limit_s: float | None
    must_run: int | None

    def cases(self) -> list[tuple[str, FluidPath]]:
        """``(name, path)`` of each case computed: plain, abandonment, retries."""
        named = [("plain", self.plain), ("abandonment", self.abandoning)]
        return [(n, p) for n, p in [*named, ("retries", self.retrying)] if p is not None]


@dataclass(frozen=True)
class SpikeScaleUp:
    """One spike: its servers arrive at ``servers_at_s`` (clock s); a result per tier."""

    spike: Spike
    servers_at_s: float
    tiers: tuple[TierScaleUp, ...]


@dataclass(frozen=True)
class LeadTime:
    """The result of :func:`lead_time`: every spike of a run, scaled up ``lead_time_s`` late."""

    lead_time_s: float
    step_s: float
    reaction: Reaction
    spikes: tuple[SpikeScaleUp, ...]


def lead_time(
    run: PlanRun,
    lead_time_s: float,
    *,
    reaction: Reaction | None = None,
    wait_limit_s: float | None = None,
    step_s: float = 1.0,
) -> LeadTime:
    """The backlog and waits of every tier while each spike of ``run`` scales up.

    Parameters
    ----------
    run : PlanRun
        A plan with at least one spike (:func:`planning.plan.make_plan`).
    lead_time_s : float
        Autoscaling lead time ``L`` (s, >= 0): the spike's servers arrive ``L`` after it
        starts.
    reaction : Reaction, optional
        Patience and retries; the plain case (nobody gives up) is always computed.
    wait_limit_s : float, optional
        The wait (s) :func:`must_run_floor` keeps under; by default each tier's tightest
        time budget (a p95, a wait quantile or a mean wait), none without one.
    step_s : float
        Step of the fluid's grid (s).

    Returns
    -------
    LeadTime

    References
    ----------
    Whitt (2006); Mandelbaum, Massey, Reiman, Stolyar & Rider (2002).
    """
    reaction = check_reaction(reaction or Reaction())
    _check_times(lead_time_s, step_s)
    if not run.spikes:
        raise ConfigError("needs a spike (--spike) to scale up for", field="--lead-time")
    declared = run.declared if run.declared is not None else run.spec  # before held times
    base = build_plan(declared, method=run.plan.method, surge=run.surge, source=run.source)
    spikes = []
    for spike in run.spikes:
        tiers = []
        for tier in run.spec.tiers:
            limit = wait_limit_s if wait_limit_s is not None else tier_wait_limit(run, tier)
            window = _Window(run, spike, tier, lead_time_s, step_s)
            before = window.servers(base, tier.name)
            paths = [window.fluid(before, r) for r in _cases(reaction)]
            floor = None
            if limit is not None:
                floor = must_run_floor(run, spike, tier.name, lead_time_s, limit, step_s=step_s)
            tiers.append(
                TierScaleUp(
                    tier.name, tier.service_time_s, tier.visits, int(before[0]),
                    window.servers_after(), window.rate_at_start(), paths[0],
                    paths[1] if reaction.patience_s is not None else None,
                    paths[-1] if reaction.retry_fraction > 0 else None, limit, floor,
                )
            )  # fmt: skip
        spikes.append(SpikeScaleUp(spike, spike.start_s + lead_time_s, tuple(tiers)))
    return LeadTime(float(lead_time_s), float(step_s), reaction, tuple(spikes))


def must_run_floor(
    run: PlanRun,
    spike: Spike,
    tier: str,
    lead_time_s: float,
    wait_limit_s: float,
    *,
    reaction: Reaction | None = None,
    step_s: float = 1.0,
) -> int:
    """The fewest servers running before ``spike`` that keep the fluid wait under a limit.

    With ``c0`` servers until ``L`` after the spike starts, then the plan's, the longest
    fluid wait of a request arriving during those ``L`` seconds must be below
    ``wait_limit_s``. The wait falls as ``c0`` rises, so a bisection finds the smallest;
    ``c0`` at the spike's offered load keeps every queue empty (the search's top). The
    fluid wait is what every request arriving then waits: above the limit, the tier's
    budget is broken for all of them, whatever the queue's randomness.

    Parameters
    ----------
    run : PlanRun
    spike : Spike
        One of ``run``'s spikes.
    tier : str
        The tier's name.
    lead_time_s : float
        Autoscaling lead time ``L`` (s); with 0 nothing needs to run before (0).
    wait_limit_s : float
        The wait (s, > 0) to stay under, e.g. the tier's response-time budget.
    reaction : Reaction, optional
        Patience and retries of the requests (none by default: the safe side).
    step_s : float
        Step of the fluid's grid (s).

    Returns
    -------
    int
        Servers.
    """
    reaction = check_reaction(reaction or Reaction())
    _check_times(lead_time_s, step_s)
    if not (math.isfinite(wait_limit_s) and wait_limit_s > 0):
        raise ConfigError(f"{shown(wait_limit_s)} is not a wait limit; allowed: a time > 0 s")
    spec = next((t for t in run.spec.tiers if t.name == tier), None)
    if spec is None:
        names = ", ".join(t.name for t in run.spec.tiers)
        raise ConfigError(f"no tier {shown(tier)} in the plan; tiers: {names}")
    if spike not in run.spikes:
        spikes = ", ".join(s.describe() for s in run.spikes) or "none"
        raise ConfigError(f"spike {spike.describe()} is not the plan's; its spikes: {spikes}")
    if lead_time_s == 0:
        return 0  # the spike's servers are there as it starts
    end = spike.start_s + 2 * lead_time_s + FLOOR_TAIL_S
    window = _Window(run, spike, spec, lead_time_s, step_s, end_s=end)
    during = window.edges[:-1] < spike.start_s + lead_time_s

    def too_slow(c0: int) -> bool:
        path = window.fluid(np.full(during.sum(), float(c0)), reaction)
        arrivals = path.times_s <= spike.start_s + lead_time_s
        return bool(path.wait_s[arrivals].max() >= wait_limit_s)

    low, high = 0, math.ceil(window.rates[during].max() * spec.service_time_s) + 1
    while low < high:  # the smallest c0 that is not too slow, in [low, high]
        mid = (low + high) // 2
        low, high = (mid + 1, high) if too_slow(mid) else (low, mid)
    return low


def tier_wait_limit(run: PlanRun, tier: TierSpec) -> float | None:
    """The tightest time budget of ``tier`` (s): a p95, a wait quantile or a mean wait."""
    limits = [b.value for b in run.spec.budgets_for(tier) if b.kind in TIME_BUDGETS]
    return min(limits) if limits else None


def check_reaction(reaction: Reaction) -> Reaction:
    """``reaction`` if its figures make sense, else a one-line :class:`ConfigError`."""
    patience, fraction, delay = reaction.patience_s, reaction.retry_fraction, reaction.retry_delay_s
    if patience is not None and not (math.isfinite(patience) and patience > 0):
        raise ConfigError(f"{shown(patience)} is not a patience; allowed: a time > 0 s")
    if not 0 <= fraction < 1:
        raise ConfigError(f"{shown(fraction)} is not a retry fraction; allowed: 0 to < 1")
    if fraction > 0 and (patience is None or delay is None or not (delay > 0 and delay < math.inf)):
        raise ConfigError(
            f"retries ({shown(fraction)}) need a patience and a retry delay > 0 s,"
            f" got {shown(patience)} and {shown(delay)}"
        )
    return reaction


def _check_times(lead_time_s: float, step_s: float) -> None:
    if not (math.isfinite(lead_time_s) and lead_time_s >= 0):
        raise ConfigError(f"{shown(lead_time_s)} is not a lead time; allowed: a time >= 0 s")
    if not (math.isfinite(step_s) and 0 < step_s <= 60):
        raise ConfigError(f"{shown(step_s)} is not a fluid step; allowed: > 0 s and <= 60 s")


def _cases(reaction: Reaction) -> list[Reaction]:
    cases = [Reaction()]
    if reaction.patience_s is not None:
        cases.append(Reaction(reaction.patience_s))
    if reaction.retry_fraction > 0:
        cases.append(reaction)
    return cases


class _Window:
    """One tier from a spike's start: the fluid's grid, its arrival rates and servers."""

    def __init__(
        self,
        run: PlanRun,
        spike: Spike,
        tier: TierSpec,
        lead_time_s: float,
        step_s: float,
        *,
        end_s: float | None = None,
    ) -> None:
        times, rate = run.curve.times_s, run.curve.rate_per_s * tier.visits
        plan = run.plan
        last = float(times[-1]) if end_s is None else min(float(times[-1]), end_s)
        start, self.scaled_at_s = spike.start_s, spike.start_s + lead_time_s
        rows = plan.interval_starts_s[0] + plan.interval_s * np.arange(plan.interval_starts_s.size)
        marks = [start, last, self.scaled_at_s, *rows]
        grid = np.union1d(np.arange(start, last, step_s), [m for m in marks if start <= m <= last])
        self.edges = grid
        self.rates = step_means(times, rate, grid)
        self.service_time_s = tier.service_time_s
        self.tier, self.plan = tier.name, plan
        # The load just before the spike: its servers busy with it, no queue.
        self.load_before = float(np.interp(start - 2 * STEP_S, times, rate)) * tier.service_time_s
        self.after = self.servers(plan, tier.name)

    def servers(self, plan: CapacityPlan, tier: str) -> FloatArray:
        """``plan``'s servers for ``tier`` on each step."""
        rows = (self.edges[:-1] - plan.interval_starts_s[0]) / plan.interval_s
        k = np.clip(np.floor(rows + 1e-9).astype(np.int64), 0, plan.interval_starts_s.size - 1)
        return plan.tier(tier).servers[k].astype(np.float64)

    def servers_after(self) -> int:
        return int(self.after[np.searchsorted(self.edges[:-1], self.scaled_at_s, "right") - 1])

    def rate_at_start(self) -> float:
        return float(self.rates[0])

    def fluid(self, before: FloatArray, reaction: Reaction) -> FluidPath:
        """The fluid with ``before`` servers until the spike's servers arrive (``before`` may
        cover only those steps)."""
        late = self.edges[:-1] >= self.scaled_at_s
        servers = self.after.copy()
        servers[~late] = before[: (~late).sum()]
        return fluid_queue(
            self.edges, self.rates, servers, self.service_time_s,
            patience_s=reaction.patience_s, retry_fraction=reaction.retry_fraction,
            retry_delay_s=reaction.retry_delay_s,
            initial_in_system=min(self.load_before, float(servers[0])),
        )  # fmt: skip


# -- text and JSON ------------------------------------------------------------------------------
