"""``dvcload derive LOG [LOG ...] --out DIR``: a workload from web-server access logs.

Reads nginx/Apache combined logs or JSON lines (gzipped or not), groups requests into
sessions, and writes the arrival profile, the route mix, response times per route,
an open-model scenario and a plot into ``DIR`` (:mod:`analysis.derive_files`).
Exit 0 when written (with a warning line when some lines did not parse), 2 for bad
input: no parsable line, mostly unparsable lines, a cut gzip stream.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from dvcschema import weblog
from dvcschema.errors import ConfigError, shown

T = TypeVar("T")
NAME = "derive"
HELP = "Derive arrivals, route mix, response times and a scenario from access logs."
_FIELD = re.compile(r"([a-z_]{1,32})=(\S{1,200})")
_OFFSET = re.compile(r"([-+])([0-9]{2}):?([0-9]{2})")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", metavar="LOG", nargs="+", type="path", help="access logs (.gz too)")
    parser.add_argument("--out", required=True, type="out_folder", metavar="DIR",
                        help="folder to write into (created)")  # fmt: skip
    parser.add_argument(
        "--format", choices=("auto", "combined", "jsonl"), default="auto",
        help="combined (nginx/Apache, optional trailing request time), jsonl, or auto "
        "(decided per file from its first lines; default)",
    )  # fmt: skip
    parser.add_argument(
        "--field", action="append", default=[], type="text", metavar="NAME=KEY",
        help="JSON lines: where a field is (time, method, path, request, status, "
        "request_time, ip, user_agent, cookie, headers); dots reach into objects, e.g. "
        "--field time=ts --field path=req.uri (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--request-time-unit", choices=("auto", "s", "ms", "us"), default="auto",
        help="unit of the logged request time (auto: combined logs' decimals are seconds, "
        "integers microseconds; JSON fields ending _ms/_us say so, else seconds)",
    )  # fmt: skip
    parser.add_argument(
        "--route", action="append", default=[], type="text", metavar="REGEX=TEMPLATE",
        help="name paths matching REGEX as TEMPLATE, e.g. '^/ho-so/[^/]+$=/ho-so/[code]' "
        "(repeatable, first match wins; others are templated automatically)",
    )  # fmt: skip
    parser.add_argument(
        "--session", default="ip+ua", type="text", metavar="KEY",
        help="what ties a visitor's requests: ip+ua (default), ip, cookie:NAME, header:NAME",
    )  # fmt: skip
    parser.add_argument("--gap", default="30m", type="text", metavar="DURATION",
                        help="idle time that ends a session (default 30m)")  # fmt: skip
    parser.add_argument("--interval", default="1m", type="text", metavar="DURATION",
                        help="width of arrivals.csv's intervals (default 1m)")  # fmt: skip
    parser.add_argument(
        "--exclude", action="append", default=[], type="text", metavar="REGEX",
        help=r"leave out paths matching REGEX, e.g. '\.(css|js|png|ico)$' or '^/health' "
        "(repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--utc-offset", type="short_text", metavar="+HH:MM",
        help="clock of arrivals.csv (default: the log's own time zone, else UTC)",
    )  # fmt: skip
    parser.add_argument("--jobs", type="processes", metavar="N",
                        help="worker processes (default: one per CPU for large logs)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from analysis.derive import DeriveOptions, derive, unparsed_warning
    from analysis.derive_files import write_all

    options = DeriveOptions(
        log=_log_options(args),
        interval_s=_duration(args.interval, "--interval", minimum_s=1.0),
        gap_s=_duration(args.gap, "--gap", minimum_s=1.0),
        routes=tuple(_each(args.route, "--route", _route_rule)),
        exclude=tuple(_each(args.exclude, "--exclude", _regex)),
        utc_offset_s=_offset(args.utc_offset) if args.utc_offset else None,
        jobs=args.jobs or 0,
    )
    began = time.monotonic()
    result = derive(args.logs, options)
    warning = unparsed_warning(result)
    if warning:
        print(warning, file=sys.stderr)
    written = write_all(result, args.out, sources=[str(p) for p in args.logs])
    elapsed = time.monotonic() - began
    lines = sum(s.lines for s in result.logs)
    sessions = result.sessions.started if result.sessions else 0
    print(
        f"derived {result.requests:,} requests in {sessions:,} sessions over "
        f"{len(result.names)} routes from {lines:,} lines in {elapsed:.1f} s "
        f"({lines / max(elapsed, 1e-9):,.0f} lines/s)"
    )
    if result.excluded:
        print(f"left out {result.excluded:,} requests matching --exclude")
    for path in written:
        print(f"  {path}")
    return 0


def _log_options(args: argparse.Namespace) -> weblog.LogOptions:
    try:
        session = weblog.SessionKey.parse(args.session)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--session") from None
    fields = dict(_each(args.field, "--field", _field))
    try:
        return weblog.LogOptions(args.format, fields, args.request_time_unit, session)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--field") from None


def _each(items: list[str], flag: str, parse: Callable[[str], T]) -> list[T]:
    out = []
    for item in items:
        try:
            out.append(parse(item))
        except ValueError as exc:
            raise ConfigError(str(exc), field=flag) from None
    return out


def _field(text: str) -> tuple[str, str]:
    match = _FIELD.fullmatch(text)
    if match is None:
        raise ValueError(f"{shown(text)} is not NAME=KEY (e.g. time=ts)")
    return match[1], match[2]


def _route_rule(text: str) -> weblog.RouteRule:
    return weblog.RouteRule.parse(text)


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"{shown(text)} is not a regular expression: {exc}") from None


def _duration(text: str, flag: str, *, minimum_s: float) -> float:
    from dvcschema.units import parse_duration_s

    try:
        seconds = parse_duration_s(text)
    except ValueError as exc:
        raise ConfigError(str(exc), field=flag) from None
    if not minimum_s <= seconds <= 86_400.0 * 31:
        raise ConfigError(f"{shown(text)} must be between 1s and 31d", field=flag)
    return seconds


def _offset(text: str) -> float:
    match = _OFFSET.fullmatch(text.strip())
    if match is None or int(match[2]) > 14 or int(match[3]) > 59:
        raise ConfigError(f"{shown(text)} is not a UTC offset like +07:00", field="--utc-offset")
    sign = -1 if match[1] == "-" else 1
    return float(sign * (int(match[2]) * 3600 + int(match[3]) * 60))
