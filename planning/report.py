"""The text report of a plan: every figure next to where it comes from.

The schedule (a table per tier, P50/P90 of the Monte Carlo next to the central plan's
servers), the assumptions, the derivation of the arrival peak (each named input with
its range and source, each named formula, with central value, P50 and P90), the
ranges of the tiers' inputs, the peak hour by hand, and latency against servers at the
peak hour. The figures come from :class:`planning.plan.PlanRun`; this module only lays
them out, with the one clock format of :func:`planning.clock.clock`.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from dvcschema.capacity import CapacitySpec, TierSpec
from dvcschema.capacity_inputs import Figure
from dvcschema.units import format_duration_s
from models import CapacityPlan
from models.plan import TierPlan
from planning.clock import clock
from planning.held import HeldTime
from planning.journeys import lines as journey_lines
from planning.leadtime_text import lines as scale_up_lines
from planning.montecarlo import MonteCarlo
from planning.plan import PlanRun
from planning.provision import provision
from planning.provision_text import lines as provision_lines
from planning.sensitivity import lines as tornado_lines
from planning.sensitivity import tornado
from planning.storage import lines as storage_lines
from planning.tables import LatencyTable
from planning.text import figure, fill

METHOD_NAMES = {
    "mol": "MOL, modified offered load (Jennings, Mandelbaum, Massey & Whitt 1996)",
    "psa": (
        "PSA, pointwise stationary approximation (Green & Kolesar 1991;"
        " review: Green, Kolesar & Whitt 2007)"
    ),
}


def report(run: PlanRun) -> str:
    """The whole text report, blocks separated by blank lines."""
    plan, i = run.plan, run.peak
    parts = [
        _assumptions(run),
        derivation_lines(run.spec, run.mc),
        tornado_lines(tornado(run.spec.derivation)) if run.spec.derivation is not None else [],
        *(_tier_table(run, tp) for tp in plan.tiers),
        by_hand_lines(run.hand, plan, i),
        latency_lines(run.latency, plan, i),
        storage_lines(run.storage) if run.storage is not None else [],
        journey_lines(run.journeys) if run.journeys is not None else [],
        scale_up_lines(run.scale_up) if run.scale_up is not None else [],
        _peak_summary(run),
        provision_lines(provision(run)),
    ]
    return "\n\n".join("\n".join(lines) for lines in parts if lines)


def _assumptions(run: PlanRun) -> list[str]:
    spec, plan, curve = run.spec, run.plan, run.curve
    start, end = float(curve.times_s[0]), float(curve.times_s[-1])
    grid_s = spec.resolution_s or plan.interval_s / 60
    sessions = float(np.trapezoid(curve.rate_per_s, curve.times_s))
    derived = " (the shape in arrivals x the derived peak)" if spec.derivation else ""
    notes = [
        (
            "method",
            f"{METHOD_NAMES[plan.method]}; servers checked every"
            f" {format_duration_s(grid_s)}, rows of {format_duration_s(plan.interval_s)}",
        ),
        (
            "arrivals",
            f"{spec.arrivals.kind}{derived}, in sessions/s by clock time: peak"
            f" {float(curve.rate_per_s.max()):,.1f}/s, {sessions:,.0f}"
            f" sessions over {clock(start)}-{clock(end)}",
        ),
        ("from", spec.arrivals.source),
        *(("note", n) for n in run.notes),
        (
            "surge",
            f"x{run.surge:g}: every arrival rate multiplied (a what-if)" if run.surge != 1 else "",
        ),
        *(("spike", f"{s.describe()}: arrivals multiplied (a what-if)") for s in run.spikes),
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
    lines = [f"Capacity plan for {run.name!r} ({run.source})"]
    lines += [_wrapped(label, text) for label, text in notes if text]
    lines += [f"{'':12}{t.name:<10} {_budget_text(spec, t)}" for t in spec.tiers]
    lines.append(f"  {'demands':<10}{'tier':<10} service time  cv     visits/session  max servers")
    lines += [
        f"{'':12}{t.name:<10} {_held_mark(run, t):<13} {t.cv:<6.3g}"
        f" {t.visits:<15g} {t.max_servers if t.max_servers is not None else '-'}"
        for t in spec.tiers
    ]
    lines += [_wrapped("held", _held_text(h)) for h in run.held.values()]
    lines += [
        _wrapped("limit", f"{t.name}: a dependency with a rate limit of {t.rate_limit_per_s:,g}/s")
        for t in spec.tiers
        if t.rate_limit_per_s is not None
    ]
    ranges = range_lines(run.declared or spec)
    if ranges:
        lines.append(f"  {'ranges':<10}(the demands above are their central values)")
        lines += ranges
    if run.mc is not None:
        lines.append(_wrapped("samples", _mc_note(run.mc, plan.method)))
    return lines


def _held_mark(run: PlanRun, tier: TierSpec) -> str:
    """A tier's service time as staffed; ``held`` when it includes its calls."""
    if tier.name in run.held:  # a computed holding time: to the tenth of a millisecond
        return f"{format_duration_s(round(tier.service_time_s, 4))} held"
    return format_duration_s(round(tier.service_time_s, 7))


