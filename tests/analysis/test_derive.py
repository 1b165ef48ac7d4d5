"""``dvcload derive``: exact on logs whose sessions and routes are known by construction."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from weblog_truth import (
    Truth,
    combined_lines,
    jsonl_lines,
    make_truth,
    write,
)

from analysis import derive as derive_module
from analysis.derive import (
    GAP_BINS,
    GAP_FLOOR_S,
    DeriveOptions,
    Sessions,
    bin_quantile,
    derive,
    log_bins,
)
from analysis.derive_files import write_all
from dvcschema import weblog


@pytest.fixture(scope="module")
def truth() -> Truth:
    return make_truth()


def _derive(tmp_path: Path, logs: list[Path], name: str = "out", **options: object) -> Path:
    result = derive(logs, DeriveOptions(jobs=1, **options))  # type: ignore[arg-type]
    out = tmp_path / name
    write_all(result, out, sources=[str(p) for p in logs])
    return out


def _starts(out: Path) -> dict[int, int]:
    """arrivals.csv as {minute since the first row: count}, zeros left out."""
    with (out / "arrivals.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return {i: int(r["count"]) for i, r in enumerate(rows) if int(r["count"])}


def _json(out: Path) -> dict:
    return json.loads((out / "derive.json").read_text())


def test_combined_log_gives_exact_arrivals_routes_and_sessions(
    tmp_path: Path, truth: Truth
) -> None:
    out = _derive(tmp_path, [write(tmp_path / "access.log", combined_lines(truth))])
    assert _starts(out) == dict(truth.starts_per_minute)
    with (out / "arrivals.csv").open() as handle:
        first = next(csv.DictReader(handle))
    assert first["start"] == "2025-03-31T08:00:00+07:00"  # the log's own clock
    record = _json(out)
    total = sum(truth.routes.values())
    assert {k: v["count"] for k, v in record["routes"].items()} == dict(truth.routes)
    for name, row in record["routes"].items():
        assert row["share"] == pytest.approx(truth.routes[name] / total, abs=1e-15)
    assert record["requests"] == total
    assert record["sessions"] == truth.sessions
    mix = yaml.safe_load((out / "mix.yaml").read_text())
    assert mix["requests_per_session"]["histogram"] == dict(truth.sizes)
    assert mix["sessions"] == truth.sessions
    assert record["logs"][0]["parsed"] == len(truth.requests)


def test_no_id_number_of_the_log_reaches_any_output(tmp_path: Path, truth: Truth) -> None:
    out = _derive(tmp_path, [write(tmp_path / "access.log", combined_lines(truth))])
    assert truth.ids
    for path in out.iterdir():
        text = path.read_bytes().decode("latin-1")
        leaked = truth.ids & set(re.findall(r"[0-9]{12}", text))
        assert not leaked, f"{path.name} holds ID numbers of the log"
    routes = _json(out)["routes"]
    assert "GET /citizens/[cccd]/dossiers" in routes and "GET /files/[uuid]" in routes
    scenario = (out / "scenario.yaml").read_text()
    assert "{citizen.cccd}" in scenario


def test_json_lines_and_gzip_give_the_same_figures(tmp_path: Path, truth: Truth) -> None:
    plain = _derive(tmp_path, [write(tmp_path / "a.jsonl", jsonl_lines(truth))], "plain")
    zipped = _derive(tmp_path, [write(tmp_path / "a.jsonl.gz", jsonl_lines(truth), gz=True)], "gz")
    combined = _derive(tmp_path, [write(tmp_path / "c.log", combined_lines(truth))], "combined")
    assert _starts(plain) == dict(truth.starts_per_minute)
    for name in ("arrivals.csv", "requests.csv", "mix.yaml"):
        assert (plain / name).read_text() == (zipped / name).read_text(), name
    scenario = [yaml.safe_load((o / "scenario.yaml").read_text()) for o in (plain, zipped)]
    assert scenario[0]["journeys"] == scenario[1]["journeys"]
    strip = lambda r: {k: v for k, v in r.items() if k != "logs"}  # noqa: E731
    assert strip(_json(plain)) == strip(_json(zipped))
    # the same requests in the other format: same counts (times are to the second there)
    assert _json(plain)["routes"].keys() == _json(combined)["routes"].keys()
    assert _json(plain)["sessions"] == _json(combined)["sessions"]


def test_logs_of_two_servers_merge_by_time(tmp_path: Path, truth: Truth) -> None:
    lines = combined_lines(truth)
    keys = sorted({line.split(" - - ")[0] for line in lines})
    half = set(keys[::2])  # a session's requests all go to one server, as behind sticky LB
    one = write(tmp_path / "web1.log", [x for x in lines if x.split(" - - ")[0] in half])
    two = write(
        tmp_path / "web2.log.gz", [x for x in lines if x.split(" - - ")[0] not in half], gz=True
    )
    out = _derive(tmp_path, [one, two])
    assert _starts(out) == dict(truth.starts_per_minute)
    assert _json(out)["sessions"] == truth.sessions


def test_blocks_of_any_size_give_the_same_result(
    tmp_path: Path, truth: Truth, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = write(tmp_path / "access.log", combined_lines(truth))
    whole = _derive(tmp_path, [log], "whole")
    monkeypatch.setattr(derive_module, "BLOCK_BYTES", 997)  # blocks end mid-line
    small = _derive(tmp_path, [log], "small")
    for name in ("arrivals.csv", "mix.yaml", "derive.json"):
        assert (whole / name).read_text() == (small / name).read_text(), name


def test_worker_processes_give_the_same_result(
    tmp_path: Path, truth: Truth, dvcload_cmd: list[str]
) -> None:
    log = write(tmp_path / "access.log", combined_lines(truth) * 3)
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        done = subprocess.run(
            [*dvcload_cmd, "derive", str(log), "--out", str(out), "--jobs", jobs],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("arrivals.csv", "mix.yaml", "derive.json"):
        assert (outs[0] / name).read_text() == (outs[1] / name).read_text(), name


def test_routes_exclude_interval_and_gap_options(tmp_path: Path, truth: Truth) -> None:
    log = write(tmp_path / "access.log", combined_lines(truth))
    rule = weblog.RouteRule.parse(r"^/citizens/[0-9]+/dossiers$=/citizens/[who]/dossiers")
    out = _derive(tmp_path, [log], "rules", routes=(rule,), exclude=(re.compile(r"^/files/"),))
    record = _json(out)
    assert "GET /citizens/[who]/dossiers" in record["routes"]
    assert not any(name.startswith("GET /files") for name in record["routes"])
    assert record["excluded"] == truth.routes["GET /files/[uuid]"]
    assert record["requests"] == sum(truth.routes.values()) - record["excluded"]
    out = _derive(tmp_path, [log], "long", interval_s=600.0, gap_s=3 * 3600.0)
    record = _json(out)
    assert record["sessions"] == truth.sessions - 1  # the visitor's return is one session now
    tens: Counter[int] = Counter()
    for minute, n in truth.starts_per_minute.items():
        tens[minute // 10] += n
    tens[4] -= 1  # the return (minute 46) no longer starts a session
    assert _starts(out) == {k: v for k, v in tens.items() if v}


# -- sessions, bins ------------------------------------------------------------------------
def test_sessions_continue_across_batches_and_expire() -> None:
    sessions = Sessions(gap_s=10.0)
    starts = sessions.add(np.array([1, 2, 1]), np.array([0.0, 1.0, 5.0]))
    assert sorted(starts.tolist()) == [0.0, 1.0]
    starts = sessions.add(np.array([1, 2]), np.array([12.0, 30.0]))  # key 1 goes on, 2 anew
    assert starts.tolist() == [30.0]
    sessions.expire(now=40.0)  # key 1 idle since 12 s: closed with 3 requests
    sessions.close()
    assert sessions.started == 3
    assert {i: int(n) for i, n in enumerate(sessions.sizes) if n} == {1: 2, 3: 1}
    requests = sum(i * int(n) for i, n in enumerate(sessions.sizes))
    assert requests == 5


def test_binned_percentiles_are_within_half_a_percent() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(np.log(2.0), 1.0, 50_000)
    counts = np.bincount(log_bins(values, GAP_FLOOR_S, GAP_BINS), minlength=GAP_BINS)
    for q in (0.5, 0.95, 0.99):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        assert bin_quantile(counts, q, GAP_FLOOR_S) == pytest.approx(exact, rel=0.0051)


# -- the command line: bad input is one line and exit 2 ------------------------------------
def _cli(dvcload_cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*dvcload_cmd, "derive", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_bad_logs_are_one_line_and_exit_2(
    tmp_path: Path, truth: Truth, dvcload_cmd: list[str]
) -> None:
    import gzip
    import os

    data = gzip.compress("".join(combined_lines(truth) * 20).encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(200_000))
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    mostly_json = tmp_path / "mixed.log"
    mostly_json.write_text("".join(combined_lines(truth)[:10] + jsonl_lines(truth)[:30]))
    cases = {
        cut: "cut short",
        garbage: "parsed",
        empty: "no line",
        tmp_path / "missing.log": "no such file",
        tmp_path: "folder",
    }
    for path, words in cases.items():
        done = _cli(dvcload_cmd, str(path), "--out", str(tmp_path / "o"), "--format", "combined")
        assert done.returncode == 2, (path, done.stderr)
        assert words in _one_line(done), done.stderr
    done = _cli(dvcload_cmd, str(mostly_json), "--out", str(tmp_path / "o"), "--format", "combined")
    assert done.returncode == 2 and "mixed formats" in _one_line(done)
    assert not (tmp_path / "o" / "derive.json").exists()


def test_a_few_bad_lines_are_a_warning_with_counts(
    tmp_path: Path, truth: Truth, dvcload_cmd: list[str]
) -> None:
    lines = combined_lines(truth)
    lines[3:3] = ["\x00\xff garbage 001203004567\n", '{"json": "line"}\n']
    log = tmp_path / "access.log"
    log.write_text("".join(lines), encoding="latin-1")
    out = tmp_path / "o"
    done = _cli(dvcload_cmd, str(log), "--out", str(out))
    assert done.returncode == 0, done.stderr
    warning = _one_line(done)
    assert f"2 of {len(lines)} lines did not parse" in warning
    assert "001203004567" not in warning  # examples are masked
    record = json.loads((out / "derive.json").read_text())
    assert record["logs"][0]["unparsed"] == 2
    assert len(record["logs"][0]["unparsed_examples"]) == 2
    assert "001203004567" not in (out / "derive.json").read_text()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--route", "no-equals"], "REGEX=TEMPLATE"),
        (["--route", "([=/x"], "not a regular expression"),
        (["--exclude", "(["], "not a regular expression"),
        (["--session", "cookie:"], "ip+ua"),
        (["--session", "cookie:sid"], "no cookies"),
        (["--gap", "soon"], "--gap"),
        (["--interval", "0s"], "--interval"),
        (["--field", "nonsense"], "NAME=KEY"),
        (["--field", "colour=c"], "unknown field"),
        (["--utc-offset", "+25:00"], "UTC offset"),
        (["--exclude", "."], "left out by --exclude"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, truth: Truth, dvcload_cmd: list[str], args: list[str], words: str
) -> None:
    log = write(tmp_path / "access.log", combined_lines(truth))
    done = _cli(dvcload_cmd, str(log), "--out", str(tmp_path / "o"), *args)
    assert done.returncode == 2, done.stderr
    assert words in _one_line(done)


def test_the_derived_scenario_loads_and_budgets_its_routes(tmp_path: Path, truth: Truth) -> None:
    from dvcschema.scenario import load_scenario

    out = _derive(tmp_path, [write(tmp_path / "access.log", combined_lines(truth))])
    scenario = load_scenario(out / "scenario.yaml")
    record = _json(out)
    assert scenario.load is not None and scenario.load.model == "open"
    # the rate is the recorded request rate: requests.csv, per minute, read back
    assert scenario.load.profile.expected_arrivals() == pytest.approx(record["requests"])
    budgeted = {b.key for b in scenario.budgets if b.key != "total"}
    safe = {n for n in record["routes"] if n.split()[0] in ("GET", "HEAD")}
    assert budgeted == safe  # one p95 budget per safe route, from its recorded p95
    weights = scenario.mix.journeys
    assert sum(weights.values()) == pytest.approx(
        100 * sum(record["routes"][n]["share"] for n in safe)
    )


def test_under_gevent_derive_reads_in_process_rather_than_hang(
    tmp_path: Path, truth: Truth
) -> None:
    """Locust (imported by conftest) patches threading; a process pool would never end."""
    assert derive_module._threads_are_greenlets()
    log = write(tmp_path / "access.log", combined_lines(truth))
    two = derive([log], DeriveOptions(jobs=2))
    assert two.requests == sum(truth.routes.values())
    assert two.sessions is not None and two.sessions.started == truth.sessions


def test_routes_past_the_cap_are_counted_together(
    tmp_path: Path, truth: Truth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(derive_module, "MAX_ROUTES", 2)
    out = _derive(tmp_path, [write(tmp_path / "access.log", combined_lines(truth))])
    routes = _json(out)["routes"]
    assert len(routes) == 3 and derive_module.OTHER_ROUTES in routes
    assert sum(r["count"] for r in routes.values()) == sum(truth.routes.values())
    scenario = yaml.safe_load((out / "scenario.yaml").read_text())
    steps = [step["name"] for j in scenario["journeys"].values() for step in j["steps"]]
    assert derive_module.OTHER_ROUTES not in steps  # a bucket of paths is no request to send
