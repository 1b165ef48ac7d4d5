"""Held resources: a server held while its request waits on the tiers it calls.

A web worker that queries the database, or calls PayGov, stays busy until the answer
comes back: its holding time is its own work plus, for each call, the callee's
response time (wait + service). With ``calls: {db: 1.5, payment: 0.013}`` on the web
tier, the web tier is staffed for

    H = S_own + sum_j c_j R_j,        R_j = S_j + W_j

where ``c_j`` is the mean number of calls per request to tier ``j`` and ``R_j`` its
mean response time at its own planned servers. This is the layered-queueing view of
Woodside et al. (1995) and Franks et al. (2009) ("method of layers", Rolia & Sevcik
1995), solved by one pass per level of calls: the callees' plans do not depend on
their callers, so the callees are planned first, then their callers with the holding
time above. ``W_j`` is taken at the callee's worst hour (its longest mean wait over the
day): a constant holding time for the whole day, on the safe side.

The holding time's variance treats the number of calls to each tier as Poisson (so a
mean of 1.5 calls is allowed) and the calls' times as independent:
``Var H = (cv S_own)^2 + sum_j c_j E[R_j^2]``, ``E[R_j^2] ~ (cv_j S_j)^2 + R_j^2``
(compound Poisson; the wait's own variance is left out, small when the callee is
staffed to its budgets). A range of the caller's own service time is shifted by the
added mean, so the Monte Carlo draws the caller's own time; the callees' spread is not
carried into the caller.

References
----------
.. [1] Rolia, J. A. & Sevcik, K. C. (1995). The method of layers. *IEEE Transactions
   on Software Engineering* 21(8), 689-700.
.. [2] Woodside, C. M., Neilson, J. E., Petriu, D. C. & Majumdar, S. (1995). The
   stochastic rendezvous network model for performance of synchronous client-server-like
   distributed software. *IEEE Transactions on Computers* 44(1), 20-34.
.. [3] Franks, G., Al-Omari, T., Woodside, M., Das, O. & Derisavi, S. (2009). Enhanced
   modeling and solution of layered queueing networks. *IEEE Transactions on Software
   Engineering* 35(2), 148-161.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from dvcschema.capacity import CapacitySpec, TierSpec
from models import CapacityPlan


@dataclass(frozen=True)
class Call:
    """Calls per request to ``tier``, and that tier's mean response and its second moment."""

    tier: str
    per_request: float
    response_s: float
    second_moment_s2: float


@dataclass(frozen=True)
class HeldTime:
    """A tier's holding time: its own work, then its calls; ``mean_s`` and ``cv`` in all."""

    tier: str
    own_s: float
    own_cv: float
    calls: tuple[Call, ...]

    @property
    def mean_s(self) -> float:
        return self.own_s + sum(c.per_request * c.response_s for c in self.calls)

    @property
    def cv(self) -> float:
        variance = (self.own_cv * self.own_s) ** 2
        variance += sum(c.per_request * c.second_moment_s2 for c in self.calls)
        return math.sqrt(variance) / self.mean_s


def depth(spec: CapacitySpec) -> int:
    """The longest chain of calls (0 without calls)."""
    tiers = {t.name: t for t in spec.tiers}

    def level(name: str) -> int:
        calls = tiers[name].calls
        return 1 + max(level(c) for c in calls) if calls else 0

    return max(level(t.name) for t in spec.tiers)


def resolve(
    spec: CapacitySpec, plan_for: Callable[[CapacitySpec], CapacityPlan]
) -> tuple[CapacitySpec, CapacityPlan, dict[str, HeldTime]]:
    """The spec whose callers hold their servers through their calls, its plan, the times.

    ``plan_for`` staffs a spec (the central plan on the run's curve). One pass per level
    of calls: after pass ``k`` every tier ``k`` levels above the leaves is exact. A pass
    staffs only the callers again; the other tiers keep their plans.
    """
    plan = plan_for(spec)
    held: dict[str, HeldTime] = {}
    effective = spec
    for _ in range(depth(spec)):
        held = held_times(spec, effective, plan)
        effective = with_held(spec, held)
        callers = tuple(t for t in effective.tiers if t.name in held)
        again = {t.name: t for t in plan_for(dataclasses.replace(effective, tiers=callers)).tiers}
        plan = dataclasses.replace(plan, tiers=tuple(again.get(t.name, t) for t in plan.tiers))
    return effective, plan, held


def held_times(
    declared: CapacitySpec, effective: CapacitySpec, plan: CapacityPlan
) -> dict[str, HeldTime]:
    """Each caller's holding time from its callees' (effective) times and planned waits."""
    waits = {t.name: float(t.mean_wait_s.max()) for t in plan.tiers}
    out = {}
    for tier in declared.tiers:
        if not tier.calls:
            continue
        calls = tuple(_call(effective.tier(name), c, waits[name]) for name, c in tier.calls.items())
        out[tier.name] = HeldTime(tier.name, tier.service_time_s, tier.cv, calls)
    return out


def with_held(spec: CapacitySpec, held: dict[str, HeldTime]) -> CapacitySpec:
    """``spec`` with each caller's service time and CV replaced by its holding time's."""
    return dataclasses.replace(
        spec, tiers=tuple(_held_tier(t, held.get(t.name)) for t in spec.tiers)
    )


def _call(callee: TierSpec, per_request: float, wait_s: float) -> Call:
    response_s = callee.service_time_s + wait_s
    second = (callee.cv * callee.service_time_s) ** 2 + response_s**2
    return Call(callee.name, per_request, response_s, second)


def _held_tier(tier: TierSpec, held: HeldTime | None) -> TierSpec:
    if held is None:
        return tier
    added_s = held.mean_s - held.own_s
    st = tier.service_time_input
    if st is not None:
        st = dataclasses.replace(st, low=st.low + added_s, high=st.high + added_s)
    return dataclasses.replace(tier, service_time_s=held.mean_s, cv=held.cv, service_time_input=st)
