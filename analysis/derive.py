"""From access logs to a workload: arrivals, route mix, sessions and response times.

``dvcload derive LOG [LOG ...] --out DIR`` reads web-server logs
(:mod:`dvcschema.weblog`) and measures what a load test and a capacity plan need:
when sessions started (per interval), which routes were asked for, how many requests
a session made and how long citizens paused between them, and, when the log has
request times, how fast each route was answered.

How it scales
-------------
A log is read in blocks of about :data:`BLOCK_BYTES` (whole lines). Worker processes
parse and name the blocks' lines (the costly part, about 7 µs a line) into arrays;
this process groups them into sessions and adds them up with NumPy. Nothing is kept
per line: memory depends on the number of routes, intervals and sessions open at one
time, not on the log's length. Several logs (one per web server) are merged by time
with a watermark: requests are grouped only once every log has been read past them.

Sessions
--------
A session is the requests of one session key (``ip+ua``, a cookie, a header) with no
idle gap of ``gap`` or more between two of them (the "30-minute rule" of web
analytics). Its start is its first request. A log cut at a time starts sessions that
were already running at the cut; they are counted as starting at the log's start.

Percentiles
-----------
Response times and think gaps are counted in logarithmic bins 1% wide, so p50, p95
and p99 are within 0.5% of the exact order statistics (the bin's geometric middle is
reported), for any log length. Means are exact.

References
----------
.. [1] L. D. Catledge and J. E. Pitkow, "Characterizing browsing strategies in the
   World-Wide Web", Computer Networks and ISDN Systems 27(6), 1995 (the idle-time
   threshold that delimits sessions).
"""

from __future__ import annotations

import collections
import math
import multiprocessing
import os
import re
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from dvcschema import weblog
from dvcschema.errors import ConfigError, shown

BLOCK_BYTES = 2 * 1024 * 1024
IN_PROCESS_BYTES = 8 * 1024 * 1024  # smaller logs are read without worker processes
MAX_ROUTES = 2_000  # distinct names beyond this are counted as OTHER_ROUTES
OTHER_ROUTES = "(other routes)"
MAX_REQUESTS_PER_SESSION = 1_000  # longer sessions are counted in the last bin
# Logarithmic bins, 1% wide: response times from 0.1 ms to 1 h, think gaps from 1 ms.
BIN_RATIO = 1.01
TIME_FLOOR_S = 1e-4
TIME_BINS = math.ceil(math.log(3600.0 / TIME_FLOOR_S) / math.log(BIN_RATIO)) + 1
GAP_FLOOR_S = 1e-3
GAP_BINS = math.ceil(math.log(86_400.0 / GAP_FLOOR_S) / math.log(BIN_RATIO)) + 1
PARSED_SHARE_TO_WARN = 0.5  # below this share of lines parsed, a log is refused


