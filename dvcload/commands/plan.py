"""``dvcload plan SCENARIO``: servers per tier per hour from a scenario's ``capacity:`` section.

The section is validated by :mod:`dvcschema.capacity`; this module turns it into
:class:`models.TierDemand` and :class:`models.Budget`, calls
:func:`models.plan_capacity`, and prints the schedule next to its assumptions (or
JSON with ``--json``, and a PNG with ``--plot``). Exit code 1 when some interval
needs more servers than a tier's ``max_servers``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from dvcschema.capacity import CapacityBudget, CapacitySpec, TierSpec
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.scenario import Scenario, load_scenario
from dvcschema.units import format_duration_s
from models import Budget, CapacityPlan, ModelError, TierDemand, min_servers, plan_capacity
from models.plan import TierPlan
from models.sizing import service_distribution

NAME = "plan"
HELP = "Plan servers per tier per hour for a scenario's capacity section (queueing models)."
MAX_SURGE = 1000.0
_SURGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[x×]?\s*")
_METHOD_NAMES = {
    "mol": "MOL, modified offered load (Jennings, Mandelbaum, Massey & Whitt 1996)",
    "psa": "PSA, pointwise stationary approximation (Green, Kolesar & Whitt 2007)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML with a capacity: section")
    parser.add_argument("--json", action="store_true", help="print only JSON (plan and inputs)")
    parser.add_argument("--plot", metavar="FILE.png", help="write the staffing schedule as a PNG")
    parser.add_argument(
        "--method", choices=("mol", "psa"), help="staffing method (overrides capacity.method)"
    )
    parser.add_argument(
        "--surge",
        default="1",
        metavar="FACTOR",
        help="what-if: multiply every arrival rate by FACTOR, e.g. 2 or 2x (default 1)",
    )


def run(args: argparse.Namespace) -> int:
    surge = parse_surge(args.surge)
    plot_path = _plot_path(args.plot)
    scenario = load_scenario(args.scenario)
    spec = _capacity(scenario)
    method = args.method or spec.method
    plan = build_plan(spec, method=method, surge=surge, source=scenario.source)
    if plot_path is not None:
        what_if = f", arrivals x{surge:g}" if surge != 1 else ""
        title = f"{scenario.name}: servers per tier by {method.upper()}{what_if} (budgets per tier)"
        from models.plot import plot_staffing  # Matplotlib: only when a plot is asked for

        plot_staffing(plan, plot_path, title=title)
    if args.json:
        print(json.dumps(plan_json(scenario, spec, plan, surge), indent=2))
    else:
        print(report(scenario, spec, plan, surge))
        if plot_path is not None:
            print(f"plot written to {plot_path}")
    over = _above_max(plan)
    if over and args.json:
        print(f"dvcload plan: {over}", file=sys.stderr)
    return 1 if over else 0


# -- inputs ------------------------------------------------------------------------------
def parse_surge(text: str) -> float:
    """``"2"``, ``"2x"`` or ``"1.5x"`` to a factor in (0, 1000]."""
    match = _SURGE.fullmatch(text)
    factor = float(match[1]) if match else 0.0
    if not 0 < factor <= MAX_SURGE:
        raise ConfigError(
            f"{text!r} is not a factor; allowed: a number > 0 and <= {MAX_SURGE:g}, e.g. 2 or 2x",
            field="--surge",
        )
    return factor


def _plot_path(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"{text!r} is not a .png file name", field="--plot")
    if not path.parent.is_dir():
        raise ConfigError(f"folder {str(path.parent)!r} does not exist", field="--plot")
    return path


def _capacity(scenario: Scenario) -> CapacitySpec:
    if scenario.capacity is None:
        raise ScenarioError(
            "has no 'capacity' section; dvcload plan needs one "
            "(tiers, budgets, arrivals; see scenarios/national-plan.yaml)",
            source=scenario.source,
        )
    return scenario.capacity


def build_plan(spec: CapacitySpec, *, method: str, surge: float, source: str) -> CapacityPlan:
    """The plan for ``spec`` with arrivals multiplied by ``surge``; every budget per tier."""
    _check_feasible(spec, source)
    return plan_capacity(
        [tier_demand(t) for t in spec.tiers],
        np.asarray(spec.arrivals.times_s),
        np.asarray(spec.arrivals.rate_per_s) * surge,
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
    """Refuse, at the budget's line, a response-time budget below the service time alone."""
    for tier in spec.tiers:
        service = service_distribution(tier.service_time_s, tier.cv)
        for budget in spec.budgets_for(tier):
            try:
                min_servers(0.0, service, model_budget(budget, tier.name))
            except ModelError as exc:
                why = str(exc).partition(": ")[2] or str(exc)
                raise ScenarioError(
                    f"{budget.expression!r} cannot be met at tier {tier.name!r} by any number of"
                    f" servers ({why}; service_time {format_duration_s(tier.service_time_s)},"
                    f" cv {tier.cv:g}); allowed: a limit above the tier's own service time",
                    source=source,
                    line=budget.line,
                    field=budget.path,
                ) from None


