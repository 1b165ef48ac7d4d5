"""A :class:`~planning.provision.Provision` as text and as JSON."""

from __future__ import annotations

from typing import Any

import numpy as np

from dvcschema.units import format_duration_s
from planning.clock import clock
from planning.provision import Connections, Provision, RateCheck, TierProvision

_GIB = 1024**3


def lines(prov: Provision, budget_note: str = "") -> list[str]:
    """The purchase per tier, connections, dependencies' rates, then the day's cost."""
    out = [f"Provisioning: {policy_text(prov)}{budget_note}"]
    for tier in prov.tiers:
        out += _tier_summary(prov, tier)
    out += [_rate_line(r) for r in prov.rates]
    if prov.connections:
        out.append("  connections (pools opened against max_connections, at the worst hour)")
        out += [_connection_line(prov, c) for c in prov.connections]
    out += _cost_lines(prov)
    out += [f"  note: {n}" for n in prov.notes]
    for tier in prov.tiers:
        if tier.bought:
            out += ["", *_hourly(prov, tier)]
    return out


def policy_text(prov: Provision) -> str:
    policy = prov.policy
    basis = prov.tiers[0].basis if prov.tiers else "central"
    basis = "the central plan's servers" if basis == "central" else f"the {basis} of servers"
    parts = [basis]
    if policy.zones > 1:
        parts.append(f"over {policy.zones} zones, surviving the loss of one (N+1)")
    else:
        parts.append("one zone (no zone loss covered)")
    if policy.floor is not None:
        parts.append(
            f"a floor from {clock(policy.floor.start_s)} of {policy.floor.share:.0%}"
            " of the day's largest"
        )
    lead = format_duration_s(policy.lead_time_s) if policy.lead_time_s > 0 else "none given"
    parts.append(f"autoscaling lead time {lead}")
    if not policy.given:
        parts.append("(the default policy: no capacity.policy in the scenario)")
    return "; ".join(parts)


def _tier_summary(prov: Provision, tier: TierProvision) -> list[str]:
    i = int(np.argmax(tier.need))
    when = (
        f"{clock(prov.interval_starts_s[i])}-{clock(prov.interval_starts_s[i] + prov.interval_s)}"
    )
    if not tier.bought:
        return [f"  {tier.tier:<9}{tier.reasons[0]}; {int(tier.need[i]):,} servers at {when}"]
    assert tier.instances is not None and tier.resources is not None
    n = int(tier.instances.max())
    head = (
        f"  {tier.tier:<9}{n:,} instances at the most ({tier.resources.servers_per_instance:,}"
        f" servers each); {int(tier.need[i]):,} {tier.basis} servers at {when}"
    )
    buy = _buy_text(tier, n)
    out = [head]
    if buy:
        out.append(f"{'':11}buy: {buy}")
    out += [f"{'':11}why: {r}" for r in tier.reasons]
    out.append(f"{'':11}must run: {_must_run_text(prov, tier)}")
    hours = float(np.sum(tier.instance_hours))  # type: ignore[arg-type]
    static = tier.static_instance_hours(prov.hours)
    cost, static_cost = tier.cost(), tier.static_cost(prov.hours)
    money = ""
    if cost is not None and static_cost is not None:
        money = f" = {float(np.sum(cost)):,.2f} {prov.currency} scaled, {static_cost:,.2f} static"
    out.append(
        f"{'':11}instance-hours: {hours:,.1f} scaled (with booting), {static:,.1f} static"
        f" ({n:,} all {prov.hours:g} h){money}"
    )
    return out


def _must_run_text(prov: Provision, tier: TierProvision) -> str:
    lead = format_duration_s(prov.policy.lead_time_s)
    text = f"never fewer than {tier.floor:,} instances"
    if tier.floor_from_s is not None and tier.instances is not None:
        text = (
            f"{tier.floor:,} instances from {clock(tier.floor_from_s)} (the floor),"
            f" never fewer than {int(tier.instances.min()):,} before"
        )
    return (
        f"{text}; each interval's count already serving at its start, so a scale-up is asked"
        f" for {lead} before (the table below)"
    )


def _buy_text(tier: TierProvision, n: int) -> str:
    r = tier.resources
    assert r is not None
    parts = []
    if r.vcpu is not None:
        parts.append(f"{n * r.vcpu:,.0f} vCPU")
    if r.memory_bytes is not None:
        parts.append(f"{n * r.memory_bytes / _GIB:,.0f} GiB memory")
    return f"{n:,} instances = " + ", ".join(parts) + " at the most" if parts else ""


def _rate_line(r: RateCheck) -> str:
    p90 = f" (P90 {r.p90_per_s:,.1f}/s)" if r.p90_per_s is not None else ""
    share = f"{r.central_per_s / r.limit_per_s:.0%}"
    if r.p90_per_s is not None:
        share += f" ({r.p90_per_s / r.limit_per_s:.0%})"
    verdict = "OVER THE LIMIT" if r.over_limit else "within"
    return (
        f"  {r.tier:<9}rate limit {r.limit_per_s:,.1f}/s: needs {r.central_per_s:,.1f}/s at its"
        f" busiest{p90}, {share} of the limit: {verdict}"
    )


