"""Web servers' access logs, read as a stream of requests: combined and JSON lines.

Both :mod:`analysis.derive` (``dvcload derive``: arrivals, mix and response times from
a log) and :mod:`loadgen.replay` (``load: {model: replay}``) read logs through this
module, so a line means the same to both.

Formats
-------
``combined``
    nginx's and Apache's combined format::

        203.0.113.7 - - [31/Mar/2025:08:00:01 +0700] "GET /ho-so/123 HTTP/1.1" 200 512
            "https://ref/" "Mozilla/5.0 ..." 0.031

    The referer and user agent may be missing (the common format). Anything after
    the user agent is allowed; its first number (bare, or ``rt=``/``request_time=``
    before it) is the request time: seconds when it has a decimal point (nginx's
    ``$request_time``), microseconds when it is an integer (Apache's ``%D``), unless
    ``request_time_unit`` says otherwise.
``jsonl``
    One JSON object per line. Field names are looked up among common spellings
    (:data:`JSON_FIELDS`), or mapped: ``{"time": "ts", "path": "req.uri"}`` (dots
    reach into nested objects). Times are Unix seconds (milliseconds when above
    1e11), ISO 8601, or the combined format's ``31/Mar/2025:08:00:01 +0700``.
    ``request`` (``"GET /x HTTP/1.1"``) stands for a missing method and path. A
    request time is in seconds unless its field name ends in ``_ms`` or ``_us``.
``auto``
    Each file's format is decided by its first non-blank lines (a JSON object or
    not); lines of the other format are then counted as unparsed.

Files may be gzipped (recognised by their magic bytes, not their name). Lines are
read one at a time: memory does not grow with the log's length. A line that does not
parse is counted, and a few are kept as examples with 12-digit numbers masked
(:func:`mask_ids`), so that no real citizen's ID number reaches a report.
"""

from __future__ import annotations

import calendar
import gzip
import heapq
import json
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from dvcschema.errors import ConfigError, shown

FORMATS = ("auto", "combined", "jsonl")
MAX_LINE_BYTES = 64 * 1024
EXAMPLES_KEPT = 5
_GZIP_MAGIC = b"\x1f\x8b"
_READ_BYTES = 1024 * 1024

# Common spellings of each field in JSON logs, first match wins.
JSON_FIELDS: Mapping[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "ts", "@timestamp", "time_local", "time_iso8601",
             "t_arrival", "msec", "date"),
    "method": ("method", "request_method", "verb", "http_method"),
    "path": ("path", "uri", "request_uri", "url", "target"),
    "request": ("request",),
    "status": ("status", "status_code", "response_status", "code"),
    "request_time": ("request_time", "response_ms", "duration_ms", "latency_ms",
                     "elapsed_ms", "request_time_ms", "upstream_response_time",
                     "duration", "latency", "elapsed"),
    "ip": ("remote_addr", "client_ip", "ip", "remote_ip", "client", "host"),
    "user_agent": ("http_user_agent", "user_agent", "ua", "agent"),
    "cookie": ("http_cookie", "cookie", "cookies"),
    "headers": ("headers", "request_headers"),
}  # fmt: skip
JSON_KEYS = tuple(JSON_FIELDS)

_COMBINED = re.compile(
    r'(\S+) \S+ \S+ \[([^\]]+)\] "([^"\\]*(?:\\.[^"\\]*)*)" '
    r"(\d{3}) (?:\d+|-)"
    r'(?: "(?:[^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)")?'
    r"(.*)"
)
# The usual line (no escaped quotes): method and target captured directly.
_COMBINED_FAST = re.compile(
    r'(\S+) \S+ \S+ \[([^\]]+)\] "([A-Za-z]+) ([^" ]+)(?: HTTP/[0-9.]+)?" (\d{3}) (?:\d+|-)'
    r'(?: "[^"\\]*" "([^"\\]*)"(.*))?$'
)
_PROTOCOLS = ("HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/2", "HTTP/3")
_REST_TIME = re.compile(r"\s+(?:(?:rt|request_time)=)?\"?(\d+(?:\.\d*)?|\.\d+)\"?(?:\s|$)")
_CLF_TIME = re.compile(
    r"(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? ([-+]\d{4})"
)
_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
_TWELVE_DIGITS = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_JSON_START = re.compile(rb"\s*\{")


