"""The ``load:`` section of a scenario: how many users or arrivals, and how they behave.

Three models:

- ``closed``: a fixed pool of users running journeys back to back (Locust's own
  model). Stages are ``{duration, target}`` where ``duration`` is the length of that
  stage (not a cumulative end time, which is what confuses people in Locust's example).
- ``open``: sessions (one citizen's visit: log in, then one journey) start at the
  arrival times of a Poisson process whose rate follows ``rate:``, however many are
  still running, up to ``max_concurrency`` (arrivals beyond it are dropped and counted).
- ``replay``: the requests of a web server's access log, re-issued at their recorded
  offsets divided by ``speed`` and multiplied by ``scale`` (:mod:`dvcschema.replay`
  reads the section, :mod:`loadgen.replay` builds the plan and sends it).

Behaviour (closed and open): think time and patience by digital-literacy segment, and
retries with exponential backoff on 503s and timeouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema import files, rates
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, one_of, sub_fields
from dvcschema.units import format_duration_s, parse_duration_s, parse_number

LOAD_MODELS = ("closed", "open", "replay")
LITERACY = ("high", "medium", "low")
RATE_KINDS = ("constant", "stages", "diurnal", "deadline", "csv")
MAX_DURATION_S = 24 * 3600.0
MAX_USERS = 100_000
MAX_RATE_PER_S = 100_000.0
# Every scenario has a hard ceiling on requests/s (split across worker processes).
DEFAULT_MAX_REQUEST_RATE = 2_000.0


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
class RetryPolicy:
    """Retries of a request after a 503 or a timeout: exponential backoff, full jitter.

    The wait before retry ``k`` (1-based) is uniform in ``[0, min(cap, base·2^(k-1))]``
    (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015), and never
    shorter than the server's ``Retry-After``.
    """

    max_retries: int = 0
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0


@dataclass(frozen=True)
class Behaviour:
    """How citizens behave, by digital-literacy segment (``high``, ``medium``, ``low``)."""

    think_time: dict[str, ThinkTime] = field(
        default_factory=lambda: dict.fromkeys(LITERACY, ThinkTime())
    )
    patience_s: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(LITERACY))
    retries: RetryPolicy = field(default_factory=RetryPolicy)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "think_time": {
                k: {"min": format_duration_s(v.min_s), "max": format_duration_s(v.max_s)}
                for k, v in self.think_time.items()
            }
        }
        patience = {k: format_duration_s(v) for k, v in self.patience_s.items() if v is not None}
        if patience:
            out["patience"] = patience
        if self.retries.max_retries:
            out["retries"] = {
                "max": self.retries.max_retries,
                "backoff": format_duration_s(self.retries.backoff_s),
                "backoff_max": format_duration_s(self.retries.backoff_max_s),
            }
        return out


@dataclass(frozen=True)
class ClosedLoad:
    """A fixed pool of users, each running journeys back to back (Locust's own model)."""

    users: int
    spawn_rate_per_s: float
    stages: tuple[Stage, ...] = ()
    behaviour: Behaviour = field(default_factory=Behaviour)
    max_request_rate: float = DEFAULT_MAX_REQUEST_RATE
    model: str = "closed"

    @property
    def think_time(self) -> ThinkTime:
        """The think time of the ``medium`` segment (for one-line displays)."""
        return self.behaviour.think_time["medium"]

    def natural_duration_s(self) -> float | None:
        return sum(s.duration_s for s in self.stages) if self.stages else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "users": self.users,
            "spawn_rate": self.spawn_rate_per_s,
            "max_request_rate": self.max_request_rate,
            **self.behaviour.as_dict(),
        }
        if self.stages:
            out["stages"] = [
                {"duration": format_duration_s(s.duration_s), "target": s.target}
                for s in self.stages
            ]
        return out

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
class OpenLoad:
    """Sessions arriving as a Poisson process with a time-varying rate."""

    profile: rates.RateProfile
    max_concurrency: int
    rate_spec: dict[str, Any]
    behaviour: Behaviour = field(default_factory=Behaviour)
    max_request_rate: float = DEFAULT_MAX_REQUEST_RATE
    model: str = "open"

    @property
    def stages(self) -> tuple[Stage, ...]:
        return ()

    @property
    def think_time(self) -> ThinkTime:
        return self.behaviour.think_time["medium"]

    def natural_duration_s(self) -> float | None:
        """The profile's own length (``None`` for a constant rate without ``length``)."""
        if self.profile.kind == "constant" and "length" not in self.rate_spec:
            return None
        return self.profile.duration_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "max_concurrency": self.max_concurrency,
            "max_request_rate": self.max_request_rate,
            "rate": self.rate_spec,
            **self.behaviour.as_dict(),
        }


