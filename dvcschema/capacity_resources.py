"""What a plan buys: ``capacity.resources`` (per tier) and ``capacity.policy``.

A tier's servers are requests in progress (workers, pooled connections). What is
bought is instances; ``resources`` says how many servers one instance carries, and
what it costs::

    resources:
      web:
        instance: {vcpu: 8, memory: 16GiB}
        servers_per_vcpu: 2          # or servers_per_instance: 16
        memory_per_server: 512MiB    # optional: memory may bound the servers first
        price_per_hour: 0.40         # per instance-hour, in capacity.currency
        min_instances: 2
        pools: {db: 10, payment: 4}  # connections each instance opens to those tiers
      db:
        instance: {vcpu: 16, memory: 64GiB}
        servers_per_vcpu: 1          # one query in flight per core
        max_connections: 400         # per instance (PostgreSQL's max_connections)
        price_per_hour: 1.60
      payment:                       # a tier with rate_limit: a dependency, not bought
        max_connections: 64          # connections its contract allows, in all

    policy:
      provision: P90                 # central, P50 or P90 of the Monte Carlo
      zones: 3                       # survive the loss of one of 3 zones (N+1)
      floor: {from: "14:00", share: 100%}   # from 14:00 keep the day's peak running
      lead_time: 5m                  # autoscaling: from the decision to serving

    abandonment:                     # citizens in a spike's backlog (fluid model)
      patience: 2m                   # mean time before giving up (exponential, Erlang-A)
      retry: 50%                     # of those who give up, the share who come back
      retry_after: 30s               # after this mean delay

Every key is optional but the servers per instance of a tier that is bought. The
policy's utilisation is the budgets' (``utilization < 0.8``): a policy does not
restate a budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from dvcschema.errors import shown
from dvcschema.fields import Fields, one_of
from dvcschema.units import (
    format_duration_s,
    parse_duration_s,
    parse_fraction,
    parse_number,
    parse_size_bytes,
)

PROVISION = ("central", "P50", "P90")
MAX_INSTANCES = 1_000_000
MAX_ZONES = 16
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class TierResources:
    """How one tier's servers map to what is bought (instances, or a dependency's contract).

    ``servers_per_instance`` is ``None`` for a tier that is not bought (a dependency,
    or a tier given only ``max_connections``). ``max_connections`` is per instance for a
    bought tier and in all for a dependency. ``pools`` maps a tier to the connections
    each instance of this tier opens to it.
    """

    tier: str
    servers_per_instance: int | None = None
    vcpu: float | None = None
    memory_bytes: int | None = None
    servers_per_vcpu: float | None = None
    memory_per_server_bytes: int | None = None
    price_per_hour: float | None = None
    min_instances: int = 1
    max_connections: int | None = None
    pools: dict[str, int] = field(default_factory=dict)

    @property
    def servers_by_vcpu(self) -> int | None:
        """Servers the instance's vCPU carry (``None`` without vCPU and servers per vCPU)."""
        return (
            None
            if self.vcpu is None or self.servers_per_vcpu is None
            else (int(self.vcpu * self.servers_per_vcpu + 1e-9))
        )

    @property
    def servers_by_memory(self) -> int | None:
        """Servers the instance's memory holds (``None`` without both sizes)."""
        if self.memory_bytes is None or self.memory_per_server_bytes is None:
            return None
        return self.memory_bytes // self.memory_per_server_bytes

    @property
    def bound_by(self) -> str:
        """What sets the servers per instance: ``given``, ``vcpu``, ``memory`` or ``none``."""
        by_cpu, by_memory = self.servers_by_vcpu, self.servers_by_memory
        if by_cpu is None:
            return "given" if self.servers_per_instance is not None else "none"
        return "memory" if by_memory is not None and by_memory < by_cpu else "vcpu"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"servers_per_instance": self.servers_per_instance}
        if self.vcpu is not None:
            out["instance"] = {"vcpu": self.vcpu, "memory_bytes": self.memory_bytes}
        for key in ("servers_per_vcpu", "memory_per_server_bytes", "price_per_hour"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["min_instances"] = self.min_instances
        if self.max_connections is not None:
            out["max_connections"] = self.max_connections
        if self.pools:
            out["pools"] = dict(self.pools)
        return out


@dataclass(frozen=True)
class Floor:
    """From ``start_s`` (time of day) to the end of the plan, at least ``share`` x the peak."""

    start_s: float
    share: float = 1.0


@dataclass(frozen=True)
class Policy:
    """What to provision: which percentile, over how many zones, the floor, the lead time."""

    provision: str = "central"
    zones: int = 1
    floor: Floor | None = None
    lead_time_s: float = 0.0
    given: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provision": self.provision,
            "zones": self.zones,
            "lead_time": format_duration_s(self.lead_time_s),
        }
        if self.floor is not None:
            out["floor"] = {"from_s": self.floor.start_s, "share": self.floor.share}
        return out


