"""The replay plan: send times from recorded offsets, the window, scale's copies, the
methods sent, and ID numbers replaced (never leaked); the replay user's verdicts."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dvcschema.errors import ScenarioError
from dvcschema.load import ReplayLoad
from dvcschema.scenario import load_scenario
from loadgen.arrivals import ArrivalStats, Ticket
from loadgen.replay import ReplayPlan, build_plan, numbers_in, sendable
from loadgen.runner import arrival_summary
from loadgen.users import ReplayUser
from portal.access_log import request_target

T0 = 1_743_382_800  # 2025-03-31 08:00:00 +0700
TWELVE = re.compile(r"[0-9]{12,}")


def _combined(t: float, method: str, path: str, client: str) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(t + 7 * 3600))
    return f'{client} - - [{stamp} +0700] "{method} {path} HTTP/1.1" 200 5 "-" "UA {client}"\n'


def _json(t: float, method: str, path: str, client: str) -> str:
    row = {"ts": t, "method": method, "uri": path, "remote_addr": client, "ua": "UA"}
    return json.dumps(row) + "\n"


Row = tuple[float, str, str, str]  # seconds after T0, method, path, client


def _write(folder: Path, rows: Sequence[Row], *, name: str = "a.log", fmt: Any = _combined) -> Path:
    path = folder / name
    path.write_text("".join(fmt(T0 + t, m, p, c) for t, m, p, c in sorted(rows)), encoding="utf-8")
    return path


def _load(folder: Path, log: str, duration: str | None = None, **keys: Any) -> ReplayLoad:
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in keys.items())
    top = f"duration: {duration}\n" if duration else ""
    (folder / "s.yaml").write_text(
        f"name: r\ntarget: embedded\n{top}load: {{model: replay, log: {log}{extra}}}\n",
        encoding="utf-8",
    )
    load = load_scenario(folder / "s.yaml").load
    assert isinstance(load, ReplayLoad)
    return load


def _synthetic(k: int) -> list[str]:
    return [f"0791{i:08d}" for i in range(k)]


def _plan(
    load: ReplayLoad,
    *,
    seed: int = 1,
    duration_s: float = 3600.0,
    partition: tuple[int, int] = (0, 1),
) -> ReplayPlan:
    return build_plan(
        load, seed=seed, duration_s=duration_s, numbers=_synthetic, partition=partition
    )


def _requests(plan: ReplayPlan) -> list[tuple[float, str, str, str]]:
    return [(float(plan.offsets_s[i]), *plan.request(i)) for i in range(len(plan))]


def _sessions_log(folder: Path, sessions: int = 400, per_session: int = 3) -> Path:
    """``sessions`` clients, each with ``per_session`` GETs a few seconds apart."""
    rows = [
        (s * 5.0 + 2.0 * r, "GET", f"/hs/{s}/{r}", f"10.1.{s // 250}.{s % 250}")
        for s in range(sessions)
        for r in range(per_session)
    ]
    return _write(folder, rows)


def test_each_request_is_sent_at_its_recorded_offset_divided_by_speed(tmp_path: Path) -> None:
    rows = [(0.0, "GET", "/a", "c1"), (1.25, "GET", "/b", "c2"), (30.5, "HEAD", "/c", "c1")]
    _write(tmp_path, rows, fmt=_json)
    plan = _plan(_load(tmp_path, "a.log", speed=10))
    assert [r[0] for r in _requests(plan)] == pytest.approx([0.0, 0.125, 3.05])
    assert [r[1:] for r in _requests(plan)] == [
        ("GET", "/a", "/a"), ("GET", "/b", "/b"), ("HEAD", "/c", "/c"),
    ]  # fmt: skip
    assert plan.summary["recorded"] == plan.summary["scheduled"] == 3


def test_start_at_and_length_cut_a_window_whose_start_is_time_zero(tmp_path: Path) -> None:
    rows = [(float(t), "GET", f"/p{t}", "c") for t in range(0, 600, 10)]  # 0, 10, ... 590 s
    _write(tmp_path, rows)
    plan = _plan(_load(tmp_path, "a.log", start_at="2m", length="3m", speed=2))
    offsets = [r[0] for r in _requests(plan)]
    assert offsets == pytest.approx([t / 2 for t in range(0, 180, 10)])  # 120 s to 290 s
    assert [r[2] for r in _requests(plan)][:2] == ["/p120", "/p130"]
    assert plan.summary["recorded"] == 18
    assert plan.summary["window"]["start_s"] == 120 and plan.summary["window"]["end_s"] == 300


def test_requests_due_after_the_run_s_end_are_cut_and_counted(tmp_path: Path) -> None:
    _write(tmp_path, [(float(t), "GET", "/x", "c") for t in range(100)])
    plan = _plan(_load(tmp_path, "a.log"), duration_s=40.0)
    assert len(plan) == 40 and plan.offsets_s.max() < 40
    assert plan.summary["cut_at_end"] == 60 and plan.summary["scheduled"] == 40
    assert plan.expected(10.0) == 10 and plan.expected(1000.0) == 40


@pytest.mark.parametrize("scale", [2.0, 2.5, 0.3, 1.0])
def test_scale_replays_each_session_whole_floor_s_times_plus_one_with_probability_frac_s(
    tmp_path: Path, scale: float
) -> None:
    sessions, per_session = 400, 3
    _sessions_log(tmp_path, sessions, per_session)
    plan = _plan(_load(tmp_path, "a.log", scale=scale, jitter="1s"))
    per_target = Counter(r[2] for r in _requests(plan))
    # a session is replayed whole or not at all: its requests all have the same count
    copies = {s: {per_target[f"/hs/{s}/{r}"] for r in range(per_session)} for s in range(sessions)}
    assert all(len(counts) == 1 for counts in copies.values())
    counts = Counter(next(iter(c)) for c in copies.values())
    whole, fraction = divmod(scale, 1.0)
    assert set(counts) <= {int(whole), int(whole) + 1}
    extra = counts[int(whole) + 1]
    # Bernoulli(frac) per session: within 4 standard errors of sessions x frac
    se = np.sqrt(sessions * fraction * (1 - fraction))
    assert abs(extra - sessions * fraction) <= 4 * se + 1e-9, (extra, sessions * fraction)
    assert plan.summary["scheduled"] == len(plan) == sum(per_target.values())
    assert plan.summary["sessions_by_copy"][0] == (sessions if scale >= 1 else extra)


def test_copies_are_stable_for_a_seed_and_differ_for_another(tmp_path: Path) -> None:
    _sessions_log(tmp_path)
    load = _load(tmp_path, "a.log", scale=1.5)
    first, again, other = _plan(load), _plan(load), _plan(load, seed=2)
    assert _requests(first) == _requests(again)
    assert np.array_equal(first.offsets_s, again.offsets_s)
    assert _requests(first) != _requests(other)


def test_copy_zero_keeps_recorded_times_and_later_copies_shift_whole_sessions(
    tmp_path: Path,
) -> None:
    _sessions_log(tmp_path, sessions=200)
    plan = _plan(_load(tmp_path, "a.log", scale=3, jitter="2s", speed=4))
    by_target: dict[str, list[float]] = defaultdict(list)
    for offset, _method, target, _name in _requests(plan):
        by_target[target].append(offset)
    shifts: dict[int, set[float]] = defaultdict(set)
    for target, offsets in by_target.items():
        s, r = (int(x) for x in target.split("/")[2:])
        recorded = (s * 5.0 + 2.0 * r) / 4
        first, *later = sorted(offsets)
        assert first == pytest.approx(recorded)  # copy 0 (copies only ever come later)
        assert all(0 <= o - recorded < 2.0 / 4 for o in later) and len(later) == 2
        shifts[s] |= {round(o - recorded, 9) for o in later}
    # one shift per (session, copy): the session's requests keep their spacing
    assert all(len(s) <= 2 for s in shifts.values())
    assert len({x for s in shifts.values() for x in s}) > 100  # and they differ


def test_methods_outside_the_list_are_skipped_and_counted_by_method(tmp_path: Path) -> None:
    methods = ["GET"] * 5 + ["POST"] * 4 + ["HEAD"] * 3 + ["OPTIONS"] * 2 + ["DELETE", "put"]
    _write(tmp_path, [(float(i), m, f"/r{i}", "c") for i, m in enumerate(methods)])
    plan = _plan(_load(tmp_path, "a.log"))
    assert Counter(r[1] for r in _requests(plan)) == {"GET": 5, "HEAD": 3}
    assert plan.summary["skipped_by_method"] == {"DELETE": 1, "OPTIONS": 2, "POST": 4, "PUT": 1}
    assert (plan.summary["recorded"], plan.summary["eligible"]) == (16, 8)
    wider = _plan(_load(tmp_path, "a.log", methods=["GET", "HEAD", "OPTIONS"]))
    assert Counter(r[1] for r in _requests(wider))["OPTIONS"] == 2
    assert wider.summary["skipped_by_method"] == {"DELETE": 1, "POST": 4, "PUT": 1}


def test_a_window_of_unsafe_methods_only_is_refused_before_any_load(tmp_path: Path) -> None:
    _write(tmp_path, [(float(i), "POST", "/dossiers", "c") for i in range(10)])
    with pytest.raises(ScenarioError, match=r"none of the window's 10 requests .* POST 10"):
        _plan(_load(tmp_path, "a.log"))


def test_a_peak_above_the_ceiling_is_refused_naming_it(tmp_path: Path) -> None:
    _write(tmp_path, [(i / 10, "GET", "/x", f"c{i}") for i in range(100)])  # 10/s recorded
    load = _load(tmp_path, "a.log", speed=5, scale=2, max_request_rate=90)
    with pytest.raises(ScenarioError, match=r"peaks at 100 requests/s .* ceiling of 90") as caught:
        _plan(load)
    assert caught.value.field == "load.max_request_rate" and "\n" not in str(caught.value)
    assert len(_plan(_load(tmp_path, "a.log", speed=5, scale=2, max_request_rate=100))) == 200


def _id_rows() -> list[Row]:
    rows: list[Row] = []
    for i in range(300):
        real = f"999{i % 37:09d}"  # 37 people, each seen about 8 times
        other = f"998{i % 11:09d}"
        rows.append((i * 2.0, "GET", f"/dossiers/H01-250331-{i:04d}?cccd={real}", f"c{i % 50}"))
        rows.append((i * 2.0 + 1, "GET", f"/citizens/{other}/x?a={real}&b={other}", f"c{i % 50}"))
        rows.append((i * 2.0 + 1, "POST", f"/citizens/{real}", f"c{i % 50}"))
    return rows


def test_id_numbers_map_consistently_per_copy_and_never_leak(tmp_path: Path) -> None:
    _write(tmp_path, [*_id_rows(), (0.5, "GET", "/%zz not a number 999999999999", "c")])
    (tmp_path / "a.log").write_text(
        (tmp_path / "a.log").read_text() + "garbage line 999888777666\n", encoding="utf-8"
    )
    plan = _plan(_load(tmp_path, "a.log", scale=2))
    real = {n for _t, _m, path, _c in _id_rows() for n in numbers_in(path)}
    real |= {"999999999999", "999888777666"}
    everything = json.dumps(plan.summary) + json.dumps(_requests(plan)) + " ".join(plan.names)
    leaked = {n for run in TWELVE.findall(everything) for n in real if n in run}
    assert not leaked
    assert (
        plan.summary["unparsed"] == 1
        and "############" in plan.summary["reads"][0]["unparsed_examples"][0]
    )
    # the same real number always gets the same synthetic one within a copy, and the
    # two copies get different citizens: D distinct numbers -> 2 x D synthetic ones
    mapping: dict[tuple[str, float], str] = {}
    for offset, _m, target, name in _requests(plan):
        assert name in ("/dossiers/[code]", "/citizens/[cccd]/x", "/[code]")
        numbers = numbers_in(target)
        assert all(n.startswith("0791") for n in numbers)
        if target.startswith("/dossiers"):
            i = int(target.split("-")[2][:4])
            copy = 0 if offset == pytest.approx(i * 2.0) else 1
            mapping.setdefault((f"999{i % 37:09d}", copy), numbers[0])
            assert mapping[(f"999{i % 37:09d}", copy)] == numbers[0]
    assert len(set(mapping.values())) == 2 * 37
    assert plan.summary["distinct_ids"] == 37 + 11 + 1
    gets = 300 * 1 + 300 * 3 + 1  # numbers in the GETs' targets, per copy
    assert plan.summary["ids_replaced"] == 2 * gets
    assert "%20not%20a%20number%20" in " ".join(plan.targets)  # made sendable


def test_worker_shares_are_disjoint_whole_sessions_that_add_up_to_the_plan(
    tmp_path: Path,
) -> None:
    _sessions_log(tmp_path, sessions=300)
    load = _load(tmp_path, "a.log", scale=1.7)
    whole = _requests(_plan(load))
    shares = [_requests(_plan(load, partition=(k, 3))) for k in range(3)]
    assert sorted(r for share in shares for r in share) == sorted(whole)
    sessions = [{r[2].split("/")[2] for r in share} for share in shares]
    assert not (sessions[0] & sessions[1] or sessions[1] & sessions[2] or sessions[0] & sessions[2])
    assert all(len(s) > 50 for s in sessions)
    share = _plan(load, partition=(1, 3))
    assert share.expected(1e9) == len(whole) and share.summary == _plan(load).summary


def test_a_gzipped_log_and_several_logs_give_the_plan_of_the_plain_one(tmp_path: Path) -> None:
    rows = [
        (i * 3.0, "GET", f"/hs/{i}?cccd=9990000000{i % 10:02d}", f"c{i % 9}") for i in range(90)
    ]
    _write(tmp_path, rows)
    (tmp_path / "a.log.gz").write_bytes(gzip.compress((tmp_path / "a.log").read_bytes()))
    _write(tmp_path, rows[::2], name="web1.log")
    _write(tmp_path, rows[1::2], name="web2.log")
    plain = _requests(_plan(_load(tmp_path, "a.log", scale=2)))
    assert _requests(_plan(_load(tmp_path, "a.log.gz", "60s", scale=2))) == plain
    merged = _plan(_load(tmp_path, "[web1.log, web2.log]", scale=2))
    assert _requests(merged) == plain and len(merged.summary["reads"]) == 2


def test_sendable_keeps_paths_and_encodes_what_cannot_be_sent() -> None:
    assert sendable("/a/b?x=1&y=%20z#frag") == "/a/b?x=1&y=%20z"
    assert sendable("/hồ sơ/1") == "/h%E1%BB%93%20s%C6%A1/1"
    assert sendable("/a\r\nHost: evil") == "/a%0D%0AHost:%20evil"


def test_the_portal_logs_the_target_as_received() -> None:
    scope = {"raw_path": b"/dossiers/X%201", "path": "/dossiers/X 1", "query_string": b"cccd=1"}
    assert request_target(scope) == "/dossiers/X%201?cccd=1"
    assert request_target({"path": "/services", "query_string": b""}) == "/services"


def test_the_replay_arrivals_summary_counts_against_the_plan(tmp_path: Path) -> None:
    _write(tmp_path, [(float(t), "GET", "/x", "c") for t in range(100)])
    load = _load(tmp_path, "a.log")
    plan = _plan(load)
    stats = ArrivalStats(offered=50, started=48, dropped=2, late=3)
    out = arrival_summary(stats, load, 1000.0, 1050.0, plan)
    assert out["model"] == "replay" and out["expected"] == 50 and out["scheduled"] == 100
    assert (out["dropped"], out["late"], out["dropped_ratio"]) == (2, 3, 0.04)
    assert out["achieved_rate"] == pytest.approx(48 / 50)


class _Response:
    def __init__(self, status: int, error: Exception | None = None) -> None:
        self.status_code, self.error, self.verdict = status, error, ""

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def success(self) -> None:
        self.verdict = "success"

    def failure(self, why: object) -> None:
        self.verdict = f"failure: {why}"


@pytest.mark.parametrize(
    ("status", "ok", "verdict", "counted"),
    [
        (200, True, "success", 0),
        (404, True, "success", 1),
        (503, False, "failure: HTTP 503 from the target", 0),
        (0, False, "failure: connection error: ConnectionRefusedError: ", 0),
    ],
)
def test_the_replay_user_fails_a_request_only_without_an_answer_or_on_5xx(
    status: int, ok: bool, verdict: str, counted: int
) -> None:
    response = _Response(status, ConnectionRefusedError() if status == 0 else None)
    sent: list[tuple[str, str, str]] = []
    counters: Counter[str] = Counter()

    def request(method: str, target: str, name: str, catch_response: bool) -> _Response:
        assert catch_response
        sent.append((method, target, name))
        return response

    user = SimpleNamespace(
        client=SimpleNamespace(request=request),
        _workload=lambda: SimpleNamespace(count=lambda name: counters.update([name])),
    )
    assert ReplayUser.send(user, "GET", "/hs/1?x=2", "/hs/[id]") is ok  # type: ignore[arg-type]
    assert sent == [("GET", "/hs/1?x=2", "/hs/[id]")] and response.verdict == verdict
    assert counters["replay_4xx"] == counted


def test_the_replay_user_sends_what_its_ticket_names_and_records_its_start_delay(
    tmp_path: Path,
) -> None:
    _write(tmp_path, [(float(t), "GET", f"/x{t}", "c") for t in range(5)])
    plan = _plan(_load(tmp_path, "a.log"))
    sessions: list[dict[str, Any]] = []
    sent: list[tuple[str, str, str]] = []
    workload = SimpleNamespace(
        replay=plan, recorder=SimpleNamespace(record_session=lambda **kw: sessions.append(kw))
    )
    user = SimpleNamespace(
        tickets=SimpleNamespace(get=lambda: Ticket(3, time.time() - 0.02)),
        _workload=lambda: workload,
        client=SimpleNamespace(cookiejar=SimpleNamespace(clear=lambda: None)),
        send=lambda m, t, n: sent.append((m, t, n)) or True,
    )
    ReplayUser.replay(user)  # type: ignore[arg-type]
    assert sent == [("GET", "/x2", "/x2")]  # ticket 3 is the third request
    assert sessions[0]["ok"] is True and sessions[0]["start_delay_ms"] >= 20.0


def test_every_process_maps_ids_to_the_whole_population_s_first_citizens() -> None:
    """A worker holds only its partition; the synthetic numbers are the population's
    first citizens' all the same, so every process maps a real number alike."""
    from loadgen.population import generate_population
    from loadgen.replay import citizen_numbers

    whole = generate_population(2000, seed=3)
    part = generate_population(2000, seed=3, partition=(1, 3))
    assert citizen_numbers(part, 2000, 3, 150) == citizen_numbers(whole, 2000, 3, 150)
    assert citizen_numbers(part, 2000, 3, 150) == whole.column("cccd", 0, 150)
    assert len(citizen_numbers(part, 2000, 3, 5000)) == 2000  # at most the population