@dataclass(frozen=True)
class LogSpan:
    """What reading the head (and, for a plain file, the tail) of the logs found:
    the first request's time and the last one's (``None`` when a gzipped log's end is
    not known without reading it whole), Unix seconds."""

    first_t: float
    last_t: float | None


@dataclass(frozen=True)
class ReplayLoad:
    """The requests of access logs, re-issued at their recorded offsets (see
    :mod:`dvcschema.replay` for the keys and :mod:`loadgen.replay` for the plan)."""

    logs: tuple[Path, ...]
    format: str
    speed: float
    scale: float
    jitter_s: float
    start_s: float
    length_s: float | None
    methods: tuple[str, ...]
    session: str  # weblog.SessionKey's text: ip+ua, ip, cookie:NAME, header:NAME
    fields: Mapping[str, str]
    routes: tuple[str, ...]  # REGEX=TEMPLATE rules naming the requests
    span: LogSpan
    max_concurrency: int = 1000
    max_request_rate: float = DEFAULT_MAX_REQUEST_RATE
    model: str = "replay"

    @property
    def stages(self) -> tuple[Stage, ...]:
        return ()

    @property
    def behaviour(self) -> Behaviour:
        """A replay has no think times, patience or retries: the log says when."""
        return Behaviour()

    @property
    def think_time(self) -> ThinkTime:
        return ThinkTime()

    def window_end_s(self) -> float | None:
        """The window's end in recorded seconds since the log's first request, or
        ``None`` when it is the log's end and that is not known yet."""
        if self.length_s is not None:
            return self.start_s + self.length_s
        if self.span.last_t is None:
            return None
        # a log's times are whole seconds: its last second lasts a second
        return self.span.last_t - self.span.first_t + 1.0

    def natural_duration_s(self) -> float | None:
        """Run seconds the window takes at ``speed`` (the copies' jitter included), or
        ``None`` when the log's end is not known before reading it whole."""
        end_s = self.window_end_s()
        if end_s is None:
            return None
        jitter_s = self.jitter_s if self.scale > 1 else 0.0
        return (end_s - self.start_s + jitter_s) / self.speed

    def as_dict(self) -> dict[str, Any]:
        logs = [str(p) for p in self.logs]
        out: dict[str, Any] = {
            "model": self.model,
            "log": logs[0] if len(logs) == 1 else logs,
            "format": self.format,
            "speed": self.speed,
            "scale": self.scale,
            "jitter": format_duration_s(self.jitter_s),
            "methods": list(self.methods),
            "session": self.session,
            "max_concurrency": self.max_concurrency,
            "max_request_rate": self.max_request_rate,
        }
        if self.start_s:
            out["start_at"] = format_duration_s(self.start_s)
        if self.length_s is not None:
            out["length"] = format_duration_s(self.length_s)
        if self.fields:
            out["fields"] = dict(self.fields)
        if self.routes:
            out["routes"] = list(self.routes)
        return out


Load = ClosedLoad | OpenLoad | ReplayLoad


def parse_load(section: Fields, *, base_dir: Path | None = None) -> Load:
    """Validate a ``load:`` section (paths in it are relative to ``base_dir``)."""
    model = section.take("model", one_of(*LOAD_MODELS), "closed")
    if model == "open":
        return _open_load(section, base_dir or Path("."))
    if model == "replay":
        from dvcschema.replay import parse_replay  # it builds on this module's parsers

        return parse_replay(section, base_dir or Path("."))
    return _closed_load(section)


def _closed_load(section: Fields) -> ClosedLoad:
    stages = tuple(_stages(section))
    users_default = max((s.target for s in stages), default=None)
    users = section.take(
        "users",
        int_parser(minimum=1, maximum=MAX_USERS),
        users_default,
    )
    if users is None:
        raise section.error_at("users", "required field 'load.users' is missing (or give stages)")
    spawn_rate = section.take(
        "spawn_rate", lambda v: parse_number(v, minimum=0, exclusive_minimum=True), float(users)
    )
    behaviour = _behaviour(section)
    ceiling = section.take("max_request_rate", _ceiling, DEFAULT_MAX_REQUEST_RATE)
    section.close()
    return ClosedLoad(
        users=users, spawn_rate_per_s=spawn_rate, stages=stages, behaviour=behaviour,
        max_request_rate=ceiling,
    )  # fmt: skip


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


