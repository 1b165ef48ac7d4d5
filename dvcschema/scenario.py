"""The scenario schema: what a scenario YAML file may say, validated before any load.

A scenario names the target, the population, the journey mix, the load and the
run's length and seed. Everything is checked here, completely, before a single
request is sent: unknown or duplicate keys, wrong types, missing units, impossible
values and non-HTTP targets are :class:`~dvcschema.errors.ScenarioError` with the
file, line, field, value and what is allowed.

Stages are ``{duration, target}`` where ``duration`` is the length of that stage
(not a cumulative end time, which is what confuses people in Locust's example).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema.errors import ScenarioError
from dvcschema.fields import Fields, one_of, sub_fields, text
from dvcschema.target import Target, parse_target
from dvcschema.units import format_duration_s, parse_duration_s, parse_number
from dvcschema.yamlio import read_yaml_file

JOURNEYS = ("filing", "payment", "status")
LOAD_MODELS = ("closed",)
NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
SLUG_PATTERN = r"[a-z0-9][a-z0-9-]{0,63}"
MAX_DURATION_S = 24 * 3600.0
MAX_USERS = 100_000
MAX_POPULATION = 50_000_000


@dataclass(frozen=True)
class Stage:
    """Ramp linearly to ``target`` users over ``duration_s`` seconds (this stage's length)."""

    duration_s: float
    target: int


@dataclass(frozen=True)
class ThinkTime:
    """Uniform pause between journeys, in seconds (``min_s == max_s`` is constant)."""

    min_s: float = 0.0
    max_s: float = 0.0


@dataclass(frozen=True)
class ClosedLoad:
    """A fixed pool of users, each running journeys back to back (Locust's own model)."""

    users: int
    spawn_rate_per_s: float
    stages: tuple[Stage, ...] = ()
    think_time: ThinkTime = field(default_factory=ThinkTime)
    model: str = "closed"

    def schedule(self, duration_s: float) -> tuple[Stage, ...]:
        """The stages to run: the given ones, or one ramp to ``users`` that then holds."""
        if self.stages:
            return self.stages
        ramp_s = min(self.users / self.spawn_rate_per_s, duration_s)
        hold_s = max(duration_s - ramp_s, 0.0)
        stages = [Stage(ramp_s, self.users)]
        if hold_s > 0:
            stages.append(Stage(hold_s, self.users))
        return tuple(stages)


@dataclass(frozen=True)
class Mix:
    """Relative weights of the journeys and of the services chosen when filing."""

    journeys: Mapping[str, float]
    services: Mapping[str, float]


@dataclass(frozen=True)
class PortalOptions:
    """How to start the embedded portal: the same options as ``dvcload portal``."""

    config: str | None = None
    servers: int | None = None
    service_time_ms: float | None = None


@dataclass(frozen=True)
class PopulationSpec:
    size: int


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    target: Target
    duration_s: float
    population: PopulationSpec
    load: ClosedLoad
    mix: Mix
    portal: PortalOptions = field(default_factory=PortalOptions)
    allow_targets: frozenset[str] = frozenset()
    source: str = "<memory>"

    def as_dict(self) -> dict[str, Any]:
        """The scenario as run, in the file's own vocabulary (for the manifest).

        Feeding it back to :func:`scenario_from_data` gives the same scenario.
        """
        load = self.load
        load_dict: dict[str, Any] = {
            "model": load.model,
            "users": load.users,
            "spawn_rate": load.spawn_rate_per_s,
            "think_time": {
                "min": format_duration_s(load.think_time.min_s),
                "max": format_duration_s(load.think_time.max_s),
            },
        }
        if load.stages:
            load_dict["stages"] = [
                {"duration": format_duration_s(s.duration_s), "target": s.target}
                for s in load.stages
            ]
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "target": self.target.describe(),
            "allow_targets": sorted(self.allow_targets),
            "duration": format_duration_s(self.duration_s),
            "population": {"size": self.population.size},
            "portal": {k: v for k, v in dataclasses.asdict(self.portal).items() if v is not None},
            "load": load_dict,
            "mix": {"journeys": dict(self.mix.journeys), "services": dict(self.mix.services)},
        }
        data = {k: v for k, v in data.items() if v not in ("", [], {})}
        if not self.mix.services:
            data["mix"].pop("services")
        return {**data, "source": self.source}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises :class:`ScenarioError` on any problem."""
    data = read_yaml_file(path)
    return scenario_from_data(data, source=str(path))


def scenario_from_data(data: Any, *, source: str) -> Scenario:
    """Validate an already parsed scenario mapping."""
    if data is None:
        raise ScenarioError("the file is empty; a scenario needs at least 'name'", source=source)
    top = Fields(data, source=source, error_type=ScenarioError)
    name = top.take("name", text(max_length=64, pattern=NAME_PATTERN))
    description = top.take("description", text(max_length=2000), "")
    seed = top.take("seed", _seed, 1)
    target = top.take("target", parse_target, Target(url=None))
    allow_targets = frozenset(top.take("allow_targets", _host_list, []))
    population = _population(top.section("population"))
    mix = _mix(top.section("mix"))
    portal = _portal(top.section("portal"), source)
    load = _closed_load(top.section("load", required=True))
    duration_s = _duration(top, load)
    top.close()
    if portal != PortalOptions() and not target.embedded:
        raise top.error_at("portal", "a 'portal' section only applies to target: embedded")
    return Scenario(
        name=name,
        description=description,
        seed=seed,
        target=target,
        duration_s=duration_s,
        population=population,
        load=load,
        mix=mix,
        portal=portal,
        allow_targets=allow_targets,
        source=source,
    )


def _duration(top: Fields, load: ClosedLoad) -> float:
    stages_s = sum(s.duration_s for s in load.stages)
    if not top.has("duration"):
        if not load.stages:
            raise top.error_at("duration", "required field 'duration' is missing (e.g. '45s')")
        return stages_s
    duration_s = top.take("duration", _duration_s(minimum_s=1.0))
    if load.stages and stages_s > duration_s + 1e-9:
        raise top.error_at(
            "duration",
            f"the stages last {format_duration_s(stages_s)} but duration is "
            f"{format_duration_s(duration_s)}; make duration at least as long as the stages",
        )
    return duration_s


def _closed_load(section: Fields | None) -> ClosedLoad:
    assert section is not None
    section.take("model", one_of(*LOAD_MODELS), "closed")
    stages = tuple(_stages(section))
    users_default = max((s.target for s in stages), default=None)
    users = section.take(
        "users",
        _int(minimum=1, maximum=MAX_USERS),
        users_default,  # type: ignore[arg-type]
    )
    if users is None:
        raise section.error_at("users", "required field 'load.users' is missing (or give stages)")
    spawn_rate = section.take(
        "spawn_rate", lambda v: parse_number(v, minimum=0, exclusive_minimum=True), float(users)
    )
    think = _think_time(section)
    section.close()
    return ClosedLoad(users=users, spawn_rate_per_s=spawn_rate, stages=stages, think_time=think)


def _stages(section: Fields) -> list[Stage]:
    stages = []
    for _index, item, line, path in section.items("stages"):
        fields = sub_fields(section, item, line, path)
        duration_s = fields.take("duration", _duration_s(minimum_s=0.0))
        target = fields.take("target", _int(minimum=0, maximum=MAX_USERS))
        fields.close()
        stages.append(Stage(duration_s, target))
    if section.has("stages") and not stages:
        raise section.error_at("stages", "an empty list; give at least one {duration, target}")
    return stages


def _think_time(section: Fields) -> ThinkTime:
    if not section.has("think_time"):
        return ThinkTime()
    raw = section.take_raw("think_time")
    if isinstance(raw, str):
        value_s = section.take("think_time", _duration_s(minimum_s=0.0))
        return ThinkTime(value_s, value_s)
    fields = section.section("think_time")
    assert fields is not None
    min_s = fields.take("min", _duration_s(minimum_s=0.0))
    max_s = fields.take("max", _duration_s(minimum_s=0.0))
    fields.close()
    if max_s < min_s:
        raise fields.error_at("max", f"max {format_duration_s(max_s)} is below min")
    return ThinkTime(min_s, max_s)


def _mix(section: Fields | None) -> Mix:
    if section is None:
        return Mix(journeys={j: 1.0 for j in JOURNEYS}, services={})
    journeys = _weights(section, "journeys", allowed=JOURNEYS)
    services = _weights(section, "services", allowed=None)
    section.close()
    return Mix(journeys=journeys or {j: 1.0 for j in JOURNEYS}, services=services)


def _weights(section: Fields, key: str, allowed: tuple[str, ...] | None) -> dict[str, float]:
    fields = section.section(key)
    if fields is None:
        return {}
    weights: dict[str, float] = {}
    for name in fields.remaining():
        if allowed is not None and name not in allowed:
            raise fields.error_at(
                name, f"unknown {key[:-1]} {name!r}; options are {', '.join(allowed)}"
            )
        if allowed is None and not re.fullmatch(SLUG_PATTERN, name):
            raise fields.error_at(name, f"{name!r} is not a service code like 'passport'")
        weights[name] = fields.take(name, lambda v: parse_number(v, minimum=0))
    fields.close()
    if not weights or sum(weights.values()) <= 0:
        raise section.error_at(key, "the weights add up to 0; give at least one positive weight")
    return weights


def _portal(section: Fields | None, source: str) -> PortalOptions:
    if section is None:
        return PortalOptions()
    config = section.take("config", text(max_length=500), None)
    if config is not None and ("/" in config or config.endswith((".yaml", ".yml"))):
        config = str((Path(source).parent / config).resolve())
    servers = section.take("servers", _int(minimum=1, maximum=100_000), None)
    service_time_ms = section.take(
        "service_time_ms", lambda v: parse_number(v, minimum=0, exclusive_minimum=True), None
    )
    section.close()
    return PortalOptions(config=config, servers=servers, service_time_ms=service_time_ms)


def _population(section: Fields | None) -> PopulationSpec:
    if section is None:
        return PopulationSpec(size=10_000)
    size = section.take("size", _int(minimum=1, maximum=MAX_POPULATION), 10_000)
    section.close()
    return PopulationSpec(size=size)


# -- small parsers -------------------------------------------------------------------
def _int(*, minimum: int, maximum: int) -> Any:
    def parse(value: Any) -> int:
        return int(parse_number(value, minimum=minimum, maximum=maximum, integer=True))

    return parse


def _seed(value: Any) -> int:
    return int(parse_number(value, minimum=0, maximum=2**63 - 1, integer=True))


def _duration_s(*, minimum_s: float) -> Any:
    def parse(value: Any) -> float:
        seconds = parse_duration_s(value)
        if seconds < minimum_s:
            raise ValueError(f"{value!r} is too short; at least {format_duration_s(minimum_s)}")
        if seconds > MAX_DURATION_S:
            raise ValueError(f"{value!r} is too long; at most {format_duration_s(MAX_DURATION_S)}")
        return seconds

    return parse


def _host_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(h, str) and h for h in value):
        raise ValueError(f"{value!r} is not a list of host names, e.g. [staging.example.vn]")
    return [h.lower() for h in value]
