"""A synthetic deadline-day access log of the reference portal, and its truth.

``python -m benchmarks.make_access_log --out access.log [--hours H] [--lines N]
[--rate R] [--format combined|jsonl] [--gzip] [--seed S] [--start ISO] [--truth T.json]``

Writes a web server's access log of citizens' sessions against the reference portal's
routes (:data:`dvcschema.routes.REFERENCE_PORTAL`, service codes of
:mod:`portal.catalogue`), and returns (``--truth``: writes) what it holds, known by
construction: session starts per minute, requests per route (and per route and
status), request times per route, requests per session. ``dvcload derive`` must
find exactly these (issue 16), and its benchmark reads a 10-million-line log of it.

How a log is made
-----------------
- **Sessions** start per minute as a Poisson count of a deadline day's rate: the
  diurnal shape of :func:`dvcschema.rates.diurnal_rate` times a surge towards the
  deadline at 24:00 (:func:`dvcschema.rates.deadline_factor`, x3, rising over 3 h),
  scaled so that the busiest minute of the window expects ``--rate`` sessions (default
  60), at a uniform second within its minute.
- **Journeys** (one per session, of the reference portal's): a status check (login,
  then the dossier 1-3 times), a filing (login, catalogue, form, 1-3 attachments,
  dossier, its status), a payment (login, dossier, payment, the payment gateway's
  confirmation, dossier) and browsing (catalogue, 1-2 forms, no login); 40/30/20/10%.
  Think gaps between requests: exponential, mean 20 s, within [1 s, 5 min], far below
  the 30-minute idle gap that ends a session.
- **Who**: each session has its own client address (``10.x.y.z`` from its sequence
  number: unique among 16.7 million consecutive sessions, so no two sessions that
  overlap in time share an ip+ua key) and a browser's or the mobile app's user agent.
- **IDs**: a session's dossier code has the shape of Decree 61/2018
  (``000.00.30.H01-250331-0042``) and its citizen a 12-digit ID number of the shape of
  Circular 59/2021 (province, century and sex, year, serial), drawn at random: valid
  looking, generated, never a real person's. Status checks carry it in the query
  (``/dossiers/CODE?cccd=NUMBER``), as a portal that takes it there would log it.
- **Replies**: each route's usual status (200, or 201 for a creation), sometimes its
  error (401 login, 404 unknown dossier, 409 paid twice, ...), 0.3% 503 anywhere; a
  size; a request time, lognormal around the route's median, in whole milliseconds,
  written in seconds like nginx's ``$request_time``.

The log is in time order (by the request's time, of which the combined format keeps
the second). ``--lines N`` stops after exactly N lines (the window then ends where
they end, past ``--hours`` if needed); without ``--rate``, the rate is then set so
that about N lines fill the window. Lines are made in blocks of minutes with NumPy and
written as they are done: memory depends on the rate, not on the log's length. The
same arguments and seed give the same bytes (gzip too: no name or time in its header).

Route names in the truth are the reference portal's (``GET /services/[code]/form``);
``form_services`` counts the form requests per service code, the names a log reader
that does not know the portal gives them (``GET /services/tax-settlement/form``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from dvcschema import rates
from dvcschema.routes import (
    ATTACHMENTS,
    DOSSIER,
    DOSSIERS,
    LOGIN,
    PAYGOV_CONFIRM,
    PAYMENTS,
    SERVICE_FORM,
    SERVICES,
    Route,
)
from portal.catalogue import SERVICES as CATALOGUE
from portal.provinces import PROVINCE_CODES

FORMATS = ("combined", "jsonl")
DEFAULT_START = "2025-03-31T08:00:00+07:00"
DEFAULT_PEAK_PER_MIN = 60.0
THINK_MEAN_S = 20.0
THINK_MIN_S = 1.0
THINK_MAX_S = 300.0
ERROR_503 = 0.003
MAX_REQUEST_MS = 30_000
TARGET_SESSIONS_PER_BLOCK = 40_000
GZIP_LEVEL = 1  # fast: the log is written to be read
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class RouteModel:
    """How the portal answers a route: status, its error and how often, size, time."""

    route: Route
    value: str  # what fills its placeholder: "", "service", "dossier", "dossier+cccd"
    status: int
    error_status: int
    error_share: float
    bytes: int
    median_ms: float


ROUTES: tuple[RouteModel, ...] = (
    RouteModel(LOGIN, "", 200, 401, 0.01, 350, 45.0),
    RouteModel(SERVICES, "", 200, 200, 0.0, 5200, 12.0),
    RouteModel(SERVICE_FORM, "service", 200, 404, 0.0, 2400, 18.0),
    RouteModel(ATTACHMENTS, "", 201, 413, 0.005, 180, 60.0),
    RouteModel(DOSSIERS, "", 201, 422, 0.01, 420, 80.0),
    RouteModel(DOSSIER, "dossier+cccd", 200, 404, 0.02, 900, 25.0),
    RouteModel(PAYMENTS, "dossier", 201, 409, 0.01, 310, 70.0),
    RouteModel(PAYGOV_CONFIRM, "", 200, 402, 0.005, 150, 150.0),
)
_R = {m.route: i for i, m in enumerate(ROUTES)}
# (journey, share, the variants' routes); a journey's variants share its share equally
JOURNEYS: tuple[tuple[str, float, tuple[tuple[Route, ...], ...]], ...] = (
    ("status", 0.40, ((LOGIN, DOSSIER), (LOGIN, DOSSIER, DOSSIER), (LOGIN, *[DOSSIER] * 3))),
    (
        "filing",
        0.30,
        tuple(
            (LOGIN, SERVICES, SERVICE_FORM, *[ATTACHMENTS] * k, DOSSIERS, DOSSIER)
            for k in (1, 2, 3)
        ),
    ),
    ("payment", 0.20, ((LOGIN, DOSSIER, PAYMENTS, PAYGOV_CONFIRM, DOSSIER),)),
    ("browse", 0.10, ((SERVICES, SERVICE_FORM), (SERVICES, SERVICE_FORM, SERVICE_FORM))),
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/123.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
    " like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "DVCQG/2.3.1 (Android 13; Xiaomi 2201117TG)",
    "DVCQG/2.3.0 (iOS 17.3; iPhone14,5)",
)
# ID numbers' first three digits: a province of birth (the pre-2025 codes, 001-096)
BIRTH_PROVINCES = tuple(range(1, 97, 2))


def _variants() -> tuple[tuple[int, ...], NDArray[np.float64]]:
    routes, shares = [], []
    for _name, share, variants in JOURNEYS:
        for variant in variants:
            routes.append(tuple(_R[r] for r in variant))
            shares.append(share / len(variants))
    return tuple(routes), np.asarray(shares)  # type: ignore[return-value]


VARIANTS, VARIANT_SHARES = _variants()
_LENGTHS = np.array([len(v) for v in VARIANTS])
_FIRST = np.concatenate([[0], np.cumsum(_LENGTHS)[:-1]])
_FLAT = np.concatenate([np.asarray(v) for v in VARIANTS])
MEAN_REQUESTS_PER_SESSION = float(np.dot(_LENGTHS, VARIANT_SHARES))


@dataclass(frozen=True)
class LogSpec:
    """What log to make (see the module docstring)."""

    start: datetime = field(default_factory=lambda: datetime.fromisoformat(DEFAULT_START))
    hours: float = 1.0
    peak_per_min: float | None = None
    lines: int | None = None
    format: str = "combined"
    seed: int = 1
    compress: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format {self.format!r}; options are {', '.join(FORMATS)}")
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError(f"start {self.start.isoformat()!r} needs a UTC offset (+07:00)")
        if self.start.second or self.start.microsecond:
            raise ValueError(f"start {self.start.isoformat()!r} is not on a whole minute")
        if not 0 < self.hours <= 24 * 31:
            raise ValueError(f"hours {self.hours!r}; allowed: > 0 and at most 744")
        if self.lines is not None and self.lines < 1:
            raise ValueError(f"lines {self.lines!r}; allowed: >= 1")
        if self.peak_per_min is not None and not 0 < self.peak_per_min <= 1e6:
            raise ValueError(f"rate {self.peak_per_min!r}; allowed: > 0 sessions per minute")

    @property
    def minutes(self) -> int:
        return max(1, round(self.hours * 60))


@dataclass
class Truth:
    """What a log holds, counted as its lines were written."""

    spec: LogSpec
    lines: int = 0
    starts: list[int] = field(default_factory=list)  # session starts per minute from start
    route_status: dict[int, dict[int, int]] = field(default_factory=dict)
    time_ms_sum: dict[int, int] = field(default_factory=dict)
    form_services: dict[str, int] = field(default_factory=dict)
    per_session: dict[int, int] = field(default_factory=dict)  # requests -> sessions
    last_t_s: float = 0.0

    @property
    def sessions(self) -> int:
        return sum(self.starts)

    def arrivals(self) -> list[tuple[str, int]]:
        """Session starts per minute, ``(ISO start, count)``, first to last, zeros included."""
        last = max((i for i, n in enumerate(self.starts) if n), default=-1)
        minute = timedelta(minutes=1)
        return [
            ((self.spec.start + i * minute).isoformat(), n)
            for i, n in enumerate(self.starts[: last + 1])
        ]

    def arrivals_csv(self) -> str:
        """:meth:`arrivals` as ``dvcload derive`` writes ``arrivals.csv``."""
        return "start,count\n" + "".join(f"{s},{n}\n" for s, n in self.arrivals())

    def as_dict(self) -> dict[str, Any]:
        names = {i: m.route.name for i, m in enumerate(ROUTES)}
        routes = {names[i]: sum(by.values()) for i, by in sorted(self.route_status.items())}
        status: dict[str, int] = {}
        for by in self.route_status.values():
            for code, n in by.items():
                status[str(code)] = status.get(str(code), 0) + n
        return {
            "kind": "make_access_log truth",
            "version": 1,
            "format": self.spec.format,
            "seed": self.spec.seed,
            "start": self.spec.start.isoformat(),
            "end": (self.spec.start + timedelta(seconds=math.floor(self.last_t_s))).isoformat(),
            "lines": self.lines,
            "requests": self.lines,
            "sessions": self.sessions,
            "interval_s": 60.0,
            "arrivals": [{"start": s, "count": n} for s, n in self.arrivals()],
            "routes": routes,
            "form_services": dict(sorted(self.form_services.items())),
            "status": dict(sorted(status.items())),
            "route_status": {
                names[i]: {str(k): v for k, v in sorted(by.items())}
                for i, by in sorted(self.route_status.items())
            },
            "mean_ms": {
                names[i]: self.time_ms_sum[i] / sum(by.values())
                for i, by in sorted(self.route_status.items())
            },
            "requests_per_session": {str(k): v for k, v in sorted(self.per_session.items())},
            "think_gap_s": {
                "dist": "exponential",
                "mean": THINK_MEAN_S,
                "min": THINK_MIN_S,
                "max": THINK_MAX_S,
            },
        }


# -- the rate ------------------------------------------------------------------------------------
def minute_rates(spec: LogSpec, first: int, count: int, peak_per_min: float) -> NDArray[np.float64]:
    """Expected session starts of minutes ``first .. first + count - 1`` of the log."""
    clock_s = _clock_s(spec) + (first + np.arange(count) + 0.5) * 60.0
    return peak_per_min * _shape(clock_s) / _window_peak(spec)


def _clock_s(spec: LogSpec) -> float:
    return spec.start.hour * 3600.0 + spec.start.minute * 60.0


def _shape(clock_s: NDArray[np.float64]) -> NDArray[np.float64]:
    day_s = np.mod(clock_s, rates.DAY_S)
    diurnal = rates.diurnal_rate(day_s / 3600.0, 1.0, 0.02)
    return diurnal * rates.deadline_factor(day_s, rates.DAY_S, 3.0, 3 * 3600.0, 1.0)


def _window_peak(spec: LogSpec) -> float:
    clock_s = _clock_s(spec) + (np.arange(spec.minutes) + 0.5) * 60.0
    return float(_shape(clock_s).max())


def peak_for_lines(spec: LogSpec, lines: int) -> float:
    """The peak (sessions/min) at which the window expects about ``lines`` lines (+2%)."""
    expected_sessions = float(minute_rates(spec, 0, spec.minutes, 1.0).sum())
    return 1.02 * lines / (MEAN_REQUESTS_PER_SESSION * expected_sessions)


# -- one block of sessions -----------------------------------------------------------------------
@dataclass
class Requests:
    """Requests as columns, with their lines."""

    t_s: NDArray[np.float64]  # since the log's start
    route: NDArray[np.int64]
    status: NDArray[np.int64]
    time_ms: NDArray[np.int64]
    session: NDArray[np.int64]  # global sequence number
    position: NDArray[np.int64]  # 0 for the session's first request
    length: NDArray[np.int64]  # the session's requests
    service: NDArray[np.int64]  # index into CATALOGUE (forms only; else -1)
    text: list[str]

    def take(self, index: NDArray[np.int64]) -> Requests:
        return Requests(
            self.t_s[index], self.route[index], self.status[index], self.time_ms[index],
            self.session[index], self.position[index], self.length[index], self.service[index],
            [self.text[i] for i in index.tolist()],
        )  # fmt: skip

    @staticmethod
    def concat(parts: Sequence[Requests]) -> Requests:
        cols = [np.concatenate([getattr(p, c) for p in parts]) for c in _COLUMNS]
        return Requests(*cols, [line for p in parts for line in p.text])


_COLUMNS = ("t_s", "route", "status", "time_ms", "session", "position", "length", "service")


def make_block(
    rng: np.random.Generator,
    spec: LogSpec,
    *,
    first_minute: int,
    expected: NDArray[np.float64],
    first_session: int,
    stamps: _Stamps,
) -> tuple[Requests, int]:
    """The requests of the sessions that start in ``len(expected)`` minutes from
    ``first_minute`` (Poisson counts of ``expected``), numbered from ``first_session``;
    and how many sessions that is."""
    counts = rng.poisson(expected)
    n = int(counts.sum())
    if n == 0:
        return _empty(), 0
    start_s = (first_minute + np.repeat(np.arange(counts.size), counts)) * 60.0
    start_s += rng.random(n) * 60.0
    variant = rng.choice(len(VARIANTS), size=n, p=VARIANT_SHARES)
    length = _LENGTHS[variant]
    session = np.repeat(np.arange(n), length)
    q = session.size
    begin = np.cumsum(length) - length
    position = np.arange(q) - np.repeat(begin, length)
    route = _FLAT[np.repeat(_FIRST[variant], length) + position]
    gap = np.clip(rng.exponential(THINK_MEAN_S, q), THINK_MIN_S, THINK_MAX_S)
    gap[position == 0] = 0.0
    elapsed = np.cumsum(gap)
    t_s = start_s[session] + elapsed - np.repeat(elapsed[begin], length)
    status, time_ms, size = _replies(rng, route)
    who = _Who.draw(rng, n, first_session, spec.start)
    service = np.where(route == _R[SERVICE_FORM], who.service[session], -1)
    text = _lines(
        spec.format, stamps, t_s=t_s, route=route, status=status, size=size, time_ms=time_ms,
        session=session, who=who,
    )  # fmt: skip
    requests = Requests(
        t_s, route, status, time_ms, session + first_session, position,
        length[session], service, text,
    )  # fmt: skip
    return requests, n


def _empty() -> Requests:
    none = np.zeros(0, dtype=np.int64)
    return Requests(np.zeros(0), none, none, none, none, none, none, none, [])


def _replies(
    rng: np.random.Generator, route: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    ok = np.array([m.status for m in ROUTES])[route]
    error = np.array([m.error_status for m in ROUTES])[route]
    share = np.array([m.error_share for m in ROUTES])[route]
    u = rng.random(route.size)
    status = np.where(u < share, error, ok)
    status = np.where(u > 1.0 - ERROR_503, 503, status)
    median = np.array([m.median_ms for m in ROUTES])[route]
    time_ms = np.clip(np.rint(median * rng.lognormal(0.0, 0.6, route.size)), 1, MAX_REQUEST_MS)
    base = np.array([m.bytes for m in ROUTES])[route]
    size = np.where(status >= 400, 120, base + rng.integers(0, base // 10 + 1))
    return status, time_ms.astype(np.int64), size


@dataclass(frozen=True)
class _Who:
    """Each session's client (ip, user agent), citizen's ID number, dossier and service."""

    ip: list[str]
    agent: NDArray[np.int64]
    cccd: list[str]
    dossier: list[str]
    service: NDArray[np.int64]

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, first: int, day: datetime) -> _Who:
        number = (first + np.arange(n)) % (1 << 24)
        ip = [f"10.{k >> 16}.{(k >> 8) & 255}.{k & 255}" for k in number.tolist()]
        agent = rng.integers(0, len(USER_AGENTS), n)
        year = rng.integers(1950, 2008, n)
        century_sex = (year // 100 - 19) * 2 + rng.integers(0, 2, n)
        cccd_number = (
            rng.choice(BIRTH_PROVINCES, n) * 1_000_000_000
            + century_sex * 100_000_000
            + (year % 100) * 1_000_000
            + rng.integers(0, 1_000_000, n)
        )
        service = rng.integers(0, len(CATALOGUE), n)
        agency = [_AGENCIES[i] for i in service.tolist()]
        province = rng.choice(PROVINCE_VALUES, n).tolist()
        days = [(day - timedelta(days=d)).strftime("%y%m%d") for d in range(30)]
        received = [days[d] for d in rng.integers(0, 30, n).tolist()]
        sequence = rng.integers(1, 10_000, n).tolist()
        dossier = [
            f"000.00.{a}.H{p}-{r}-{s:04d}"
            for a, p, r, s in zip(agency, province, received, sequence, strict=True)
        ]
        cccd = [f"{c:012d}" for c in cccd_number.tolist()]
        return cls(ip, agent, cccd, dossier, service)


PROVINCE_VALUES = tuple(sorted(set(PROVINCE_CODES.values())))
_AGENCIES = tuple(service.agency_code for service in CATALOGUE)
_SECONDS = tuple(f"{ms / 1000:.3f}" for ms in range(MAX_REQUEST_MS + 1))  # as $request_time


class _Stamps:
    """A request's time as the log writes it: the day's part, then the time of day's."""

    def __init__(self, start: datetime, fmt: str) -> None:
        self.start = start
        self.fmt = fmt
        self.start_tod_s = start.hour * 3600 + start.minute * 60
        self.days: dict[int, str] = {}
        offset = start.strftime("%z")
        self.suffix = f" {offset}" if fmt == "combined" else f"{offset[:3]}:{offset[3:]}"

    def strings(self, seconds: NDArray[np.int64]) -> list[str]:
        """The stamps of ``seconds`` since the log's start (its UTC offset throughout)."""
        local = seconds + self.start_tod_s
        day, tod = np.divmod(local, 86_400)
        for d in np.unique(day).tolist():
            if d not in self.days:
                self.days[d] = self._day(d)
        days, suffix, clock = self.days, self.suffix, _time_of_day()
        return [
            days[d] + clock[t] + suffix for d, t in zip(day.tolist(), tod.tolist(), strict=True)
        ]

    def _day(self, day: int) -> str:
        date = self.start.date() + timedelta(days=day)
        if self.fmt == "jsonl":
            return f"{date.isoformat()}T"
        return f"{date.day:02d}/{_MONTHS[date.month - 1]}/{date.year}:"