class Record(NamedTuple):
    """One request of a log.

    ``t`` is Unix seconds; ``target`` the path with its query, as logged; ``status``
    is 0 and ``response_s`` NaN when the log does not say; ``session`` is the key
    that groups the requests of one visit (see :class:`SessionKey`).
    """

    t: float
    method: str
    target: str
    status: int
    response_s: float
    session: str


@dataclass(frozen=True)
class SessionKey:
    """What ties one visitor's requests together: ``ip+ua``, ``ip``, ``cookie:NAME``
    or ``header:NAME`` (the last two need a JSON log that has cookies or headers)."""

    kind: str = "ip+ua"
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> SessionKey:
        if text in ("ip+ua", "ip"):
            return cls(text)
        kind, _, name = text.partition(":")
        if kind in ("cookie", "header") and re.fullmatch(r"[!#-'*+.0-9A-Z^-z|~-]{1,128}", name):
            return cls(kind, name)
        raise ValueError(f"{shown(text)} is not ip+ua, ip, cookie:NAME or header:NAME")

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


@dataclass(frozen=True)
class LogOptions:
    """How to read a log: its format, JSON field names, request-time unit, session key."""

    format: str = "auto"
    fields: Mapping[str, str] = field(default_factory=dict)
    request_time_unit: str = "auto"  # auto, s, ms, us
    session: SessionKey = field(default_factory=SessionKey)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format {shown(self.format)} is not one of {', '.join(FORMATS)}")
        unknown = sorted(set(self.fields) - set(JSON_KEYS))
        if unknown:
            raise ValueError(
                f"unknown field {shown(unknown[0])}; fields are {', '.join(JSON_KEYS)}"
            )
        if self.request_time_unit not in ("auto", "s", "ms", "us"):
            raise ValueError(
                f"request time unit {shown(self.request_time_unit)} is not s, ms or us"
            )


@dataclass
class ReadStats:
    """What reading one file met: lines, parsed, unparsed (with a few examples)."""

    path: str
    format: str = ""
    lines: int = 0
    blank: int = 0
    parsed: int = 0
    unparsed: int = 0
    examples: list[str] = field(default_factory=list)
    truncated: str = ""  # why the file ended early (a cut gzip stream), if it did
    utc_offset_s: float | None = None  # the first time zone the log's times gave

    def reject(self, line: bytes | str, why: str) -> None:
        self.unparsed += 1
        if len(self.examples) < EXAMPLES_KEPT:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            self.examples.append(f"line {self.lines}: {why}: {shown(mask_ids(text.strip()))}")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "format": self.format,
            "lines": self.lines,
            "parsed": self.parsed,
            "unparsed": self.unparsed,
        }
        if self.examples:
            out["unparsed_examples"] = list(self.examples)
        if self.truncated:
            out["truncated"] = self.truncated
        return out


def mask_ids(text: str) -> str:
    """``text`` with every 12-digit number (an ID number's shape) as ``############``."""
    return _TWELVE_DIGITS.sub("#" * 12, text)


# -- reading -------------------------------------------------------------------------------
def read_log(path: Path, options: LogOptions, stats: ReadStats | None = None) -> Iterator[Record]:
    """The requests of one log file, in file order; counts go into ``stats``.

    Raises
    ------
    ConfigError
        The file cannot be opened (missing, a folder, a FIFO, no permission).
    """
    stats = stats if stats is not None else ReadStats(str(path))
    with open_log(path) as raw:
        lines = _lines(raw, path, stats)
        head: list[bytes] = []
        fmt = options.format
        if fmt == "auto":
            for line in lines:
                head.append(line)
                if len(head) >= 20:
                    break
            fmt = detect_format(head)
        stats.format = fmt
        parse = line_parser(fmt, options, stats)
        for line in _chain(head, lines):
            stats.lines += 1
            if not line.strip():
                stats.blank += 1
                continue
            record = parse(line)
            if record is not None:
                stats.parsed += 1
                yield record


