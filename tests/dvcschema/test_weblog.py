"""Reading access logs: the line formats seen in the wild, and never a crash."""

from __future__ import annotations

import calendar
import gzip
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcschema import weblog
from dvcschema.errors import ConfigError

T = calendar.timegm((2025, 3, 31, 1, 0, 1))  # 31/Mar/2025:08:00:01 +0700


def _records(
    tmp_path: Path, text: str, **options: object
) -> tuple[list[weblog.Record], weblog.ReadStats]:
    path = tmp_path / "log"
    path.write_text(text, encoding="utf-8")
    stats = weblog.ReadStats(str(path))
    records = list(weblog.read_log(path, weblog.LogOptions(**options), stats))  # type: ignore[arg-type]
    return records, stats


@pytest.mark.parametrize(
    ("line", "target", "response_s", "ua"),
    [
        # nginx combined with $request_time
        ('1.2.3.4 - - [31/Mar/2025:08:00:01 +0700] "GET /a?b=1 HTTP/1.1" 200 5 "-" "UA x" 0.031',
         "/a?b=1", 0.031, "UA x"),
        # common log format: no referer, no user agent
        ('1.2.3.4 - bob [31/Mar/2025:08:00:01 +0700] "HEAD / HTTP/1.0" 304 -', "/", math.nan, ""),
        # Apache %D (microseconds), and a user agent with an escaped quote
        ('1.2.3.4 - - [31/Mar/2025:08:00:01 +0700] "GET /x HTTP/2.0" 200 1 "r" "say \\"hi\\"" '
         "31000",
         "/x", 0.031, 'say \\"hi\\"'),
        # nginx key=value timing after the user agent, a full URL as the target
        ('1.2.3.4 - - [31/Mar/2025:08:00:01 +0700] "GET https://portal.example/p/1 HTTP/1.1" 200 1 '
         '"-" "UA" rt=0.5 uct="0.001"', "/p/1", 0.5, "UA"),
        # no protocol in the request (HTTP/0.9 style)
        ('1.2.3.4 - - [31/Mar/2025:08:00:01 +0700] "GET /old" 200 1', "/old", math.nan, ""),
    ],
)  # fmt: skip
def test_combined_lines(tmp_path: Path, line: str, target: str, response_s: float, ua: str) -> None:
    (record,), stats = _records(tmp_path, line + "\n", format="combined")
    assert record.t == T
    assert record.target == target
    assert record.session == f"1.2.3.4 {ua}"
    assert stats.utc_offset_s == 7 * 3600
    if math.isnan(response_s):
        assert math.isnan(record.response_s)
    else:
        assert record.response_s == pytest.approx(response_s)


def test_combined_refusals_are_counted_with_masked_examples(tmp_path: Path) -> None:
    lines = [
        '1.2.3.4 - - [31/Feb/2025:08:00:01 +0700] "GET /a HTTP/1.1" 200 1',  # no such day
        '1.2.3.4 - - [31/Mar/2025:08:00:01 +0700] "G3T /a HTTP/1.1" 200 1',  # not a method
        "GET /citizen/001203004567 and nothing else",
        "",
    ]
    records, stats = _records(tmp_path, "\n".join(lines) + "\n", format="combined")
    assert records == []
    assert (stats.lines, stats.blank, stats.unparsed) == (4, 1, 3)
    assert all("001203004567" not in e for e in stats.examples)
    assert "############" in stats.examples[2]


