"""The sample-log generator: its truth against an independent count of the lines written.

Every check reads the written log with its own regular expressions (not the
generator's code, not :mod:`dvcschema.weblog`), groups requests into sessions by
ip+ua with the 30-minute rule, and compares with the truth the generator returns.
"""

from __future__ import annotations

import collections
import gzip
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.make_access_log import LogSpec, main, write_log

COMBINED = re.compile(
    r"(?P<ip>10\.\d+\.\d+\.\d+) - - \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"(?P<method>GET|POST) (?P<target>\S+) HTTP/1\.1" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'"-" "(?P<ua>[^"]+)" (?P<rt>\d+\.\d{3})'
)
DOSSIER_CODE = r"000\.00\.\d\d\.H\d\d-\d{6}-\d{4}"
SERVICE = r"[a-z][a-z-]+"
TEMPLATES = [  # path -> the reference portal's route name
    (re.compile(rf"/dossiers/{DOSSIER_CODE}/payments"), "/dossiers/[code]/payments"),
    (re.compile(rf"/dossiers/{DOSSIER_CODE}\?cccd=\d{{12}}"), "/dossiers/[code]"),
    (re.compile(rf"/services/{SERVICE}/form"), "/services/[code]/form"),
    (re.compile(r"/(auth/login|services|attachments|dossiers|paygov/confirm)"), None),
]
GAP = timedelta(minutes=30)


def _route(method: str, target: str) -> str:
    for pattern, name in TEMPLATES:
        if pattern.fullmatch(target):
            return f"{method} {name or target}"
    raise AssertionError(f"not a reference portal path: {target}")


def _read(text: str, fmt: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        if fmt == "combined":
            found = COMBINED.fullmatch(line)
            assert found, line
            row: dict[str, Any] = found.groupdict()
            row["time"] = datetime.strptime(row["time"], "%d/%b/%Y:%H:%M:%S %z")
        else:
            data = json.loads(line)
            row = {"ip": data["remote_addr"], "ua": data["http_user_agent"],
                   "method": data["method"], "target": data["request_uri"],
                   "status": str(data["status"]), "rt": f"{data['request_time']:.3f}",
                   "time": datetime.fromisoformat(data["time"])}  # fmt: skip
        rows.append(row)
    return rows


def _count(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What a reader of the log finds: sessions (ip+ua, 30-minute gap), routes, times."""
    last: dict[tuple[str, str], datetime] = {}
    per_session: collections.Counter[tuple[str, str, int]] = collections.Counter()
    session_no: dict[tuple[str, str], int] = {}
    starts: collections.Counter[datetime] = collections.Counter()
    routes: collections.Counter[str] = collections.Counter()
    route_status: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    rt_ms: collections.Counter[str] = collections.Counter()
    forms: collections.Counter[str] = collections.Counter()
    for row in rows:
        key = (row["ip"], row["ua"])
        if key not in last or row["time"] - last[key] >= GAP:
            session_no[key] = session_no.get(key, -1) + 1
            starts[row["time"].replace(second=0)] += 1
        last[key] = row["time"]
        per_session[(*key, session_no[key])] += 1
        name = _route(row["method"], row["target"])
        routes[name] += 1
        route_status[name][row["status"]] += 1
        rt_ms[name] += round(float(row["rt"]) * 1000)
        if name == "GET /services/[code]/form":
            forms[row["target"].split("/")[2]] += 1
    first, final = min(starts), max(starts)
    minutes = int((final - first).total_seconds() // 60) + 1
    return {
        "arrivals": [
            {
                "start": (first + timedelta(minutes=i)).isoformat(),
                "count": starts[first + timedelta(minutes=i)],
            }
            for i in range(minutes)
        ],
        "sessions": sum(starts.values()),
        "routes": dict(routes),
        "route_status": {k: dict(v) for k, v in route_status.items()},
        "mean_ms": {k: rt_ms[k] / n for k, n in routes.items()},
        "form_services": dict(forms),
        "requests_per_session": dict(collections.Counter(per_session.values())),
        "reused_keys": sum(n for n in session_no.values()),
    }


def _spec(**changes: Any) -> LogSpec:
    base: dict[str, Any] = {"hours": 0.5, "peak_per_min": 40.0, "seed": 7}
    return LogSpec(**{**base, **changes})


@pytest.fixture(scope="module")
def combined(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("log") / "access.log"
    return path, write_log(path, _spec()).as_dict()


def test_the_truth_is_what_an_independent_count_of_the_lines_finds(
    combined: tuple[Path, dict[str, Any]],
) -> None:
    path, truth = combined
    rows = _read(path.read_text(encoding="ascii"), "combined")
    found = _count(rows)
    assert truth["lines"] == truth["requests"] == len(rows) > 2000
    assert found["reused_keys"] == 0  # every session has its own ip+ua key
    assert found["arrivals"] == truth["arrivals"]
    assert found["sessions"] == truth["sessions"] == sum(a["count"] for a in truth["arrivals"])
    assert truth["arrivals"][0]["start"] == "2025-03-31T08:00:00+07:00"
    assert found["routes"] == {k: v for k, v in truth["routes"].items() if v}
    assert found["route_status"] == truth["route_status"]
    assert found["form_services"] == truth["form_services"]
    assert found["requests_per_session"] == {
        int(k): v for k, v in truth["requests_per_session"].items()
    }
    for route, mean in truth["mean_ms"].items():
        assert found["mean_ms"][route] == pytest.approx(mean, rel=1e-12)
    assert set(found["routes"]) == {
        "POST /auth/login", "GET /services", "GET /services/[code]/form", "POST /attachments",
        "POST /dossiers", "GET /dossiers/[code]", "POST /dossiers/[code]/payments",
        "POST /paygov/confirm",
    }  # fmt: skip


def test_lines_are_in_time_order_and_sessions_pause_well_under_the_gap(
    combined: tuple[Path, dict[str, Any]],
) -> None:
    rows = _read(combined[0].read_text(encoding="ascii"), "combined")
    times = [r["time"] for r in rows]
    assert times == sorted(times)
    last: dict[tuple[str, str], datetime] = {}
    longest = timedelta(0)
    for row in rows:
        key = (row["ip"], row["ua"])
        if key in last:
            longest = max(longest, row["time"] - last[key])
        last[key] = row["time"]
    assert timedelta(seconds=30) < longest <= timedelta(minutes=5, seconds=1)


def test_id_numbers_are_twelve_digit_shapes_only_in_status_queries(
    combined: tuple[Path, dict[str, Any]],
) -> None:
    text = combined[0].read_text(encoding="ascii")
    numbers = re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text)
    queried = re.findall(r"\?cccd=([0-9]{12}) ", text)
    assert numbers == queried and len(set(numbers)) > 100
    for number in set(numbers):
        assert 1 <= int(number[:3]) <= 96 and number[3] in "0123"  # province, century + sex


def test_the_jsonl_log_holds_the_same_requests(
    tmp_path: Path, combined: tuple[Path, dict[str, Any]]
) -> None:
    path = tmp_path / "access.jsonl"
    truth = write_log(path, _spec(format="jsonl")).as_dict()
    assert {k: v for k, v in truth.items() if k != "format"} == {
        k: v for k, v in combined[1].items() if k != "format"
    }
    found = _count(_read(path.read_text(encoding="ascii"), "jsonl"))
    assert found["arrivals"] == truth["arrivals"]
    assert found["routes"] == {k: v for k, v in truth["routes"].items() if v}


def test_gzip_decompresses_to_the_same_text(
    tmp_path: Path, combined: tuple[Path, dict[str, Any]]
) -> None:
    path = tmp_path / "access.log.gz"
    truth = write_log(path, _spec(compress=True)).as_dict()
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(path.read_bytes()) == combined[0].read_bytes()
    assert truth == combined[1]


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_log(tmp_path / f"{name}.log.gz", _spec(hours=0.2, compress=True))
    write_log(tmp_path / "c.log.gz", _spec(hours=0.2, compress=True, seed=8))
    a, b, c = (tmp_path / f"{n}.log.gz" for n in "abc")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_lines_stops_at_exactly_that_many_and_counts_the_cut_sessions(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    truth = write_log(path, _spec(lines=1234, peak_per_min=None)).as_dict()
    rows = _read(path.read_text(encoding="ascii"), "combined")
    assert len(rows) == truth["lines"] == 1234
    found = _count(rows)
    assert found["arrivals"] == truth["arrivals"]
    per_session = {int(k): v for k, v in truth["requests_per_session"].items()}
    assert per_session == found["requests_per_session"]
    assert sum(k * v for k, v in per_session.items()) == 1234
    assert sum(per_session.values()) == truth["sessions"]


def test_the_command_line_writes_the_log_and_its_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, truth = tmp_path / "a.log", tmp_path / "truth.json"
    code = main(["--out", str(log), "--lines", "500", "--format", "jsonl", "--seed", "3",
                 "--start", "2025-03-31T00:00:00+07:00", "--truth", str(truth)])  # fmt: skip
    assert code == 0
    data = json.loads(truth.read_text(encoding="utf-8"))
    assert data["lines"] == 500 == len(log.read_text(encoding="ascii").splitlines())
    assert data["arrivals"][0]["start"] == "2025-03-31T00:00:00+07:00"
    assert "500 lines" in capsys.readouterr().err
    assert main(["--out", str(log), "--start", "2025-03-31T08:00:30+07:00"]) == 2
    assert "not on a whole minute" in capsys.readouterr().err
