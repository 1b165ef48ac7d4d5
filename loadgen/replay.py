"""Replaying an access log: the plan of requests, built once per process at run setup.

``load: {model: replay, log: FILE, speed: 60, scale: 2}`` (:mod:`dvcschema.replay`)
re-issues the recorded requests against the scenario's target. The log is read once,
as a stream (:func:`dvcschema.weblog.read_logs`), and becomes a :class:`ReplayPlan`:
sorted send times in run seconds and, for each, the method, the path with its query,
and the request's name. The open model's dispatcher (:class:`loadgen.arrivals.Dispatcher`)
hands each send time to an idle :class:`loadgen.users.ReplayUser`, which sends the one
request the ticket names, through the same guarded client as every other user (the
target policy and the ceiling apply); so late and dropped requests are counted as
arrivals are in the open model.

Time
    A request recorded ``t`` seconds after the window's start (``start_at`` after the
    log's first request; the log's first request without it) is sent ``t / speed``
    seconds into the run. The host in the log is never used: weblog gives the path
    and query, and the scenario's target receives them. Requests whose send time
    falls after the run's ``duration`` are not sent (``cut_at_end``).

Scale: how the extra requests are drawn
    The unit of copying is the *session* (weblog's session key, ``session:``, by
    default the client address and user agent), so that a visit is replayed whole or
    not at all. With ``scale = s``, each session is replayed ``floor(s)`` times, plus
    once more with probability ``s - floor(s)``. Whether copy ``j`` of a session is
    replayed is decided by a stable hash (BLAKE2b) of (session key, ``j``, the
    scenario's seed): the same log, scale and seed always replay the same sessions,
    in every process, run after run. ``scale < 1`` thins the log the same way (copy 0
    is kept with probability ``s``). Copy 0 is the recorded traffic at its recorded
    times; copy ``j >= 1`` is shifted by an offset uniform in ``[0, jitter)`` recorded
    seconds (``jitter:``, default 1 s), drawn by the same kind of hash per (session,
    copy), so that copies do not arrive in lockstep with the original. The expected
    count in any interval is ``s`` times the recorded count; with a whole ``s`` the
    count is exact but for the copies' jitter moving requests across its edges.

ID numbers
    Every 12-digit number in a path or query (the shape of a citizen's ID number) is
    replaced before anything is sent or written: the distinct numbers of the window
    are ranked by a hash of (number, seed), and number of rank ``r`` in copy ``j``
    becomes the ID number of synthetic citizen ``j * D + r`` of the scenario's
    population (``D`` distinct numbers; the index wraps around the population, which
    ``ids_wrapped`` reports, when the population is smaller than ``copies * D``). So a
    real number always maps to the same synthetic one within a copy, copies map to
    different citizens, and no real number is sent, named or written: request names
    are :class:`~dvcschema.weblog.RouteNamer`'s templates (``GET /hs/[cccd]``), and
    unparsed lines are shown masked.

Processes
    Every process reads the whole log and draws the same plan; worker ``k`` of ``n``
    sends the sessions whose stable hash modulo ``n`` is ``k`` (whole sessions, all
    their copies). The ID mapping and the figures in ``summary.json``'s ``replay`` are
    those of the whole plan, the same in every process.
"""

from __future__ import annotations

import hashlib
import logging
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
from numpy.typing import NDArray

from dvcschema.errors import ScenarioError
from dvcschema.load import ReplayLoad
from dvcschema.replay import log_options, route_rules
from dvcschema.units import format_duration_s, iso_utc
from dvcschema.weblog import ReadStats, Record, RouteNamer, read_logs, replace_ids

DISORDER_S = 60.0  # a record this far past the window's end ends the reading
CHUNK = 4096  # send times handed to the dispatcher at a time
_SAFE_CHARS = "/?&=%:@!$'()*+,;~-._[]"  # kept as they are in a path and query
log = logging.getLogger(__name__)


