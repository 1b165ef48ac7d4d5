"""The ``load:`` section of a replay: ``{model: replay, log: FILE, speed: 60, scale: 2}``.

Keys (all but ``log`` optional)::

    load:
      model: replay
      log: logs/access.log.gz      # or a list of files (one per web server), merged by time
      format: auto                 # combined, jsonl or auto (dvcschema.weblog)
      fields: {time: ts}           # JSON logs: field names (weblog.JSON_FIELDS' keys)
      session: ip+ua               # what ties a visitor's requests: ip+ua, ip, cookie:N, header:N
      speed: 60                    # recorded seconds per run second
      scale: 2                     # copies of the traffic (sessions replayed whole)
      jitter: 1s                   # copies after the first start up to this much later
      start_at: 2h                 # the window: from the log's first request ...
      length: 1h                   # ... and this long (recorded time)
      methods: [GET, HEAD]         # the safe methods to send (GET, HEAD, OPTIONS, TRACE)
      routes: ['^/hs/\\d+$=/hs/{id}']  # REGEX=TEMPLATE rules naming requests, as derive's --route
      max_concurrency: 1000        # requests in flight at most (more are dropped, counted)
      max_request_rate: 2000       # the run's ceiling, requests/s

Everything is checked here, before any load, with one bounded look at each log: it
is a regular file whose first lines parse (its first :data:`HEAD_LINES` lines, or
:data:`HEAD_BYTES`), and, for a file that is not gzipped, its last lines give the
log's end, hence the run's natural length and whether the window is inside the log.
The whole log is read once, when the run is set up (:func:`loadgen.replay.build_plan`),
which checks the replayed peak against the ceiling before any request is sent.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dvcschema import files
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, one_of
from dvcschema.load import (
    DEFAULT_MAX_REQUEST_RATE,
    MAX_DURATION_S,
    MAX_USERS,
    LogSpan,
    ReplayLoad,
    _ceiling,
    duration_parser,
    int_parser,
)
from dvcschema.units import format_duration_s, parse_number
from dvcschema.weblog import FORMATS, LogOptions, ReadStats, Record, RouteRule, SessionKey, read_log

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")  # RFC 9110, 9.2.1
DEFAULT_METHODS = ("GET", "HEAD")
MAX_SCALE = 100.0
MAX_SPEED = 1e6
MAX_LOGS = 64
MAX_JITTER_S = 3600.0
DEFAULT_MAX_CONCURRENCY = 1000
HEAD_LINES = 10_000
HEAD_BYTES = 4 * 1024 * 1024
TAIL_BYTES = 1024 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")  # RFC 9110's token
_GZIP_MAGIC = b"\x1f\x8b"


def parse_replay(section: Fields, base_dir: Path) -> ReplayLoad:
    """Validate a replay ``load:`` section (``model`` already taken)."""
    logs = section.take("log", lambda v: _log_paths(base_dir, v))
    fmt = section.take("format", one_of(*FORMATS), "auto")
    no_fields: dict[str, str] = {}
    fields = section.take("fields", _field_map, no_fields)
    session = section.take("session", _session_text, "ip+ua")
    speed = section.take("speed", _speed, 1.0)
    scale = section.take("scale", _scale, 1.0)
    jitter_s = section.take("jitter", _jitter, 1.0)
    start_s = section.take("start_at", duration_parser(minimum_s=0.0), 0.0)
    length_s = section.take("length", duration_parser(minimum_s=1.0), None)
    methods: tuple[str, ...] = section.take("methods", _methods, DEFAULT_METHODS)
    no_routes: tuple[str, ...] = ()
    routes = section.take("routes", _routes, no_routes)
    max_concurrency = section.take(
        "max_concurrency", int_parser(minimum=1, maximum=MAX_USERS), DEFAULT_MAX_CONCURRENCY
    )
    ceiling = section.take("max_request_rate", _ceiling, DEFAULT_MAX_REQUEST_RATE)
    section.close()
    try:
        options = LogOptions(format=fmt, fields=fields, session=SessionKey.parse(session))
    except ValueError as exc:  # fields: a key weblog does not know
        raise section.error_at("fields", str(exc)) from None
    span = _probe(section, logs, options)
    load = ReplayLoad(
        logs=logs, format=fmt, speed=speed, scale=scale, jitter_s=jitter_s, start_s=start_s,
        length_s=length_s, methods=methods, session=session, fields=fields, routes=routes,
        span=span, max_concurrency=max_concurrency, max_request_rate=ceiling,
    )  # fmt: skip
    _check_window(section, load)
    return load


def log_options(load: ReplayLoad) -> LogOptions:
    """How to read the replay's logs (:class:`dvcschema.weblog.LogOptions`)."""
    return LogOptions(
        format=load.format, fields=dict(load.fields), session=SessionKey.parse(load.session)
    )


