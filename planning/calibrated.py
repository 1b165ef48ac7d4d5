"""A calibrated model's tier demands in a capacity plan (``dvcload plan --model FILE``).

``dvcload calibrate`` writes the file (:mod:`analysis.calibrate`); this module reads
it strictly (unknown keys, wrong units and impossible values are one-line
:class:`~dvcschema.errors.ConfigError` messages with ``file:line``) into the
dataclasses of :mod:`dvcschema.capacity`, and puts its demands into a scenario's
``capacity:`` section: a tier of the same name keeps its ``max_servers`` and budgets
and takes the model's ``service_time``, ``cv`` and ``visits`` (replacing any range
the scenario gave for them); a tier only in the model is added under the shared
budgets; a tier only in the scenario is kept as written::

    spec = calibrated.apply(spec, path)     # then planning.make_plan(spec, ...)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dvcschema.capacity import CapacitySpec, TierSpec
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, one_of
from dvcschema.units import parse_duration_s, parse_number
from dvcschema.yamlio import read_yaml_file

SUPPORTED_VERSIONS = (1,)
LOG_RESPONSE_TIME = "log_response_time"  # a web server's logged times: not service demands
SOURCES = ("access_log", "response_time", "regression", LOG_RESPONSE_TIME)
# measured from outside a request: they already hold the time spent in the tier's calls
WITH_CALLS = ("access_log", "response_time", LOG_RESPONSE_TIME)
DISTS = ("exponential", "lognormal", "deterministic")
MAX_SERVICE_TIME_S = 3600.0
_INFO_KEYS = ("sample_cv", "std_error", "n", "utilization", "why", "endpoints")


def apply(spec: CapacitySpec, path: Path | None) -> CapacitySpec:
    """``spec`` with the tiers of the calibrated model at ``path`` (``None``: unchanged)."""
    if path is None:
        return spec
    model, sources = _read(path)
    by_name = {t.name: t for t in spec.tiers}
    tiers = [_merged(by_name.get(t.name), t, sources[t.name] in WITH_CALLS) for t in model]
    tiers += [t for t in spec.tiers if t.name not in {m.name for m in model}]
    merged = dataclasses.replace(spec, tiers=tuple(tiers))
    for tier in merged.tiers:
        if not merged.budgets_for(tier):
            raise ConfigError(
                f"tier {shown(tier.name)} comes from the model but has no budget; give"
                " capacity.budgets (shared) or the tier in the scenario with its own",
                source=str(path),
                field=f"tiers.{tier.name}",
            )
    return merged


def describe(path: Path) -> str:
    """One line for the plan's assumptions: which tiers the model file set, from what."""
    tiers = read_yaml_file(path).get("tiers", {})  # read_model has validated the file
    parts = [f"{name} ({tier.get('source', 'unknown source')})" for name, tier in tiers.items()]
    line = f"demands of {', '.join(parts)} from the calibrated model {path} (dvcload calibrate)"
    if any(tier.get("source") == LOG_RESPONSE_TIME for tier in tiers.values()):
        line += (
            f"; {LOG_RESPONSE_TIME}: response times a web server logged, queueing included,"
            " not service demands: they over-estimate demand, so servers too"
        )
    return line


def read_model(path: Path) -> tuple[TierSpec, ...]:
    """The tiers of a calibrated model file, as :class:`dvcschema.capacity.TierSpec`."""
    return _read(path)[0]


def _read(path: Path) -> tuple[tuple[TierSpec, ...], dict[str, str | None]]:
    """The model's tiers, and the source of each tier's figures (``None``: not said)."""
    top = Fields(read_yaml_file(path), source=str(path))
    version = top.take("version", lambda v: int(parse_number(v, minimum=1, integer=True)))
    if version not in SUPPORTED_VERSIONS:
        raise top.error_at("version", f"version {shown(version)} is not supported; allowed: 1")
    for key in ("runs", "sessions", "client_overhead_ms"):
        top.take_raw(key, None)
    tiers_section = top.section("tiers", required=True)
    assert tiers_section is not None
    names = tiers_section.remaining()
    if not names:
        raise top.error_at("tiers", "no tiers; a calibrated model has at least one")
    tiers, sources = [], {}
    for name in names:
        section = tiers_section.section(name)
        assert section is not None
        sources[name] = section.take("source", one_of(*SOURCES), None)
        tiers.append(_tier(name, section))
    tiers_section.close()
    top.close()
    return tuple(tiers), sources


def _tier(name: str, fields: Fields) -> TierSpec:
    service_time_s = fields.take("service_time", _service_time)
    cv = fields.take("cv", lambda v: parse_number(v, minimum=0.0, maximum=10.0))
    visits = fields.take(
        "visits", lambda v: parse_number(v, minimum=0.0, exclusive_minimum=True, maximum=1e4)
    )
    fields.take("servers", _optional_servers, None)
    fields.take("dist", one_of(*DISTS), None)
    for key in _INFO_KEYS:
        fields.take_raw(key, None)
    fields.close()
    return TierSpec(name=name, service_time_s=service_time_s, cv=cv, visits=visits)


def _merged(scenario_tier: TierSpec | None, model_tier: TierSpec, with_calls: bool) -> TierSpec:
    """The scenario's tier with the model's demands; a range the scenario gave for
    them (Monte Carlo inputs) gives way to the measurement. A time measured from outside
    a request (``with_calls``) already holds the tier's calls: they are not added again."""
    if scenario_tier is None:
        return model_tier
    return dataclasses.replace(
        scenario_tier,
        calls={} if with_calls else scenario_tier.calls,
        service_time_s=model_tier.service_time_s,
        cv=model_tier.cv,
        visits=model_tier.visits,
        service_time_input=None,
        visits_input=None,
    )


def _service_time(value: Any) -> float:
    seconds = parse_duration_s(value)
    if not 0 < seconds <= MAX_SERVICE_TIME_S:
        raise ValueError(f"{shown(value)} is out of range; allowed: > 0 and at most 1h")
    return seconds


def _optional_servers(value: Any) -> int | None:
    if value is None:
        return None
    return int(parse_number(value, minimum=1, maximum=10_000_000, integer=True))
