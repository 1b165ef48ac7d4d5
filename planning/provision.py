"""What to buy: a plan's servers turned into instances, vCPU, memory, connections and cost.

The queueing plan says how many requests each tier must hold at once (servers). An
architect buys instances, opens connection pools and signs rate limits. This module
applies the scenario's ``capacity.policy`` to the servers and ``capacity.resources``
to each tier, interval by interval:

1. **Need.** The policy's percentile of the servers per interval: the central plan,
   or the P50/P90 of the Monte Carlo (:mod:`planning.montecarlo`). Budgets (with the
   utilisation cap, e.g. ``utilization < 0.8``) are already in those servers.
2. **Instances.** ``ceil(need / servers per instance)``; with ``zones: N`` (N >= 2) the
   instances are spread so that losing one zone leaves enough:
   ``N x ceil(instances / (N - 1))`` (N+1 redundancy at zone level); then at least
   ``min_instances``; then the floor: from its hour, at least ``share`` x the day's
   largest count.
3. **Lead time.** An instance serves ``lead_time`` after it is asked for, so each
   scale-up to interval ``i + 1`` starts ``lead_time`` before it, and is billed from
   then: interval ``i`` costs ``n_i (T - L) + max(n_i, n_(i+1)) L`` instance-seconds.
   Static provisioning runs the day's largest count all day.
4. **Connections.** Each instance of a tier opens its ``pools`` to other tiers; a tier
   with ``max_connections`` accepts at most that many per instance (a dependency: in
   all). Opened connections must cover the servers the target tier needs (else the pool
   queues before the tier does) and stay within the limit.
5. **Rate limits.** A tier with ``rate_limit`` (VNeID, PayGov) is a dependency: not
   bought; its required rate (visits x sessions/s, the interval's busiest moment) is set
   against the limit.

No figure adds unlike things across tiers: vCPU and memory are per tier, and only
money is summed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dvcschema.capacity import CapacitySpec, TierSpec
from dvcschema.capacity_resources import Policy, TierResources
from planning.clock import clock
from planning.plan import PlanRun

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Connections:
    """Connections into ``tier`` at its worst interval: opened by its callers, limit, need."""

    tier: str
    interval: int
    opened: int
    limit: int | None
    needed: int
    opened_by: tuple[tuple[str, int, int], ...]  # (tier, instances, pool per instance)

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.opened > self.limit

    @property
    def pool_short(self) -> bool:
        return bool(self.opened_by) and self.opened < self.needed


@dataclass(frozen=True)
class RateCheck:
    """A dependency's required rate (requests/s) against its limit: central and P90."""

    tier: str
    limit_per_s: float
    interval: int
    central_per_s: float
    p90_per_s: float | None

    @property
    def worst_per_s(self) -> float:
        return self.p90_per_s if self.p90_per_s is not None else self.central_per_s

    @property
    def over_limit(self) -> bool:
        return self.worst_per_s > self.limit_per_s


@dataclass(frozen=True)
class TierProvision:
    """One tier: the servers the policy needs, and for a bought tier what that buys."""

    tier: str
    basis: str
    need: IntArray
    resources: TierResources | None
    instances: IntArray | None
    instance_hours: FloatArray | None
    reasons: tuple[str, ...]
    floor: int = 0
    floor_from_s: float | None = None

    @property
    def bought(self) -> bool:
        return self.instances is not None

    @property
    def peak_instances(self) -> int:
        return int(self.instances.max()) if self.instances is not None else 0

    def vcpu(self) -> FloatArray | None:
        r = self.resources
        if self.instances is None or r is None or r.vcpu is None:
            return None
        return (self.instances * r.vcpu).astype(np.float64)

    def memory_bytes(self) -> IntArray | None:
        r = self.resources
        if self.instances is None or r is None or r.memory_bytes is None:
            return None
        return self.instances * r.memory_bytes

    def cost(self) -> FloatArray | None:
        """Money per interval, scaled (with booting); ``None`` without a price."""
        r = self.resources
        if self.instance_hours is None or r is None or r.price_per_hour is None:
            return None
        return self.instance_hours * r.price_per_hour

    def static_instance_hours(self, hours: float) -> float:
        return self.peak_instances * hours

    def static_cost(self, hours: float) -> float | None:
        """Money for the day's largest count running all ``hours``; ``None`` without a price."""
        r = self.resources
        if r is None or r.price_per_hour is None or not self.bought:
            return None
        return self.static_instance_hours(hours) * r.price_per_hour