def _open_load(section: Fields, base_dir: Path) -> OpenLoad:
    max_concurrency = section.take("max_concurrency", int_parser(minimum=1, maximum=MAX_USERS))
    rate_fields = section.section("rate", required=True)
    assert rate_fields is not None
    profile, spec = parse_rate(rate_fields, base_dir)
    behaviour = _behaviour(section)
    ceiling = section.take("max_request_rate", _ceiling, DEFAULT_MAX_REQUEST_RATE)
    section.close()
    peak = profile.max_rate(0.0, profile.duration_s)
    if peak > ceiling:
        raise section.error_at(
            "rate",
            f"the profile peaks at {peak:g} sessions/s, above the ceiling of {ceiling:g} "
            "requests/s (each session makes at least one); raise load.max_request_rate",
        )
    return OpenLoad(profile, max_concurrency, spec, behaviour, ceiling)


def parse_rate(fields: Fields, base_dir: Path) -> tuple[rates.RateProfile, dict[str, Any]]:
    """One of constant/stages/diurnal/deadline/csv, plus ``speed`` and ``start_at``."""
    kinds = [k for k in RATE_KINDS if fields.has(k)]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        raise fields.error_at(
            kinds[1] if len(kinds) > 1 else "constant",
            f"give exactly one of {', '.join(RATE_KINDS)} (found {found})",
        )
    kind = kinds[0]
    speed = fields.take("speed", _positive, 1.0)
    start_s = fields.take("start_at", duration_parser(minimum_s=0.0), 0.0)
    length_s = fields.take("length", duration_parser(minimum_s=1.0), None)
    spec: dict[str, Any] = {kind: fields.take_raw(kind)}
    spec.update({"speed": speed} if speed != 1.0 else {})
    spec.update({"start_at": format_duration_s(start_s)} if start_s else {})
    spec.update({"length": format_duration_s(length_s)} if length_s else {})
    profile = _PROFILE_READERS[kind](fields, kind, base_dir, speed, start_s, length_s)
    fields.close()
    if profile.max_rate(0.0, profile.duration_s) <= 0:
        raise fields.error_at(kind, "the rate is 0 throughout; no session would start")
    return profile, spec


def _ceiling(value: Any) -> float:
    return parse_number(value, minimum=0, exclusive_minimum=True, maximum=MAX_RATE_PER_S)


def _rate_value(value: Any) -> float:
    return parse_number(value, minimum=0, maximum=MAX_RATE_PER_S)


def _positive(value: Any) -> float:
    return parse_number(value, minimum=0, exclusive_minimum=True, maximum=1e6)


def _constant_profile(
    fields: Fields, kind: str, _base: Path, _speed: float, _start: float, length_s: float | None
) -> rates.RateProfile:
    rate = fields.take(kind, _rate_value)
    return rates.constant(rate, length_s or MAX_DURATION_S)


def _stages_profile(
    fields: Fields, kind: str, _base: Path, _speed: float, _start: float, _length: float | None
) -> rates.RateProfile:
    items = []
    for _i, item, line, path in fields.items(kind):
        stage = sub_fields(fields, item, line, path)
        duration_s = stage.take("duration", duration_parser(minimum_s=0.0))
        rate = stage.take("rate", _rate_value)
        step = stage.take("step", _boolean, False)
        stage.close()
        items.append((duration_s, rate, step))
    if not items:
        raise fields.error_at(kind, "an empty list; give at least one {duration, rate}")
    return rates.stages(items)


def _day_profile(
    fields: Fields, kind: str, _base: Path, speed: float, start_s: float, length_s: float | None
) -> rates.RateProfile:
    day = fields.section(kind)
    assert day is not None
    peak = day.take("peak", _rate_value)
    trough = day.take("trough", _rate_value, 0.0)
    deadline = None
    if kind == "deadline":
        at_s = day.take("deadline_at", duration_parser(minimum_s=0.0))
        surge = day.take("surge", lambda v: parse_number(v, minimum=1.0, maximum=1000.0))
        rise_s = day.take("rise", duration_parser(minimum_s=60.0))
        after = day.take("after", lambda v: parse_number(v, minimum=0.0, maximum=1000.0), 0.3)
        deadline = (at_s, surge, rise_s, after)
    day.close()
    if trough > peak:
        raise day.error_at("trough", f"trough {trough:g} is above peak {peak:g}")
    length = length_s or (rates.DAY_S - start_s)
    if length <= 0:
        raise fields.error_at("start_at", "starts at or after the end of the day")
    return rates.day_profile(
        kind,
        peak=peak,
        trough=trough,
        start_s=start_s,
        length_s=length,
        speed=speed,
        deadline=deadline,
    )


