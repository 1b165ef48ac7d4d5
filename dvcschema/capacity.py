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

import numpy as np

from dvcschema import rates
from dvcschema.capacity_expressions import parse_budget_expression
from dvcschema.capacity_inputs import (
    Derivation,
    Quantity,
    derivation_section,
    one_value,
    take_quantity,
)
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, one_of
from dvcschema.load import MAX_RATE_PER_S, RATE_KINDS, duration_parser, int_parser
from dvcschema.load import parse_rate as parse_rate_section
from dvcschema.units import format_duration_s, parse_duration_s, parse_number

METHODS = ("mol", "psa")
ARRIVAL_KINDS = (*RATE_KINDS, "hourly")
TIER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_TIERS = 32
MAX_SERVERS = 10_000_000
MAX_SERVICE_TIME_S = 3600.0
STEP_S = 0.001  # a step in the rate becomes a 1 ms ramp (the MOL needs increasing times)


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
        return out


@dataclass(frozen=True)
class Arrivals:
    """Sessions per second at clock times (s since 00:00), linear in between.

    ``times_s`` is strictly increasing (a step is a 1 ms ramp); ``spec`` is the
    section in the file's own words.
    """

    times_s: tuple[float, ...]
    rate_per_s: tuple[float, ...]
    kind: str
    spec: dict[str, Any]

    @property
    def peak_rate_per_s(self) -> float:
        return max(self.rate_per_s)

    @property
    def sessions(self) -> float:
        """Expected sessions over the profile (the integral of the rate)."""
        return float(np.trapezoid(self.rate_per_s, self.times_s))


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
    arrivals = _arrivals(arrivals_fields, base_dir or Path("."))
    derivation = derivation_section(section, arrivals.peak_rate_per_s, arrivals.sessions)
    budgets = _budget_list(section, "budgets", tier=None)
    tiers = _tiers(section)
    section.close()
    spec = CapacitySpec(arrivals, tiers, budgets, method, interval_s, resolution_s, derivation)
    for tier in tiers:
        if not spec.budgets_for(tier):
            raise section.error_at(
                "tiers", f"tier {shown(tier.name)} has no budget; give capacity.budgets or its own"
            )
    return spec


# -- arrivals ----------------------------------------------------------------------------
def _arrivals(fields: Fields, base_dir: Path) -> Arrivals:
    kinds = [k for k in ARRIVAL_KINDS if fields.has(k)]
    if len(kinds) != 1:
        raise fields.error_at(
            max(kinds, key=lambda k: fields.line_of(k) or 0) if kinds else "diurnal",
            f"give exactly one of {', '.join(ARRIVAL_KINDS)} (found {', '.join(kinds) or 'none'})",
        )
    if fields.has("speed"):
        raise fields.error_at("speed", "a capacity plan runs in clock time; remove 'speed'")
    if kinds[0] == "hourly":
        profile, spec = _hourly(fields)
    else:
        profile, spec = parse_rate_section(fields, base_dir)
    start_s = parse_duration_s(spec.get("start_at", "0s"))
    end_s = rates.DAY_S
    if "length" in spec:
        end_s = start_s + parse_duration_s(spec["length"])
        if end_s > rates.DAY_S + 1e-9:
            raise fields.error_at("length", "start_at + length passes 24:00; a plan covers a day")
    t, r = _clock_knots(profile, start_s, end_s)
    if t[-1] - t[0] < 1.0:
        raise fields.error_at(kinds[0], "the profile lasts under a second; nothing to plan for")
    return Arrivals(tuple(t.tolist()), tuple(r.tolist()), kinds[0], _in_file_words(spec, base_dir))


def _in_file_words(spec: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """The section as written: durations with units, a CSV path that works from anywhere."""
    out: dict[str, Any] = dict(spec)
    if isinstance(out.get("csv"), dict):
        out["csv"] = {**out["csv"], "file": str((base_dir / out["csv"]["file"]).resolve())}
    return out


def _hourly(fields: Fields) -> tuple[rates.RateProfile, dict[str, Any]]:
    """24 mean rates (sessions/s), one per hour from 00:00, as steps."""
    start_s = fields.take("start_at", duration_parser(minimum_s=0.0), 0.0)
    length_s = fields.take("length", duration_parser(minimum_s=1.0), None)
    values = []
    for _index, item, line, path in fields.items("hourly"):
        try:
            values.append(parse_number(item, minimum=0.0, maximum=MAX_RATE_PER_S))
        except ValueError as exc:
            raise _item_error(fields, line, path, str(exc)) from None
    fields.close()
    if len(values) != 24:
        raise fields.error_at("hourly", f"{len(values)} numbers; give 24, one per hour from 00:00")
    if start_s >= rates.DAY_S:
        raise fields.error_at("start_at", "starts at or after 24:00")
    if max(values) <= 0:
        raise fields.error_at("hourly", "the rate is 0 throughout; nothing to plan for")
    spec: dict[str, Any] = {
        "hourly": values,
        "start_at": format_duration_s(start_s) if start_s else None,
        "length": format_duration_s(length_s) if length_s else None,
    }
    profile = rates.csv_profile(np.asarray(values), 3600.0, start_s=start_s, speed=1.0)
    return profile, {k: v for k, v in spec.items() if v}


def _clock_knots(
    profile: rates.RateProfile, start_s: float, end_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """The profile on the clock, cut at ``end_s``, with strictly increasing times."""
    t = start_s + np.asarray(profile.t_s)
    r = np.asarray(profile.rate_per_s)
    if t[-1] > end_s:
        inside = t < end_s
        t, r = np.append(t[inside], end_s), np.append(r[inside], np.interp(end_s, t, r))
    return _strictly_increasing(t, r)


def _strictly_increasing(t: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace each step (two knots at one time) by a ramp over the ``STEP_S`` before it."""
    out_t: list[float] = []
    out_r: list[float] = []
    for ti, ri in zip(t.tolist(), r.tolist(), strict=True):
        if out_t and ti - out_t[-1] < STEP_S:
            if len(out_t) >= 2 and ti - STEP_S > out_t[-2]:
                out_t[-1] = ti - STEP_S
            else:  # at the start (or steps closer than STEP_S): keep the later value
                out_t.pop()
                out_r.pop()
        out_t.append(ti)
        out_r.append(ri)
    return np.asarray(out_t), np.asarray(out_r)


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
    )
    fields.close()
    return tier


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
