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
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema import files
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.capacity import CapacitySpec, parse_capacity
from dvcschema.errors import ScenarioError, TargetError, shown
from dvcschema.fields import Fields, text
from dvcschema.journeys import (
    CITIZEN_FIELDS,
    Context,
    DeclaredTraffic,
    parse_traffic,
    session_headers,
)
from dvcschema.load import (
    MAX_DURATION_S,
    Load,
    ReplayLoad,
    duration_parser,
    int_parser,
    parse_load,
)
from dvcschema.pyjourneys import REFERENCE_JOURNEYS, PythonTraffic, load_journeys
from dvcschema.target import Target, TargetPolicy, TlsOptions, parse_host, parse_target, pin_hosts
from dvcschema.units import format_duration_s, parse_number
from dvcschema.userclass import UserClassTraffic, parse_user_class
from dvcschema.yamlio import read_yaml_file

NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
SLUG_PATTERN = r"[a-z0-9][a-z0-9-]{0,63}"
MAX_POPULATION = 50_000_000


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
class HttpOptions:
    """How every request is made, whoever declared it (``http:`` in the scenario).

    ``follow_redirects``: follow 3xx responses, only to allowed hosts, each hop a
    wire request paced by the ceiling (default: a 3xx is recorded as what it is).
    ``tls``: https certificates are verified (``verify``, the default) against the
    system's authorities or ``ca_file``'s; ``verify: false`` turns it off.
    ``headers``: sent with every request (templates of ``{env.NAME}`` and
    ``{citizen.FIELD}``, rendered once per session; a step's own headers win).
    """

    follow_redirects: bool = False
    tls: TlsOptions = field(default_factory=TlsOptions)
    headers: Mapping[str, str] = field(default_factory=dict)


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
    load: Load | None  # None only when capacity is given (a scenario for dvcload plan)
    mix: Mix
    portal: PortalOptions = field(default_factory=PortalOptions)
    allow_targets: frozenset[str] = frozenset()
    http: HttpOptions = field(default_factory=HttpOptions)
    source: str = "<memory>"
    budgets: BudgetSet = field(default_factory=BudgetSet)
    capacity: CapacitySpec | None = None
    traffic: DeclaredTraffic | PythonTraffic | UserClassTraffic | None = None  # None: not yet read
    declared: Mapping[str, Any] = field(default_factory=dict)  # their sections, as written

    def as_dict(self) -> dict[str, Any]:
        """The scenario as run, in the file's own vocabulary (for the manifest).

        Feeding it back to :func:`scenario_from_data` gives the same scenario.
        """
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "target": self.target.describe(),
            "allow_targets": sorted(self.allow_targets),
            "http": _http_dict(self.http),
            "duration": format_duration_s(self.duration_s) if self.duration_s else "",
            "population": {"size": self.population.size},
            "portal": {k: v for k, v in dataclasses.asdict(self.portal).items() if v is not None},
            "load": self.load.as_dict() if self.load is not None else {},
            "mix": {"journeys": dict(self.mix.journeys), "services": dict(self.mix.services)},
            "budgets": self.budgets.as_dict(),
            "capacity": self.capacity.as_dict() if self.capacity is not None else {},
            **self.declared,
        }
        if isinstance(self.traffic, UserClassTraffic):
            data["mix"].pop("journeys")  # the class weights its own tasks
        if isinstance(self.load, ReplayLoad):
            data["mix"] = {}  # a replay sends the log's requests, not journeys
        if not self.mix.services:
            data["mix"].pop("services", None)
        data = {k: v for k, v in data.items() if v not in ("", [], {})}
        return {**data, "source": self.source}


def _http_dict(http: HttpOptions) -> dict[str, Any]:
    out: dict[str, Any] = {"follow_redirects": True} if http.follow_redirects else {}
    tls = http.tls.as_dict()
    out |= {"tls": tls} if tls else {}
    return out | ({"headers": dict(http.headers)} if http.headers else {})