def read_logs(
    paths: Sequence[Path], options: LogOptions
) -> tuple[Iterator[Record], list[ReadStats]]:
    """Several logs (one per web server, say) merged into one stream by time.

    Each file is assumed to be in time order, as a server writes it (small
    disorder, such as nginx logging at completion time, is harmless to both readers).
    """
    all_stats = [ReadStats(str(p)) for p in paths]
    streams = [read_log(p, options, s) for p, s in zip(paths, all_stats, strict=True)]
    if len(streams) == 1:
        return streams[0], all_stats
    return heapq.merge(*streams, key=lambda r: r.t), all_stats


def line_parser(
    fmt: str, options: LogOptions, stats: ReadStats
) -> Callable[[bytes], Record | None]:
    """A function from one line (bytes) to its :class:`Record`, or ``None`` (counted
    and kept as an example in ``stats``) when the line is not one of format ``fmt``."""
    if fmt == "combined":
        return _combined_parser(options, stats)
    if fmt == "jsonl":
        return _json_parser(options, stats)
    raise ValueError(f"format {shown(fmt)} is not combined or jsonl")


def check_session_key(fmt: str, session: SessionKey) -> None:
    """Refuse a session key that logs of format ``fmt`` cannot have."""
    if fmt == "combined" and session.kind in ("cookie", "header"):
        raise ConfigError(
            f"a combined log has no cookies or headers; --session {session} needs a "
            "JSON log that records them (or use ip+ua)"
        )


def open_log(path: Path) -> IO[bytes]:
    """``path`` open for reading bytes, through gzip when it starts with gzip's magic.

    Raises
    ------
    ConfigError
        Not a regular file, missing, or no permission.
    """
    from dvcschema import files

    handle = files.open_binary(path)
    magic = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
    if magic == _GZIP_MAGIC:
        unzipped = gzip.GzipFile(fileobj=handle, mode="rb")
        unzipped.myfileobj = handle  # type: ignore[assignment]  # closed with it, as when GzipFile opens a path itself
        return unzipped  # type: ignore[return-value]
    return handle


def _lines(raw: IO[bytes], path: Path, stats: ReadStats) -> Iterator[bytes]:
    """Lines of at most :data:`MAX_LINE_BYTES` (longer ones are cut and rejected);
    a cut gzip stream ends the lines and is noted in ``stats.truncated``."""
    try:
        while True:
            line = raw.readline(MAX_LINE_BYTES)
            if not line:
                return
            if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
                stats.lines += 1
                stats.reject(line[:200], f"longer than {MAX_LINE_BYTES} bytes")
                while line and not line.endswith(b"\n"):  # skip the rest of it
                    line = raw.readline(MAX_LINE_BYTES)
                continue
            yield line
    except EOFError:
        stats.truncated = "the gzip stream ends early (the file was cut short)"
    except (OSError, zlib.error) as exc:
        stats.truncated = f"the gzip stream is damaged ({exc})"


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from head
    yield from rest


def detect_format(head: Iterable[bytes]) -> str:
    """``jsonl`` when most of the non-blank lines ``head`` are JSON objects, else
    ``combined``."""
    votes = [bool(_JSON_START.match(line)) for line in head if line.strip()]
    return "jsonl" if votes and sum(votes) * 2 >= len(votes) else "combined"


