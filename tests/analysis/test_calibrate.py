"""``dvcload calibrate``: demands from results folders, the calibrated file, plan's hook."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from inprocess import run_main
from numpy.testing import assert_allclose

from analysis.accesslog import read_access_log
from analysis.calibrate import calibrate_runs
from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from dvcschema.units import parse_duration_s
from models import demand_from_response_time
from planning import calibrated

MakeRun = Callable[..., Path]
WEB_MEAN_S = 0.050
DB_MEAN_S = 0.004
SESSIONS = 800


def _row(t: float, method: str, endpoint: str, tiers: dict[str, float], **extra: Any) -> str:
    timings = {
        name: {"wait_ms": 0.0, "service_ms": round(s * 1000, 3)} for name, s in tiers.items()
    }
    total_ms = sum(v["service_ms"] for v in timings.values())
    row = {
        "t_arrival": t, "method": method, "endpoint": endpoint, "status": 200,
        "queue_wait_ms": 0.0, "service_ms": total_ms, "response_ms": total_ms + 0.5,
        "tiers": timings, "bytes_in": 0, **extra,
    }  # fmt: skip
    return json.dumps(row)


def write_access_log(folder: Path, *, seed: int = 1, sessions: int = SESSIONS) -> dict[str, Any]:
    """Sessions of login (web + db), GET /services and a form (web only), plus requests
    that must be left out: /health, a 503 refused at web, a fault, an abandoned one."""
    rng = np.random.default_rng(seed)
    web = rng.exponential(WEB_MEAN_S, 3 * sessions)
    db = rng.lognormal(np.log(DB_MEAN_S) - 0.125, 0.5, sessions)
    lines, t = [], 1_795_000_000.0
    for i in range(sessions):
        t += 0.05
        lines.append(_row(t, "POST", "/auth/login", {"web": web[3 * i], "db": db[i]}))
        lines.append(_row(t + 0.01, "GET", "/services", {"web": web[3 * i + 1]}))
        lines.append(_row(t + 0.02, "GET", "/services/{code}/form", {"web": web[3 * i + 2]}))
    lines.append(_row(t, "GET", "/health", {}))
    lines.append(_row(t, "GET", "/services", {"web": 9.0}, status=503, rejected_at="web"))
    lines.append(_row(t, "GET", "/services", {"web": 9.0}, fault="spike"))
    lines.append(_row(t, "GET", "/services", {"web": 9.0}, status=499))
    (folder / "portal_access.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"web": web, "db": db}


@pytest.fixture
def logged_run(make_run: MakeRun) -> tuple[Path, dict[str, Any]]:
    folder = make_run("logged")
    return folder, write_access_log(folder)


def test_access_log_is_the_source_with_the_sample_mean_and_exact_counts(
    logged_run: tuple[Path, dict[str, Any]],
) -> None:
    folder, truth = logged_run
    model = calibrate_runs([folder], servers={"web": 4, "db": 1})
    web, db = model.tier("web"), model.tier("db")
    assert (web.source, db.source) == ("access_log", "access_log")
    assert web.demand.n == 3 * SESSIONS  # /health, refused, faulted and abandoned left out
    assert_allclose(web.demand.mean_s, truth["web"].mean(), atol=1e-6)  # rounded to 1 µs in the log
    assert web.demand.family == "exponential"
    assert db.demand.family == "lognormal"
    assert web.visits == pytest.approx(3.0)  # sessions counted by their logins
    assert db.visits == pytest.approx(1.0)
    assert set(web.endpoints) == {"POST /auth/login", "GET /services", "GET /services/{code}/form"}
    assert web.endpoint_visits["GET /services"] == pytest.approx(1.0)
    assert web.utilization == pytest.approx(truth["web"].sum() / (4 * 30.0), rel=1e-4)
    assert "ground truth" in web.why


def test_runs_are_pooled(make_run: MakeRun) -> None:
    a, b = make_run("a"), make_run("b")
    write_access_log(a, seed=1)
    write_access_log(b, seed=2, sessions=200)
    model = calibrate_runs([a, b])
    assert model.tier("web").demand.n == 3 * (SESSIONS + 200)
    assert model.sessions == SESSIONS + 200
    assert model.tier("web").servers is None and model.tier("web").utilization is None


def test_the_file_is_read_back_by_plans_hook_in_capacity_vocabulary(
    logged_run: tuple[Path, dict[str, Any]], tmp_path: Path, repo: Path
) -> None:
    folder, _ = logged_run
    model = calibrate_runs([folder], servers={"web": 4, "db": 1})
    path = tmp_path / "calibrated.yaml"
    model.write(path)
    tiers = {t.name: t for t in calibrated.read_model(path)}
    web = model.tier("web").demand
    assert tiers["web"].service_time_s == pytest.approx(web.mean_s, abs=1e-6)
    assert (tiers["web"].cv, tiers["web"].visits) == (1.0, pytest.approx(3.0))
    spec = load_scenario(repo / "scenarios" / "national-plan.yaml").capacity
    assert spec is not None
    merged = calibrated.apply(spec, path)
    by_name = {t.name: t for t in merged.tiers}
    original = {t.name: t for t in spec.tiers}
    assert by_name["web"].service_time_s == pytest.approx(web.mean_s, abs=1e-6)
    assert by_name["web"].max_servers == original["web"].max_servers  # the scenario's, kept
    assert by_name["payment"] == original["payment"]  # not in the model: unchanged
    assert calibrated.apply(spec, None) is spec


def test_a_malformed_calibrated_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\ntiers:\n  web: {service_time: 5, cv: 1, visits: 3}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:3: tiers.web.service_time"):
        calibrated.read_model(path)
    path.write_text("version: 1\ntiers:\n  web: {service_time: 5ms, cv: 1, visits: 3, x: 1}\n")
    with pytest.raises(ConfigError, match="unknown key 'x'"):
        calibrated.read_model(path)


def test_without_an_access_log_low_load_response_times_give_an_upper_bound(
    make_run: MakeRun,
) -> None:
    folder = make_run("outside")
    summary = json.loads((folder / "summary.json").read_text())
    model = calibrate_runs([folder], servers={"web": 64})
    web = model.tier("web")
    assert web.source == "response_time"
    expected = demand_from_response_time(summary["total"]["mean_ms"] / 1000, summary["rps"], 64)
    assert web.demand.mean_s == pytest.approx(expected)
    assert web.demand.mean_s <= summary["total"]["mean_ms"] / 1000
    assert math.isnan(web.demand.std_error_s)
    assert "upper bound" in web.why


def test_regression_is_used_when_the_lowest_run_is_not_at_low_load(
    make_run: MakeRun, endpoint_models: dict[str, Any]
) -> None:
    """Three load levels, monitored utilisation U = 0.02 + 0.001 X (one server): the
    regression finds the 1 ms demand; slow responses put even the lowest level far
    from low load, so the response-time law is not trusted there."""
    folders = []
    for i, scale in enumerate((1.0, 2.0, 3.0)):
        endpoints = {k: dataclasses.replace(v, rate_per_s=v.rate_per_s * scale)
                     for k, v in endpoint_models.items()}  # fmt: skip
        folder = make_run(f"level{i}", seed=i, slowdown=20.0, endpoints=endpoints)
        rps = json.loads((folder / "summary.json").read_text())["rps"]
        (folder / "utilization.json").write_text(json.dumps({"web": 0.02 + 0.001 * rps}))
        folders.append(folder)
    auto = calibrate_runs(folders)
    web = auto.tier("web")
    assert web.source == "regression"
    assert web.demand.mean_s == pytest.approx(0.001, rel=1e-6)
    assert "R² = 1.000" in web.why
    forced = calibrate_runs(folders, source="response_time")
    assert "not at low load" in forced.tier("web").why


def test_a_bad_utilization_file_is_a_clear_error(make_run: MakeRun) -> None:
    folders = [make_run("u1"), make_run("u2", seed=2)]
    for folder in folders:
        (folder / "utilization.json").write_text(json.dumps({"web": 1.7}))
    with pytest.raises(ConfigError, match=r"utilisation 1.7; allowed: a number in \[0, 1\]"):
        calibrate_runs(folders, source="regression")


@pytest.mark.parametrize(
    ("source", "message"),
    [("magic", "unknown source"), ("access_log", "no portal_access.jsonl"),
     ("regression", "at least 2 runs")],
)  # fmt: skip
def test_impossible_sources_are_refused(make_run: MakeRun, source: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        calibrate_runs([make_run("plain")], source=source)


def test_a_broken_access_log_is_a_clear_error(make_run: MakeRun) -> None:
    folder = make_run("broken")
    (folder / "portal_access.jsonl").write_text('{"t_arrival": 1, "method": "GET"\n')
    with pytest.raises(ConfigError, match="unreadable access log"):
        read_access_log(folder / "portal_access.jsonl")


def _dvcload(
    capsys: pytest.CaptureFixture[str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``dvcload ARGS`` in-process (no gevent needed, no 1-2 s start-up), in ``cwd``."""
    return run_main(args, cwd=cwd)