@dataclass(frozen=True)
class Provision:
    """The whole purchase: per tier, connections into tiers, dependencies' rates, cost."""

    policy: Policy
    currency: str
    interval_s: float
    interval_starts_s: FloatArray
    tiers: tuple[TierProvision, ...]
    connections: tuple[Connections, ...]
    rates: tuple[RateCheck, ...]
    notes: tuple[str, ...]

    @property
    def hours(self) -> float:
        return len(self.interval_starts_s) * self.interval_s / 3600.0

    def tier(self, name: str) -> TierProvision:
        return next(t for t in self.tiers if t.tier == name)

    def cost_total(self) -> tuple[float, float] | None:
        """(scaled, static) money for the plan's span, over the tiers with a price."""
        scaled = [c for t in self.tiers if (c := t.cost()) is not None]
        static = [m for t in self.tiers if (m := t.static_cost(self.hours)) is not None]
        if not scaled:
            return None
        return float(sum(float(np.sum(c)) for c in scaled)), float(sum(static))


def provision(run: PlanRun) -> Provision:
    """Apply ``run.spec``'s policy and resources to the plan's servers (see the module)."""
    spec, policy = run.spec, run.spec.policy
    need, basis, notes = _need(run, policy)
    tiers = tuple(
        _tier(spec, t, need[t.name], basis, run.plan.interval_starts_s) for t in spec.tiers
    )
    by_name = {t.tier: t for t in tiers}
    return Provision(
        policy=policy,
        currency=spec.currency,
        interval_s=run.plan.interval_s,
        interval_starts_s=run.plan.interval_starts_s,
        tiers=tiers,
        connections=tuple(_connections(spec, by_name)),
        rates=tuple(_rates(run)),
        notes=notes,
    )


def zone_instances(instances: int, zones: int) -> int:
    """Instances over ``zones`` zones so that losing any one leaves ``instances`` running."""
    if zones <= 1:
        return instances
    return zones * math.ceil(instances / (zones - 1))


# -- need ------------------------------------------------------------------------------
def _need(run: PlanRun, policy: Policy) -> tuple[dict[str, IntArray], str, tuple[str, ...]]:
    central = {t.name: np.asarray(t.servers, dtype=np.int64) for t in run.plan.tiers}
    if policy.provision == "central":
        return central, "central", ()
    if run.mc is None:
        note = (
            f"policy.provision {policy.provision}: nothing in the scenario is a range, so every"
            " sample is the central plan; the central servers are provisioned"
        )
        return central, "central", (note,)
    row = 0 if policy.provision == "P50" else 1
    spread = {n: run.mc.tier_percentiles(n)[row].astype(np.int64) for n in central}
    return spread, policy.provision, ()


# -- one tier --------------------------------------------------------------------------
def _tier(
    spec: CapacitySpec, tier: TierSpec, need: IntArray, basis: str, starts_s: FloatArray
) -> TierProvision:
    res = spec.resources.get(tier.name)
    if tier.is_dependency or res is None or res.servers_per_instance is None:
        why = (
            "a dependency (rate_limit): not bought"
            if tier.is_dependency
            else ("no resources given: servers only")
        )
        return TierProvision(tier.name, basis, need, res, None, None, (why,))
    instances, reasons = _instances(spec.policy, res, need, basis, starts_s)
    hours = _instance_hours(instances, spec.interval_s, spec.policy.lead_time_s)
    floor, floor_from_s = res.min_instances, None
    if spec.policy.floor is not None:
        later = starts_s >= spec.policy.floor.start_s - 1e-9
        if np.any(later):
            floor = max(floor, math.ceil(spec.policy.floor.share * int(instances.max())))
            floor_from_s = spec.policy.floor.start_s
    return TierProvision(
        tier.name, basis, need, res, instances, hours, tuple(reasons), floor, floor_from_s
    )