# -- combined ------------------------------------------------------------------------------
def _combined_parser(options: LogOptions, stats: ReadStats) -> Callable[[bytes], Record | None]:
    check_session_key("combined", options.session)
    clock = _ClfClock(stats)
    unit = options.request_time_unit
    by_ip = options.session.kind == "ip"
    fast, general, rest_time = _COMBINED_FAST.match, _COMBINED.match, _REST_TIME.match

    def parse(line: bytes) -> Record | None:
        text = line.decode("utf-8", "replace")  # a final newline: before `$` in the regexes
        m = fast(text)
        if m is not None:
            ip, stamp, method, target, status, ua, rest = m.groups()
        else:
            m = general(text)
            if m is None:
                stats.reject(text, "not a combined log line")
                return None
            ip, stamp, request, status, ua, rest = m.groups()
            method, _, target = request.partition(" ")
            if target.endswith(_PROTOCOLS):
                target = target.rpartition(" ")[0]
            if not method.isalpha() or not target:
                stats.reject(text, "no method and path")
                return None
        t = clock(stamp)
        if t is None:
            stats.reject(text, "no time")
            return None
        response_s = math.nan
        if rest:
            found = rest_time(rest)
            if found:
                value = found.group(1)
                if unit == "auto":  # decimals are seconds (nginx), integers µs (Apache %D)
                    response_s = float(value) if "." in value else float(value) * 1e-6
                else:
                    response_s = _seconds(value, unit)
        if target[0] != "/":
            target = _path_of(target)
        session = ip if by_ip else f"{ip} {ua or ''}"
        return Record(t, method, target, int(status), response_s, session)

    return parse


class _ClfClock:
    """``31/Mar/2025:08:00:01 +0700`` to Unix seconds, cached by the line's second."""

    def __init__(self, stats: ReadStats) -> None:
        self._stats = stats
        self._last: tuple[str, float | None] = ("", None)

    def __call__(self, stamp: str) -> float | None:
        if stamp == self._last[0]:
            return self._last[1]
        t = clf_time(stamp, self._stats)
        self._last = (stamp, t)
        return t


def clf_time(stamp: str, stats: ReadStats | None = None) -> float | None:
    """Unix seconds of a combined-format time, or ``None`` if it is not one."""
    m = _CLF_TIME.fullmatch(stamp.strip())
    if m is None:
        return None
    day, mon, year, hh, mm, ss, frac, zone = m.groups()
    month = _MONTHS.get(mon.title())
    if month is None:
        return None
    sign = -1 if zone[0] == "-" else 1
    offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    try:
        base = calendar.timegm((int(year), month, int(day), int(hh), int(mm), int(ss)))
        datetime(int(year), month, int(day), int(hh), int(mm), int(ss))  # a real date
    except ValueError:
        return None
    if stats is not None and stats.utc_offset_s is None:
        stats.utc_offset_s = float(offset)
    return base - offset + (float("0." + frac) if frac else 0.0)


# A block of usual combined lines at once (no escaped quotes, no carriage returns).
_COMBINED_BLOCK = re.compile(
    r'^(\S+) \S+ \S+ \[([^\]\n]+)\] "([A-Za-z]+) ([^" \n]+)(?: HTTP/[0-9.]+)?" (\d{3}) (?:\d+|-)'
    r'(?: "[^"\\\n]*" "([^"\\\n]*)"([^\n]*))?$',
    re.MULTILINE,
)


@dataclass
class Columns:
    """The requests of a block of lines, one list per field (see :class:`Record`)."""

    t: list[float]
    method: list[str]
    target: list[str]
    status: list[int]
    response_s: list[float]
    session: list[str]


def combined_columns(
    text: str, lines: int, options: LogOptions, stats: ReadStats
) -> Columns | None:
    """The ``lines`` non-blank lines of ``text`` parsed in one pass of the regular
    expression, the same records :func:`line_parser` gives one by one, about twice as
    fast; ``None`` when a line needs that path (it does not parse, has escaped quotes or
    a carriage return, or a date that does not exist), which then also counts it."""
    rows = _COMBINED_BLOCK.findall(text)
    if len(rows) != lines or not rows:
        return None
    ips, stamps, methods, targets, statuses, uas, rests = zip(*rows, strict=True)
    clock = {stamp: clf_time(stamp, stats) for stamp in set(stamps)}
    if None in clock.values():
        return None
    unit = options.request_time_unit
    match = _REST_TIME.match
    response = [math.nan] * len(rows)
    for i, rest in enumerate(rests):
        if rest:
            found = match(rest)
            if found:
                response[i] = _seconds(found.group(1), unit)
    by_ip = options.session.kind == "ip"
    return Columns(
        [clock[s] for s in stamps],  # type: ignore[misc]
        list(methods),
        [x if x[0] == "/" else _path_of(x) for x in targets],
        [int(x) for x in statuses],
        response,
        list(ips) if by_ip else [f"{ip} {ua}" for ip, ua in zip(ips, uas, strict=True)],
    )


