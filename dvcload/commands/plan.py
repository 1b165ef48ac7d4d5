"""``dvcload plan SCENARIO``: servers per tier per hour from a scenario's ``capacity:`` section.

The section is validated by :mod:`dvcschema.capacity`; this module turns it into
:class:`models.TierDemand` and :class:`models.Budget`, calls
:func:`models.plan_capacity`, and prints the schedule next to its assumptions (or
JSON with ``--json``, and PNGs with ``--plot``). With ranges or a ``derivation:``, the
plan is made at the central values and spread by Monte Carlo (``--samples``, ``--seed``;
:mod:`dvcload.plan_montecarlo`): P50 and P90 of the servers per tier per hour. What-ifs:
``--surge 2x`` (every arrival rate doubled) and ``--spike 3x@17:00+30m`` (tripled from
17:00 for 30 minutes). The report ends with the peak hour by hand and latency against
servers at the peak hour (:mod:`dvcload.plan_output`). Exit code 1 when some interval
of the central plan needs more servers than a tier's ``max_servers``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from dvcload import calibrated, plan_tables
from dvcload.plan_montecarlo import (
    PERCENTILES,
    Spike,
    check_samples,
    has_ranges,
    monte_carlo,
    parse_spike,
    plan_curve,
)
from dvcload.plan_output import above_max, report
from dvcload.plan_tables import PlanRun, peak_interval
from dvcschema.capacity import CapacityBudget, CapacitySpec, TierSpec
from dvcschema.errors import ConfigError, ScenarioError, shown
from dvcschema.scenario import Scenario, load_scenario
from dvcschema.settings import Overrides, apply_settings
from dvcschema.units import format_duration_s
from models import Budget, CapacityPlan, ModelError, TierDemand, min_servers, plan_capacity
from models.sizing import service_distribution

NAME = "plan"
HELP = "Plan servers per tier per hour for a scenario's capacity section (queueing models)."
MAX_SURGE = 1000.0
DEFAULT_SAMPLES = 1000
_SURGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[x×]?\s*", re.ASCII)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type="path", help="scenario YAML with a capacity: section")
    parser.add_argument("--json", action="store_true", help="print only JSON (plan and inputs)")
    parser.add_argument(
        "--plot",
        type="file_to_write",
        metavar="FILE.png",
        help="write the staffing schedule as a PNG, and latency against servers at the peak"
        " hour as FILE-latency.png",
    )
    parser.add_argument(
        "--method", choices=("mol", "psa"), help="staffing method (overrides capacity.method)"
    )
    parser.add_argument(
        "--surge",
        type="short_text",
        default="1",
        metavar="FACTOR",
        help="what-if: multiply every arrival rate by FACTOR, e.g. 2 or 2x (default 1)",
    )
    parser.add_argument(
        "--spike",
        type="short_text",
        action="append",
        default=[],
        metavar="FACTOR@HH:MM+LENGTH",
        help="what-if: a sudden event, e.g. 3x@17:00+30m (arrivals x3 from 17:00 for 30"
        " minutes); repeatable, overlapping spikes multiply",
    )
    parser.add_argument(
        "--samples",
        type="samples",
        default=DEFAULT_SAMPLES,
        metavar="N",
        help=f"Monte Carlo samples of the ranges (default {DEFAULT_SAMPLES})",
    )
    parser.add_argument(
        "--seed",
        type="seed",
        help="seed of the Monte Carlo samples (default: DVCLOAD_SEED, else the scenario's seed)",
    )
    calibrated.add_option(parser)


def run(args: argparse.Namespace) -> int:
    surge = parse_surge(args.surge)
    spikes = tuple(parse_spike(text) for text in args.spike)
    samples = check_samples(args.samples)
    plot_path = _plot_path(args.plot)
    scenario = load_scenario(args.scenario)
    seed = apply_settings(scenario, Overrides(seed=args.seed), _seed_env()).seed
    result = plan_run(
        scenario,
        method=args.method,
        surge=surge,
        spikes=spikes,
        samples=samples,
        seed=seed,
        model=args.model,
    )
    if plot_path is not None:
        _plots(result, plot_path)
    if args.json:
        print(json.dumps(plan_json(result), indent=2))
    else:
        if args.model is not None:
            print(calibrated.describe(args.model))
        print(report(result))
        if plot_path is not None:
            print(f"plot written to {plot_path}")
            print(f"plot written to {_latency_path(plot_path)}")
    over = above_max(result.plan)
    if over and args.json:
        print(f"dvcload plan: {over}", file=sys.stderr)
    return 1 if over else 0


def plan_run(
    scenario: Scenario,
    *,
    method: str | None = None,
    surge: float = 1.0,
    spikes: tuple[Spike, ...] = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 1,
    model: Path | None = None,
) -> PlanRun:
    """The central plan, its Monte Carlo spread (when there are ranges) and the tables.
    ``model``: a calibrated model file (``dvcload calibrate``) whose tier demands
    replace the scenario's."""
    spec = calibrated.apply(_capacity(scenario), model)
    method = method or spec.method
    curve = plan_curve(spec, surge, spikes)
    plan = build_plan(spec, method=method, surge=surge, source=scenario.source, spikes=spikes)
    budgets = {t.name: [model_budget(b, t.name) for b in spec.budgets_for(t)] for t in spec.tiers}
    mc = None
    if has_ranges(spec):
        mc = monte_carlo(spec, plan, curve, budgets, samples=samples, seed=seed)
    i = peak_interval(plan)
    hand = plan_tables.by_hand(spec, plan, curve, budgets, i)
    latency = plan_tables.latency_tables(spec, plan, mc, i, points=plan_tables.TABLE_ROWS)
    return PlanRun(scenario, spec, plan, curve, surge, spikes, mc, hand, latency)