@dataclass(frozen=True)
class Abandonment:
    """How citizens react to waiting in a spike: mean patience (exponential), retries."""

    patience_s: float
    retry_share: float = 0.0
    retry_after_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "patience": format_duration_s(self.patience_s),
            "retry": self.retry_share,
            "retry_after": None
            if self.retry_after_s is None
            else format_duration_s(self.retry_after_s),
        }


def parse_abandonment(section: Fields | None) -> Abandonment | None:
    """``capacity.abandonment: {patience: 2m, retry: 50%, retry_after: 30s}`` (or absent)."""
    if section is None:
        return None
    patience = section.take("patience", _positive_duration)
    share = section.take("retry", parse_fraction, 0.0)
    after = section.take("retry_after", _positive_duration, None)
    if share >= 1:
        raise section.error_at("retry", "100% would retry forever; allowed: below 100%")
    if share > 0 and after is None:
        raise section.error_at("retry", "needs retry_after: the mean delay before a retry")
    section.close()
    return Abandonment(patience, share, after)


def _positive_duration(value: Any) -> float:
    seconds = parse_duration_s(value)
    if not 0 < seconds <= 24 * 3600:
        raise ValueError(f"{shown(value)} is out of range; allowed: above 0s, at most 24h")
    return seconds


def parse_resources(section: Fields | None, tiers: dict[str, bool]) -> dict[str, TierResources]:
    """``capacity.resources``: ``tiers`` maps each tier's name to whether it is a dependency."""
    if section is None:
        return {}
    out = {}
    for name in section.remaining():
        if name not in tiers:
            raise section.error_at(
                name, f"{shown(name)} is not a tier; allowed: {', '.join(sorted(tiers))}"
            )
        sub = section.section(name)
        assert sub is not None
        out[name] = _tier_resources(name, sub, tiers)
    section.close()
    return out


def parse_policy(section: Fields | None) -> Policy:
    """``capacity.policy`` (every key optional)."""
    if section is None:
        return Policy()
    floor_fields = section.section("floor")
    policy = Policy(
        provision=section.take("provision", one_of(*PROVISION), "central"),
        zones=section.take("zones", _count(MAX_ZONES), 1),
        floor=_floor(floor_fields) if floor_fields is not None else None,
        lead_time_s=section.take("lead_time", parse_lead_time, 0.0),
        given=True,
    )
    section.close()
    return policy