_CLOCK: list[str] = []


def _time_of_day() -> list[str]:
    """``HH:MM:SS`` of every second of a day (made once)."""
    if not _CLOCK:
        _CLOCK.extend(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _CLOCK


def _lines(
    fmt: str,
    stamps: _Stamps,
    *,
    t_s: NDArray[np.float64],
    route: NDArray[np.int64],
    status: NDArray[np.int64],
    size: NDArray[np.int64],
    time_ms: NDArray[np.int64],
    session: NDArray[np.int64],
    who: _Who,
) -> list[str]:
    stamp = stamps.strings(np.floor(t_s).astype(np.int64))
    services = [CATALOGUE[i].code for i in who.service.tolist()]
    values = {
        "": [""] * len(who.ip),
        "service": services,
        "dossier": who.dossier,
        "dossier+cccd": [f"{d}?cccd={c}" for d, c in zip(who.dossier, who.cccd, strict=True)],
    }
    by_route = [values[m.value] for m in ROUTES]
    head = [m.route.template.split("{")[0] for m in ROUTES]
    tail = [m.route.template.split("}")[1] if "}" in m.route.template else "" for m in ROUTES]
    method = [m.route.method for m in ROUTES]
    agents = [USER_AGENTS[a] for a in who.agent.tolist()]
    seconds = _SECONDS
    rows = zip(
        stamp, route.tolist(), status.tolist(), size.tolist(), time_ms.tolist(),
        session.tolist(), strict=True,
    )  # fmt: skip
    if fmt == "combined":
        return [
            f'{who.ip[s]} - - [{st}] "{method[r]} {head[r]}{by_route[r][s]}{tail[r]} HTTP/1.1"'
            f' {code} {nbytes} "-" "{agents[s]}" {seconds[ms]}\n'
            for st, r, code, nbytes, ms, s in rows
        ]
    return [
        f'{{"time":"{st}","remote_addr":"{who.ip[s]}","method":"{method[r]}",'
        f'"request_uri":"{head[r]}{by_route[r][s]}{tail[r]}","status":{code},'
        f'"body_bytes_sent":{nbytes},"http_user_agent":"{agents[s]}",'
        f'"request_time":{seconds[ms]}}}\n'
        for st, r, code, nbytes, ms, s in rows
    ]


# -- writing -------------------------------------------------------------------------------------
def write_log(out: Path, spec: LogSpec) -> Truth:
    """Write the log ``spec`` describes to ``out``; return its truth."""
    peak = spec.peak_per_min
    if peak is None:
        peak = DEFAULT_PEAK_PER_MIN if spec.lines is None else peak_for_lines(spec, spec.lines)
    rng = np.random.default_rng(spec.seed)
    truth = Truth(spec)
    stamps = _Stamps(spec.start, spec.format)
    mean_per_min = float(minute_rates(spec, 0, spec.minutes, peak).mean())
    block = int(np.clip(TARGET_SESSIONS_PER_BLOCK / max(mean_per_min, 1e-9), 1, 60))
    with _Output(out, spec.compress) as sink:
        carry = _empty()
        minute, sessions = 0, 0
        while spec.lines is not None or minute < spec.minutes:
            expected = minute_rates(spec, minute, block, peak)
            if spec.lines is None:
                expected = expected[: spec.minutes - minute]
            new, count = make_block(
                rng, spec, first_minute=minute, expected=expected, first_session=sessions,
                stamps=stamps,
            )  # fmt: skip
            sessions += count
            minute += expected.size
            merged = Requests.concat([carry, new])
            order = np.argsort(merged.t_s, kind="stable")
            cut = int(np.searchsorted(merged.t_s[order], minute * 60.0))
            ready, carry = merged.take(order[:cut]), merged.take(order[cut:])
            if _write(sink, ready, carry, truth):
                return truth
        _write(sink, carry, _empty(), truth)
    return truth


def _write(sink: IO[bytes], ready: Requests, carry: Requests, truth: Truth) -> bool:
    """Write ``ready`` (in time order), up to ``spec.lines``; True when that is reached
    (the sessions cut short are then counted from what is left: the rest and ``carry``)."""
    limit = truth.spec.lines
    left = _empty()
    if limit is not None and truth.lines + len(ready.text) >= limit:
        index = np.arange(len(ready.text))
        ready, left = (
            ready.take(index[: limit - truth.lines]),
            ready.take(index[limit - truth.lines :]),
        )
    if ready.text:
        sink.write("".join(ready.text).encode("ascii"))
        _count(truth, ready)
    if limit is None or truth.lines < limit:
        return False
    _count_cut_sessions(truth, Requests.concat([left, carry]))
    return True


def _count(truth: Truth, ready: Requests) -> None:
    truth.lines += len(ready.text)
    truth.last_t_s = float(ready.t_s[-1])
    first = ready.position == 0
    minutes = np.floor(ready.t_s[first] / 60.0).astype(np.int64)
    if minutes.size:
        by_minute = np.bincount(minutes)
        if len(truth.starts) < by_minute.size:
            truth.starts.extend([0] * (by_minute.size - len(truth.starts)))
        for i in np.flatnonzero(by_minute).tolist():
            truth.starts[i] += int(by_minute[i])
    pairs = np.bincount(ready.route * 1000 + ready.status, minlength=len(ROUTES) * 1000)
    for key in np.flatnonzero(pairs).tolist():
        by = truth.route_status.setdefault(key // 1000, {})
        by[key % 1000] = by.get(key % 1000, 0) + int(pairs[key])
    sums = np.bincount(ready.route, weights=ready.time_ms, minlength=len(ROUTES))
    for r in np.flatnonzero(np.bincount(ready.route, minlength=len(ROUTES))).tolist():
        truth.time_ms_sum[r] = truth.time_ms_sum.get(r, 0) + round(sums[r])
    forms = np.bincount(ready.service[ready.service >= 0], minlength=len(CATALOGUE))
    for i in np.flatnonzero(forms).tolist():
        code = CATALOGUE[i].code
        truth.form_services[code] = truth.form_services.get(code, 0) + int(forms[i])
    ended = np.bincount(ready.length[ready.position == ready.length - 1])
    for length in np.flatnonzero(ended).tolist():
        truth.per_session[length] = truth.per_session.get(length, 0) + int(ended[length])


def _count_cut_sessions(truth: Truth, unwritten: Requests) -> None:
    """At ``--lines``: a session started but not ended has written its length minus the
    requests of it that are left (``unwritten``: all of them, of every session so far)."""
    not_started = np.isin(unwritten.session, unwritten.session[unwritten.position == 0])
    cut = ~not_started
    _ids, first, left = np.unique(unwritten.session[cut], return_index=True, return_counts=True)
    for written in (unwritten.length[cut][first] - left).tolist():
        truth.per_session[written] = truth.per_session.get(written, 0) + 1


class _Output:
    """The output file, gzipped (no name, time 0 in the header) when asked."""

    def __init__(self, path: Path, compress: bool) -> None:
        self.raw = path.open("wb")
        self.sink: IO[bytes] = self.raw
        if compress:
            self.sink = gzip.GzipFile(  # type: ignore[assignment]
                filename="", mode="wb", fileobj=self.raw, compresslevel=GZIP_LEVEL, mtime=0
            )

    def __enter__(self) -> IO[bytes]:
        return self.sink

    def __exit__(self, *exc: object) -> None:
        if self.sink is not self.raw:
            self.sink.close()
        self.raw.close()


# -- the command line ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec = LogSpec(
            start=datetime.fromisoformat(args.start),
            hours=args.hours,
            peak_per_min=args.rate,
            lines=args.lines,
            format=args.format,
            seed=args.seed,
            compress=args.gzip,
        )
    except ValueError as exc:
        print(f"make_access_log: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    truth = write_log(args.out, spec)
    elapsed = time.perf_counter() - started
    if args.truth is not None:
        args.truth.write_text(json.dumps(truth.as_dict(), indent=1) + "\n", encoding="utf-8")
    print(
        f"{args.out}: {truth.lines:,} lines, {truth.sessions:,} sessions in {elapsed:.1f} s"
        f" ({truth.lines / max(elapsed, 1e-9):,.0f} lines/s)",
        file=sys.stderr,
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.make_access_log",
        description="Write a synthetic deadline-day access log of the reference portal.",
    )
    parser.add_argument("--out", type=Path, required=True, help="the log file to write")
    parser.add_argument("--hours", type=float, default=1.0, help="the window (default 1)")
    parser.add_argument("--lines", type=int, help="stop after exactly this many lines")
    parser.add_argument(
        "--rate",
        type=float,
        help=f"sessions starting in the window's busiest minute (default {DEFAULT_PEAK_PER_MIN:g},"
        " or what fills the window with --lines)",
    )
    parser.add_argument("--format", choices=FORMATS, default="combined")
    parser.add_argument("--gzip", action="store_true", help="gzip the log")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--start", default=DEFAULT_START, help=f"ISO 8601, on a minute (default {DEFAULT_START})"
    )
    parser.add_argument("--truth", type=Path, help="write the truth here (JSON)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
