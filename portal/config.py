"""The portal's configuration: tiers (stations), per-endpoint service times, overrides.

A configuration file (``portal/configs/default.yaml`` documents every key) is read
strictly (its ``faults:`` section by :mod:`portal.faults`): unknown keys, duplicate
keys, wrong types and impossible values are one-line
:class:`~dvcschema.errors.ConfigError` messages with ``file:line``. Without
``--config`` the packaged ``default.yaml`` is read. Settings are decided in one place,
:func:`resolve_config`: command line > configuration file > built-in defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, one_of
from dvcschema.units import parse_number
from dvcschema.yamlio import read_yaml_file
from models.distributions import DISTRIBUTION_KINDS, ServiceTimeDistribution, from_mean_cv
from models.errors import ModelError
from portal.endpoints import ENDPOINTS
from portal.faults import FaultConfig, parse_faults

TIER_NAMES: tuple[str, ...] = ("web", "db", "payment")
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG_PATH = CONFIG_DIR / "default.yaml"

MAX_SERVERS = 100_000
MAX_QUEUE_LIMIT = 10_000_000
MAX_MEAN_MS = 600_000.0
MAX_CV = 100.0
MAX_RETRY_AFTER_S = 3600


@dataclass(frozen=True)
class TierConfig:
    """One station: ``servers`` in parallel and at most ``queue_limit`` waiting."""

    servers: int
    queue_limit: int


@dataclass(frozen=True)
class ServiceTime:
    """A service-time distribution given by family, mean (ms) and cv."""

    dist: str
    mean_ms: float
    cv: float | None = None

    def distribution_s(self) -> ServiceTimeDistribution:
        """The distribution in seconds, as :mod:`models.distributions` builds it."""
        return from_mean_cv(self.dist, self.mean_ms / 1000.0, self.cv)

    def with_mean_ms(self, mean_ms: float) -> ServiceTime:
        """The same family (and cv) with another mean."""
        return replace(self, mean_ms=mean_ms)


@dataclass(frozen=True)
class EndpointProfile:
    """The tiers one endpoint visits, in order (web first), with their service times."""

    visits: tuple[tuple[str, ServiceTime], ...]

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.visits)


DEFAULT_TIERS: Mapping[str, TierConfig] = {
    "web": TierConfig(servers=8, queue_limit=512),
    "db": TierConfig(servers=1, queue_limit=512),
    "payment": TierConfig(servers=4, queue_limit=128),
}
DEFAULT_ENDPOINT = EndpointProfile(visits=(("web", ServiceTime("exponential", 2.0)),))
DEFAULT_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class PortalConfig:
    """A validated portal configuration."""

    tiers: Mapping[str, TierConfig]
    endpoints: Mapping[str, EndpointProfile]
    default_endpoint: EndpointProfile = DEFAULT_ENDPOINT
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    seed: int | None = None
    source: str = "(built-in defaults)"
    faults: FaultConfig = field(default_factory=FaultConfig)

    def profile_for(self, key: str) -> EndpointProfile:
        """The tiers and service times of ``"METHOD /template"`` (default if absent)."""
        return self.endpoints.get(key, self.default_endpoint)


def resolve_config(
    config_path: str | Path | None = None,
    *,
    servers: int | None = None,
    service_time_ms: float | None = None,
    seed: int | None = None,
) -> PortalConfig:
    """Decide every setting once: command line > configuration file > defaults.

    Parameters
    ----------
    config_path
        A portal YAML file; ``None`` reads the packaged ``default.yaml``.
    servers
        ``--servers``: the web tier's number of servers.
    service_time_ms
        ``--service-time-ms``: the mean (ms) of every endpoint's web service time,
        keeping its distribution family (and cv).
    seed
        ``--seed``: the service-time sampling seed.
    """
    config = load_config(DEFAULT_CONFIG_PATH if config_path is None else config_path)
    if servers is not None:
        _check_option("--servers", servers, minimum=1, maximum=MAX_SERVERS, integer=True)
        web = config.tiers["web"]
        config = replace(config, tiers={**config.tiers, "web": replace(web, servers=servers)})
    if service_time_ms is not None:
        _check_option("--service-time-ms", service_time_ms, minimum=0, maximum=MAX_MEAN_MS)
        config = _with_web_mean(config, float(service_time_ms))
    if seed is not None:
        _check_option("--seed", seed, minimum=0, maximum=2**63 - 1, integer=True)
        config = replace(config, seed=seed)
    return config


def load_config(path: str | Path) -> PortalConfig:
    """Read and validate one portal configuration file."""
    source = str(path)
    fields = Fields(read_yaml_file(path), source=source)
    seed = fields.take("seed", _parse_seed, None)
    retry_after_s = int(
        fields.take("retry_after_s", _int_parser(1, MAX_RETRY_AFTER_S), DEFAULT_RETRY_AFTER_S)
    )
    tiers_section = fields.section("tiers")
    tiers = DEFAULT_TIERS if tiers_section is None else _read_tiers(tiers_section)
    default_section = fields.section("default_endpoint")
    default = DEFAULT_ENDPOINT if default_section is None else _read_profile(default_section, tiers)
    endpoints_section = fields.section("endpoints")
    endpoints = {} if endpoints_section is None else _read_endpoints(endpoints_section, tiers)
    faults = parse_faults(fields.section("faults"))
    fields.close()
    return PortalConfig(tiers, endpoints, default, retry_after_s, seed, source, faults)


# -- sections --------------------------------------------------------------------------
def _read_tiers(section: Fields) -> dict[str, TierConfig]:
    tiers: dict[str, TierConfig] = {}
    names = section.remaining()
    for name in names:
        if name not in TIER_NAMES:
            raise section.error_at(
                name, f"unknown tier {shown(name)}; tiers are {', '.join(TIER_NAMES)}"
            )
        tier = _required_section(section, name)
        servers = tier.take("servers", _int_parser(1, MAX_SERVERS))
        queue_limit = tier.take("queue_limit", _int_parser(0, MAX_QUEUE_LIMIT))
        tier.close()
        tiers[name] = TierConfig(servers=int(servers), queue_limit=int(queue_limit))
    if "web" not in tiers:
        raise section.error_at("web", "the 'web' tier is required (every request visits it)")
    return tiers


def _read_endpoints(section: Fields, tiers: Mapping[str, TierConfig]) -> dict[str, EndpointProfile]:
    endpoints: dict[str, EndpointProfile] = {}
    keys = section.remaining()
    for key in keys:
        if key not in ENDPOINTS:
            allowed = ", ".join(repr(k) for k in ENDPOINTS)
            raise section.error_at(key, f"unknown endpoint {shown(key)}; endpoints are {allowed}")
        endpoints[key] = _read_profile(_required_section(section, key), tiers)
    return endpoints


def _read_profile(section: Fields, tiers: Mapping[str, TierConfig]) -> EndpointProfile:
    visits: list[tuple[str, ServiceTime]] = []
    names = section.remaining()
    for name in names:
        if name not in TIER_NAMES:
            raise section.error_at(
                name, f"unknown tier {shown(name)}; tiers are {', '.join(TIER_NAMES)}"
            )
        if name not in tiers:
            defined = ", ".join(tiers)
            raise section.error_at(
                name,
                f"tier {shown(name)} is not defined in the 'tiers' section (defined: {defined})",
            )
        if not visits and name != "web":
            raise section.error_at(name, f"tier {shown(name)} comes before 'web'; list 'web' first")
        visits.append((name, _read_service_time(_required_section(section, name))))
    section.close()
    if not visits:
        raise section.error_at("web", "no tiers listed; at least 'web' is required")
    return EndpointProfile(visits=tuple(visits))


def _read_service_time(section: Fields) -> ServiceTime:
    dist = section.take("dist", one_of(*DISTRIBUTION_KINDS))
    mean_ms = float(section.take("mean_ms", _number_parser(0.0, MAX_MEAN_MS)))
    cv_raw = section.take("cv", _number_parser(0.0, MAX_CV), None)
    cv = None if cv_raw is None else float(cv_raw)
    section.close()
    service = ServiceTime(dist=dist, mean_ms=mean_ms, cv=cv)
    try:
        service.distribution_s()
    except ModelError as exc:
        where = "cv" if "cv" in str(exc) else "mean_ms"
        raise section.error_at(where, str(exc)) from None
    return service


def _required_section(parent: Fields, key: str) -> Fields:
    section = parent.section(key, required=True)
    assert section is not None  # required=True never returns None
    return section


# -- overrides ---------------------------------------------------------------------------
def _with_web_mean(config: PortalConfig, mean_ms: float) -> PortalConfig:
    def adjust(profile: EndpointProfile) -> EndpointProfile:
        visits = tuple(
            (name, service.with_mean_ms(mean_ms) if name == "web" else service)
            for name, service in profile.visits
        )
        return EndpointProfile(visits=visits)

    endpoints = {key: adjust(profile) for key, profile in config.endpoints.items()}
    result = replace(config, endpoints=endpoints, default_endpoint=adjust(config.default_endpoint))
    for profile in (result.default_endpoint, *endpoints.values()):
        for _, service in profile.visits:
            try:
                service.distribution_s()
            except ModelError as exc:
                raise ConfigError(str(exc), field="--service-time-ms") from None
    return result


def _check_option(
    option: str, value: Any, *, minimum: float, maximum: float, integer: bool = False
) -> None:
    try:
        parse_number(value, minimum=minimum, maximum=maximum, integer=integer)
    except ValueError as exc:
        raise ConfigError(str(exc), field=option) from None


# -- value parsers -----------------------------------------------------------------------
def _int_parser(minimum: int, maximum: int) -> Any:
    def parse(value: Any) -> int:
        return int(parse_number(value, minimum=minimum, maximum=maximum, integer=True))

    return parse


def _number_parser(minimum: float, maximum: float) -> Any:
    def parse(value: Any) -> float:
        return parse_number(value, minimum=minimum, maximum=maximum)

    return parse


def _parse_seed(value: Any) -> int:
    return int(parse_number(value, minimum=0, maximum=2**63 - 1, integer=True))
