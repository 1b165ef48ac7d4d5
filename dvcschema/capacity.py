"""The ``capacity:`` section of a scenario: the inputs of ``dvcload plan``.

A capacity section describes one day of a portal as a set of tiers, each an M/G/c
station, fed by an arrival-rate profile of sessions (one citizen's visit)::

    capacity:
      method: mol               # mol (default) or psa
      interval: 1h              # rows of the plan (default 1h)
      arrivals:                 # sessions per second by clock time; exactly one of
        diurnal: {peak: 40, trough: 2}    # as load.rate: constant, stages, diurnal,
        start_at: 0h                      #   deadline, csv; or hourly: [24 numbers]
      budgets: ["p95 < 2s", "P(wait) < 0.2", "utilization < 0.8"]   # every tier
      tiers:
        web: {service_time: 40ms, cv: 1.0, visits: 6, max_servers: 2000}
        payment: {service_time: 120ms, cv: 0.8, visits: 0.3, budgets: ["p95 < 3s"]}

Arrival kinds mean what they mean under ``load.rate`` (same parser), on the clock:
``start_at`` is the time of day where the profile starts (default 00:00) and the plan
covers it up to ``length`` or 24:00. ``hourly`` gives 24 mean rates (sessions/s), one
per hour from 00:00, as steps. ``speed`` is refused: a plan runs in clock time.

A ``csv`` with a ``start`` column (``dvcload derive``'s ``arrivals.csv``, taken as it
is: ``arrivals: {csv: {file: DIR/arrivals.csv}}``) is placed on the clock from its first
start's local time of day, unless ``start_at`` is given, and must stay inside one day;
its interval is read from the starts. See :mod:`dvcschema.capacity_arrivals`.

Each tier gets ``visits`` requests per session, each taking ``service_time`` on one
of its servers (CV 1: exponential; 0: deterministic; else lognormal).

Budgets are per tier: every budget must hold at every tier on its own, and a
response time is the time one request spends at that tier (wait + service), not a
whole page or journey. A tier's own ``budgets`` replace the shared budget of the
same metric for that tier. Expressions (``<`` and ``<=`` both mean "at most"):

``pNN < 2s`` (response time at the tier), ``wait_pNN < 500ms``, ``mean_wait < 100ms``,
``P(wait) < 0.2`` (or ``20%``: the chance a request queues at all), ``utilization < 0.8``.

A tier's ``service_time`` and ``visits`` may be ranges (``{low: 25ms, high: 40ms}``),
and an optional ``derivation:`` computes the arrival curve's peak from published
figures with ranges; see :mod:`dvcschema.capacity_inputs`. ``dvcload plan`` then gives
the plan at the central values and the P50/P90 of servers over samples of the ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema.capacity_arrivals import (
    ARRIVAL_KINDS,
    STEP_S,
    Arrivals,
    arrivals_from_csv,
    parse_arrivals,
)
from dvcschema.capacity_expressions import parse_budget_expression
from dvcschema.capacity_inputs import (
    Derivation,
    Quantity,
    derivation_section,
    one_value,
    take_quantity,
)
from dvcschema.capacity_journeys import JourneySpec, parse_journeys
from dvcschema.capacity_resources import (
    Abandonment,
    Policy,
    TierResources,
    parse_abandonment,
    parse_policy,
    parse_resources,
)
from dvcschema.capacity_storage import StorageSpec, parse_storage
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, one_of, text
from dvcschema.load import duration_parser, int_parser
from dvcschema.units import format_duration_s, parse_duration_s, parse_number

__all__ = [  # the arrivals are read in dvcschema.capacity_arrivals, and named here too
    "ARRIVAL_KINDS",
    "DEFAULT_SAMPLES",
    "STEP_S",
    "Arrivals",
    "CapacityBudget",
    "CapacitySpec",
    "TierSpec",
    "arrivals_from_csv",
    "parse_budget_expression",
    "parse_capacity",
]

METHODS = ("mol", "psa")
TIER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_TIERS = 32
MAX_SERVERS = 10_000_000
MAX_SERVICE_TIME_S = 3600.0


DEFAULT_SAMPLES = 1000  # Monte Carlo samples of the ranges (dvcload plan --samples)


@dataclass(frozen=True)
class CapacityBudget:
    """One budget, in the vocabulary of ``models.TierBudget`` (kind, value, quantile).

    ``value`` is in seconds for the time kinds, a probability for ``prob_wait`` and a
    utilisation for ``max_utilization``. ``tier`` is ``None`` for a shared budget.
    """

    expression: str
    kind: str
    value: float
    quantile: float | None = None
    tier: str | None = None
    line: int | None = field(default=None, compare=False)
    path: str | None = field(default=None, compare=False)

    @property
    def metric(self) -> tuple[str, float | None]:
        """What is bounded; a tier's budget replaces a shared one with the same metric."""
        return self.kind, self.quantile