def _held_text(held: HeldTime) -> str:
    calls = " + ".join(f"{c.per_request:g} x {c.tier} {_ms(c.response_s)}" for c in held.calls)
    return (
        f"{held.tier}: a server is held through its calls: {_ms(held.own_s)} own"
        f" + {calls} (each call's mean response at its tier's plan, worst hour) ="
        f" {_ms(held.mean_s)} per request, cv {held.cv:.3g}"
        " (the service time above; planning/held.py); a range below is its own work's,"
        " shifted by the calls when sampled"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _mc_note(mc: MonteCarlo, method: str) -> str:
    lag = (
        " MOL's lag is computed for 16 service times across each range and interpolated."
        if method == "mol"
        else ""
    )
    return (
        f"{mc.samples:,} Monte Carlo samples (seed {mc.seed}): every range drawn on its own"
        f" (uniform, or log-uniform), each sample staffed like the central plan; P50 and P90"
        f" are the servers half and nine in ten of the samples need at most (sample values,"
        f" not interpolated). The P50 may differ from the central plan: the median of a"
        f" product of ranges is not the product of their medians.{lag}"
    )


def _wrapped(label: str, text: str) -> str:
    return textwrap.fill(
        text, width=100, initial_indent=f"  {label:<10}", subsequent_indent=" " * 12
    )


def _budget_text(spec: CapacitySpec, tier: TierSpec) -> str:
    return ", ".join(b.expression + (" (own)" if b.tier else "") for b in spec.budgets_for(tier))


def _header(time_width: int) -> str:
    return (
        f"  {'time':<{time_width}}  {'mean/s':>10}  {'peak/s':>8}  {'load (E)':>9}"
        f"  {'servers':>8}  {'util':>5}  {'p95':>9}  {'P(wait)':>7}"
    )


def _tier_table(run: PlanRun, tp: TierPlan) -> list[str]:
    spec, plan = run.spec, run.plan
    tier = next(t for t in spec.tiers if t.name == tp.name)
    spread = run.mc.tier_percentiles(tp.name) if run.mc is not None else None
    cap = f"; at most {tier.max_servers:,} servers" if tier.max_servers is not None else ""
    times = [f"{clock(s)}-{clock(s + plan.interval_s)}" for s in plan.interval_starts_s]
    width = max(11, *map(len, times))  # HH:MM-HH:MM, wider for times off the minute
    lines = [
        f"{tier.name}: {_held_mark(run, tier)} per request (cv {tier.cv:.3g}),"
        f" {tier.visits:g} visits per session{cap}",
        _header(width) + (f"  {'P50':>6}  {'P90':>6}" if spread is not None else ""),
    ]
    for i, span in enumerate(times):
        mark = "  <- peak" if i == run.peak else ""
        if tp.exceeds_max[i]:
            mark += "  ! above max_servers"
        mc = f"  {spread[0, i]:>6,}  {spread[1, i]:>6,}" if spread is not None else ""
        lines.append(
            f"  {span:<{width}}"
            f"  {plan.mean_arrival_rate_per_s[i]:>10,.1f}  {plan.peak_arrival_rate_per_s[i]:>8,.1f}"
            f"  {tp.peak_offered_load[i]:>9,.1f}  {int(tp.servers[i]):>8,}"
            f"  {tp.utilization[i]:>5.2f}  {_duration(tp.p95_response_s[i]):>9}"
            f"  {tp.prob_wait[i]:>7.3f}{mc}{mark}"
        )
    return lines


def _peak_summary(run: PlanRun) -> list[str]:
    plan, i = run.plan, run.peak
    start = plan.interval_starts_s[i]
    at_peak = [(t.name, int(t.servers[i])) for t in plan.tiers]
    largest = [(t.name, int(t.servers.max()), int(t.servers.argmax())) for t in plan.tiers]
    lines = [
        f"Peak {clock(start)}-{clock(start + plan.interval_s)} (arrivals up to"
        f" {plan.peak_arrival_rate_per_s[i]:,.1f} sessions/s), servers per tier: "
        + ", ".join(f"{name} {n:,}" for name, n in at_peak)
        + " (each tier's own kind of server, never added up: see Provisioning)",
    ]
    if run.mc is not None:
        spread = {t.name: run.mc.tier_percentiles(t.name)[:, i] for t in plan.tiers}
        for k, label in enumerate(("P50", "P90")):
            lines.append(
                f"  {label} of {run.mc.samples:,} samples: "
                + ", ".join(f"{name} {int(v[k]):,}" for name, v in spread.items())
            )
    lines += [
        "Largest need over the day: "
        + ", ".join(
            f"{name} {n:,} (first at {clock(plan.interval_starts_s[k])})" for name, n, k in largest
        ),
        textwrap.fill(
            "mean/s and peak/s: arrivals (sessions/s) over the row; servers: the most needed"
            " at any moment of the row, where a server is one request"
            " at a time (a worker, thread or pooled connection), not a machine; load"
            " (erlangs), util, p95 and P(wait): at the row's peak load with those servers.",
            width=100,
        ),
        "Budgets are per tier: each tier meets every budget on its own.",
        *([f"! {above_max(plan)}"] if above_max(plan) else []),
        *([f"! {_p90_above_max(run)}"] if _p90_above_max(run) else []),
    ]
    return lines


def above_max(plan: CapacityPlan) -> str:
    """``''`` when every tier fits its ``max_servers``; else which tiers, and when."""
    starts = plan.interval_starts_s
    over = [
        f"{t.name} at {', '.join(clock(starts[i]) for i in np.flatnonzero(t.exceeds_max))}"
        for t in plan.tiers
        if t.exceeds_max.any()
    ]
    return f"needs more than max_servers: {'; '.join(over)}" if over else ""


def _p90_above_max(run: PlanRun) -> str:
    """A warning (not a failure) when the P90 of some tier needs more than max_servers."""
    if run.mc is None:
        return ""
    over = [
        f"{t.name} (P90 {int(run.mc.tier_percentiles(t.name)[1].max()):,} > {t.max_servers:,})"
        for t in run.spec.tiers
        if t.max_servers is not None
        and int(run.mc.tier_percentiles(t.name)[1].max()) > t.max_servers
    ]
    return (
        f"P90 above max_servers (a risk; the exit code follows the central plan): {', '.join(over)}"
        if over
        else ""
    )


# -- the derivation ---------------------------------------------------------------------------
def derivation_lines(spec: CapacitySpec, mc: MonteCarlo | None) -> list[str]:
    """The derivation of the peak: a line of values per figure, then its formula or source."""
    derivation = spec.derivation
    if derivation is None:
        return []
    central = derivation.central()
    used = derivation.depends_on(derivation.peak)
    lines = [
        fill(
            "Derivation of the arrival peak: named inputs (range, source) and formulas, in"
            " order. central: every input at the median of its range; P50, P90: over the"
            " samples (blank where nothing varies); a cross-check is printed, not used by the peak"
        ),
        f"  {'figure':<30} {'central':>12} {'P50':>12} {'P90':>12}  unit",
    ]
    for name, value in derivation.builtins:
        lines.append(f"  {name:<30} {figure(value):>12} {'':>12} {'':>12}  hours")
        lines.append(fill("the day's sessions / its peak rate, from the shape in arrivals", 6))
    for fig in derivation.figures:
        p50, p90 = ("", "")
        if mc is not None:
            values = mc.figure_percentiles(fig.name)
            if not np.all(values == central[fig.name]):
                p50, p90 = (figure(v) for v in values)
        role = (
            "<- the peak"
            if fig.name == derivation.peak
            else ""
            if fig.name in used
            else "(cross-check)"
        )
        tail = "  ".join(x for x in (fig.unit, role) if x)
        lines.append(
            f"  {fig.name:<30} {figure(central[fig.name]):>12} {p50:>12} {p90:>12}  {tail}".rstrip()
        )
        lines.append(fill(_explain(fig), 6))
    return lines


def _explain(fig: Figure) -> str:
    if fig.quantity is None:
        return f"= {fig.formula}" + (f" ({fig.note})" if fig.note else "")
    return f"{fig.quantity.describe(figure)}; {fig.quantity.source}"


def range_lines(spec: CapacitySpec) -> list[str]:
    """The tiers' inputs given as ranges or with a source."""
    lines = []
    for tier in spec.tiers:
        for what, q, show in (
            ("service_time", tier.service_time_input, format_duration_s),
            ("visits", tier.visits_input, figure),
        ):
            if q is not None:
                source = f"; {q.source}" if q.source else ""
                lines.append(
                    textwrap.fill(
                        f"{tier.name:<10} {what:<13} {q.describe(show)}{source}",
                        width=100,
                        initial_indent=" " * 12,
                        subsequent_indent=" " * 36,
                    )
                )
    return lines


def by_hand_lines(hand: dict[str, dict[str, Any]], plan: CapacityPlan, i: int) -> list[str]:
    start = plan.interval_starts_s[i]
    lines = [
        fill(
            f"Peak hour {clock(start)}-{clock(start + plan.interval_s)} by hand (central"
            " values): sessions/s x visits = requests/s; x service time = load (erlangs); the"
            " servers each budget needs at that load; the plan takes the largest"
        )
    ]
    first = next(iter(hand.values()))
    if first["derived_peak_per_s"] is not None:
        lines.append(
            fill(
                f"sessions/s at the row's busiest moment: {first['derived_peak_per_s']:,.2f}"
                f" (the derived peak) x {first['shape_and_what_ifs']:.4g} (the shape there, x"
                " the what-ifs)",
                2,
            )
        )
    for name, h in hand.items():
        needs = ", ".join(f"{b} needs {n:,}" for b, n in h["servers_by_budget"].items())
        lines.append(
            f"  {name:<9} {h['sessions_per_s']:,.2f}/s x {figure(h['visits'])} ="
            f" {h['requests_per_s']:,.2f}/s; x {format_duration_s(round(h['service_time_s'], 7))}"
            f" (cv {h['service_cv']:.3g}) = {h['offered_load']:,.2f} E -> {h['servers']:,} servers"
        )
        lines.append(f"  {'':<9} ({needs})")
    return lines


def latency_lines(tables: list[LatencyTable], plan: CapacityPlan, i: int) -> list[str]:
    start = plan.interval_starts_s[i]
    lines = [
        fill(
            f"Latency against servers at the peak hour ({clock(start)}-"
            f"{clock(start + plan.interval_s)}, its peak load, central inputs): from the fewest"
            " servers that keep the queue stable to ~1.5x the plan; p95 of the response time at"
            " the tier, mean wait in its queue"
        )
    ]
    for t in tables:
        lines += [
            f"  {t.tier}: {t.arrival_rate_per_s:,.2f} requests/s x"
            f" {format_duration_s(t.service_time_s)} = {t.offered_load:,.2f} erlangs",
            f"  {'servers':>9}  {'util':>5}  {'P(wait)':>7}  {'mean wait':>10}  {'p95':>10}",
        ]
        lines += [
            f"  {int(c):>9,}  {t.utilization[k]:>5.2f}  {t.prob_wait[k]:>7.3f}"
            f"  {_duration(t.mean_wait_s[k]):>10}  {_duration(t.p95_response_s[k]):>10}"
            + (f"  <- {t.marks[int(c)]}" if int(c) in t.marks else "")
            for k, c in enumerate(t.servers)
        ]
    return lines


# -- small formats ------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "-"
    if seconds < 1e-5:
        return "< 0.01 ms"
    if seconds < 0.001:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"