def _connection_line(prov: Provision, c: Connections) -> str:
    by = " + ".join(f"{name} {n:,} x {pool:,}" for name, n, pool in c.opened_by) or "none"
    limit = "no max_connections given"
    if c.limit is not None:
        limit = f"against {c.limit:,} ({c.opened / max(c.limit, 1):.0%})"
    verdict = []
    if c.over_limit:
        verdict.append("OVER max_connections")
    if c.pool_short:
        verdict.append("POOLS TOO SMALL: requests queue for a connection")
    at = clock(prov.interval_starts_s[c.interval])
    return (
        f"{'':4}{c.tier:<9}{by} = {c.opened:,} opened {limit} at {at}; {c.needed:,} needed"
        f" in flight: {', '.join(verdict) or 'enough'}"
    )


def _cost_lines(prov: Provision) -> list[str]:
    total = prov.cost_total()
    if total is None:
        return ["  cost: no price_per_hour given"]
    scaled, static = total
    priced = ", ".join(t.tier for t in prov.tiers if t.cost() is not None)
    return [
        f"  cost of the {prov.hours:g} h: {scaled:,.2f} {prov.currency} scaled hour by hour"
        f" (with booting), {static:,.2f} static (the largest count all day); tiers priced: {priced}"
    ]


def _hourly(prov: Provision, tier: TierProvision) -> list[str]:
    assert tier.instances is not None and tier.instance_hours is not None
    vcpu, memory, cost = tier.vcpu(), tier.memory_bytes(), tier.cost()
    lead = prov.policy.lead_time_s
    out = [
        f"{tier.tier}: instances per interval ({tier.basis} servers); each must already run at"
        f" the row's start, so a scale-up is asked for {format_duration_s(lead)} before",
        f"  {'time':<13}{'servers':>8}{'instances':>10}{'ask by':>9}{'vCPU':>8}{'memory':>10}"
        f"{'inst-h':>8}{'cost':>10}",
    ]
    prev = 0
    for k, start in enumerate(prov.interval_starts_s):
        n = int(tier.instances[k])
        ask = clock(start - lead) if n > prev and k > 0 else "-"
        prev = n
        out.append(
            f"  {clock(start)}-{clock(start + prov.interval_s):<7}{int(tier.need[k]):>8,}{n:>10,}"
            f"{ask:>9}{_num(vcpu, k, '{:,.0f}'):>8}{_gib(memory, k):>10}"
            f"{float(tier.instance_hours[k]):>8.2f}{_num(cost, k, '{:,.2f}'):>10}"
        )
    return out


def _num(values: Any, k: int, fmt: str) -> str:
    return "-" if values is None else fmt.format(float(values[k]))


def _gib(values: Any, k: int) -> str:
    return "-" if values is None else f"{float(values[k]) / _GIB:,.0f} GiB"


def to_json(prov: Provision) -> dict[str, Any]:
    """Plain-Python JSON of the purchase (``json.dumps`` takes it as it is)."""
    total = prov.cost_total()
    return {
        "policy": prov.policy.as_dict(),
        "currency": prov.currency,
        "tiers": {t.tier: _tier_json(prov, t) for t in prov.tiers},
        "connections": [
            {
                "tier": c.tier,
                "start_s": float(prov.interval_starts_s[c.interval]),
                "opened": c.opened,
                "limit": c.limit,
                "needed": c.needed,
                "opened_by": [{"tier": n, "instances": k, "pool": p} for n, k, p in c.opened_by],
                "over_limit": c.over_limit,
                "pool_short": c.pool_short,
            }
            for c in prov.connections
        ],
        "rate_limits": [
            {
                "tier": r.tier,
                "limit_per_s": r.limit_per_s,
                "start_s": float(prov.interval_starts_s[r.interval]),
                "required_per_s": r.central_per_s,
                "required_p90_per_s": r.p90_per_s,
                "over_limit": r.over_limit,
            }
            for r in prov.rates
        ],
        "cost": None if total is None else {"scaled": total[0], "static": total[1]},
        "notes": list(prov.notes),
    }


def _tier_json(prov: Provision, t: TierProvision) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bought": t.bought,
        "basis": t.basis,
        "reasons": list(t.reasons),
        "servers": [int(x) for x in t.need],
    }
    if not t.bought:
        return out
    assert t.instances is not None and t.resources is not None
    vcpu, memory, cost = t.vcpu(), t.memory_bytes(), t.cost()
    out.update(
        servers_per_instance=t.resources.servers_per_instance,
        instances=[int(x) for x in t.instances],
        peak_instances=t.peak_instances,
        must_run={"floor": t.floor, "from_s": t.floor_from_s, "per_interval": "instances"},
        vcpu=None if vcpu is None else [float(x) for x in vcpu],
        memory_bytes=None if memory is None else [int(x) for x in memory],
        instance_hours=[float(x) for x in t.instance_hours],  # type: ignore[union-attr]
        instance_hours_static=t.static_instance_hours(prov.hours),
        cost=None if cost is None else [float(x) for x in cost],
        cost_scaled=None if cost is None else float(np.sum(cost)),
        cost_static=t.static_cost(prov.hours),
    )
    return out
