"""Precedence of settings, decided in one place: command line > environment
(``DVCLOAD_*``) > scenario file > defaults.

Each override is parsed by the same parser as the scenario field it replaces, and a
bad value names its origin (``--duration`` or ``DVCLOAD_DURATION``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dvcschema import rates
from dvcschema.errors import ScenarioError, shown
from dvcschema.load import (
    MAX_DURATION_S,
    MAX_RATE_PER_S,
    MAX_USERS,
    ClosedLoad,
    OpenLoad,
    ReplayLoad,
)
from dvcschema.scenario import Scenario
from dvcschema.target import parse_host, parse_target
from dvcschema.units import format_duration_s, parse_duration_s, parse_number

ENV_PREFIX = "DVCLOAD_"
_MAX_NUMBER_CHARS = 40  # longer text is no number a setting needs


@dataclass(frozen=True)
class Overrides:
    """Values from the command line (``None`` where not given)."""

    target: str | None = None
    duration: str | None = None
    users: str | int | None = None
    seed: str | int | None = None
    arrival_rate: str | float | None = None
    allow_targets: tuple[str, ...] = ()


_FIELDS = ("target", "duration", "users", "arrival_rate", "seed")


def apply_settings(
    scenario: Scenario, cli: Overrides, environ: Mapping[str, str] | None = None
) -> Scenario:
    """Return ``scenario`` with environment and command-line overrides applied."""
    environ = environ or {}
    for name in _FIELDS:
        env_key = ENV_PREFIX + name.upper()
        cli_value = getattr(cli, name)
        if cli_value is not None:
            scenario = _APPLY[name](scenario, cli_value, f"--{name}")
        elif env_key in environ:
            scenario = _APPLY[name](scenario, environ[env_key], env_key)
    env_key = ENV_PREFIX + "ALLOW_TARGETS"
    env_hosts = [h for h in environ.get(env_key, "").split(",") if h.strip()]
    hosts = {_parsed("--allow-target", parse_host, h) for h in cli.allow_targets}
    hosts |= {_parsed(env_key, parse_host, h) for h in env_hosts}
    if hosts:
        scenario = dataclasses.replace(scenario, allow_targets=scenario.allow_targets | hosts)
    return scenario


def _parsed(origin: str, parse: Callable[[Any], Any], value: Any) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise ScenarioError(str(exc), field=origin) from None


def _target(scenario: Scenario, value: Any, origin: str) -> Scenario:
    return dataclasses.replace(scenario, target=_parsed(origin, parse_target, value))


def _duration(scenario: Scenario, value: Any, origin: str) -> Scenario:
    seconds = _parsed(origin, parse_duration_s, value)
    if not 1.0 <= seconds <= MAX_DURATION_S:
        raise ScenarioError(
            f"{shown(value)} is out of range; allowed: 1s to {format_duration_s(MAX_DURATION_S)}",
            field=origin,
        )
    load = scenario.load
    natural_s = load.natural_duration_s() if load is not None else None
    if natural_s is not None and seconds > natural_s + 1e-9:
        raise ScenarioError(
            f"{shown(value)} is longer than the scenario's load ({format_duration_s(natural_s)})",
            field=origin,
        )
    if isinstance(load, ClosedLoad) and load.stages:
        load = dataclasses.replace(load, stages=_truncate(load, seconds))
    return dataclasses.replace(scenario, duration_s=seconds, load=load)


def _truncate(load: ClosedLoad, seconds: float) -> tuple[Any, ...]:
    """Keep the stages that start within ``seconds``, cutting the last one short."""
    kept, start = [], 0.0
    for stage in load.stages:
        if start >= seconds:
            break
        kept.append(dataclasses.replace(stage, duration_s=min(stage.duration_s, seconds - start)))
        start += stage.duration_s
    return tuple(kept)


def _users(scenario: Scenario, value: Any, origin: str) -> Scenario:
    users = int(_parsed(origin, lambda v: _int_text(v, 1, MAX_USERS), value))
    if isinstance(scenario.load, ReplayLoad):
        raise ScenarioError(_NOT_FOR_REPLAY, field=origin)
    if not isinstance(scenario.load, ClosedLoad):
        raise ScenarioError(
            "applies to the closed model; this scenario is open (use --arrival-rate)",
            field=origin,
        )
    load = dataclasses.replace(scenario.load, users=users, stages=())
    return dataclasses.replace(scenario, load=load)


def _arrival_rate(scenario: Scenario, value: Any, origin: str) -> Scenario:
    """A constant rate (sessions/s) replacing the open model's profile."""
    rate = float(_parsed(origin, _number_text, value))
    if not 0 < rate <= MAX_RATE_PER_S:
        raise ScenarioError(
            f"{shown(value)} is out of range; allowed: > 0 to {MAX_RATE_PER_S:g}", field=origin
        )
    if isinstance(scenario.load, ReplayLoad):
        raise ScenarioError(_NOT_FOR_REPLAY, field=origin)
    if not isinstance(scenario.load, OpenLoad):
        raise ScenarioError(
            "applies to the open model; set 'load: {model: open, ...}' in the scenario",
            field=origin,
        )
    if rate > scenario.load.max_request_rate:
        raise ScenarioError(
            f"{rate:g} sessions/s is above the scenario's ceiling of "
            f"{scenario.load.max_request_rate:g} requests/s (load.max_request_rate)",
            field=origin,
        )
    profile = rates.constant(rate, MAX_DURATION_S)
    load = dataclasses.replace(scenario.load, profile=profile, rate_spec={"constant": rate})
    return dataclasses.replace(scenario, load=load)


_NOT_FOR_REPLAY = (
    "does not apply to a replay (load.model: replay): the log says when requests come; "
    "load.speed and load.scale change how fast and how many"
)


def _number_text(value: Any) -> float:
    if isinstance(value, str):
        text = value.strip()
        try:
            if not text.isascii() or len(text) > _MAX_NUMBER_CHARS:
                raise ValueError
            value = float(text)
        except ValueError:
            raise ValueError(f"{shown(value)} is not a number (ASCII digits)") from None
    return parse_number(value)


def _seed(scenario: Scenario, value: Any, origin: str) -> Scenario:
    seed = int(_parsed(origin, lambda v: _int_text(v, 0, 2**63 - 1), value))
    return dataclasses.replace(scenario, seed=seed)


def _int_text(value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > _MAX_NUMBER_CHARS:
            raise ValueError(f"{shown(value)} is not a whole number (ASCII digits)")
        value = int(text)
    return int(parse_number(value, minimum=minimum, maximum=maximum, integer=True))


_APPLY: dict[str, Callable[[Scenario, Any, str], Scenario]] = {
    "target": _target,
    "duration": _duration,
    "users": _users,
    "arrival_rate": _arrival_rate,
    "seed": _seed,
}
