"""The figures of a plan besides its schedule: the peak hour by hand, latency against servers.

* the peak hour by hand: sessions/s x visits = requests/s, x service time = erlangs,
  and the servers each budget needs at that load (the plan takes the largest);
* latency against servers at the peak hour: utilisation, P(wait) (Erlang C), mean wait
  and p95 (the M/G/c approximations of :mod:`models.approximations`, exact for cv 1),
  from the fewest servers that keep the queue stable to ~1.5x the plan
  (:mod:`planning.plots` draws them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dvcschema.capacity import CapacitySpec, TierSpec
from dvcschema.units import format_duration_s
from models import (
    CapacityPlan,
    TierBudget,
    approx_mean_wait,
    approx_response_quantile,
    erlang_c,
    min_servers,
    service_distribution,
)
from planning.curve import Curve
from planning.montecarlo import MonteCarlo

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
TABLE_ROWS = 12
PLOT_POINTS = 40


# -- the peak hour by hand ----------------------------------------------------------------------
def by_hand(
    spec: CapacitySpec,
    plan: CapacityPlan,
    curve: Curve,
    budgets: dict[str, list[TierBudget]],
    i: int,
) -> dict[str, dict[str, Any]]:
    """Per tier, the chain from row ``i``'s arrival rate to its servers (central values)."""
    out = {}
    for tier, tp in zip(spec.tiers, plan.tiers, strict=True):
        service = service_distribution(tier.service_time_s, tier.cv)
        rate = float(tp.peak_offered_load[i]) / tier.service_time_s
        needs = {_budget_name(b): int(min_servers(rate, service, b)) for b in budgets[tier.name]}
        sessions_per_s = rate / tier.visits
        out[tier.name] = {
            "derived_peak_per_s": curve.scale if spec.derivation is not None else None,
            "shape_and_what_ifs": sessions_per_s / curve.scale,
            "sessions_per_s": sessions_per_s,
            "visits": tier.visits,
            "requests_per_s": rate,
            "service_time_s": tier.service_time_s,
            "service_cv": tier.cv,
            "offered_load": float(tp.peak_offered_load[i]),
            "servers_by_budget": needs,
            "servers": int(tp.servers[i]),
        }
    return out


def _budget_name(b: TierBudget) -> str:
    if b.kind == "response_quantile":
        return f"p{_pct(b.quantile)} < {format_duration_s(b.value)}"
    if b.kind == "wait_quantile":
        return f"wait_p{_pct(b.quantile)} < {format_duration_s(b.value)}"
    if b.kind == "mean_wait":
        return f"mean_wait < {format_duration_s(b.value)}"
    return f"{'P(wait)' if b.kind == 'prob_wait' else 'utilization'} < {b.value:g}"


def _pct(q: float | None) -> str:
    return f"{(q or 0.0) * 100:g}"


# -- latency against servers ----------------------------------------------------------------------
@dataclass(frozen=True)
class LatencyTable:
    """Metrics of one tier at the peak row's load, for several numbers of servers."""

    tier: str
    arrival_rate_per_s: float
    offered_load: float
    service_time_s: float
    servers: IntArray
    utilization: FloatArray
    prob_wait: FloatArray
    mean_wait_s: FloatArray
    p95_response_s: FloatArray
    marks: dict[int, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "arrival_rate_per_s": self.arrival_rate_per_s,
            "offered_load": self.offered_load,
            "service_time_s": self.service_time_s,
            "rows": [
                {
                    "servers": int(c),
                    "utilization": float(self.utilization[k]),
                    "prob_wait": float(self.prob_wait[k]),
                    "mean_wait_s": float(self.mean_wait_s[k]),
                    "p95_response_s": float(self.p95_response_s[k]),
                    "mark": self.marks.get(int(c), ""),
                }
                for k, c in enumerate(self.servers)
            ],
        }


def latency_tables(
    spec: CapacitySpec, plan: CapacityPlan, mc: MonteCarlo | None, i: int, *, points: int
) -> list[LatencyTable]:
    """For each tier, ``points`` server counts from the fewest stable to ~1.5x the plan."""
    tables = []
    for tier, tp in zip(spec.tiers, plan.tiers, strict=True):
        load = float(tp.peak_offered_load[i])
        planned = int(tp.servers[i])
        marks = {math.floor(load) + 1: "fewest stable", planned: "planned (central)"}
        if mc is not None:
            p50, p90 = (int(x) for x in mc.tier_percentiles(tier.name)[:, i])
            marks = {**marks, p90: "P90", p50: "P50", planned: "planned (central)"}
        tables.append(_latency(tier, load, planned, marks, points))
    return tables


def _latency(
    tier: TierSpec, load: float, planned: int, marks: dict[int, str], points: int
) -> LatencyTable:
    c_min = math.floor(load) + 1
    c_max = max(math.ceil(1.5 * planned), planned + 2, *marks)
    counts = np.arange(c_min, c_max + 1)
    if counts.size > points:
        counts = np.unique(np.round(np.linspace(c_min, c_max, points)).astype(np.int64))
        counts = np.union1d(counts, [m for m in marks if c_min <= m <= c_max])
    service = service_distribution(tier.service_time_s, tier.cv)
    rate = load / tier.service_time_s
    return LatencyTable(
        tier=tier.name,
        arrival_rate_per_s=rate,
        offered_load=load,
        service_time_s=tier.service_time_s,
        servers=counts.astype(np.int64),
        utilization=load / counts,
        prob_wait=np.atleast_1d(np.asarray(erlang_c(counts, load))),
        mean_wait_s=np.atleast_1d(np.asarray(approx_mean_wait(rate, service, counts))),
        p95_response_s=np.atleast_1d(
            np.asarray(approx_response_quantile(0.95, rate, service, counts))
        ),
        marks={c: m for c, m in marks.items() if c_min <= c <= c_max},
    )