def test_the_command_writes_the_model_and_refuses_bad_input(
    logged_run: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    repo: Path,
) -> None:
    folder, _ = logged_run
    out = tmp_path / "model.yaml"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _dvcload(capsys, repo, "calibrate", *args)

    ok = run(str(folder), "--out", str(out), "--servers", "web=4")
    assert ok.returncode == 0, ok.stderr
    assert "access_log" in ok.stdout and out.is_file()
    assert calibrated.read_model(out)[0].name == "web"
    bad = run(str(folder), "--servers", "web=many")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "--servers" in bad.stderr
    missing = run(str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such results folder" in missing.stderr


def test_a_measured_demand_replaces_a_range_the_scenario_guessed(
    logged_run: tuple[Path, dict[str, Any]], tmp_path: Path, repo: Path
) -> None:
    folder, _ = logged_run
    path = tmp_path / "calibrated.yaml"
    calibrate_runs([folder]).write(path)
    spec = load_scenario(repo / "scenarios" / "national-deadline.yaml").capacity
    assert spec is not None
    web = {t.name: t for t in calibrated.apply(spec, path).tiers}["web"]
    assert web.service_time_s == pytest.approx(calibrated.read_model(path)[0].service_time_s)
    assert getattr(web, "service_time_input", None) is None  # the range gives way


def test_plan_reads_the_calibrated_model_and_says_so(
    logged_run: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    repo: Path,
) -> None:
    folder, drawn = logged_run
    model = tmp_path / "model.yaml"
    calibrate_runs([folder]).write(model)

    def plan(*args: str) -> subprocess.CompletedProcess[str]:
        return _dvcload(capsys, repo, "plan", str(repo / "scenarios" / "national-plan.yaml"), *args)

    plain, calibrated_plan = plan("--json"), plan("--json", "--model", str(model))
    assert plain.returncode in (0, 1) and calibrated_plan.returncode in (0, 1)

    def web_demand(out: str) -> float:
        return parse_duration_s(json.loads(out)["inputs"]["tiers"]["web"]["service_time"])

    # the web tier's demand is the sample mean of the logged web service times
    assert web_demand(calibrated_plan.stdout) == pytest.approx(drawn["web"].mean(), rel=1e-2)
    assert web_demand(plain.stdout) != pytest.approx(drawn["web"].mean(), rel=1e-1)
    text = plan("--model", str(model))
    assert text.stdout.splitlines()[0].startswith("demands of web (access_log), db (access_log)")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ntiers: {web: {service_time: 5, cv: 1, visits: 3}}\n")
    bad = plan("--model", str(broken))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "tiers.web.service_time" in bad.stderr and "Traceback" not in bad.stderr