def _tier_resources(name: str, fields: Fields, tiers: dict[str, bool]) -> TierResources:
    instance = fields.section("instance")
    vcpu = memory = None
    if instance is not None:
        vcpu = instance.take("vcpu", lambda v: parse_number(v, minimum=0.25, maximum=1024), None)
        memory = instance.take("memory", _size, None)
        instance.close()
    per_vcpu = fields.take(
        "servers_per_vcpu", lambda v: parse_number(v, minimum=0, exclusive_minimum=True), None
    )
    per_server = fields.take("memory_per_server", _size, None)
    given = fields.take("servers_per_instance", _count(MAX_INSTANCES), None)
    pools = _pools(fields, name, tiers)
    resources = TierResources(
        tier=name,
        servers_per_instance=given,
        vcpu=vcpu,
        memory_bytes=memory,
        servers_per_vcpu=per_vcpu,
        memory_per_server_bytes=per_server,
        price_per_hour=fields.take(
            "price_per_hour", lambda v: parse_number(v, minimum=0, maximum=1e9), None
        ),
        min_instances=fields.take("min_instances", _count(MAX_INSTANCES), 1),
        max_connections=fields.take("max_connections", _count(10_000_000), None),
        pools=pools,
    )
    resources = replace(resources, servers_per_instance=_per_instance(fields, resources))
    if tiers[name] and (resources.servers_per_instance is not None or vcpu is not None):
        raise fields.error_at(
            "instance" if vcpu is not None else "servers_per_instance",
            f"tier {shown(name)} has a rate_limit: a dependency, not bought; give only"
            " max_connections (its contract's connections)",
        )
    if not tiers[name] and resources.servers_per_instance is None and vcpu is not None:
        raise fields.error_at("instance", "needs servers_per_vcpu or servers_per_instance")
    fields.close()
    return resources


def _per_instance(fields: Fields, res: TierResources) -> int | None:
    """Servers one instance carries: given, or vCPU x servers per vCPU, bounded by memory."""
    if res.servers_per_instance is not None and res.servers_per_vcpu is not None:
        raise fields.error_at(
            "servers_per_instance", "give servers_per_instance or servers_per_vcpu, not both"
        )
    if res.servers_per_vcpu is not None and res.vcpu is None:
        raise fields.error_at("servers_per_vcpu", "needs instance: {vcpu: N}")
    if res.memory_per_server_bytes is not None and res.memory_bytes is None:
        raise fields.error_at("memory_per_server", "needs instance: {memory: SIZE}")
    count = res.servers_by_vcpu if res.servers_per_instance is None else res.servers_per_instance
    if count is not None and res.servers_by_memory is not None:
        count = min(count, res.servers_by_memory)
    if count is not None and count < 1:
        raise fields.error_at(
            "instance", f"carries {count} servers; allowed: at least 1 (more vCPU or memory)"
        )
    return count


def _pools(fields: Fields, name: str, tiers: dict[str, bool]) -> dict[str, int]:
    section = fields.section("pools")
    if section is None:
        return {}
    pools = {}
    for target in section.remaining():
        if target not in tiers or target == name:
            allowed = ", ".join(sorted(t for t in tiers if t != name))
            raise section.error_at(
                target, f"{shown(target)} is not another tier; allowed: {allowed}"
            )
        pools[target] = section.take(target, _count(1_000_000))
    section.close()
    return pools


def _floor(fields: Fields) -> Floor:
    floor = Floor(
        start_s=fields.take("from", _clock_s),
        share=fields.take("share", parse_fraction, 1.0),
    )
    fields.close()
    return floor


def _clock_s(value: Any) -> float:
    match = _CLOCK.match(str(value)) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise ValueError(f"{shown(value)} is not a time of day such as '14:00' (quote it)")
    return int(match.group(1)) * 3600.0 + int(match.group(2)) * 60.0


def parse_lead_time(value: Any) -> float:
    """An autoscaling lead time: a duration from 0s to 6h."""
    seconds = parse_duration_s(value)
    if not 0 <= seconds <= 6 * 3600:
        raise ValueError(f"{shown(value)} is out of range; allowed: 0s to 6h")
    return seconds


def _size(value: Any) -> int:
    size = parse_size_bytes(value)
    if size <= 0:
        raise ValueError(f"{shown(value)} is out of range; allowed: above 0")
    return size


def _count(maximum: int) -> Any:
    def count(value: Any) -> int:
        return int(parse_number(value, minimum=1, maximum=maximum, integer=True))

    return count


__all__ = [
    "PROVISION",
    "Abandonment",
    "Floor",
    "Policy",
    "TierResources",
    "parse_abandonment",
    "parse_lead_time",
    "parse_policy",
    "parse_resources",
]