@dataclass(frozen=True)
class DeriveOptions:
    """What ``dvcload derive`` was asked for."""

    log: weblog.LogOptions = field(default_factory=weblog.LogOptions)
    interval_s: float = 60.0
    gap_s: float = 1800.0
    routes: tuple[weblog.RouteRule, ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    utc_offset_s: float | None = None  # the clock of arrivals.csv; default: the log's
    jobs: int = 0  # worker processes; 0: one per CPU (at most 8), 1: none


# -- one block of lines, parsed in a worker ------------------------------------------------
@dataclass
class Block:
    """A block's requests as arrays (what crosses from a worker to this process)."""

    t: NDArray[np.float64]
    route: NDArray[np.int32]  # index into ``names``
    status: NDArray[np.int16]
    response_s: NDArray[np.float64]  # NaN: no request time
    key: NDArray[np.int64]  # hash of the session key
    names: list[str]
    examples: list[str]  # per name, the first path (12-digit numbers masked)
    stats: weblog.ReadStats
    excluded: int = 0


def scan_block(data: bytes, first_line: int, fmt: str, options: DeriveOptions, path: str) -> Block:
    """Parse and name the lines of ``data`` (whole lines; ``first_line`` numbers the
    first, for the examples of unparsed lines)."""
    stats = weblog.ReadStats(path, format=fmt, lines=first_line - 1)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    columns = None
    if fmt == "combined":
        blank = sum(1 for line in lines if not line.strip())
        text = data.decode("utf-8", "replace")
        columns = weblog.combined_columns(text, len(lines) - blank, options.log, stats)
        if columns is not None:
            stats.lines += len(lines)
            stats.blank += blank
            stats.parsed += len(columns.t)
    if columns is None:
        columns = _line_by_line(lines, fmt, options, stats)
    return _block(columns, options, stats)


def _line_by_line(
    lines: list[bytes], fmt: str, options: DeriveOptions, stats: weblog.ReadStats
) -> weblog.Columns:
    parse = weblog.line_parser(fmt, options.log, stats)
    columns = weblog.Columns([], [], [], [], [], [])
    for line in lines:
        stats.lines += 1
        if not line.strip():
            stats.blank += 1
            continue
        record = parse(line)
        if record is None:
            continue
        stats.parsed += 1
        columns.t.append(record.t)
        columns.method.append(record.method)
        columns.target.append(record.target)
        columns.status.append(record.status)
        columns.response_s.append(record.response_s)
        columns.session.append(record.session)
    return columns


def _block(columns: weblog.Columns, options: DeriveOptions, stats: weblog.ReadStats) -> Block:
    """Name the requests' routes, leave out the excluded ones, make arrays."""
    namer = _namer(options.routes)
    exclude = options.exclude
    codes: dict[str, int] = {}
    names: list[str] = []
    examples: list[str] = []
    route: list[int] = []
    keep: list[bool] = []
    for method, target in zip(columns.method, columns.target, strict=True):
        if exclude and _excluded(target, exclude):
            keep.append(False)
            continue
        keep.append(True)
        name = namer(method, target)
        code = codes.get(name)
        if code is None:
            code = codes[name] = len(names)
            names.append(name)
            examples.append(target)
        route.append(code)
    kept = np.asarray(keep, dtype=bool)
    return Block(
        np.asarray(columns.t, dtype=np.float64)[kept],
        np.asarray(route, dtype=np.int32),
        np.asarray(columns.status, dtype=np.int16)[kept],
        np.asarray(columns.response_s, dtype=np.float64)[kept],
        np.asarray([hash(s) for s in columns.session], dtype=np.int64)[kept],
        names,
        examples,
        stats,
        int(kept.size - np.count_nonzero(kept)),
    )


_NAMERS: dict[tuple[weblog.RouteRule, ...], weblog.RouteNamer] = {}


def _namer(rules: tuple[weblog.RouteRule, ...]) -> weblog.RouteNamer:
    """One namer (and its cache of paths) per process for the same rules."""
    namer = _NAMERS.get(rules)
    if namer is None:
        namer = _NAMERS[rules] = weblog.RouteNamer(rules)
    return namer


def _excluded(target: str, patterns: Sequence[re.Pattern[str]]) -> bool:
    path = target.split("?", 1)[0]
    return any(p.search(path) for p in patterns)


# -- reading a file in blocks --------------------------------------------------------------
class _FileBlocks:
    """One log's blocks, read ahead into worker processes, returned in file order."""

    def __init__(self, path: Path, options: DeriveOptions, pool: ProcessPoolExecutor | None):
        self.path = path
        self.options = options
        self.pool = pool
        self.stats = weblog.ReadStats(str(path))
        self._raw: IO[bytes] = weblog.open_log(path)
        self._line = 1
        self._pending: collections.deque[Future[Block] | Block] = collections.deque()
        self._eof = False
        self.format = ""

    def close(self) -> None:
        self._raw.close()

    def next(self, depth: int) -> Block | None:
        """The next block (reading ``depth`` blocks ahead), or ``None`` at the end."""
        while len(self._pending) < depth and not self._eof:
            self._submit()
        if not self._pending:
            return None
        item = self._pending.popleft()
        return item.result() if isinstance(item, Future) else item

    def _submit(self) -> None:
        data = self._read()
        if not data:
            self._eof = True
            return
        if not self.format:
            self.format = self.options.log.format
            if self.format == "auto":
                self.format = weblog.detect_format(data.splitlines()[:20])
            self.stats.format = self.format
            weblog.check_session_key(self.format, self.options.log.session)
        first, self._line = self._line, self._line + data.count(b"\n")
        args = (data, first, self.format, self.options, str(self.path))
        if self.pool is None:
            self._pending.append(scan_block(*args))
        else:
            self._pending.append(self.pool.submit(scan_block, *args))

    def _read(self) -> bytes:
        try:
            data = self._raw.read(BLOCK_BYTES)
            if data and not data.endswith(b"\n"):
                data += self._raw.readline(weblog.MAX_LINE_BYTES)
        except EOFError:
            self.stats.truncated = "the gzip stream ends early (the file was cut short)"
            return b""
        except OSError as exc:  # gzip.BadGzipFile, a damaged deflate stream
            self.stats.truncated = f"the gzip stream is damaged ({exc})"
            return b""
        return data


# -- sessions ------------------------------------------------------------------------------
class Sessions:
    """Sessions from (key, time) pairs given in batches in time order, with NumPy.

    Carries, per key, the last request time and the request count of the session it
    is in; sessions idle for ``gap_s`` are closed (their counts recorded) and dropped,
    so memory follows the sessions open at one time.
    """

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self.keys = np.empty(0, dtype=np.int64)  # sorted
        self.last = np.empty(0, dtype=np.float64)
        self.count = np.empty(0, dtype=np.int64)
        self.sizes = np.zeros(MAX_REQUESTS_PER_SESSION + 1, dtype=np.int64)
        self.gaps = np.zeros(GAP_BINS, dtype=np.int64)
        self.gap_sum_s = 0.0
        self.started = 0

    def add(self, key: NDArray[np.int64], t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Group one batch; returns the start times of the sessions that start in it."""
        if key.size == 0:
            return np.empty(0)
        order = np.lexsort((t, key))
        k, ts = key[order], t[order]
        first = np.ones(k.size, dtype=bool)
        first[1:] = k[1:] != k[:-1]
        prev = np.empty(k.size)
        prev[1:] = ts[:-1]
        at = np.searchsorted(self.keys, k[first])
        found = at < self.keys.size
        found[found] = self.keys[at[found]] == k[first][found]
        carried_last = np.full(at.size, -np.inf)
        carried_last[found] = self.last[at[found]]
        prev[first] = carried_last
        gap = ts - prev
        new = gap >= self.gap_s  # -inf before a key's first request: a new session
        inside = ~new
        self._record_gaps(np.maximum(gap[inside & np.isfinite(gap)], 0.0))
        # A key's first request that continues its carried session adds to its count.
        carried_count = np.zeros(at.size, dtype=np.int64)
        carried_count[found] = self.count[at[found]]
        continued = found & ~new[first]
        ended_carried = self.count[at[found & new[first]]]
        segment = np.cumsum(new | first) - 1  # a segment per (key, session) in the batch
        sizes = np.bincount(segment)
        first_segment = segment[first]
        sizes[first_segment[continued]] += carried_count[continued]
        last_of_key = np.ones(k.size, dtype=bool)
        last_of_key[:-1] = k[1:] != k[:-1]
        open_segments = segment[last_of_key]
        closed = np.ones(sizes.size, dtype=bool)
        closed[open_segments] = False
        self._record_sizes(np.concatenate([sizes[closed], ended_carried]))
        self._carry(k[last_of_key], ts[last_of_key], sizes[open_segments])
        starts = ts[new]
        self.started += int(starts.size)
        return starts

    def expire(self, now: float) -> None:
        """Close the sessions idle since before ``now - gap`` (every log read past it)."""
        idle = self.last < now - self.gap_s
        if idle.any():
            self._record_sizes(self.count[idle])
            keep = ~idle
            self.keys, self.last, self.count = self.keys[keep], self.last[keep], self.count[keep]

    def close(self) -> None:
        self._record_sizes(self.count)
        self.keys, self.last, self.count = self.keys[:0], self.last[:0], self.count[:0]

    def _carry(
        self, keys: NDArray[np.int64], last: NDArray[np.float64], count: NDArray[np.int64]
    ) -> None:
        keep = ~np.isin(self.keys, keys, assume_unique=True)
        all_keys = np.concatenate([self.keys[keep], keys])
        order = np.argsort(all_keys, kind="stable")
        self.keys = all_keys[order]
        self.last = np.concatenate([self.last[keep], last])[order]
        self.count = np.concatenate([self.count[keep], count])[order]

    def _record_sizes(self, counts: NDArray[np.int64]) -> None:
        if counts.size:
            clipped = np.minimum(counts, MAX_REQUESTS_PER_SESSION)
            self.sizes += np.bincount(clipped, minlength=self.sizes.size)

    def _record_gaps(self, gaps: NDArray[np.float64]) -> None:
        if gaps.size:
            self.gap_sum_s += float(gaps.sum())
            np.add.at(self.gaps, log_bins(gaps, GAP_FLOOR_S, GAP_BINS), 1)


def log_bins(values: NDArray[Any], floor: float, bins: int) -> NDArray[np.intp]:
    """Bin of each value in 1%-wide logarithmic bins from ``floor`` (0 holds below)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.floor(np.log(np.maximum(values, floor) / floor) / math.log(BIN_RATIO))
    return np.clip(raw, 0, bins - 1).astype(np.intp)


def bin_quantile(counts: NDArray[np.int64], q: float, floor: float) -> float:
    """The ``q``-quantile of values counted in :func:`log_bins` (bin's geometric middle)."""
    total = int(counts.sum())
    if total == 0:
        return math.nan
    index = int(np.searchsorted(np.cumsum(counts), q * total, side="left"))
    return floor * BIN_RATIO ** (index + 0.5)


# -- the whole derivation ------------------------------------------------------------------
@dataclass
class Derived:
    """What the logs say, added up (see the module docstring)."""

    options: DeriveOptions
    logs: list[weblog.ReadStats]
    names: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    # per route code (rows past len(names) are room for routes not met yet)
    route_count: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    status: dict[tuple[int, int], int] = field(default_factory=dict)  # (route, status): n
    times: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, TIME_BINS), np.int64))
    time_sum_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    starts: collections.Counter[int] = field(default_factory=collections.Counter)
    requests_by_interval: collections.Counter[int] = field(default_factory=collections.Counter)
    sessions: Sessions | None = None
    utc_offset_s: float = 0.0
    first_t: float = math.inf
    last_t: float = -math.inf
    excluded: int = 0
    codes: dict[str, int] = field(default_factory=dict)  # route name -> index in names

    @property
    def requests(self) -> int:
        return int(self.route_count.sum())

    @property
    def timed(self) -> NDArray[np.int64]:
        return self.times.sum(axis=1)

    def route_code(self, name: str, example: str) -> int:
        """The index of route ``name`` (added, with ``example`` as its example path, when
        new; past :data:`MAX_ROUTES` names, new ones are :data:`OTHER_ROUTES`)."""
        if name in self.codes:
            return self.codes[name]
        if len(self.names) >= MAX_ROUTES:
            name, example = OTHER_ROUTES, ""
            if name in self.codes:
                return self.codes[name]
        code = self.codes[name] = len(self.names)
        self.names.append(name)
        self.examples.append(example)
        if code >= self.route_count.size:  # rows for twice as many routes: no copy per route
            rows = max(16, 2 * self.route_count.size) - self.route_count.size
            self.route_count = np.concatenate([self.route_count, np.zeros(rows, np.int64)])
            self.times = np.vstack([self.times, np.zeros((rows, TIME_BINS), np.int64)])
            self.time_sum_s = np.concatenate([self.time_sum_s, np.zeros(rows)])
        return code

    def bucket_start(self, bucket: int) -> datetime:
        """The clock time (in the log's time zone) where interval ``bucket`` starts."""
        zone = timezone(timedelta(seconds=self.utc_offset_s))
        return datetime.fromtimestamp(bucket * self.options.interval_s - self.utc_offset_s, zone)

    def bucket_range(self) -> range:
        both = list(self.requests_by_interval) + list(self.starts)
        return range(min(both), max(both) + 1) if both else range(0)