def _seconds(text: str, unit: str) -> float:
    value = float(text)
    if unit == "auto":
        unit = "s" if "." in text else "us"
    return value * {"s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]


# -- JSON lines ----------------------------------------------------------------------------
def _json_parser(options: LogOptions, stats: ReadStats) -> Callable[[bytes], Record | None]:
    getters = {key: _getter(key, options.fields.get(key)) for key in JSON_KEYS}
    session = options.session
    unit = options.request_time_unit

    def parse(line: bytes) -> Record | None:
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            stats.reject(line, "not a JSON object")
            return None
        if not isinstance(row, dict):
            stats.reject(line, "not a JSON object")
            return None
        t = _json_time(getters["time"](row), stats)
        method, target = getters["method"](row), getters["path"](row)
        if (method is None or target is None) and isinstance(
            request := getters["request"](row), str
        ):
            parts = request.split(" ")
            if len(parts) >= 2:
                method, target = method or parts[0], target or parts[1]
        if t is None:
            stats.reject(line, "no time")
            return None
        if (
            not isinstance(method, str)
            or not method.isalpha()
            or not isinstance(target, str)
            or not target
        ):
            stats.reject(line, "no method and path")
            return None
        status = _json_int(getters["status"](row))
        response_s = _json_request_time(row, getters["request_time"], options, unit)
        key = _json_session(row, getters, session)
        return Record(t, method.upper(), _path_of(target), status, response_s, key)

    return parse


def _getter(key: str, mapped: str | None) -> Callable[[Mapping[str, Any]], Any]:
    if mapped:
        parts = mapped.split(".")

        def get_path(row: Mapping[str, Any]) -> Any:
            value: Any = row
            for part in parts:
                if not isinstance(value, Mapping):
                    return None
                value = value.get(part)
            return value

        return get_path
    names = JSON_FIELDS[key]

    def get_first(row: Mapping[str, Any]) -> Any:
        for name in names:
            value = row.get(name)
            if value is not None:
                return value
        return None

    return get_first


def _json_time(value: Any, stats: ReadStats) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        t = float(value)
        t = t / 1000.0 if t > 1e11 else t  # milliseconds since the epoch
        return t if math.isfinite(t) and t >= 0 else None
    if not isinstance(value, str):
        return None
    if "/" in value:
        return clf_time(value, stats)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            t = float(value)
        except ValueError:
            return None
        return _json_time(t, stats)
    if parsed.tzinfo is None:
        return calendar.timegm(parsed.timetuple()) + parsed.microsecond / 1e6
    offset = parsed.utcoffset()
    if stats.utc_offset_s is None and offset is not None:
        stats.utc_offset_s = offset.total_seconds()
    return parsed.timestamp()


def _json_int(value: Any) -> int:
    try:
        return int(value) if not isinstance(value, bool) else 0
    except (TypeError, ValueError, OverflowError):
        return 0


def _json_request_time(
    row: Mapping[str, Any],
    getter: Callable[[Mapping[str, Any]], Any],
    options: LogOptions,
    unit: str,
) -> float:
    mapped = options.fields.get("request_time")
    name = mapped or next((n for n in JSON_FIELDS["request_time"] if row.get(n) is not None), "")
    value = getter(row)
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    if not math.isfinite(number) or number < 0:
        return math.nan
    if unit == "auto":
        unit = "ms" if name.endswith("_ms") else "us" if name.endswith("_us") else "s"
    return number * {"s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]


def _json_session(
    row: Mapping[str, Any],
    getters: Mapping[str, Callable[[Mapping[str, Any]], Any]],
    session: SessionKey,
) -> str:
    if session.kind == "cookie":
        return _cookie(getters["cookie"](row), session.name)
    if session.kind == "header":
        headers = getters["headers"](row)
        if isinstance(headers, Mapping):
            lower = {str(k).lower(): v for k, v in headers.items()}
            value = lower.get(session.name.lower())
            return "" if value is None else str(value)
        value = row.get(session.name)
        return "" if value is None else str(value)
    ip = getters["ip"](row)
    if session.kind == "ip":
        return str(ip or "")
    return f"{ip or ''} {getters['user_agent'](row) or ''}"


def _cookie(value: Any, name: str) -> str:
    if isinstance(value, Mapping):
        found = value.get(name)
        return "" if found is None else str(found)
    if isinstance(value, str):
        for part in value.split(";"):
            key, _, found = part.strip().partition("=")
            if key == name:
                return found
    return ""


def _path_of(target: str) -> str:
    """A full URL's path and query (the host in a log is never used)."""
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    return target


# -- route names ---------------------------------------------------------------------------
_DIGIT = re.compile(r"[0-9]")
# One path segment that is an identifier, by kind (the group's name is the placeholder).
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:"
    r"(?P<cccd>[0-9]{12})|(?P<id>[0-9]+)"
    r"|(?P<uuid>[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12})"
    r"|(?P<hex>[0-9A-Fa-f]{16,})"
    r"|(?P<code>[^/]*?[0-9][^/]*?[0-9][^/]*?[0-9][^/]*)"
    r")(?=/|$)"
)
_BRACED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class RouteRule:
    """``--route 'REGEX=TEMPLATE'``: a path matching REGEX (``re.search``) is named
    TEMPLATE, which may use the match's groups (``\\1``, ``\\g<name>``)."""

    pattern: re.Pattern[str]
    template: str

    @classmethod
    def parse(cls, text: str) -> RouteRule:
        regex, sep, template = text.rpartition("=")
        if not sep or not regex or not template.startswith("/"):
            raise ValueError(f"{shown(text)} is not REGEX=TEMPLATE (a template starts with '/')")
        try:
            return cls(re.compile(regex), _BRACED.sub(r"[\1]", template))
        except re.error as exc:
            raise ValueError(f"{shown(regex)} is not a regular expression: {exc}") from None


class RouteNamer:
    """A request's name from its method and path: ``GET /ho-so/[code]``.

    The query is dropped. The first :class:`RouteRule` that matches names the path;
    otherwise each path segment that is an identifier becomes a placeholder: a UUID
    ``[uuid]``, a 12-digit number (an ID number) ``[cccd]``, any other number
    ``[id]``, a hex string of 16 or more ``[hex]``, and a segment with three or more
    digits among letters and separators (a dossier code such as
    ``H01-261207-0001``) ``[code]``. ``{name}`` (a log of route templates) becomes
    ``[name]``.

    Examples
    --------
    >>> name = RouteNamer()
    >>> name("GET", "/ho-so/H01-261207-0001?cccd=001203004567")
    'GET /ho-so/[code]'
    >>> name("GET", "/citizens/001203004567/dossiers/42")
    'GET /citizens/[cccd]/dossiers/[id]'
    """

    def __init__(self, rules: Sequence[RouteRule] = ()) -> None:
        self.rules = tuple(rules)
        self._cache: dict[str, str] = {}

    def __call__(self, method: str, target: str) -> str:
        return f"{method} {self.template(target)}"

    def template(self, target: str) -> str:
        path = target.partition("?")[0] or "/"
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        named = self._named(path)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[path] = named
        return named

    def _named(self, path: str) -> str:
        for rule in self.rules:
            found = rule.pattern.search(path)
            if found:
                return found.expand(rule.template)
        if "{" in path:
            path = _BRACED.sub(r"[\1]", path)
        if not _DIGIT.search(path):
            return path
        return _ID_SEGMENT.sub(_placeholder, path)


def _placeholder(found: re.Match[str]) -> str:
    return f"[{found.lastgroup}]"


def replace_ids(text: str, replace: Callable[[str], str]) -> str:
    """``text`` with every 12-digit number ``n`` replaced by ``replace(n)``."""
    return _TWELVE_DIGITS.sub(lambda m: replace(m.group(0)), text)