@dataclass(frozen=True)
class TierSpec:
    """One tier: mean service time (s) and its CV, visits per session, servers at most.

    ``service_time_s`` and ``visits`` are central values; ``service_time_input`` and
    ``visits_input`` hold the range (or sourced value) when the file gives a mapping.
    """

    name: str
    service_time_s: float
    cv: float = 1.0
    visits: float = 1.0
    max_servers: int | None = None
    budgets: tuple[CapacityBudget, ...] = ()
    service_time_input: Quantity | None = None
    visits_input: Quantity | None = None
    calls: dict[str, float] = field(default_factory=dict)
    rate_limit_per_s: float | None = None

    @property
    def is_dependency(self) -> bool:
        """A tier with a rate limit is a dependency (VNeID, PayGov): used, not bought."""
        return self.rate_limit_per_s is not None

    def as_dict(self) -> dict[str, Any]:
        st, visits = self.service_time_input, self.visits_input
        out: dict[str, Any] = {
            "service_time": (
                st.as_dict(format_duration_s) if st else format_duration_s(self.service_time_s)
            ),
            "cv": self.cv,
            "visits": visits.as_dict(float) if visits else self.visits,
        }
        if self.max_servers is not None:
            out["max_servers"] = self.max_servers
        if self.budgets:
            out["budgets"] = [b.expression for b in self.budgets]
        if self.calls:
            out["calls"] = dict(self.calls)
        if self.rate_limit_per_s is not None:
            out["rate_limit_per_s"] = self.rate_limit_per_s
        return out


@dataclass(frozen=True)
class CapacitySpec:
    """A validated ``capacity:`` section."""

    arrivals: Arrivals
    tiers: tuple[TierSpec, ...]
    budgets: tuple[CapacityBudget, ...] = ()
    method: str = "mol"
    interval_s: float = 3600.0
    resolution_s: float | None = None
    derivation: Derivation | None = None
    resources: dict[str, TierResources] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    currency: str = "USD"
    storage: StorageSpec | None = None
    journeys: tuple[JourneySpec, ...] = ()
    abandonment: Abandonment | None = None

    def tier(self, name: str) -> TierSpec:
        """The tier called ``name``."""
        return next(t for t in self.tiers if t.name == name)

    def budgets_for(self, tier: TierSpec) -> tuple[CapacityBudget, ...]:
        """The budgets ``tier`` must meet: its own, then the shared ones it does not replace."""
        own = {b.metric for b in tier.budgets}
        return tier.budgets + tuple(b for b in self.budgets if b.metric not in own)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "interval": format_duration_s(self.interval_s),
            "arrivals": self.arrivals.spec,
            "tiers": {t.name: t.as_dict() for t in self.tiers},
        }
        if self.resolution_s is not None:
            out["resolution"] = format_duration_s(self.resolution_s)
        if self.budgets:
            out["budgets"] = [b.expression for b in self.budgets]
        if self.derivation is not None:
            out["derivation"] = self.derivation.as_dict()
        if self.resources:
            out["resources"] = {k: r.as_dict() for k, r in self.resources.items()}
        if self.storage is not None:
            out["storage"] = self.storage.as_dict()
        if self.journeys:
            out["journeys"] = {j.name: j.as_dict() for j in self.journeys}
        if self.abandonment is not None:
            out["abandonment"] = self.abandonment.as_dict()
        if self.policy.given:
            out["policy"] = self.policy.as_dict()
            out["currency"] = self.currency
        return out