def derive(paths: Sequence[Path], options: DeriveOptions) -> Derived:
    """Read ``paths`` (merged by time) and add them up.

    Raises
    ------
    ConfigError
        A file cannot be read, or no line of any log parses.
    """
    jobs = _jobs(paths, options.jobs)
    pool = None
    if jobs > 1:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    files: list[_FileBlocks] = []
    try:
        files = [_FileBlocks(p, options, pool) for p in paths]
        result = Derived(options, [f.stats for f in files], sessions=Sessions(options.gap_s))
        _merge(files, result, depth=max(1, min(4, 2 * jobs // len(files))))
    finally:
        for f in files:
            f.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    _check_parsed(result)
    return result


def _jobs(paths: Sequence[Path], jobs: int) -> int:
    if _threads_are_greenlets():
        return 1  # a process pool's threads would be greenlets: it would never finish
    if jobs:
        return jobs
    try:
        size = sum(p.stat().st_size for p in paths)
    except OSError:
        size = 0
    return 1 if size < IN_PROCESS_BYTES else min(os.cpu_count() or 1, 8)


def _threads_are_greenlets() -> bool:
    """Whether gevent has patched ``threading`` in this process (Locust, imported first,
    does; ``dvcload derive`` itself never imports it)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("threading"))


def _merge(files: list[_FileBlocks], out: Derived, depth: int) -> None:
    """Blocks from every file, grouped once every file has been read past them."""
    seen = [-math.inf] * len(files)  # the latest time read from each file
    live = set(range(len(files)))
    buffered: list[Block] = []
    while live:
        i = min(live, key=lambda j: seen[j])
        block = files[i].next(depth)
        if block is None:
            live.discard(i)
        else:
            _merge_stats(files[i].stats, block)
            out.excluded += block.excluded
            if block.t.size:
                seen[i] = max(seen[i], float(block.t.max()))
                buffered.append(block)
        watermark = min((seen[j] for j in live), default=math.inf)
        buffered = _release(buffered, watermark, out)
    assert out.sessions is not None
    out.sessions.close()


def _merge_stats(stats: weblog.ReadStats, block: Block) -> None:
    s = block.stats
    stats.format = stats.format or s.format
    stats.lines = max(stats.lines, s.lines)
    stats.blank += s.blank
    stats.parsed += s.parsed
    stats.unparsed += s.unparsed
    stats.examples.extend(s.examples[: weblog.EXAMPLES_KEPT - len(stats.examples)])
    if stats.utc_offset_s is None:
        stats.utc_offset_s = s.utc_offset_s


def _release(buffered: list[Block], watermark: float, out: Derived) -> list[Block]:
    """Add up the buffered requests up to ``watermark``; return the rest, buffered."""
    if not buffered:
        return buffered
    ready, later = [], []
    for block in buffered:
        if watermark == math.inf or float(block.t.max()) <= watermark:
            ready.append(block)
        else:
            keep = block.t <= watermark
            ready.append(_subset(block, keep))
            later.append(_subset(block, ~keep))
    _add(ready, out)
    assert out.sessions is not None
    if watermark != math.inf:
        out.sessions.expire(watermark)
    return later


def _subset(block: Block, keep: NDArray[np.bool_]) -> Block:
    return Block(
        block.t[keep], block.route[keep], block.status[keep], block.response_s[keep],
        block.key[keep], block.names, block.examples, block.stats,
    )  # fmt: skip


def _add(blocks: list[Block], out: Derived) -> None:
    if not any(b.t.size for b in blocks):
        return
    if out.first_t == math.inf:
        offset = next(
            (b.stats.utc_offset_s for b in blocks if b.stats.utc_offset_s is not None), None
        )
        given = out.options.utc_offset_s
        out.utc_offset_s = given if given is not None else (offset or 0.0)
    routes = [_global_codes(b, out)[b.route] for b in blocks]
    t = np.concatenate([b.t for b in blocks])
    route = np.concatenate(routes)
    status = np.concatenate([b.status for b in blocks]).astype(np.int64)
    response = np.concatenate([b.response_s for b in blocks]).astype(np.float64)
    key = np.concatenate([b.key for b in blocks])
    out.first_t = min(out.first_t, float(t.min()))
    out.last_t = max(out.last_t, float(t.max()))
    out.route_count += np.bincount(route, minlength=out.route_count.size)
    pairs, counts = np.unique(route * 1000 + np.clip(status, 0, 999), return_counts=True)
    for pair, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        out.status[divmod(pair, 1000)] = out.status.get(divmod(pair, 1000), 0) + n
    timed = np.isfinite(response)
    if timed.any():
        bins = log_bins(response[timed], TIME_FLOOR_S, TIME_BINS)
        np.add.at(out.times, (route[timed], bins), 1)
        out.time_sum_s += np.bincount(route[timed], response[timed], minlength=out.time_sum_s.size)
    interval = out.options.interval_s
    _count(out.requests_by_interval, np.floor((t + out.utc_offset_s) / interval))
    assert out.sessions is not None
    starts = out.sessions.add(key, t)
    _count(out.starts, np.floor((starts + out.utc_offset_s) / interval))


def _global_codes(block: Block, out: Derived) -> NDArray[np.int64]:
    codes = [out.route_code(n, e) for n, e in zip(block.names, block.examples, strict=True)]
    return np.asarray(codes, dtype=np.int64) if codes else np.zeros(0, dtype=np.int64)


def _count(counter: collections.Counter[int], buckets: NDArray[np.float64]) -> None:
    values, counts = np.unique(buckets.astype(np.int64), return_counts=True)
    for value, n in zip(values.tolist(), counts.tolist(), strict=True):
        counter[value] += n


def _check_parsed(result: Derived) -> None:
    for stats in result.logs:
        if stats.truncated:
            raise ConfigError(
                f"{stats.truncated} after {stats.lines:,} lines; nothing was written "
                "(fix or re-copy the file, or gunzip what is left of it and derive that)",
                source=stats.path,
            )
    parsed = sum(s.parsed for s in result.logs)
    lines = sum(s.lines - s.blank for s in result.logs)
    source = result.logs[0].path if len(result.logs) == 1 else None
    if lines == 0:
        raise ConfigError("the log is empty: no line to read", source=source)
    if parsed == 0:
        first = next((s for s in result.logs if s.examples), None)
        example = f"; {first.examples[0]}" if first else ""
        raise ConfigError(
            f"none of {lines:,} lines parsed as {_formats(result)} access log{example}",
            source=source,
        )
    if result.requests == 0:
        raise ConfigError(
            f"all {parsed:,} requests were left out by --exclude; nothing to derive",
            field="--exclude",
        )
    if parsed < PARSED_SHARE_TO_WARN * lines:
        first = next(s for s in result.logs if s.examples)
        raise ConfigError(
            f"only {parsed:,} of {lines:,} lines parsed as {_formats(result)} access log "
            f"(mixed formats? try --format); {first.examples[0]}",
            source=first.path,
        )


def _formats(result: Derived) -> str:
    """``a combined``, ``a jsonl``, ``a combined/jsonl`` or ``an`` (format unknown)."""
    formats = sorted({s.format for s in result.logs if s.format and s.format != "auto"})
    return f"a {'/'.join(formats)}" if formats else "an"


def unparsed_warning(result: Derived) -> str | None:
    """One line when some lines did not parse (the counts and the first example)."""
    bad = sum(s.unparsed for s in result.logs)
    if not bad:
        return None
    lines = sum(s.lines - s.blank for s in result.logs)
    first = next(s for s in result.logs if s.examples)
    return (
        f"warning: {bad:,} of {lines:,} lines did not parse and were left out "
        f"({shown(first.path)} {first.examples[0]}); derive.json lists a few"
    )


def iter_intervals(result: Derived) -> Iterator[tuple[datetime, int, int]]:
    """``(start, session starts, requests)`` for every interval, zeros included."""
    for bucket in result.bucket_range():
        yield (
            result.bucket_start(bucket),
            result.starts[bucket],
            result.requests_by_interval[bucket],
        )


def route_table(result: Derived) -> dict[str, dict[str, Any]]:
    """derive.json's ``routes``: count, share, status mix and response times per route,
    most requested first."""
    total = max(result.requests, 1)
    order = np.argsort(-result.route_count, kind="stable")
    timed = result.timed
    table: dict[str, dict[str, Any]] = {}
    for code in order.tolist():
        count = int(result.route_count[code])
        if not count:
            continue
        status = {str(s): n for (r, s), n in sorted(result.status.items()) if r == code}
        row: dict[str, Any] = {"count": count, "share": count / total, "status": status}
        row["timed"] = int(timed[code])
        if timed[code]:
            # to 0.1 µs: the last bits of a sum depend on how the log was cut in blocks
            mean_ms = 1000.0 * float(result.time_sum_s[code]) / int(timed[code])
            row["mean_ms"] = round(mean_ms, 4)
            for q in (50, 95, 99):
                p_ms = 1000.0 * bin_quantile(result.times[code], q / 100, TIME_FLOOR_S)
                row[f"p{q}_ms"] = round(p_ms, 4)
        table[result.names[code]] = row
    return table


def clock_text(when: datetime) -> str:
    """ISO 8601 with the UTC offset, to the second: ``2025-03-31T08:00:00+07:00``."""
    return when.isoformat(timespec="seconds")
