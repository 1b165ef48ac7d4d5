"""A spike's scale-up (:mod:`planning.leadtime`) as text and as JSON."""

from __future__ import annotations

import math
import textwrap
from typing import Any

from dvcschema.units import format_duration_s
from models import FluidPath
from planning.clock import clock
from planning.leadtime import LeadTime, Reaction, SpikeScaleUp, TierScaleUp

CASE_NAMES = {"plain": "no abandonment", "abandonment": "patience", "retries": "+ retries"}


def lines(result: LeadTime) -> list[str]:
    """The scale-up of each spike as text, a block per tier (clock times, requests, waits)."""
    lead = format_duration_s(result.lead_time_s) if result.lead_time_s else "0s"
    out = textwrap.wrap(
        f"Autoscaling lead time {lead}: each spike detected as it starts, its servers running"
        f" {lead} later; until then each tier runs the plan without spikes. Fluid model of"
        " each tier (models/fluid.py): the backlog grows at arrivals - servers / service time;"
        " waits first come, first served, of a request that does not give up.",
        width=100,
        subsequent_indent="  ",
    )
    for s in result.spikes:
        out.append(f"Spike {s.spike.describe()}: its servers from {clock(s.servers_at_s)}")
        for t in s.tiers:
            out += _tier_lines(t, s, result)
    return out


def _tier_lines(t: TierScaleUp, s: SpikeScaleUp, result: LeadTime) -> list[str]:
    rate_before = t.servers_before / t.service_time_s
    rate_after = t.servers_after / t.service_time_s
    out = textwrap.wrap(
        f"{t.tier}: {t.servers_before:,} servers ({rate_before:,.1f} requests/s) until"
        f" {clock(s.servers_at_s)}, then {t.servers_after:,} ({rate_after:,.1f}/s);"
        f" {t.requests_per_s:,.1f} requests/s arrive",
        width=100,
        initial_indent="  ",
        subsequent_indent="    ",
    )
    out += [
        f"    {'case':<28}{'max backlog':>13}{'at':>10}{'max wait':>11}"
        f"{'arrived':>10}{'drained':>10}{'gave up':>12}",
    ]
    for name, path in t.cases():
        drained = clock(path.drained_at_s) if path.drained_at_s is not None else "not by end"
        out.append(
            f"    {_case_label(name, result.reaction):<28}{path.max_backlog:>13,.0f}"
            f"{clock(path.max_backlog_at_s):>10}{_wait(path.max_wait_s):>11}"
            f"{clock(path.max_wait_at_s):>10}{drained:>10}{path.total_lost:>12,.0f}"
        )
    if t.must_run is not None and t.wait_limit_s is not None:
        out += textwrap.wrap(
            f"must run >= {t.must_run:,} servers before the spike to keep the fluid wait under"
            f" {format_duration_s(t.wait_limit_s)} (the plan runs {t.servers_before:,})",
            width=100,
            initial_indent="    ",
            subsequent_indent="      ",
        )
    return out


def _case_label(name: str, reaction: Reaction) -> str:
    if name == "abandonment" and reaction.patience_s is not None:
        return f"patience {format_duration_s(reaction.patience_s)}"
    if name == "retries" and reaction.retry_delay_s is not None:
        return (
            f"+ {reaction.retry_fraction:.0%} retry after"
            f" {format_duration_s(reaction.retry_delay_s)}"
        )
    return CASE_NAMES[name]


def _wait(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return format_duration_s(round(seconds, 1))


def to_json(result: LeadTime) -> dict[str, Any]:
    """The scale-up as plain Python types (``json.dumps`` takes it as it is)."""
    r = result.reaction
    return {
        "lead_time_s": result.lead_time_s,
        "step_s": result.step_s,
        "detection": "at the spike's start",
        "model": "fluid (models/fluid.py)",
        "patience_s": r.patience_s,
        "retry_fraction": r.retry_fraction,
        "retry_delay_s": r.retry_delay_s,
        "spikes": [
            {
                "factor": s.spike.factor,
                "start_s": s.spike.start_s,
                "length_s": s.spike.length_s,
                "servers_at_s": s.servers_at_s,
                "tiers": {t.tier: _tier_json(t) for t in s.tiers},
            }
            for s in result.spikes
        ],
    }


def _tier_json(t: TierScaleUp) -> dict[str, Any]:
    return {
        "service_time_s": t.service_time_s,
        "visits": t.visits,
        "servers_before": t.servers_before,
        "servers_after": t.servers_after,
        "requests_per_s": t.requests_per_s,
        "cases": {name: _path_json(path) for name, path in t.cases()},
        "must_run": (
            None if t.must_run is None else {"servers": t.must_run, "wait_limit_s": t.wait_limit_s}
        ),
    }


def _path_json(path: FluidPath) -> dict[str, Any]:
    return {
        "max_backlog": path.max_backlog,
        "max_backlog_at_s": path.max_backlog_at_s,
        "max_wait_s": path.max_wait_s if math.isfinite(path.max_wait_s) else None,
        "max_wait_arrived_at_s": path.max_wait_at_s,
        "drained_at_s": path.drained_at_s,
        "abandoned": path.total_abandoned,
        "gave_up": path.total_lost,
        "retried": float(path.retried[-1]),
    }