# -- JSON --------------------------------------------------------------------------------
def plan_json(
    scenario: Scenario, spec: CapacitySpec, plan: CapacityPlan, surge: float
) -> dict[str, Any]:
    """``plan.to_dict()`` with the inputs that produced it and the peak interval."""
    i = peak_interval(plan)
    servers = {t.name: int(t.servers[i]) for t in plan.tiers}
    return {
        "scenario": scenario.name,
        "source": scenario.source,
        "surge": surge,
        "inputs": {**spec.as_dict(), "method": plan.method},
        "budgets_per_tier": {
            t.name: [b.expression for b in spec.budgets_for(t)] for t in spec.tiers
        },
        "peak": {
            "start_s": float(plan.interval_starts_s[i]),
            "peak_arrival_rate_per_s": float(plan.peak_arrival_rate_per_s[i]),
            "servers": servers,
            "total_servers": sum(servers.values()),
        },
        "plan": plan.to_dict(),
    }


def peak_interval(plan: CapacityPlan) -> int:
    """The interval with the highest arrival rate (the first, on a tie)."""
    return int(np.argmax(plan.peak_arrival_rate_per_s))


# -- text --------------------------------------------------------------------------------
def report(scenario: Scenario, spec: CapacitySpec, plan: CapacityPlan, surge: float) -> str:
    parts = [
        "\n".join(_assumptions(scenario, spec, plan, surge)),
        *("\n".join(_tier_table(spec, plan, t)) for t in plan.tiers),
        "\n".join(_peak_summary(plan)),
    ]
    return "\n\n".join(parts)


def _assumptions(
    scenario: Scenario, spec: CapacitySpec, plan: CapacityPlan, surge: float
) -> list[str]:
    arrivals = spec.arrivals
    start, end = arrivals.times_s[0], arrivals.times_s[-1]
    grid_s = spec.resolution_s or plan.interval_s / 60
    notes = [
        (
            "method",
            f"{_METHOD_NAMES[plan.method]}; servers checked every"
            f" {format_duration_s(grid_s)}, rows of {format_duration_s(plan.interval_s)}",
        ),
        (
            "arrivals",
            f"{arrivals.kind}, in sessions/s by clock time: peak"
            f" {arrivals.peak_rate_per_s * surge:,.1f}/s, {arrivals.sessions * surge:,.0f}"
            f" sessions over {_clock(start)}-{_clock(end)}",
        ),
        ("surge", f"x{surge:g}: every arrival rate multiplied (a what-if)" if surge != 1 else ""),
        (
            "model",
            "each tier an M/G/c queue fed at visits x arrivals; P(wait) by Erlang C;"
            " p95 exact for cv 1 (M/M/c), else the approximation of models/approximations.py"
            " (within a few % for cv <= 1; down to -26% for cv 2 at high load)",
        ),
        (
            "budgets",
            "per tier: each tier meets them on its own; a response time is one"
            " request's wait + service at that tier, not a whole page or journey",
        ),
    ]
    lines = [f"Capacity plan for {scenario.name!r} ({scenario.source})"]
    lines += [_wrapped(label, text) for label, text in notes if text]
    lines += [f"{'':12}{t.name:<10} {_budget_text(spec, t)}" for t in spec.tiers]
    lines.append(f"  {'demands':<10}{'tier':<10} service time  cv     visits/session  max servers")
    lines += [
        f"{'':12}{t.name:<10} {format_duration_s(t.service_time_s):<13} {t.cv:<6g}"
        f" {t.visits:<15g} {t.max_servers if t.max_servers is not None else '-'}"
        for t in spec.tiers
    ]
    return lines