def _instances(
    policy: Policy, res: TierResources, need: IntArray, basis: str, starts_s: FloatArray
) -> tuple[IntArray, list[str]]:
    per = res.servers_per_instance
    assert per is not None
    bare = -(-need // per)
    reasons = [f"the {basis} servers / {per} per instance ({_per_instance_text(res)})"]
    n = bare
    if policy.zones > 1:
        n = np.array([zone_instances(int(x), policy.zones) for x in bare], dtype=np.int64)
        reasons.append(
            f"x {policy.zones}/{policy.zones - 1} over {policy.zones} zones, rounded per zone:"
            " losing any one zone leaves the need running (N+1)"
        )
    if res.min_instances > 1:
        reasons.append(f"at least {res.min_instances} (min_instances)")
    n = np.maximum(n, res.min_instances)
    if policy.floor is not None:
        floor = math.ceil(policy.floor.share * int(n.max()))
        later = starts_s >= policy.floor.start_s - 1e-9
        if floor > 0 and np.any(later):
            n = np.where(later, np.maximum(n, floor), n)
            reasons.append(
                f"from {clock(policy.floor.start_s)} at least {floor}"
                f" ({policy.floor.share:.0%} of the day's largest; the policy's floor)"
            )
    return n.astype(np.int64), reasons


def _per_instance_text(res: TierResources) -> str:
    if res.bound_by == "given":
        return "given"
    text = f"{res.vcpu:g} vCPU x {res.servers_per_vcpu:g}"
    if res.servers_by_memory is not None:
        text += f"; memory fits {res.servers_by_memory}"
        text += ", the bound" if res.bound_by == "memory" else ""
    return text


def _instance_hours(instances: IntArray, interval_s: float, lead_time_s: float) -> FloatArray:
    """Per interval: the running instances, plus the next interval's booting for ``L``."""
    lead = min(lead_time_s, interval_s)
    nxt = np.append(instances[1:], instances[-1])
    seconds = instances * (interval_s - lead) + np.maximum(instances, nxt) * lead
    return seconds / 3600.0


# -- connections and rate limits -------------------------------------------------------
def _connections(spec: CapacitySpec, tiers: dict[str, TierProvision]) -> list[Connections]:
    out = []
    for target in spec.tiers:
        res = spec.resources.get(target.name)
        openers = [
            (t.tier, t.instances, t.resources.pools[target.name])
            for t in tiers.values()
            if t.instances is not None
            and t.resources is not None
            and target.name in t.resources.pools
        ]
        limit_per = res.max_connections if res is not None else None
        if not openers and limit_per is None:
            continue
        n = len(tiers[target.name].need)
        opened = np.zeros(n, np.int64)
        for _, instances, pool in openers:
            opened = opened + instances * pool
        target_p = tiers[target.name]
        limit: IntArray | None
        if limit_per is None:
            limit = None
        elif target_p.instances is not None:
            limit = target_p.instances * limit_per
        else:
            limit = np.full(n, limit_per, dtype=np.int64)
        worst = _worst(opened, limit, target_p.need)
        out.append(
            Connections(
                tier=target.name,
                interval=worst,
                opened=int(opened[worst]),
                limit=int(limit[worst]) if limit is not None else None,
                needed=int(target_p.need[worst]),
                opened_by=tuple(
                    (name, int(instances[worst]), pool) for name, instances, pool in openers
                ),
            )
        )
    return out


def _worst(opened: IntArray, limit: IntArray | None, needed: IntArray) -> int:
    """The interval nearest to trouble: highest opened/limit, else lowest opened/needed."""
    if limit is not None:
        return int(np.argmax(opened / np.maximum(limit, 1)))
    return int(np.argmin(opened / np.maximum(needed, 1)))


def _rates(run: PlanRun) -> list[RateCheck]:
    out = []
    peak_rate = run.plan.peak_arrival_rate_per_s
    for tier in run.spec.tiers:
        if tier.rate_limit_per_s is None:
            continue
        required = peak_rate * tier.visits
        i = int(np.argmax(required))
        p90 = None
        if run.mc is not None:
            p90 = _p90_rate(run, tier, float(peak_rate[i]) / run.curve.scale)
        out.append(RateCheck(tier.name, tier.rate_limit_per_s, i, float(required[i]), p90))
    return out


def _p90_rate(run: PlanRun, tier: TierSpec, unit_peak: float) -> float | None:
    """P90 over the samples of (derived peak x visits) x the shape's peak; None if fixed."""
    mc = run.mc
    assert mc is not None
    visits = mc.inputs.get(f"{tier.name}.visits")
    scale = None
    if run.spec.derivation is not None:
        scale = mc.figures.get(run.spec.derivation.peak)
    if visits is None and scale is None:
        return None
    v = visits if visits is not None else np.full(mc.samples, tier.visits)
    s = scale if scale is not None else np.full(mc.samples, run.curve.scale)
    return float(np.quantile(v * s * unit_peak, 0.9, method="inverted_cdf"))