def test_json_lines_with_common_and_mapped_field_names(tmp_path: Path) -> None:
    rows = [
        {"time": "2025-03-31T08:00:01+07:00", "method": "get", "path": "/a", "status": 200,
         "response_ms": 31, "remote_addr": "1.2.3.4", "user_agent": "UA"},
        {"ts": (T + 1) * 1000, "request": "POST /b HTTP/1.1", "status": "201",
         "request_time": 0.5, "client_ip": "1.2.3.4"},
        {"time_local": "31/Mar/2025:08:00:03 +0700", "uri": "https://h/c?x=1", "verb": "GET"},
    ]  # fmt: skip
    text = "".join(json.dumps(r) + "\n" for r in rows)
    records, stats = _records(tmp_path, text)
    assert stats.format == "jsonl"
    assert [r.t for r in records] == [T, T + 1, T + 2]
    assert [(r.method, r.target, r.status) for r in records] == [
        ("GET", "/a", 200), ("POST", "/b", 201), ("GET", "/c?x=1", 0),
    ]  # fmt: skip
    assert records[0].response_s == pytest.approx(0.031)
    assert records[1].response_s == pytest.approx(0.5)
    assert math.isnan(records[2].response_s)
    mapped = {"req": {"at": T, "m": "GET", "u": "/n"}, "took_us": 1500}
    (record,), _ = _records(
        tmp_path,
        json.dumps(mapped) + "\n",
        fields={"time": "req.at", "method": "req.m", "path": "req.u", "request_time": "took_us"},
    )
    assert (record.t, record.target) == (T, "/n")
    assert record.response_s == pytest.approx(0.0015)


def test_sessions_by_cookie_and_header(tmp_path: Path) -> None:
    rows = [
        {"ts": T, "method": "GET", "path": "/", "cookie": "a=1; sid=XYZ; b=2"},
        {"ts": T, "method": "GET", "path": "/", "cookies": {"sid": "ABC"}},
        {"ts": T, "method": "GET", "path": "/", "headers": {"X-Session": "h1"}},
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    records, _ = _records(tmp_path, text, session=weblog.SessionKey.parse("cookie:sid"))
    assert [r.session for r in records] == ["XYZ", "ABC", ""]
    records, _ = _records(tmp_path, text, session=weblog.SessionKey.parse("header:x-session"))
    assert [r.session for r in records] == ["", "", "h1"]
    with pytest.raises(ConfigError, match="no cookies"):
        _records(tmp_path, "x\n", format="combined", session=weblog.SessionKey("cookie", "s"))


def test_gzip_is_recognised_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    line = '1.2.3.4 - - [31/Mar/2025:08:00:01 +0700] "GET /a HTTP/1.1" 200 5\n'
    path = tmp_path / "access.log"  # no .gz
    path.write_bytes(gzip.compress(line.encode() * 3))
    assert len(list(weblog.read_log(path, weblog.LogOptions()))) == 3
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(line.encode() * 5000)[:200])
    stats = weblog.ReadStats(str(cut))
    list(weblog.read_log(cut, weblog.LogOptions(), stats))
    assert "cut short" in stats.truncated


def test_route_names() -> None:
    name = weblog.RouteNamer([weblog.RouteRule.parse(r"^/u/([a-z]+)/.*=/u/\1/[rest]")])
    assert name("GET", "/u/abc/x/y?q=1") == "GET /u/abc/[rest]"
    assert name("GET", "/dossiers/{code}") == "GET /dossiers/[code]"
    assert name("GET", "/static/app.v2.js") == "GET /static/app.v2.js"  # one digit: a name
    assert name("GET", "/ho-so/H01.250331.0001") == "GET /ho-so/[code]"
    assert name("GET", "/a/DEADBEEF0DEADBEEF7/b") == "GET /a/[hex]/b"
    assert name("GET", "/x/001203004567") == "GET /x/[cccd]"
    assert name("GET", "/x/0012030045678") == "GET /x/[id]"  # 13 digits: not an ID number
    with pytest.raises(ValueError, match="REGEX=TEMPLATE"):
        weblog.RouteRule.parse("^/a=b")


def test_replace_ids_touches_only_twelve_digit_numbers() -> None:
    text = "/c/001203004567?n=0012030045678&m=001203004568"
    assert weblog.replace_ids(text, lambda n: "X") == "/c/X?n=0012030045678&m=X"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_are_counted(data: bytes) -> None:
    for fmt in ("combined", "jsonl"):
        stats = weblog.ReadStats("x")
        parse = weblog.line_parser(fmt, weblog.LogOptions(), stats)
        for line in data.split(b"\n"):
            if line.strip():
                record = parse(line)
                assert record is None or isinstance(record.t, float | int)