def route_rules(load: ReplayLoad) -> tuple[RouteRule, ...]:
    return tuple(RouteRule.parse(text) for text in load.routes)


# -- the keys ------------------------------------------------------------------------------
def _log_paths(base_dir: Path, value: Any) -> tuple[Path, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("an empty list; give a log file, or a list of them")
    if len(items) > MAX_LOGS:
        raise ValueError(f"{len(items)} logs; at most {MAX_LOGS}")
    paths = tuple(files.existing_path(base_dir, item) for item in items)
    if len(set(paths)) != len(paths):
        raise ValueError("the same log is listed twice; its requests would be sent twice")
    return paths


def _field_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{shown(value)} is not a mapping such as {{time: ts, path: req.uri}}")
    out = {}
    for key, name in value.items():
        if not isinstance(name, str) or not name or len(name) > 200:
            raise ValueError(f"{shown(key)}: {shown(name)} is not a field name")
        out[str(key)] = name
    return out


def _session_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not ip+ua, ip, cookie:NAME or header:NAME")
    return str(SessionKey.parse(value))


def _speed(value: Any) -> float:
    return parse_number(value, minimum=0, exclusive_minimum=True, maximum=MAX_SPEED)


def _scale(value: Any) -> float:
    scale = parse_number(value, minimum=0, maximum=MAX_SCALE)
    if scale == 0:
        raise ValueError("0 replays nothing; give a scale above 0 (1 is the log as recorded)")
    return scale


def _jitter(value: Any) -> float:
    seconds = duration_parser(minimum_s=0.0)(value)
    if seconds > MAX_JITTER_S:
        raise ValueError(f"{shown(value)} is too long; at most {format_duration_s(MAX_JITTER_S)}")
    return float(seconds)


def _methods(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{shown(value)} is not a list of methods such as [GET, HEAD]")
    methods: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _TOKEN.fullmatch(item):
            raise ValueError(f"{shown(item)} is not an HTTP method token")
        method = item.upper()
        if method not in SAFE_METHODS:
            raise ValueError(
                f"{shown(item)} is not a safe method; a replay sends only "
                f"{', '.join(SAFE_METHODS)} (a log holds no request bodies)"
            )
        if method not in methods:
            methods.append(method)
    return tuple(methods)


def _routes(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{shown(value)} is not a list of 'REGEX=TEMPLATE' rules")
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{shown(item)} is not a 'REGEX=TEMPLATE' rule")
        RouteRule.parse(item)  # ValueError names what is wrong
    return tuple(value)


# -- a bounded look at the logs ------------------------------------------------------------
def _probe(section: Fields, logs: tuple[Path, ...], options: LogOptions) -> LogSpan:
    """The first request's time over all logs, and the last one's when every log is a
    plain file (its tail is read); a log whose head has no parsable line is refused."""
    firsts: list[float] = []
    lasts: list[float] = []
    known_end = True
    for path in logs:
        head, gzipped = _head_bytes(section, path)
        records, stats = _parse(head, path, options, section)
        if not records:
            raise section.error_at("log", _no_lines(path, stats, len(head)))
        firsts.append(min(r.t for r in records))
        lasts.append(max(r.t for r in records))
        if gzipped:
            known_end = False
        elif len(head) >= HEAD_BYTES or stats.lines >= HEAD_LINES:
            fixed = LogOptions(stats.format, options.fields, options.request_time_unit,
                               options.session)  # fmt: skip
            tail, _ = _parse(_tail_bytes(section, path), path, fixed, section)
            lasts.extend(r.t for r in tail)
    return LogSpan(min(firsts), max(lasts) if known_end else None)


def _no_lines(path: Path, stats: ReadStats, size: int) -> str:
    if size == 0 or stats.lines == stats.blank:
        return f"{shown(str(path))} is empty; a log with no request cannot be replayed"
    where = "its" if stats.lines < HEAD_LINES else f"the first {stats.lines:,} of its"
    example = f" ({stats.examples[0]})" if stats.examples else ""
    return f"{shown(str(path))}: none of {where} lines parses as a {stats.format} log{example}"


def _head_bytes(section: Fields, path: Path) -> tuple[bytes, bool]:
    """Up to :data:`HEAD_LINES` whole lines (at most :data:`HEAD_BYTES`), decompressed,
    and whether the file is gzipped."""
    try:
        raw = files.open_binary(path)
    except ConfigError as exc:  # not a regular file, no permission
        raise section.error_at("log", f"{shown(str(path))}: {exc.message}") from None
    data = bytearray()
    with raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        try:
            for _ in range(HEAD_LINES):
                line = stream.readline(HEAD_BYTES - len(data))
                if not line:
                    break
                data += line
                if len(data) >= HEAD_BYTES:
                    break
        except (EOFError, OSError, zlib.error) as exc:
            if not data:
                raise section.error_at("log", f"{shown(str(path))}: {_gzip_why(exc)}") from None
    return bytes(data), gzipped


def _gzip_why(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip stream ends before its first line (the file was cut short)"
    return f"the gzip stream is damaged ({exc})"


def _tail_bytes(section: Fields, path: Path) -> bytes:
    """The whole lines in the last :data:`TAIL_BYTES` of a plain file."""
    try:
        with files.open_binary(path) as raw:
            size = os.fstat(raw.fileno()).st_size
            raw.seek(max(size - TAIL_BYTES, 0))
            data = raw.read(TAIL_BYTES)
    except (ConfigError, OSError) as exc:
        why = exc.message if isinstance(exc, ConfigError) else exc.strerror
        raise section.error_at("log", f"{shown(str(path))}: {why}") from None
    if size > TAIL_BYTES:
        data = data.partition(b"\n")[2]  # the first line is cut
    return data


def _parse(
    data: bytes, path: Path, options: LogOptions, section: Fields
) -> tuple[list[Record], ReadStats]:
    """The records of ``data`` (lines of ``path``), read by :func:`weblog.read_log`
    itself, so that a line means here what it means when the run reads the log."""
    stats = ReadStats(str(path))
    with _bytes_as_file(data) as copy:
        try:
            records = list(read_log(copy, options, stats))
        except ConfigError as exc:  # e.g. a session by cookie asked of a combined log
            raise section.error_at("session", exc.message) from None
    return records, stats


@contextlib.contextmanager
def _bytes_as_file(data: bytes) -> Iterator[Path]:
    """``data`` as a regular file's path: an anonymous file in memory where Linux has
    them (nothing of the log's reaches the disk), else a private temporary file."""
    fd = _memory_file(data)
    if fd is not None:
        try:
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="dvcload-replay-") as folder:
        path = Path(folder) / "head.log"
        path.write_bytes(data)
        yield path


def _memory_file(data: bytes) -> int | None:
    if not hasattr(os, "memfd_create"):
        return None
    try:
        fd = os.memfd_create("dvcload-replay-probe", os.MFD_CLOEXEC)
    except OSError:
        return None
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    if not files.exists(f"/proc/self/fd/{fd}"):  # no /proc
        os.close(fd)
        return None
    return fd


def _check_window(section: Fields, load: ReplayLoad) -> None:
    """``start_at`` and ``length`` inside the log, as far as its head and tail say."""
    if load.span.last_t is None:
        return
    span_s = load.span.last_t - load.span.first_t + 1.0  # whole seconds: the last one lasts
    if load.start_s >= span_s:
        raise section.error_at(
            "start_at",
            f"{format_duration_s(load.start_s)} is after the log's last request "
            f"({format_duration_s(span_s)} after its first)",
        )
    if load.length_s is not None and load.start_s + load.length_s > span_s + 1e-9:
        raise section.error_at(
            "length",
            f"the window ends {format_duration_s(load.start_s + load.length_s)} after the "
            f"log's first request, after its last ({format_duration_s(span_s)}); "
            "shorten length or start_at",
        )
    if (load.natural_duration_s() or 0.0) > MAX_DURATION_S:
        raise section.error_at(
            "speed",
            f"the replay would last over {format_duration_s(MAX_DURATION_S)}; raise speed "
            "or cut a shorter window (start_at, length)",
        )