@dataclass
class ReplayPlan:
    """The requests one process sends, in time order.

    ``offsets_s[i]`` is the send time of request ``i`` (run seconds); its method is
    ``methods[method_index[i]]`` and its path, query included, ``targets[target_index[i]]``,
    named ``names[target_index[i]]``. ``summary`` is ``summary.json``'s ``replay``
    (figures of the whole plan, all processes).
    """

    offsets_s: NDArray[np.float64]
    method_index: NDArray[np.int8]
    target_index: NDArray[np.int32]
    methods: list[str]
    targets: list[str]
    names: list[str]
    summary: dict[str, Any] = field(default_factory=dict)
    scheduled_total: int = 0  # requests of the whole plan (all processes)
    _all_offsets_s: NDArray[np.float64] | None = None  # of the whole plan, for ``expected``

    def __len__(self) -> int:
        return int(self.offsets_s.size)

    def request(self, index: int) -> tuple[str, str, str]:
        """``(method, path and query, name)`` of request ``index`` (0-based)."""
        target = int(self.target_index[index])
        return self.methods[int(self.method_index[index])], self.targets[target], self.names[target]

    def chunks(self) -> Iterator[NDArray[np.float64]]:
        """The send times, for :class:`~loadgen.arrivals.Dispatcher` (views, no copy)."""
        for start in range(0, len(self), CHUNK):
            yield self.offsets_s[start : start + CHUNK]

    def expected(self, until_s: float) -> int:
        """Requests of the whole plan due in the first ``until_s`` run seconds."""
        offsets = self._all_offsets_s if self._all_offsets_s is not None else self.offsets_s
        return int(np.searchsorted(offsets, until_s, side="left"))


@dataclass
class _Recorded:
    """The sendable requests of the window, as read: compact arrays and their tables."""

    offsets_s: array[float] = field(default_factory=lambda: array("d"))
    sessions: array[int] = field(default_factory=lambda: array("q"))
    targets: array[int] = field(default_factory=lambda: array("l"))
    methods: array[int] = field(default_factory=lambda: array("b"))
    session_keys: dict[str, int] = field(default_factory=dict)
    target_texts: dict[str, int] = field(default_factory=dict)
    method_names: dict[str, int] = field(default_factory=dict)
    in_window: int = 0
    skipped_by_method: Counter[str] = field(default_factory=Counter)
    skipped_not_path: int = 0
    first_t: float | None = None
    last_t: float | None = None
    stopped_early: bool = False

    def add(self, record: Record, offset_s: float, method: str) -> None:
        self.offsets_s.append(offset_s)
        self.sessions.append(self.session_keys.setdefault(record.session, len(self.session_keys)))
        self.targets.append(self.target_texts.setdefault(record.target, len(self.target_texts)))
        self.methods.append(self.method_names.setdefault(method, len(self.method_names)))


def build_plan(
    load: ReplayLoad,
    *,
    seed: int,
    duration_s: float,
    numbers: Callable[[int], Sequence[str]],
    partition: tuple[int, int] = (0, 1),
    source: str = "<scenario>",
) -> ReplayPlan:
    """Read the replay's logs and draw this process's plan.

    Parameters
    ----------
    load
        The validated ``load:`` section.
    seed
        The scenario's seed: which sessions are copied, and their jitter.
    duration_s
        The run's length; requests due later are not sent.
    numbers
        ``numbers(k)``: the ID numbers of the population's first ``k`` citizens.
    partition
        ``(k, n)``: this process sends the sessions whose hash modulo ``n`` is ``k``.
    source
        The scenario file, for messages.

    Raises
    ------
    ScenarioError
        The window holds no request that may be sent, starts or ends outside the log,
        or the replay's peak is above ``load.max_request_rate``.
    """
    recorded, reads = _read(load)
    _check_read(load, recorded, reads, source)
    copies = _Copies.draw(load, seed, list(recorded.session_keys), partition)
    ids = _IdMap.of(list(recorded.target_texts), seed, copies.count, numbers)
    drawn = _Drawn(load, recorded, reads, copies, ids)
    return _assemble(drawn, duration_s=duration_s, source=source)


# -- reading ---------------------------------------------------------------------------------
def _read(load: ReplayLoad) -> tuple[_Recorded, list[ReadStats]]:
    stream, reads = read_logs(list(load.logs), log_options(load))
    recorded = _Recorded()
    allowed = frozenset(load.methods)
    length_s = math.inf if load.length_s is None else load.length_s
    start = math.nan
    for record in stream:
        if recorded.first_t is None:
            recorded.first_t, start = record.t, record.t + load.start_s
        recorded.last_t = record.t if recorded.last_t is None else max(recorded.last_t, record.t)
        offset_s = record.t - start
        if offset_s < 0:
            if load.start_s > 0:
                continue
            offset_s = 0.0  # a little disorder at the log's start (logged at completion)
        if offset_s >= length_s:
            if offset_s > length_s + DISORDER_S:
                recorded.stopped_early = True
                break
            continue
        recorded.in_window += 1
        method = record.method.upper()
        if method not in allowed:
            recorded.skipped_by_method[method[:16]] += 1
        elif not record.target.startswith("/"):
            recorded.skipped_not_path += 1
        else:
            recorded.add(record, offset_s, method)
    close = getattr(stream, "close", None)
    if close is not None:
        close()
    return recorded, reads


