"""A simulated check of a plan (:mod:`planning.simcheck`) as text and as JSON."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import Any

from dvcschema.units import format_duration_s
from models import TierBudget
from models.simulation import Estimate
from planning.clock import clock
from planning.simcheck import (
    UTILIZATION_CHECKED,
    BudgetCheck,
    Correction,
    RowCheck,
    SimCheck,
    TierCheck,
)


def lines(check: SimCheck, corrections: tuple[Correction, ...] | None = None) -> list[str]:
    """The check as text: how it was simulated, a table per tier, what was missed, and
    the servers :func:`~planning.simcheck.iterate_staffing` added (when given)."""
    notes = (
        f"each row: {check.replications} replications of a window of >= {check.customers:,}"
        " arrivals from the row's busiest step of the plan's grid (the whole row when it has"
        " fewer), after a warm-up with the curve's own rates and the servers then on duty;"
        " customers: those measured, over all replications. util: the row's peak offered"
        " load / its servers (planned); ± one standard error; [95% interval]; NOT MET: the"
        " estimate is above the target; CI covers: the interval holds the target (a"
        " borderline row)"
    )
    out = [
        f"Simulated check of the schedule of {check.name!r} (Ciw, time-varying;"
        " Feldman, Mandelbaum, Massey & Whitt 2008)",
        *textwrap.wrap(notes, width=100, initial_indent="  ", subsequent_indent="  "),
    ]
    for tier in check.tiers:
        out += ["", *_tier_lines(tier, check.interval_s)]
    out += ["", *_summary(check)]
    if corrections is not None:
        out += ["", *_correction_lines(corrections, check.interval_s)]
    return out


def _correction_lines(corrections: tuple[Correction, ...], interval_s: float) -> list[str]:
    if not corrections:
        return ["Iterative staffing (Feldman et al. 2008): nothing to correct."]
    out = [
        "Iterative staffing (Feldman et al. 2008): each row that missed gets one more server"
        " at a time, simulated again (same seeds), at most 3:"
    ]
    for c in corrections:
        when = f"{clock(c.row.start_s)}-{clock(c.row.start_s + interval_s)}"
        result = (
            "meets its targets" if c.fixed.met else "still NOT MET: " + ", ".join(c.fixed.missed)
        )
        out.append(
            f"  {c.tier:<9}{when}: {c.row.servers:,} -> {c.fixed.servers:,} servers"
            f" (+{c.added}); P(wait) {_estimate_text('prob_wait', c.fixed.prob_wait)},"
            f" p95 {_estimate_text('response_quantile', c.fixed.p95_response_s)}: {result}"
        )
    return out


def _tier_lines(tier: TierCheck, interval_s: float) -> list[str]:
    labels = [b.label for b in tier.rows[0].budgets] if tier.rows else []
    columns = _columns(tier.rows[0].budgets if tier.rows else (), interval_s)
    table = [[h for h, _ in columns]] + [[cell(r) for _, cell in columns] for r in tier.rows]
    widths = [max(len(r[j]) for r in table) for j in range(len(columns))]
    left = {0, 3, len(columns) - 1}
    return [
        f"{tier.name}: {_duration(tier.service_time_s)} per request (cv {tier.cv:.3g}),"
        f" {tier.visits:g} visits per session; budgets {', '.join(labels)}",
        *(
            "  "
            + "  ".join(
                c.ljust(w) if j in left else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in table
        ),
    ]


def _columns(
    budgets: tuple[BudgetCheck, ...], interval_s: float
) -> list[tuple[str, Callable[[RowCheck], str]]]:
    """The table's columns: the row, P(wait) and p95 (with their budget), other budgets."""
    kinds = [b.budget for b in budgets]
    pw = next((j for j, b in enumerate(kinds) if b.kind == "prob_wait"), None)
    p95 = next((j for j, b in enumerate(kinds) if _is_p95(b)), None)

    def of(j: int) -> Callable[[RowCheck], str]:
        return lambda r: _estimate_text(r.budgets[j].budget.kind, r.budgets[j].achieved)

    cols: list[tuple[str, Callable[[RowCheck], str]]] = [
        ("time", lambda r: f"{clock(r.start_s)}-{clock(r.start_s + interval_s)}"),
        ("servers", lambda r: f"{r.servers:,}"),
        ("util", lambda r: f"{r.utilization:.2f}"),
        ("window", lambda r: f"{clock(r.window_s[0])}+{_span(r.window_s[1] - r.window_s[0])}"),
        ("customers", lambda r: f"{r.customers:,}"),
        ("P(wait)", lambda r: _estimate_text("prob_wait", r.prob_wait))
        if pw is None
        else (budgets[pw].label, of(pw)),
        ("p95", lambda r: _estimate_text("response_quantile", r.p95_response_s))
        if p95 is None
        else (budgets[p95].label, of(p95)),
    ]
    cols += [
        (b.label, of(j))
        for j, b in enumerate(budgets)
        if j not in (pw, p95) and b.budget.kind != "max_utilization"
    ]
    return [*cols, ("verdict", _verdict)]