def _csv_profile(
    fields: Fields, kind: str, base_dir: Path, speed: float, start_s: float, _len: float | None
) -> rates.RateProfile:
    spec = fields.section(kind)
    assert spec is not None
    _file, table, _given = read_csv_section(spec, base_dir)
    if start_s >= table.counts.size * table.interval_s:
        raise fields.error_at("start_at", "starts after the end of the CSV")
    return rates.csv_profile(table.rate_per_s, table.interval_s, start_s=start_s, speed=speed)


def read_csv_section(spec: Fields, base_dir: Path) -> tuple[Path, rates.CountsCsv, float | None]:
    """A ``csv: {file, interval}`` section (closed) and its file read: the path, the
    table, and the interval as given (``None``: read from the ``start`` column, else
    60 s). Problems with the file are located at ``file``."""
    file = spec.take("file", lambda v: files.existing_path(base_dir, v))
    given_s = spec.take("interval", duration_parser(minimum_s=0.001), None)
    spec.close()
    try:
        table = rates.read_rate_csv(file, given_s)
    except ConfigError as exc:  # not a regular file, too large, not UTF-8 text
        raise spec.error_at("file", f"{shown(str(file))}: {exc.message}") from None
    except ValueError as exc:
        raise spec.error_at("file", str(exc)) from None
    return file, table, given_s


_PROFILE_READERS = {
    "constant": _constant_profile,
    "stages": _stages_profile,
    "diurnal": _day_profile,
    "deadline": _day_profile,
    "csv": _csv_profile,
}


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not true or false")
    return value


def _behaviour(section: Fields) -> Behaviour:
    think = _by_segment(section, "think_time", _think_range, ThinkTime())
    patience = _by_segment(section, "patience", duration_parser(minimum_s=0.001), None)
    retries = _retries(section.section("retries"))
    return Behaviour(think_time=think, patience_s=patience, retries=retries)


def _by_segment(section: Fields, key: str, parse: Any, default: Any) -> dict[str, Any]:
    """One value for all segments, or a mapping ``{high, medium, low}`` (all three)."""
    if not section.has(key):
        return dict.fromkeys(LITERACY, default)
    raw = section.take_raw(key)
    if isinstance(raw, dict) and set(raw) & set(LITERACY):
        segments = section.section(key)
        assert segments is not None
        values = {seg: segments.take(seg, parse) for seg in LITERACY}
        segments.close()
        return values
    return dict.fromkeys(LITERACY, section.take(key, parse))


def _think_range(value: Any) -> ThinkTime:
    if isinstance(value, str):
        seconds = duration_parser(minimum_s=0.0)(value)
        return ThinkTime(seconds, seconds)
    if not isinstance(value, dict) or set(value) != {"min", "max"}:
        raise ValueError(f"{shown(value)} is not a duration or {{min: ..., max: ...}}")
    low = duration_parser(minimum_s=0.0)(value["min"])
    high = duration_parser(minimum_s=0.0)(value["max"])
    if high < low:
        raise ValueError(f"max {format_duration_s(high)} is below min {format_duration_s(low)}")
    return ThinkTime(low, high)


def _retries(fields: Fields | None) -> RetryPolicy:
    if fields is None:
        return RetryPolicy()
    policy = RetryPolicy(
        max_retries=fields.take("max", int_parser(minimum=0, maximum=20)),
        backoff_s=fields.take("backoff", duration_parser(minimum_s=0.0), 0.5),
        backoff_max_s=fields.take("backoff_max", duration_parser(minimum_s=0.0), 8.0),
    )
    fields.close()
    if policy.backoff_max_s < policy.backoff_s:
        raise fields.error_at("backoff_max", "is below backoff")
    return policy


def int_parser(*, minimum: int, maximum: int) -> Any:
    def parse(value: Any) -> int:
        return int(parse_number(value, minimum=minimum, maximum=maximum, integer=True))

    return parse


def duration_parser(*, minimum_s: float) -> Any:
    def parse(value: Any) -> float:
        seconds = parse_duration_s(value)
        if seconds < minimum_s:
            raise ValueError(
                f"{shown(value)} is too short; at least {format_duration_s(minimum_s)}"
            )
        if seconds > MAX_DURATION_S:
            raise ValueError(
                f"{shown(value)} is too long; at most {format_duration_s(MAX_DURATION_S)}"
            )
        return seconds

    return parse