def _check_read(load: ReplayLoad, recorded: _Recorded, reads: list[ReadStats], source: str) -> None:
    def error(key: str, message: str) -> ScenarioError:
        return ScenarioError(message, source=source, field=f"load.{key}")

    if recorded.first_t is None or recorded.last_t is None:
        unparsed = sum(r.unparsed for r in reads)
        raise error("log", f"no line of the log parses ({unparsed:,} unparsed)")
    span_s = recorded.last_t - recorded.first_t + 1.0
    if load.start_s >= span_s:
        raise error(
            "start_at",
            f"{format_duration_s(load.start_s)} is after the log's last request "
            f"({format_duration_s(span_s)} after its first)",
        )
    end_s = None if load.length_s is None else load.start_s + load.length_s
    if end_s is not None and not recorded.stopped_early and end_s > span_s + 1e-9:
        raise error(
            "length",
            f"the window ends {format_duration_s(end_s)} after the log's first request, "
            f"after its last ({format_duration_s(span_s)}); shorten length or start_at",
        )
    if not recorded.offsets_s:
        skipped = ", ".join(f"{m} {n:,}" for m, n in recorded.skipped_by_method.most_common(4))
        raise error(
            "methods",
            f"none of the window's {recorded.in_window:,} requests may be sent (methods "
            f"{', '.join(load.methods)}; skipped: {skipped or 'none'}, not a path: "
            f"{recorded.skipped_not_path:,})",
        )
    for read in reads:
        if read.truncated:
            log.warning("replay: %s: %s; replaying what was read", read.path, read.truncated)


# -- copies ----------------------------------------------------------------------------------
def _unit(*parts: object) -> float:
    """A number in [0, 1) from a stable hash of ``parts`` (the same in every process)."""
    text = "\x1f".join(str(p) for p in parts).encode("utf-8", "backslashreplace")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2.0**64


@dataclass(frozen=True)
class _Copies:
    """Per session and copy: replayed or not, and the copy's shift (recorded seconds);
    per session: whether this process sends it."""

    kept: NDArray[np.bool_]  # (sessions, copies)
    shift_s: NDArray[np.float64]  # (sessions, copies)
    mine: NDArray[np.bool_]  # (sessions,)

    @property
    def count(self) -> int:
        return int(self.kept.shape[1])

    @classmethod
    def draw(
        cls, load: ReplayLoad, seed: int, keys: list[str], partition: tuple[int, int]
    ) -> _Copies:
        whole = math.floor(load.scale)
        fraction = load.scale - whole
        count = whole + (1 if fraction > 0 else 0)
        kept = np.zeros((len(keys), count), dtype=bool)
        shift_s = np.zeros((len(keys), count))
        mine = np.ones(len(keys), dtype=bool)
        k, n = partition
        for s, key in enumerate(keys):
            for j in range(count):
                kept[s, j] = j < whole or _unit("copy", seed, key, j) < fraction
                if j:
                    shift_s[s, j] = _unit("jitter", seed, key, j) * load.jitter_s
            if n > 1:
                mine[s] = int(_unit("process", key) * 2**32) % n == k
        return cls(kept, shift_s, mine)


# -- ID numbers ------------------------------------------------------------------------------
def numbers_in(text: str) -> list[str]:
    """The 12-digit numbers of ``text``, in order (:func:`dvcschema.weblog.replace_ids`'s)."""
    found: list[str] = []

    def note(number: str) -> str:
        found.append(number)
        return number

    replace_ids(text, note)
    return found