def _wrapped(label: str, text: str) -> str:
    return textwrap.fill(
        text, width=100, initial_indent=f"  {label:<10}", subsequent_indent=" " * 12
    )


def _budget_text(spec: CapacitySpec, tier: TierSpec) -> str:
    return ", ".join(b.expression + (" (own)" if b.tier else "") for b in spec.budgets_for(tier))


_HEADER = (
    f"  {'time':<11}  {'mean/s':>10}  {'peak/s':>8}  {'load (E)':>9}  {'servers':>8}"
    f"  {'util':>5}  {'p95':>9}  {'P(wait)':>7}"
)


def _tier_table(spec: CapacitySpec, plan: CapacityPlan, tp: TierPlan) -> list[str]:
    tier = next(t for t in spec.tiers if t.name == tp.name)
    peak = peak_interval(plan)
    cap = f"; at most {tier.max_servers:,} servers" if tier.max_servers is not None else ""
    lines = [
        f"{tier.name}: {format_duration_s(tier.service_time_s)} per request (cv {tier.cv:g}),"
        f" {tier.visits:g} visits per session{cap}",
        _HEADER,
    ]
    for i, start in enumerate(plan.interval_starts_s):
        mark = "  <- peak" if i == peak else ""
        if tp.exceeds_max[i]:
            mark += "  ! above max_servers"
        lines.append(
            f"  {_clock(start)}-{_clock(start + plan.interval_s)}"
            f"  {plan.mean_arrival_rate_per_s[i]:>10,.1f}  {plan.peak_arrival_rate_per_s[i]:>8,.1f}"
            f"  {tp.peak_offered_load[i]:>9,.1f}  {int(tp.servers[i]):>8,}"
            f"  {tp.utilization[i]:>5.2f}  {_duration(tp.p95_response_s[i]):>9}"
            f"  {tp.prob_wait[i]:>7.3f}{mark}"
        )
    return lines


def _peak_summary(plan: CapacityPlan) -> list[str]:
    i = peak_interval(plan)
    start = plan.interval_starts_s[i]
    at_peak = [(t.name, int(t.servers[i])) for t in plan.tiers]
    largest = [(t.name, int(t.servers.max()), int(t.servers.argmax())) for t in plan.tiers]
    return [
        f"Peak {_clock(start)}-{_clock(start + plan.interval_s)} (arrivals up to"
        f" {plan.peak_arrival_rate_per_s[i]:,.1f} sessions/s): "
        + " + ".join(f"{name} {n:,}" for name, n in at_peak)
        + f" = {sum(n for _, n in at_peak):,} servers",
        "Largest need over the day: "
        + ", ".join(
            f"{name} {n:,} (first at {_clock(plan.interval_starts_s[k])})" for name, n, k in largest
        )
        + f"; together {sum(n for _, n, _ in largest):,}",
        textwrap.fill(
            "mean/s and peak/s: arrivals (sessions/s) over the row; servers: the most needed"
            " at any moment of the row, where a server is one request"
            " at a time (a worker, thread or pooled connection), not a machine; load"
            " (erlangs), util, p95 and P(wait): at the row's peak load with those servers.",
            width=100,
        ),
        "Budgets are per tier: each tier meets every budget on its own.",
        *([f"! {_above_max(plan)}"] if _above_max(plan) else []),
    ]


def _above_max(plan: CapacityPlan) -> str:
    """``''`` when every tier fits its ``max_servers``; else which tiers, and when."""
    starts = plan.interval_starts_s
    over = [
        f"{t.name} at {', '.join(_clock(starts[i]) for i in np.flatnonzero(t.exceeds_max))}"
        for t in plan.tiers
        if t.exceeds_max.any()
    ]
    return f"needs more than max_servers: {'; '.join(over)}" if over else ""


def _clock(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "-"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"