def _seed_env() -> dict[str, str]:
    """Only ``DVCLOAD_SEED`` of the environment: the one setting a plan takes from it."""
    return {k: v for k, v in os.environ.items() if k == "DVCLOAD_SEED"}


def _plots(result: PlanRun, path: Path) -> None:
    from models.plot import plot_staffing  # Matplotlib: only when a plot is asked for

    name, method = result.scenario.name, result.plan.method.upper()
    plot_staffing(
        result.plan,
        path,
        title=f"{name}: servers per tier by {method}{_what_if(result)} (budgets per tier)",
    )
    tables = plan_tables.latency_tables(
        result.spec, result.plan, result.mc, result.peak, points=plan_tables.PLOT_POINTS
    )
    plan_tables.plot_latency(
        tables,
        _latency_path(path),
        title=f"{name}: latency against servers at the peak hour{_what_if(result)}",
    )


def _latency_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-latency{path.suffix}")


def _what_if(result: PlanRun) -> str:
    parts = [f"arrivals x{result.surge:g}"] if result.surge != 1 else []
    parts += [f"spike {s.describe()}" for s in result.spikes]
    return f", {', '.join(parts)}" if parts else ""


# -- inputs ------------------------------------------------------------------------------
def parse_surge(text: str) -> float:
    """``"2"``, ``"2x"`` or ``"1.5x"`` to a factor in (0, 1000]."""
    match = _SURGE.fullmatch(text)
    factor = float(match[1]) if match else 0.0
    if not 0 < factor <= MAX_SURGE:
        raise ConfigError(
            f"{shown(text)} is not a factor; allowed: a number > 0 and <= {MAX_SURGE:g},"
            " e.g. 2 or 2x",
            field="--surge",
        )
    return factor


def _plot_path(path: Path | None) -> Path | None:
    if path is None:
        return None
    text = str(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"{shown(text)} is not a .png file name", field="--plot")
    if not path.parent.is_dir():
        raise ConfigError(f"folder {shown(str(path.parent))} does not exist", field="--plot")
    return path


def _capacity(scenario: Scenario) -> CapacitySpec:
    if scenario.capacity is None:
        raise ScenarioError(
            "has no 'capacity' section; dvcload plan needs one "
            "(tiers, budgets, arrivals; see scenarios/national-plan.yaml)",
            source=scenario.source,
        )
    return scenario.capacity


def build_plan(
    spec: CapacitySpec, *, method: str, surge: float, source: str, spikes: tuple[Spike, ...] = ()
) -> CapacityPlan:
    """The plan for ``spec`` at its central values, arrivals x ``surge`` and ``spikes``."""
    _check_feasible(spec, source)
    curve = plan_curve(spec, surge, spikes)
    return plan_capacity(
        [tier_demand(t) for t in spec.tiers],
        curve.times_s,
        curve.rate_per_s,
        [model_budget(b, t.name) for t in spec.tiers for b in spec.budgets_for(t)],
        method=method,
        interval_s=spec.interval_s,
        resolution_s=spec.resolution_s,
    )


def tier_demand(tier: TierSpec) -> TierDemand:
    return TierDemand(tier.name, tier.service_time_s, tier.cv, tier.visits, tier.max_servers)


def model_budget(budget: CapacityBudget, tier: str) -> Budget:
    return Budget(budget.kind, budget.value, budget.quantile, tier)


def _check_feasible(spec: CapacitySpec, source: str) -> None:
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


# -- JSON --------------------------------------------------------------------------------
def plan_json(run: PlanRun) -> dict[str, Any]:
    """``plan.to_dict()`` with the inputs that produced it, the peak, and where figures come from.

    ``derivation`` lists every figure with its formula or range and source, its central
    value and P50/P90; ``peak_by_hand`` the chain from the peak row's sessions/s to its
    servers; ``monte_carlo`` the P50/P90 of servers per tier per interval (``null``
    without ranges); ``latency_vs_servers`` the peak-hour table per tier.
    """
    spec, plan, i = run.spec, run.plan, run.peak
    servers = {t.name: int(t.servers[i]) for t in plan.tiers}
    return {
        "scenario": run.scenario.name,
        "source": run.scenario.source,
        "surge": run.surge,
        "spikes": [
            {"factor": s.factor, "start_s": s.start_s, "length_s": s.length_s} for s in run.spikes
        ],
        "inputs": {**spec.as_dict(), "method": plan.method},
        "budgets_per_tier": {
            t.name: [b.expression for b in spec.budgets_for(t)] for t in spec.tiers
        },
        "central_inputs": _central_inputs(run),
        "derivation": _derivation_json(run),
        "peak": {
            "start_s": float(plan.interval_starts_s[i]),
            "peak_arrival_rate_per_s": float(plan.peak_arrival_rate_per_s[i]),
            "servers": servers,
            "total_servers": sum(servers.values()),
        },
        "peak_by_hand": run.hand,
        "monte_carlo": _monte_carlo_json(run),
        "latency_vs_servers": {t.tier: t.as_dict() for t in run.latency},
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
            "total": dict(
                zip(("p50", "p90"), map(int, mc.total_percentiles(run.peak)), strict=True)
            ),
        },
        "intervals": [
            {
                "start_s": float(start),
                "tiers": {n: {"p50": int(v[0, k]), "p90": int(v[1, k])} for n, v in spread.items()},
            }
            for k, start in enumerate(plan.interval_starts_s)
        ],
    }
