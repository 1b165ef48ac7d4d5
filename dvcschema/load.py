"""The ``load:`` section of a scenario: how many users or arrivals, and how they behave.

Stages are ``{duration, target}`` where ``duration`` is the length of that stage
(not a cumulative end time, which is what confuses people in Locust's example).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dvcschema.fields import Fields, one_of, sub_fields
from dvcschema.units import format_duration_s, parse_duration_s, parse_number

LOAD_MODELS = ("closed",)
MAX_DURATION_S = 24 * 3600.0
MAX_USERS = 100_000


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


def parse_load(section: Fields) -> ClosedLoad:
    """Validate a ``load:`` section."""
    return _closed_load(section)


def _closed_load(section: Fields) -> ClosedLoad:
    section.take("model", one_of(*LOAD_MODELS), "closed")
    stages = tuple(_stages(section))
    users_default = max((s.target for s in stages), default=None)
    users = section.take(
        "users",
        int_parser(minimum=1, maximum=MAX_USERS),
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
        duration_s = fields.take("duration", duration_parser(minimum_s=0.0))
        target = fields.take("target", int_parser(minimum=0, maximum=MAX_USERS))
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
        value_s = section.take("think_time", duration_parser(minimum_s=0.0))
        return ThinkTime(value_s, value_s)
    fields = section.section("think_time")
    assert fields is not None
    min_s = fields.take("min", duration_parser(minimum_s=0.0))
    max_s = fields.take("max", duration_parser(minimum_s=0.0))
    fields.close()
    if max_s < min_s:
        raise fields.error_at("max", f"max {format_duration_s(max_s)} is below min")
    return ThinkTime(min_s, max_s)


def int_parser(*, minimum: int, maximum: int) -> Any:
    def parse(value: Any) -> int:
        return int(parse_number(value, minimum=minimum, maximum=maximum, integer=True))

    return parse


def duration_parser(*, minimum_s: float) -> Any:
    def parse(value: Any) -> float:
        seconds = parse_duration_s(value)
        if seconds < minimum_s:
            raise ValueError(f"{value!r} is too short; at least {format_duration_s(minimum_s)}")
        if seconds > MAX_DURATION_S:
            raise ValueError(f"{value!r} is too long; at most {format_duration_s(MAX_DURATION_S)}")
        return seconds

    return parse