def parse_capacity(section: Fields, *, base_dir: Path | None = None) -> CapacitySpec:
    """Validate a ``capacity:`` section (CSV paths in it are relative to ``base_dir``)."""
    method = section.take("method", one_of(*METHODS), "mol")
    interval_s = section.take("interval", duration_parser(minimum_s=60.0), 3600.0)
    resolution_s = section.take("resolution", duration_parser(minimum_s=1.0), None)
    if resolution_s is not None and resolution_s > interval_s:
        raise section.error_at("resolution", "is longer than the interval; allowed: <= interval")
    arrivals_fields = section.section("arrivals", required=True)
    assert arrivals_fields is not None
    arrivals = parse_arrivals(arrivals_fields, base_dir or Path("."))
    derivation = derivation_section(section, arrivals.peak_rate_per_s, arrivals.sessions)
    budgets = _budget_list(section, "budgets", tier=None)
    tiers = _tiers(section)
    storage = parse_storage(section, derivation)
    journeys = parse_journeys(section, [t.name for t in tiers])
    resources = parse_resources(
        section.section("resources"), {t.name: t.is_dependency for t in tiers}
    )
    policy = parse_policy(section.section("policy"))
    abandonment = parse_abandonment(section.section("abandonment"))
    currency = section.take("currency", text(max_length=8, pattern=r"[A-Z]{3}"), "USD")
    section.close()
    spec = CapacitySpec(
        arrivals,
        tiers,
        budgets,
        method,
        interval_s,
        resolution_s,
        derivation,
        resources,
        policy,
        currency,
        storage,
        journeys,
        abandonment,
    )
    for tier in tiers:
        if not spec.budgets_for(tier):
            raise section.error_at(
                "tiers", f"tier {shown(tier.name)} has no budget; give capacity.budgets or its own"
            )
    return spec


# -- tiers -------------------------------------------------------------------------------
def _tiers(section: Fields) -> tuple[TierSpec, ...]:
    tiers_fields = section.section("tiers", required=True)
    assert tiers_fields is not None
    names = tiers_fields.remaining()
    if not names:
        raise section.error_at(
            "tiers", "no tiers; give at least one, e.g. web: {service_time: 40ms}"
        )
    if len(names) > MAX_TIERS:
        raise section.error_at("tiers", f"{len(names)} tiers; at most {MAX_TIERS} allowed")
    tiers = []
    for name in names:
        if not TIER_NAME.fullmatch(name):
            raise tiers_fields.error_at(
                name, f"{shown(name)} is not a tier name like 'web' or 'db-main'"
            )
        tier_fields = tiers_fields.section(name)
        assert tier_fields is not None
        tiers.append(_tier(name, tier_fields))
    tiers_fields.close()
    _check_calls(tiers_fields, tiers)
    return tuple(tiers)


def _tier(name: str, fields: Fields) -> TierSpec:
    service_time_s, service_time_input = take_quantity(fields, "service_time", _service_time)
    visits, visits_input = take_quantity(
        fields,
        "visits",
        lambda v: parse_number(v, minimum=0.0, exclusive_minimum=True, maximum=1e4),
        1.0,
    )
    tier = TierSpec(
        name=name,
        service_time_s=service_time_s,
        cv=fields.take("cv", one_value(lambda v: parse_number(v, minimum=0.0, maximum=10.0)), 1.0),
        visits=visits,
        max_servers=fields.take(
            "max_servers", one_value(int_parser(minimum=1, maximum=MAX_SERVERS)), None
        ),
        budgets=_budget_list(fields, "budgets", tier=name),
        service_time_input=service_time_input,
        visits_input=visits_input,
        calls=_calls(fields),
        rate_limit_per_s=fields.take("rate_limit", one_value(_rate_per_s), None),
    )
    fields.close()
    return tier