def target_policy(scenario: Scenario) -> TargetPolicy:
    """The scenario's target policy: its allowed hosts resolved once, now, and pinned
    (see :func:`dvcschema.target.pin_hosts`); redirects as its ``http:`` says."""
    try:
        return pin_hosts(scenario.allow_targets, follow_redirects=scenario.http.follow_redirects)
    except ValueError as exc:
        raise TargetError(str(exc), source=scenario.source, field="allow_targets") from None


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
    no_hosts: list[str] = []
    allow_targets = frozenset(top.take("allow_targets", _host_list, no_hosts))
    http = _http(top.section("http"), source)
    population = _population(top.section("population"))
    replay = isinstance(data.get("load"), Mapping) and data["load"].get("model") == "replay"
    if replay:
        _refuse_journeys(top, data)  # before they are read: their errors would mislead
    traffic = _traffic(top, Path(source).parent)
    declared = {k: data[k] for k in ("session", "journeys") if k in data}
    if isinstance(traffic, PythonTraffic | UserClassTraffic):
        declared = {"journeys": traffic.as_dict()}  # its SHA-256: workers load the same
    mix = _mix(top.section("mix"), traffic.names)
    portal = _portal(top.section("portal"), source)
    capacity_section = top.section("capacity")
    capacity = (
        parse_capacity(capacity_section, base_dir=Path(source).parent)
        if capacity_section is not None
        else None
    )
    load_section = top.section("load", required=capacity is None)
    load = None if load_section is None else parse_load(load_section, base_dir=Path(source).parent)
    if isinstance(load, ReplayLoad):
        declared = {}
    duration_s = _duration(top, load)
    budgets_section = top.section("budgets")
    budgets = parse_budgets(budgets_section) if budgets_section is not None else BudgetSet()
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
        http=http,
        source=source,
        budgets=budgets,
        capacity=capacity,
        traffic=traffic,
        declared=declared,
    )


def _traffic(top: Fields, base_dir: Path) -> DeclaredTraffic | PythonTraffic | UserClassTraffic:
    """``session:`` and ``journeys:``, checked now (``{env.NAME}`` against this
    process's environment), or a Python module's journeys; without them, the reference
    portal's own (:data:`~dvcschema.pyjourneys.REFERENCE_JOURNEYS`)."""
    session = top.section("session")
    journeys = top.section("journeys")
    if top.has("user_class") or (journeys is not None and journeys.has("user_class")):
        return parse_user_class(top, session, journeys, base_dir)  # a Locust User class
    if journeys is None:
        if session is not None:
            raise top.error_at("session", "a 'session' needs 'journeys' to run after it")
        try:
            return load_journeys({"module": REFERENCE_JOURNEYS}, base_dir)
        except ValueError as exc:
            raise top.error_at("journeys", f"no journeys declared, and {exc}") from None
    if journeys.has("module"):
        if session is not None:
            raise top.error_at("session", "a module's session starts with @session_start")
        value = {key: journeys.take_raw(key) for key in journeys.remaining()}
        try:
            return load_journeys(value, base_dir)
        except ValueError as exc:
            raise journeys.error_at("module", str(exc)) from None
    context = Context(citizen_fields=frozenset(CITIZEN_FIELDS), env=dict(os.environ))
    return parse_traffic(session, journeys, context)


_NOT_REPLAYED = ("session", "journeys", "user_class", "mix")


def _refuse_journeys(top: Fields, data: Mapping[str, Any]) -> None:
    """A replay sends the log's requests: journeys and their mix would be ignored."""
    for key in _NOT_REPLAYED:
        if key in data:
            raise top.error_at(
                key,
                f"a replay (load.model: replay) sends the log's requests; '{key}' would be "
                "ignored, so remove it (or use the open model to run journeys)",
            )


