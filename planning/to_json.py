"""A plan as JSON: the plan, the inputs that produced it, the peak, and where figures come from."""

from __future__ import annotations

from typing import Any

from planning.journeys import to_json as journeys_json
from planning.leadtime_text import to_json as scale_up_json
from planning.montecarlo import PERCENTILES
from planning.plan import PlanRun
from planning.provision import provision
from planning.provision_text import to_json as provision_json
from planning.sensitivity import to_json as tornado_json
from planning.sensitivity import tornado
from planning.storage import to_json as storage_json


def plan_json(run: PlanRun) -> dict[str, Any]:
    """``plan.to_dict()`` with the inputs that produced it, the peak, and where figures come from.

    ``derivation`` lists every figure with its formula or range and source, its central
    value and P50/P90; ``peak_by_hand`` the chain from the peak row's sessions/s to its
    servers; ``monte_carlo`` the P50/P90 of servers per tier per interval (``null``
    without ranges); ``latency_vs_servers`` the peak-hour table per tier. Only plain
    Python types: ``json.dumps`` takes it as it is.
    """
    spec, plan, i = run.spec, run.plan, run.peak
    servers = {t.name: int(t.servers[i]) for t in plan.tiers}
    return {
        "scenario": run.name,
        "source": run.source,
        "surge": run.surge,
        "spikes": [
            {"factor": s.factor, "start_s": s.start_s, "length_s": s.length_s} for s in run.spikes
        ],
        "inputs": {**spec.as_dict(), "method": plan.method},
        "arrivals_source": spec.arrivals.source or None,
        "notes": list(run.notes),
        "budgets_per_tier": {
            t.name: [b.expression for b in spec.budgets_for(t)] for t in spec.tiers
        },
        "central_inputs": _central_inputs(run),
        "derivation": _derivation_json(run),
        "sensitivity": (
            tornado_json(tornado(spec.derivation)) if spec.derivation is not None else None
        ),
        "peak": {
            "start_s": float(plan.interval_starts_s[i]),
            "peak_arrival_rate_per_s": float(plan.peak_arrival_rate_per_s[i]),
            "servers": servers,
        },
        "peak_by_hand": run.hand,
        "monte_carlo": _monte_carlo_json(run),
        "latency_vs_servers": {t.tier: t.as_dict() for t in run.latency},
        "held": {
            name: {
                "own_s": h.own_s,
                "own_cv": h.own_cv,
                "calls": [
                    {"tier": c.tier, "per_request": c.per_request, "response_s": c.response_s}
                    for c in h.calls
                ],
                "mean_s": h.mean_s,
                "cv": h.cv,
            }
            for name, h in run.held.items()
        },
        "provision": provision_json(provision(run)),
        "scale_up": scale_up_json(run.scale_up) if run.scale_up is not None else None,
        "storage": storage_json(run.storage) if run.storage is not None else None,
        "journeys": journeys_json(run.journeys) if run.journeys is not None else None,
        "plan": plan.to_dict(),
    }


def _central_inputs(run: PlanRun) -> dict[str, Any]:
    """The values the central plan used: per tier, and the arrival curve's scale."""
    return {
        "peak_scale": run.curve.scale,
        "tiers": {
            t.name: {"service_time_s": t.service_time_s, "cv": t.cv, "visits": t.visits}
            for t in run.spec.tiers
        },
    }


def _derivation_json(run: PlanRun) -> dict[str, Any] | None:
    derivation = run.spec.derivation
    if derivation is None:
        return None
    central = derivation.central()
    used = derivation.depends_on(derivation.peak)
    figures = []
    for fig in derivation.figures:
        entry: dict[str, Any] = {"name": fig.name, "kind": fig.kind, **fig.as_dict()}
        entry["central"] = central[fig.name]
        if run.mc is not None:
            p50, p90 = run.mc.figure_percentiles(fig.name)
            entry.update(p50=float(p50), p90=float(p90))
        entry["used_by_peak"] = fig.name in used
        figures.append(entry)
    return {"peak": derivation.peak, "builtins": dict(derivation.builtins), "figures": figures}


def _monte_carlo_json(run: PlanRun) -> dict[str, Any] | None:
    mc, plan = run.mc, run.plan
    if mc is None:
        return None
    spread = {t.name: mc.tier_percentiles(t.name) for t in plan.tiers}
    return {
        "samples": mc.samples,
        "seed": mc.seed,
        "percentiles": list(PERCENTILES),
        "ranges": list(mc.inputs),
        "peak": {
            "tiers": {
                n: {"p50": int(v[0, run.peak]), "p90": int(v[1, run.peak])}
                for n, v in spread.items()
            },
        },
        "intervals": [
            {
                "start_s": float(start),
                "tiers": {n: {"p50": int(v[0, k]), "p90": int(v[1, k])} for n, v in spread.items()},
            }
            for k, start in enumerate(plan.interval_starts_s)
        ],
    }