def _calls(fields: Fields) -> dict[str, float]:
    """``calls: {db: 1.5}``: requests to other tiers per request, made holding a server."""
    section = fields.section("calls")
    if section is None:
        return {}
    calls = {
        name: section.take(
            name,
            one_value(lambda v: parse_number(v, minimum=0, exclusive_minimum=True, maximum=1e3)),
        )
        for name in section.remaining()
    }
    section.close()
    return calls


def _check_calls(fields: Fields, tiers: list[TierSpec]) -> None:
    """Calls go to declared tiers, never back to the caller (directly or around a loop)."""
    names = {t.name: t for t in tiers}
    for tier in tiers:
        for callee in tier.calls:
            if callee not in names or callee == tier.name:
                allowed = ", ".join(sorted(n for n in names if n != tier.name))
                raise fields.error_at(
                    tier.name,
                    f"calls {shown(callee)}, which is not another tier; allowed: {allowed}",
                )
    for tier in tiers:
        seen: set[str] = set()
        todo = list(tier.calls)
        while todo:
            name = todo.pop()
            if name == tier.name:
                raise fields.error_at(
                    tier.name, f"calls itself through {', '.join(sorted(seen))}; calls may not loop"
                )
            if name not in seen:
                seen.add(name)
                todo.extend(names[name].calls)
        if tier.is_dependency and tier.calls:
            raise fields.error_at(
                tier.name, "has a rate_limit and calls: a dependency calls nothing we plan"
            )


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|min|h)\s*$", re.ASCII)
_RATE_UNITS_S = {"s": 1.0, "min": 60.0, "h": 3600.0}


def _rate_per_s(value: Any) -> float:
    """A rate such as ``60/s``, ``3000/min`` or a number per second; above 0."""
    if isinstance(value, str):
        match = _RATE.match(value)
        if not match or float(match.group(1)) <= 0:
            raise ValueError(f"{shown(value)} is not a rate such as '60/s' or '3000/min'")
        return float(match.group(1)) / _RATE_UNITS_S[match.group(2)]
    return parse_number(value, minimum=0, exclusive_minimum=True, maximum=1e9)


def _service_time(value: Any) -> float:
    seconds = parse_duration_s(value)
    if not 0 < seconds <= MAX_SERVICE_TIME_S:
        raise ValueError(f"{shown(value)} is out of range; allowed: > 0 and at most 1h")
    return seconds


# -- budgets -----------------------------------------------------------------------------
def _budget_list(fields: Fields, key: str, *, tier: str | None) -> tuple[CapacityBudget, ...]:
    budgets: list[CapacityBudget] = []
    for _index, item, line, path in fields.items(key):
        try:
            kind, value, quantile = parse_budget_expression(item)
        except ValueError as exc:
            raise _item_error(fields, line, path, f"{shown(item)}: {exc}") from None
        budget = CapacityBudget(str(item).strip(), kind, value, quantile, tier, line, path)
        if any(b.metric == budget.metric for b in budgets):
            message = f"{shown(item)}: a second budget on the same metric; give each metric once"
            raise _item_error(fields, line, path, message)
        budgets.append(budget)
    if fields.has(key) and not budgets:
        raise fields.error_at(key, "an empty list; give at least one budget such as 'p95 < 2s'")
    return tuple(budgets)


def _item_error(fields: Fields, line: int | None, path: str, message: str) -> ConfigError:
    return fields.error_type(message, source=fields.source, line=line, field=path)
