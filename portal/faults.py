"""The ``faults:`` section of a portal configuration: what goes wrong, and how often.

A load test is most useful on the worst days, against a system that fails. The
reference portal can be told to fail on purpose, from its configuration file or at
run time (``POST /admin/faults``, see :mod:`portal.admin`), with the same schema::

    faults:
      seed: 7                                   # optional; else derived from the portal's seed
      errors:                                   # answer an error status instead of serving
        "*": {rate: 5%, status: 500}
        "POST /paygov/confirm": {rate: 2%, status: 502}
      latency_spikes: {"*": {rate: 1%, extra: 2s}}        # hold the web server longer
      gateway_timeouts: {rate: 3%, hang: 35s}             # PayGov hangs on a confirmation
      connection_resets:                                   # TCP reset, no response at all
        "POST /dossiers/{code}/payments": {rate: 2%, after_commit: true}
      outages: [{start: 40s, duration: 20s}]               # 503 + maintenance page
      slow_database: {extra: 50ms, rate: 100%}             # added to every SQL transaction

Endpoint keys are the ``"METHOD /route/template"`` keys of ``endpoints:`` (and of the
access log); ``"*"`` is every endpoint, and an endpoint's own entry replaces ``"*"``
for it. Rates are ``"5%"`` or a fraction in [0, 1]; delays carry a unit. Outage
``start`` counts from when the fault set took effect: the portal's start for a
configuration file, the ``POST`` for the admin endpoint. Mistakes are one-line
:class:`~dvcschema.errors.ConfigError` messages with file, line and field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dvcschema import routes
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, sub_fields
from dvcschema.units import format_duration_s, parse_duration_s, parse_fraction, parse_number
from portal.endpoints import ENDPOINTS

ALL_ENDPOINTS = "*"
GATEWAY_ENDPOINT = routes.PAYGOV_CONFIRM.key
MIN_DELAY_S = 0.001
MAX_DELAY_S = 600.0
MAX_OUTAGE_S = 24 * 3600.0
MAX_OUTAGES = 100
DEFAULT_GATEWAY_HANG_S = 35.0  # longer than the harness's 30 s network timeout


@dataclass(frozen=True)
class ErrorFault:
    """Answer ``status`` (no tier visited, nothing stored) with probability ``rate``."""

    rate: float
    status: int = 500


@dataclass(frozen=True)
class SpikeFault:
    """Hold the web server ``extra_s`` longer with probability ``rate``."""

    rate: float
    extra_s: float


@dataclass(frozen=True)
class GatewayTimeout:
    """PayGov does not answer a confirmation for ``hang_s`` (at the payment tier)."""

    rate: float
    hang_s: float = DEFAULT_GATEWAY_HANG_S


@dataclass(frozen=True)
class ResetFault:
    """Reset the TCP connection without a response; ``after_commit``: once stored."""

    rate: float
    after_commit: bool = False


@dataclass(frozen=True)
class Outage:
    """From ``start_s`` for ``duration_s`` every request gets 503 and a maintenance page."""

    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class SlowDatabase:
    """Add ``extra_s`` to a request's SQL transaction with probability ``rate``."""

    extra_s: float
    rate: float = 1.0


@dataclass(frozen=True)
class FaultConfig:
    """A validated fault set; the empty one (``FaultConfig()``) injects nothing."""

    seed: int | None = None
    errors: Mapping[str, ErrorFault] = field(default_factory=dict)
    latency_spikes: Mapping[str, SpikeFault] = field(default_factory=dict)
    gateway_timeouts: GatewayTimeout | None = None
    connection_resets: Mapping[str, ResetFault] = field(default_factory=dict)
    outages: tuple[Outage, ...] = ()
    slow_database: SlowDatabase | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.errors
            or self.latency_spikes
            or self.gateway_timeouts
            or self.connection_resets
            or self.outages
            or self.slow_database
        )

    def error_for(self, key: str) -> ErrorFault | None:
        return _for_endpoint(self.errors, key)

    def spike_for(self, key: str) -> SpikeFault | None:
        return _for_endpoint(self.latency_spikes, key)

    def reset_for(self, key: str) -> ResetFault | None:
        return _for_endpoint(self.connection_resets, key)

    def as_dict(self) -> dict[str, Any]:
        """The fault set in the file's vocabulary; :func:`faults_from_data` reads it back."""
        out: dict[str, Any] = {} if self.seed is None else {"seed": self.seed}
        out["errors"] = {k: {"rate": v.rate, "status": v.status} for k, v in self.errors.items()}
        out["latency_spikes"] = {
            k: {"rate": v.rate, "extra": format_duration_s(v.extra_s)}
            for k, v in self.latency_spikes.items()
        }
        out["connection_resets"] = {
            k: {"rate": v.rate, "after_commit": v.after_commit}
            for k, v in self.connection_resets.items()
        }
        out["outages"] = [
            {"start": format_duration_s(o.start_s), "duration": format_duration_s(o.duration_s)}
            for o in self.outages
        ]
        if self.gateway_timeouts is not None:
            g = self.gateway_timeouts
            out["gateway_timeouts"] = {"rate": g.rate, "hang": format_duration_s(g.hang_s)}
        if self.slow_database is not None:
            s = self.slow_database
            out["slow_database"] = {"extra": format_duration_s(s.extra_s), "rate": s.rate}
        return {k: v for k, v in out.items() if v not in ({}, [])}


