"""One capacity plan: the central plan, its Monte Carlo spread and its tables, from one curve.

:func:`make_plan` is the entry point from Python: a :class:`~dvcschema.capacity.CapacitySpec`
and the what-ifs in, a :class:`PlanRun` out (no arguments to parse, nothing printed).
It computes the arrival curve once (:func:`planning.curve.plan_curve`) and everything
else from it: the central plan (:func:`models.plan_capacity`), the Monte Carlo spread
when there are ranges (:mod:`planning.montecarlo`), the peak hour by hand and latency
against servers (:mod:`planning.tables`). :func:`plan_scenario` does the same for a
scenario's ``capacity:`` section, optionally with a calibrated model's demands.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dvcschema.capacity import (
    DEFAULT_SAMPLES,
    CapacityBudget,
    CapacitySpec,
    TierSpec,
    arrivals_from_csv,
)
from dvcschema.errors import ScenarioError, shown
from dvcschema.scenario import Scenario
from dvcschema.units import format_duration_s
from models import CapacityPlan, ModelError, TierBudget, TierDemand, min_servers, plan_capacity
from models.sizing import service_distribution
from planning import calibrated
from planning.curve import Curve, plan_curve
from planning.held import HeldTime
from planning.held import resolve as resolve_held
from planning.journeys import JourneyLatencies, journey_latency
from planning.montecarlo import (
    MonteCarlo,
    check_samples,
    has_ranges,
    monte_carlo,
)
from planning.storage import StoragePlan, storage_plan
from planning.tables import TABLE_ROWS, LatencyTable, by_hand, latency_tables
from planning.whatif import Spike, check_surge

if TYPE_CHECKING:
    from planning.leadtime import LeadTime


@dataclass(frozen=True)
class PlanRun:
    """Everything one plan computed: inputs, curve, central plan, spread and tables.

    ``name`` and ``source`` say where the capacity section came from (a scenario's name
    and file); ``spec`` is what was staffed: the ``declared`` section with each caller's
    service time replaced by its holding time through its calls (``held``, by tier;
    :mod:`planning.held`); ``mc`` is ``None`` without ranges; ``hand`` is the peak hour by hand and
    ``latency`` the tables of latency against servers at the peak hour.
    """

    name: str
    source: str
    spec: CapacitySpec
    plan: CapacityPlan
    curve: Curve
    surge: float
    spikes: tuple[Spike, ...]
    mc: MonteCarlo | None
    hand: dict[str, dict[str, Any]]
    latency: list[LatencyTable]
    declared: CapacitySpec | None = None
    held: dict[str, HeldTime] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    storage: StoragePlan | None = None
    journeys: JourneyLatencies | None = None
    scale_up: LeadTime | None = None

    @property
    def peak(self) -> int:
        """The index of the peak interval (:func:`peak_interval`)."""
        return peak_interval(self.plan)


def make_plan(
    spec: CapacitySpec,
    *,
    method: str | None = None,
    surge: float = 1.0,
    spikes: tuple[Spike, ...] = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 1,
    name: str = "plan",
    source: str = "<capacity>",
) -> PlanRun:
    """The plan for ``spec`` with arrivals x ``surge`` and ``spikes``, and all its figures.

    ``method`` overrides ``spec.method``; ``samples`` and ``seed`` drive the Monte
    Carlo spread (only when ``spec`` has ranges); ``name`` and ``source`` label the
    run and the errors. Bad inputs raise :class:`~dvcschema.errors.DvcloadError`.
    """
    check_surge(surge)
    check_samples(samples)
    method = method or spec.method
    curve = plan_curve(spec, surge, spikes)
    check_feasible(spec, source)
    declared = spec
    spec, plan, held = resolve_held(spec, lambda s: central_plan(s, curve, method))
    budgets = tier_budgets(spec)
    mc = None
    if has_ranges(spec):
        mc = monte_carlo(spec, plan.method, curve, budgets, samples=samples, seed=seed)
    i = peak_interval(plan)
    hand = by_hand(spec, plan, curve, budgets, i)
    latency = latency_tables(spec, plan, mc, i, points=TABLE_ROWS)
    run = PlanRun(name, source, spec, plan, curve, surge, spikes, mc, hand, latency, declared, held)
    if spec.storage is not None:
        run = dataclasses.replace(
            run, storage=storage_plan(run, spec.storage, samples=samples, seed=seed)
        )
    if spec.journeys:
        run = dataclasses.replace(run, journeys=journey_latency(run, spec.journeys))
    if spikes and spec.policy.lead_time_s > 0:
        run = dataclasses.replace(run, scale_up=scale_up(run, spec))
    return run


def scale_up(run: PlanRun, spec: CapacitySpec) -> LeadTime:
    """The backlog of each spike while its servers boot (:mod:`planning.leadtime`)."""
    from planning.leadtime import Reaction, lead_time  # imports this module

    a = spec.abandonment
    reaction = Reaction() if a is None else Reaction(a.patience_s, a.retry_share, a.retry_after_s)
    return lead_time(run, spec.policy.lead_time_s, reaction=reaction)


def plan_scenario(
    scenario: Scenario,
    *,
    model: Path | None = None,
    method: str | None = None,
    surge: float = 1.0,
    spikes: tuple[Spike, ...] = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int | None = None,
    arrivals: Path | None = None,
    provision: str | None = None,
    lead_time_s: float | None = None,
) -> PlanRun:
    """:func:`make_plan` for ``scenario``'s ``capacity:`` section.

    ``model``: a calibrated model file (``dvcload calibrate``) whose tier demands
    replace the scenario's (:mod:`planning.calibrated`); ``arrivals``: a rate CSV
    (``dvcload derive``'s ``arrivals.csv``) that replaces the scenario's arrivals
    (:func:`with_arrivals`); ``seed``: the scenario's seed by default; ``provision`` and
    ``lead_time_s`` override the scenario's ``capacity.policy``.
    """
    spec = with_policy(calibrated.apply(capacity_of(scenario), model), provision, lead_time_s)
    notes: tuple[str, ...] = ()
    if arrivals is not None:
        spec, notes = with_arrivals(spec, arrivals)
    run = make_plan(
        spec,
        method=method,
        surge=surge,
        spikes=spikes,
        samples=samples,
        seed=scenario.seed if seed is None else seed,
        name=scenario.name,
        source=scenario.source,
    )
    return dataclasses.replace(run, notes=notes)


def with_policy(
    spec: CapacitySpec, provision: str | None = None, lead_time_s: float | None = None
) -> CapacitySpec:
    """``spec`` with its policy's percentile and lead time overridden where given."""
    changes: dict[str, Any] = {}
    if provision is not None:
        changes["provision"] = provision
    if lead_time_s is not None:
        changes["lead_time_s"] = lead_time_s
    if not changes:
        return spec
    return dataclasses.replace(spec, policy=dataclasses.replace(spec.policy, given=True, **changes))


def with_arrivals(spec: CapacitySpec, path: Path) -> tuple[CapacitySpec, tuple[str, ...]]:
    """``spec`` with the arrivals of the rate CSV at ``path`` instead of its own, and notes.

    The CSV's rows are placed on the clock by
    :func:`dvcschema.capacity.arrivals_from_csv` (from the first ``start``'s time of
    day). A recorded profile is preferred to a ``derivation:``: the derivation is set
    aside (its central peak is printed beside the recorded one, as a cross-check).
    """
    arrivals = arrivals_from_csv(path)
    notes: tuple[str, ...] = ()
    if spec.derivation is not None:
        derived = spec.derivation.central()[spec.derivation.peak]
        recorded = max(arrivals.rate_per_s)
        notes = (
            f"the recorded arrivals are preferred to the scenario's derivation, which is not"
            f" used: its central peak {derived:,.1f} sessions/s against the recorded"
            f" {recorded:,.1f} (x{recorded / derived:.2f})",
        )
    source = f"{arrivals.source} (--arrivals, instead of the scenario's)"
    replaced = dataclasses.replace(arrivals, source=source)
    return dataclasses.replace(spec, arrivals=replaced, derivation=None), notes


def build_plan(
    spec: CapacitySpec,
    *,
    method: str,
    surge: float = 1.0,
    source: str = "<capacity>",
    spikes: tuple[Spike, ...] = (),
) -> CapacityPlan:
    """The central plan only: ``spec`` at its central values, arrivals x ``surge``, ``spikes``."""
    curve = plan_curve(spec, surge, spikes)
    check_feasible(spec, source)
    return resolve_held(spec, lambda s: central_plan(s, curve, method))[1]


def central_plan(spec: CapacitySpec, curve: Curve, method: str) -> CapacityPlan:
    """:func:`models.plan_capacity` of every tier of ``spec`` on ``curve``."""
    return plan_capacity(
        [tier_demand(t) for t in spec.tiers],
        curve.times_s,
        curve.rate_per_s,
        [model_budget(b, t.name) for t in spec.tiers for b in spec.budgets_for(t)],
        method=method,
        interval_s=spec.interval_s,
        resolution_s=spec.resolution_s,
    )


def capacity_of(scenario: Scenario) -> CapacitySpec:
    """The ``capacity:`` section of ``scenario``; a :class:`ScenarioError` without one."""
    if scenario.capacity is None:
        raise ScenarioError(
            "has no 'capacity' section; dvcload plan needs one "
            "(tiers, budgets, arrivals; see scenarios/national-plan.yaml)",
            source=scenario.source,
        )
    return scenario.capacity


def tier_demand(tier: TierSpec) -> TierDemand:
    return TierDemand(tier.name, tier.service_time_s, tier.cv, tier.visits, tier.max_servers)


def model_budget(budget: CapacityBudget, tier: str) -> TierBudget:
    return TierBudget(budget.kind, budget.value, budget.quantile, tier)


def tier_budgets(spec: CapacitySpec) -> dict[str, list[TierBudget]]:
    """The model budgets each tier must meet, by tier name."""
    return {t.name: [model_budget(b, t.name) for b in spec.budgets_for(t)] for t in spec.tiers}


def peak_interval(plan: CapacityPlan) -> int:
    """The interval with the highest arrival rate (the first, on a tie)."""
    return int(np.argmax(plan.peak_arrival_rate_per_s))


def check_feasible(spec: CapacitySpec, source: str) -> None:
    """Refuse, at the budget's line, a response-time budget below the service time alone.

    With a range of service times, the longest is checked (the hardest to meet).
    """
    for tier in spec.tiers:
        st = tier.service_time_input
        longest_s = st.high if st is not None else tier.service_time_s
        service = service_distribution(longest_s, tier.cv)
        for budget in spec.budgets_for(tier):
            try:
                min_servers(0.0, service, model_budget(budget, tier.name))
            except ModelError as exc:
                why = str(exc).partition(": ")[2] or str(exc)
                raise ScenarioError(
                    f"{shown(budget.expression)} cannot be met at tier {shown(tier.name)} by any"
                    f" number of servers ({why}; service_time {format_duration_s(longest_s)},"
                    f" cv {tier.cv:g}); allowed: a limit above the tier's own service time",
                    source=source,
                    line=budget.line,
                    field=budget.path,
                ) from None