def _is_p95(budget: TierBudget) -> bool:
    return budget.kind == "response_quantile" and budget.quantile == 0.95


def _estimate_text(kind: str, e: Estimate) -> str:
    if not math.isfinite(e.value):
        return "-"
    if kind in ("prob_wait", "max_utilization"):
        return f"{e.value:.3f} ± {e.se:.3f}"
    if kind == "mean_wait":
        return f"{_duration(e.value)} ± {_duration(e.se)}"
    scale, unit = (1000.0, "ms") if e.value < 1 else (1.0, "s")
    return f"{e.value * scale:.3g} {unit} [{e.low * scale:.3g}, {e.high * scale:.3g}]"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _span(seconds: float) -> str:
    return format_duration_s(round(seconds, 1) if seconds < 60 else round(seconds))


def _verdict(row: RowCheck) -> str:
    text = "met" if row.met else "NOT MET: " + ", ".join(row.missed)
    return text + (f" (CI covers {', '.join(row.borderline)})" if row.borderline else "")


def _summary(check: SimCheck) -> list[str]:
    """One line per tier (the rows it missed), then the rule on utilisation."""

    def span(r: RowCheck) -> str:
        return f"{clock(r.start_s)}-{clock(r.start_s + check.interval_s)}"

    def why(r: RowCheck) -> str:
        noise = "; the interval holds the target" if set(r.missed) <= set(r.borderline) else ""
        return f"{span(r)} ({', '.join(r.missed)}; util {r.utilization:.2f}{noise})"

    out = [
        f"{t.name}: missed at {', '.join(why(r) for r in t.missed())}"
        if t.missed()
        else f"{t.name}: every row meets its targets"
        for t in check.tiers
    ]
    low = [(t.name, r) for t in check.tiers for r in t.missed(UTILIZATION_CHECKED)]
    clear = [f"{name} {span(r)}" for name, r in low if not set(r.missed) <= set(r.borderline)]
    noisy = [f"{name} {span(r)}" for name, r in low if set(r.missed) <= set(r.borderline)]
    limit = f"{UTILIZATION_CHECKED:g}"
    if clear:
        out.append(f"! rows at or below utilisation {limit} that miss a target: {', '.join(clear)}")
    if noisy:
        out.append(
            f"! rows at or below utilisation {limit} above a target within the simulation's"
            f" noise (the 95% interval holds the target; more customers would decide): "
            + ", ".join(noisy)
        )
    if not low:
        out.append(f"Every row at or below utilisation {limit} meets its targets.")
    return out


def to_json(check: SimCheck, corrections: tuple[Correction, ...] | None = None) -> dict[str, Any]:
    """The check as plain Python types (``json.dumps`` takes it as it is)."""
    return {
        "corrections": None
        if corrections is None
        else [
            {
                "tier": c.tier,
                "start_s": c.row.start_s,
                "servers_planned": c.row.servers,
                "servers": c.fixed.servers,
                "met": c.fixed.met,
                "row": _row_json(c.fixed, check.interval_s),
            }
            for c in corrections
        ],
        "customers": check.customers,
        "replications": check.replications,
        "seed": check.seed,
        "utilization_checked": UTILIZATION_CHECKED,
        "met": check.met,
        "tiers": {
            t.name: {
                "missed_rows_start_s": [r.start_s for r in t.missed()],
                "rows": [_row_json(r, check.interval_s) for r in t.rows],
            }
            for t in check.tiers
        },
    }


def _row_json(row: RowCheck, interval_s: float) -> dict[str, Any]:
    return {
        "start_s": row.start_s,
        "end_s": row.start_s + interval_s,
        "servers": row.servers,
        "utilization": row.utilization,
        "window_s": list(row.window_s),
        "warmup_from_s": row.warmup_from_s,
        "customers": row.customers,
        "prob_wait": _estimate_json(row.prob_wait),
        "p95_response_s": _estimate_json(row.p95_response_s),
        "budgets": [
            {
                "budget": b.label,
                "kind": b.budget.kind,
                "target": b.budget.value,
                "quantile": b.budget.quantile,
                "achieved": _estimate_json(b.achieved),
                "met": b.met,
                "borderline": b.borderline,
            }
            for b in row.budgets
        ],
        "met": row.met,
    }


def _estimate_json(e: Estimate) -> dict[str, float | None]:
    def finite(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    return {
        "value": finite(e.value),
        "se": finite(e.se),
        "low": finite(e.low),
        "high": finite(e.high),
    }