@dataclass
class _IdMap:
    """Real ID numbers to synthetic citizens' numbers, per copy."""

    rank: dict[str, int]
    counts: NDArray[np.int64]  # numbers in each recorded target
    synthetic: Sequence[str]
    wrapped: bool

    @classmethod
    def of(
        cls, targets: list[str], seed: int, copies: int, numbers: Callable[[int], Sequence[str]]
    ) -> _IdMap:
        found = [numbers_in(t) for t in targets]
        distinct = sorted({n for f in found for n in f}, key=lambda n: _unit("id", seed, n))
        rank = {n: r for r, n in enumerate(distinct)}
        needed = copies * len(distinct)
        synthetic = numbers(needed) if needed else []
        counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        return cls(rank, counts, synthetic, needed > len(synthetic))

    def replace(self, target: str, copy: int) -> str:
        distinct, pool = len(self.rank), len(self.synthetic)
        return replace_ids(
            target, lambda n: self.synthetic[(copy * distinct + self.rank[n]) % pool]
        )


def citizen_numbers(population: Any, size: int, seed: int, needed: int) -> list[str]:
    """The ID numbers of the first ``min(needed, size)`` citizens of the population of
    ``size`` for ``seed`` (the whole population's, whichever part this process holds:
    a worker's partition is generated again from its start, only as far as needed)."""
    needed = min(needed, size)
    if needed <= 0:
        return []
    if population.first_index == 0 and len(population) >= needed:
        return list(population.column("cccd", 0, needed))
    from loadgen.population import generate_population

    prefix = generate_population(size, seed=seed, partition=(0, max(size // needed, 1)))
    return list(prefix.column("cccd", 0, needed))


def sendable(target: str) -> str:
    """A recorded path and query as it may be sent: the fragment dropped, spaces,
    control characters and non-ASCII percent-encoded (what is encoded stays so)."""
    return quote(target.partition("#")[0], safe=_SAFE_CHARS)


# -- the plan ----------------------------------------------------------------------------------
class _Targets:
    """The final table of paths (after substitution) and their names."""

    def __init__(self, load: ReplayLoad, recorded: list[str], ids: _IdMap) -> None:
        self.recorded, self.ids = recorded, ids
        self.namer = RouteNamer(route_rules(load))
        self.texts: list[str] = []
        self.names: list[str] = []
        self._index: dict[tuple[int, int], int] = {}

    def of(self, recorded_index: NDArray[np.int64], copy: int) -> NDArray[np.int32]:
        """Final indices of the recorded targets ``recorded_index`` in copy ``copy``."""
        unique, inverse = np.unique(recorded_index, return_inverse=True)
        mapped = np.fromiter((self._final(int(t), copy) for t in unique), np.int32, unique.size)
        return mapped[inverse]

    def _final(self, t: int, copy: int) -> int:
        key = (t, copy if self.ids.counts[t] else 0)
        index = self._index.get(key)
        if index is None:
            text = self.recorded[t]
            if self.ids.counts[t]:
                text = self.ids.replace(text, copy)
            text = sendable(text)
            index = self._index[key] = len(self.texts)
            self.texts.append(text)
            self.names.append(self.namer.template(text))
        return index


@dataclass(frozen=True)
class _Drawn:
    """What the plan is made from: the log as read, the copies drawn, the ID map."""

    load: ReplayLoad
    recorded: _Recorded
    reads: list[ReadStats]
    copies: _Copies
    ids: _IdMap


_Part = tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.int32]]


@dataclass
class _Schedule:
    """Every copy's requests due before the run's end: this process's (``parts``) and
    the whole plan's send times and figures."""

    parts: list[_Part] = field(default_factory=list)
    all_offsets: list[NDArray[np.float64]] = field(default_factory=list)
    figures: Counter[str] = field(default_factory=Counter)
    per_second: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _assemble(drawn: _Drawn, *, duration_s: float, source: str) -> ReplayPlan:
    table = _Targets(drawn.load, list(drawn.recorded.target_texts), drawn.ids)
    schedule = _schedule(drawn, table, duration_s)
    _check_schedule(drawn, schedule, source)
    plan = _sorted_plan(schedule, drawn.recorded, table)
    plan.scheduled_total = schedule.figures["scheduled"]
    plan.summary = _summary(drawn, schedule)
    return plan


def _schedule(drawn: _Drawn, table: _Targets, duration_s: float) -> _Schedule:
    load, recorded, copies, ids = drawn.load, drawn.recorded, drawn.copies, drawn.ids
    offsets = np.frombuffer(recorded.offsets_s, dtype=np.float64)
    sessions = np.frombuffer(recorded.sessions, dtype=np.int64)
    targets = np.asarray(recorded.targets, dtype=np.int64)
    methods = np.frombuffer(recorded.methods, dtype=np.int8)
    out = _Schedule(per_second=np.zeros(math.ceil(duration_s) + 1, dtype=np.int64))
    for j in range(copies.count):
        kept = copies.kept[sessions, j]
        at_s = (offsets + copies.shift_s[sessions, j]) / load.speed
        due = kept & (at_s < duration_s)
        out.figures["cut_at_end"] += int(np.count_nonzero(kept & ~due))
        out.figures["scheduled"] += int(np.count_nonzero(due))
        out.figures["ids_replaced"] += int(ids.counts[targets[due]].sum())
        out.figures[f"sessions_copy_{j}"] = int(np.count_nonzero(copies.kept[:, j]))
        seconds = np.bincount(at_s[due].astype(np.int64), minlength=out.per_second.size)
        out.per_second += seconds[: out.per_second.size]
        out.all_offsets.append(at_s[due])
        here = due & copies.mine[sessions]
        out.parts.append((at_s[here], methods[here], table.of(targets[here], j)))
    return out


def _check_schedule(drawn: _Drawn, schedule: _Schedule, source: str) -> None:
    load = drawn.load
    peak = int(schedule.per_second.max()) if schedule.per_second.size else 0
    if peak > load.max_request_rate:
        raise ScenarioError(
            f"the replay peaks at {peak:,} requests/s ({int(schedule.per_second.argmax())} s "
            f"into the run, speed x{load.speed:g}, scale x{load.scale:g}), above the ceiling "
            f"of {load.max_request_rate:g} requests/s; raise load.max_request_rate, or lower "
            "speed or scale",
            source=source,
            field="load.max_request_rate",
        )
    if schedule.figures["scheduled"] == 0:
        raise ScenarioError(
            f"scale x{load.scale:g} replays none of the window's "
            f"{len(drawn.recorded.session_keys):,} sessions before the run's end; raise "
            "scale or duration",
            source=source,
            field="load.scale",
        )


def _sorted_plan(schedule: _Schedule, recorded: _Recorded, table: _Targets) -> ReplayPlan:
    parts = schedule.parts
    offsets = np.concatenate([p[0] for p in parts])
    order = np.argsort(offsets, kind="stable")
    whole = np.sort(np.concatenate(schedule.all_offsets))
    return ReplayPlan(
        offsets_s=offsets[order],
        method_index=np.concatenate([p[1] for p in parts])[order],
        target_index=np.concatenate([p[2] for p in parts])[order],
        methods=list(recorded.method_names),
        targets=table.texts,
        names=table.names,
        _all_offsets_s=whole if whole.size != offsets.size else None,
    )


def _summary(drawn: _Drawn, schedule: _Schedule) -> dict[str, Any]:
    """``summary.json``'s ``replay``: what was read, drawn and scheduled."""
    load, recorded, reads, ids = drawn.load, drawn.recorded, drawn.reads, drawn.ids
    figures, per_second = schedule.figures, schedule.per_second
    assert recorded.first_t is not None and recorded.last_t is not None
    end_s = load.start_s + load.length_s if load.length_s is not None else None
    out: dict[str, Any] = {
        "logs": [str(p) for p in load.logs],
        "format": sorted({r.format for r in reads if r.format}),
        "speed": load.speed,
        "scale": load.scale,
        "jitter_s": load.jitter_s,
        "methods": list(load.methods),
        "session_key": load.session,
        "window": {
            "start_s": load.start_s,
            "end_s": end_s,
            "log_first_request": iso_utc(recorded.first_t),
            "log_last_request_read": iso_utc(recorded.last_t),
        },
        "recorded": recorded.in_window,
        "eligible": len(recorded.offsets_s),
        "sessions": len(recorded.session_keys),
        "sessions_by_copy": [figures[f"sessions_copy_{j}"] for j in range(drawn.copies.count)],
        "scheduled": figures["scheduled"],
        "cut_at_end": figures["cut_at_end"],
        "skipped_by_method": dict(sorted(recorded.skipped_by_method.items())),
        "skipped_not_path": recorded.skipped_not_path,
        "ids_replaced": figures["ids_replaced"],
        "distinct_ids": len(ids.rank),
        "peak_requests_per_s": int(per_second.max()) if per_second.size else 0,
        "lines": sum(r.lines for r in reads),
        "unparsed": sum(r.unparsed for r in reads),
        "reads": [r.as_dict() for r in reads],
    }
    if ids.wrapped:
        out["ids_wrapped"] = True
    return out