def _duration(top: Fields, load: Load | None) -> float:
    if load is None:  # a capacity-only scenario: nothing runs
        return top.take("duration", duration_parser(minimum_s=1.0), 0.0)
    natural_s = load.natural_duration_s()
    if not top.has("duration"):
        if natural_s is None and isinstance(load, ReplayLoad):
            raise top.error_at(
                "duration",
                "a gzipped log's end is not known before it is read whole; give 'duration' "
                "(e.g. '60s') or load.length",
            )
        if natural_s is None:
            raise top.error_at("duration", "required field 'duration' is missing (e.g. '45s')")
        if natural_s > MAX_DURATION_S:
            raise top.error_at("duration", "the load lasts over 24h; give a shorter duration")
        return natural_s
    duration_s = top.take("duration", duration_parser(minimum_s=1.0))
    if natural_s is not None and natural_s + 1e-9 < duration_s:
        what = {"closed": "stages last", "replay": "replay lasts"}.get(
            load.model, "rate profile lasts"
        )
        raise top.error_at(
            "duration",
            f"the {what} {format_duration_s(natural_s)} but duration is "
            f"{format_duration_s(duration_s)}; make duration at most as long",
        )
    return duration_s


def _mix(section: Fields | None, names: tuple[str, ...]) -> Mix:
    if section is None:
        return Mix(journeys=dict.fromkeys(names, 1.0), services={})
    journeys = _weights(section, "journeys", allowed=names)
    services = _weights(section, "services", allowed=None)
    section.close()
    return Mix(journeys=journeys or dict.fromkeys(names, 1.0), services=services)


def _weights(section: Fields, key: str, allowed: tuple[str, ...] | None) -> dict[str, float]:
    fields = section.section(key)
    if fields is None:
        return {}
    weights: dict[str, float] = {}
    for name in fields.remaining():
        if allowed is not None and name not in allowed:
            raise fields.error_at(
                name, f"unknown {key[:-1]} {shown(name)}; options are {', '.join(allowed)}"
            )
        if allowed is None and not re.fullmatch(SLUG_PATTERN, name):
            raise fields.error_at(name, f"{shown(name)} is not a service code like 'passport'")
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
    servers = section.take("servers", int_parser(minimum=1, maximum=100_000), None)
    service_time_ms = section.take(
        "service_time_ms", lambda v: parse_number(v, minimum=0, exclusive_minimum=True), None
    )
    section.close()
    return PortalOptions(config=config, servers=servers, service_time_ms=service_time_ms)


def _http(section: Fields | None, source: str) -> HttpOptions:
    if section is None:
        return HttpOptions()
    follow = section.take("follow_redirects", _boolean, False)
    context = Context(citizen_fields=frozenset(CITIZEN_FIELDS), env=dict(os.environ))
    headers: dict[str, str] = section.take("headers", session_headers(context), {})
    tls_section = section.section("tls")
    section.close()
    tls = TlsOptions()
    if tls_section is not None:
        verify = tls_section.take("verify", _boolean, True)
        ca_file = tls_section.take("ca_file", _ca_file(source), None)
        tls_section.close()
        if ca_file is not None and not verify:
            raise tls_section.error_at("ca_file", "ca_file needs verify: true (the default)")
        tls = TlsOptions(verify=verify, ca_file=ca_file)
    return HttpOptions(follow_redirects=follow, tls=tls, headers=headers)


def _ca_file(source: str) -> Any:
    """A PEM file of certificate authorities, relative to the scenario's folder."""

    def parse(value: Any) -> str:
        name = text(max_length=1000)(value)
        path = (Path(source).parent / name).resolve()
        if not files.exists(path):
            raise ValueError(f"{shown(name)}: no such file")
        head = files.read_text(path, limit=16 * 1024 * 1024)
        if "-----BEGIN CERTIFICATE-----" not in head:
            raise ValueError(f"{shown(name)} holds no PEM certificate")
        return str(path)

    return parse


def _population(section: Fields | None) -> PopulationSpec:
    if section is None:
        return PopulationSpec(size=10_000)
    size = section.take("size", int_parser(minimum=1, maximum=MAX_POPULATION), 10_000)
    section.close()
    return PopulationSpec(size=size)


# -- small parsers -------------------------------------------------------------------
def _seed(value: Any) -> int:
    return int(parse_number(value, minimum=0, maximum=2**63 - 1, integer=True))


def _host_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("is not a list of host names, e.g. [staging.example.vn]")
    return [parse_host(h) for h in value]


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {type(value).__name__}")
    return value