def _for_endpoint(table: Mapping[str, Any], key: str) -> Any:
    return table.get(key, table.get(ALL_ENDPOINTS))


# -- reading -----------------------------------------------------------------------------
def parse_faults(section: Fields | None) -> FaultConfig:
    """Validate a ``faults:`` section (``None``: no faults)."""
    if section is None:
        return FaultConfig()
    seed = section.take("seed", _seed, None)
    errors = _per_endpoint(section, "errors", _error)
    spikes = _per_endpoint(section, "latency_spikes", _spike)
    gateway = _optional(section, "gateway_timeouts", _gateway)
    resets = _per_endpoint(section, "connection_resets", _reset)
    outages = _outages(section)
    slow_database = _optional(section, "slow_database", _slow_database)
    section.close()
    return FaultConfig(seed, errors, spikes, gateway, resets, outages, slow_database)


def faults_from_data(data: Any, *, source: str) -> FaultConfig:
    """Validate an already parsed fault set (the admin endpoint's JSON body)."""
    if data is None:
        raise ConfigError("expected a JSON object with the keys of 'faults:'", source=source)
    return parse_faults(Fields(data, source=source, path="faults"))


def _per_endpoint(parent: Fields, name: str, read: Callable[[Fields], Any]) -> dict[str, Any]:
    section = parent.section(name)
    if section is None:
        return {}
    table: dict[str, Any] = {}
    for key in section.remaining():
        if key != ALL_ENDPOINTS and key not in ENDPOINTS:
            allowed = ", ".join(repr(k) for k in (ALL_ENDPOINTS, *ENDPOINTS))
            raise section.error_at(key, f"unknown endpoint {shown(key)}; endpoints are {allowed}")
        table[key] = read(_mapping(section, key))
    section.close()
    return table


def _optional(parent: Fields, name: str, read: Callable[[Fields], Any]) -> Any:
    section = parent.section(name)
    return None if section is None else read(section)


def _mapping(parent: Fields, key: str) -> Fields:
    section = parent.section(key, required=True)
    assert section is not None  # required=True never returns None
    return section


def _error(fields: Fields) -> ErrorFault:
    rate = fields.take("rate", parse_fraction)
    status = fields.take("status", _status, 500)
    fields.close()
    return ErrorFault(rate=rate, status=status)


def _spike(fields: Fields) -> SpikeFault:
    rate = fields.take("rate", parse_fraction)
    extra_s = fields.take("extra", _delay)
    fields.close()
    return SpikeFault(rate=rate, extra_s=extra_s)


def _gateway(fields: Fields) -> GatewayTimeout:
    rate = fields.take("rate", parse_fraction)
    hang_s = fields.take("hang", _delay, DEFAULT_GATEWAY_HANG_S)
    fields.close()
    return GatewayTimeout(rate=rate, hang_s=hang_s)


def _reset(fields: Fields) -> ResetFault:
    rate = fields.take("rate", parse_fraction)
    after_commit = fields.take("after_commit", _boolean, False)
    fields.close()
    return ResetFault(rate=rate, after_commit=after_commit)


def _slow_database(fields: Fields) -> SlowDatabase:
    extra_s = fields.take("extra", _delay)
    rate = fields.take("rate", parse_fraction, 1.0)
    fields.close()
    return SlowDatabase(extra_s=extra_s, rate=rate)


def _outages(parent: Fields) -> tuple[Outage, ...]:
    outages: list[Outage] = []
    for index, item, line, path in parent.items("outages"):
        if index >= MAX_OUTAGES:
            raise parent.error_at("outages", f"more than {MAX_OUTAGES} outages")
        fields = sub_fields(parent, item, line, path)
        start_s = fields.take("start", _outage_time(0.0))
        duration_s = fields.take("duration", _outage_time(MIN_DELAY_S))
        fields.close()
        outages.append(Outage(start_s=start_s, duration_s=duration_s))
    return tuple(outages)


# -- value parsers -----------------------------------------------------------------------
def _seed(value: Any) -> int:
    return int(parse_number(value, minimum=0, maximum=2**63 - 1, integer=True))


def _status(value: Any) -> int:
    return int(parse_number(value, minimum=400, maximum=599, integer=True))


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{shown(value)} is not true or false")


def _delay(value: Any) -> float:
    seconds = parse_duration_s(value)
    if not MIN_DELAY_S <= seconds <= MAX_DELAY_S:
        raise ValueError(
            f"{shown(value)} is out of range; allowed: {format_duration_s(MIN_DELAY_S)} to "
            f"{format_duration_s(MAX_DELAY_S)}"
        )
    return seconds


def _outage_time(minimum_s: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        seconds = parse_duration_s(value)
        if not minimum_s <= seconds <= MAX_OUTAGE_S:
            raise ValueError(
                f"{shown(value)} is out of range; allowed: {format_duration_s(minimum_s)} to "
                f"{format_duration_s(MAX_OUTAGE_S)}"
            )
        return seconds

    return parse
