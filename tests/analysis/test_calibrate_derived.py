"""``dvcload calibrate DIR/derive.json``: demands from a web server's logged response times.

The derive.json is written here in the format ``dvcload derive`` writes. Its source is
``log_response_time``, and both the printed report and the model file say that these
are response times (queueing included), not service demands; ``dvcload plan --model``
reads the file.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from inprocess import run_main

from analysis.calibrate_derived import SOURCE, TierRule, calibrate_derived, read_derived
from dvcschema.errors import ConfigError
from models import demand_from_response_time
from planning import read_model

DERIVE: dict[str, Any] = {
    "kind": "dvcload derive",
    "version": 1,
    "logs": [{"path": "access.log", "format": "combined", "lines": 30_010, "parsed": 30_010,
              "unparsed": 0}],
    "window": {"start": "2025-03-31T08:00:00+07:00", "end": "2025-03-31T09:00:00+07:00",
               "duration_s": 3600.0, "utc_offset_s": 25200.0},
    "interval_s": 60.0,
    "gap_s": 1800.0,
    "session_key": "ip+ua",
    "requests": 30_000,
    "sessions": 5_000,
    "excluded": 10,
    "response_times": "response times as the web server measured them, queueing included,"
    " not service demands",
    "routes": {
        "GET /dossiers/[code]": {"count": 15_000, "share": 0.5, "status": {"200": 15_000},
                                 "timed": 15_000, "mean_ms": 30.0, "p50_ms": 25.0,
                                 "p95_ms": 80.0, "p99_ms": 120.0},
        "POST /auth/login": {"count": 5_000, "share": 0.1667, "status": {"200": 5_000},
                             "timed": 5_000, "mean_ms": 60.0, "p50_ms": 60.0, "p95_ms": 60.0,
                             "p99_ms": 60.0},
        "POST /paygov/confirm": {"count": 9_000, "share": 0.3, "status": {"200": 9_000},
                                 "timed": 9_000, "mean_ms": 120.0, "p50_ms": 100.0,
                                 "p95_ms": 250.0, "p99_ms": 400.0},
        "GET /services": {"count": 1_000, "share": 0.0333, "status": {"200": 1_000},
                          "timed": 0},
    },
    "status": {"200": 30_000},
}  # fmt: skip
SCENARIO = """\
name: from-the-log
capacity:
  arrivals:
    hourly: [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
  budgets: ["p95 < 2s", "utilization < 0.8"]
  tiers:
    web: {service_time: 5ms, max_servers: 64}
"""


def _derive_json(folder: Path, **changes: Any) -> Path:
    data = copy.deepcopy(DERIVE)
    data.update(changes)
    path = folder / "derive.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _lognormal_cv(p50_ms: float, p95_ms: float) -> float:
    sigma = math.log(p95_ms / p50_ms) / 1.6448536269514722
    return math.sqrt(math.exp(sigma**2) - 1)


def test_one_tier_takes_the_timed_weighted_mean_and_every_request_as_visits(
    tmp_path: Path,
) -> None:
    model = calibrate_derived(_derive_json(tmp_path))
    (web,) = model.tiers
    assert (web.name, web.source, model.sessions) == ("web", SOURCE, 5_000)
    mean_s = (15_000 * 0.030 + 5_000 * 0.060 + 9_000 * 0.120) / 29_000
    assert web.demand.mean_s == pytest.approx(mean_s, rel=1e-12)
    assert web.demand.n == 29_000  # the timed requests
    assert web.visits == 30_000 / 5_000  # every request, timed or not
    assert web.endpoint_visits["GET /services"] == 0.2
    assert web.endpoints["GET /dossiers/[code]"].cv == pytest.approx(_lognormal_cv(25, 80))
    assert web.endpoints["POST /auth/login"].cv == 0.0  # p50 == p95: no spread
    assert web.utilization is None and web.servers is None  # nothing said of servers


def test_the_mix_cv_is_that_of_the_routes_together(tmp_path: Path) -> None:
    (web,) = calibrate_derived(_derive_json(tmp_path)).tiers
    routes = [(15_000, 0.030, _lognormal_cv(25, 80)), (5_000, 0.060, 0.0),
              (9_000, 0.120, _lognormal_cv(100, 250))]  # fmt: skip
    n = sum(k for k, _, _ in routes)
    mean = sum(k * m for k, m, _ in routes) / n
    second = sum(k * m * m * (1 + cv * cv) for k, m, cv in routes) / n
    assert web.demand.cv == pytest.approx(math.sqrt(second - mean**2) / mean, rel=1e-12)


def test_tiers_by_route_pattern_first_match_wins(tmp_path: Path) -> None:
    rules = [TierRule("payment", re.compile(r"/paygov|/payments")),
             TierRule("auth", re.compile(r"^POST /auth"))]  # fmt: skip
    model = calibrate_derived(_derive_json(tmp_path), rules=rules, rest="app")
    by_name = {t.name: t for t in model.tiers}
    assert set(by_name) == {"app", "auth", "payment"}
    assert by_name["payment"].demand.mean_s == pytest.approx(0.120)
    assert by_name["payment"].visits == 9_000 / 5_000
    assert by_name["app"].visits == 16_000 / 5_000  # dossiers + the untimed catalogue


def test_servers_correct_for_queueing_at_the_logs_mean_throughput(tmp_path: Path) -> None:
    (web,) = calibrate_derived(_derive_json(tmp_path), servers={"web": 4}).tiers
    (plain,) = calibrate_derived(_derive_json(tmp_path)).tiers
    x = 30_000 / 3600.0
    assert web.demand.mean_s == pytest.approx(
        demand_from_response_time(plain.demand.mean_s, x, 4), rel=1e-9
    )
    assert web.demand.mean_s < plain.demand.mean_s
    assert web.utilization == pytest.approx(x * web.demand.mean_s / 4)
    assert "with 4 server(s)" in web.why and "uncorrected" in plain.why


def test_the_model_file_says_these_are_response_times(tmp_path: Path) -> None:
    derive = _derive_json(tmp_path)
    proc = run_main(["calibrate", derive, "--out", tmp_path / "cal.yaml"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Calibrated from {derive} (dvcload derive), 5,000 sessions")
    assert (
        "Caution: log_response_time: response times measured at the web server (queueing"
        " included), not service demands: they over-estimate the demand under load"
    ) in proc.stdout
    text = (tmp_path / "cal.yaml").read_text(encoding="utf-8")
    assert "log_response_time: a web server's logged response times" in text  # the header
    web = yaml.safe_load(text)["tiers"]["web"]
    assert web["source"] == "log_response_time"
    assert web["why"].startswith(
        "response times measured at the web server (queueing included), not service demands"
    )
    assert "1 route(s) without times counted at the mean" in web["why"]


def test_plan_reads_the_calibrated_model(tmp_path: Path) -> None:
    _derive_json(tmp_path)  # the folder form: DIR holds derive.json
    proc = run_main(["calibrate", tmp_path, "--out", tmp_path / "cal.yaml"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (web,) = read_model(tmp_path / "cal.yaml")
    assert web.visits == 6.0 and web.service_time_s == pytest.approx(1.830 / 29, abs=1e-6)
    scenario = tmp_path / "plan.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    plan = run_main(["plan", scenario, "--model", "cal.yaml"], cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    out = " ".join(plan.stdout.split())
    assert "demands of web (log_response_time) from the calibrated model cal.yaml" in out
    assert "not service demands: they over-estimate demand, so servers too" in out
    assert "web 63.103ms" in out  # the plan's demand is the file's (rounded to a µs)


def _bad(folder: Path) -> dict[str, tuple[list[str], str]]:
    """(arguments after the input, a fragment of the one line) by what is wrong."""
    no_times = {k: {"count": v["count"], "timed": 0} for k, v in DERIVE["routes"].items()}
    (folder / "summary.json").write_text('{"scenario": "x"}', encoding="utf-8")
    (folder / "broken.json").write_text('{"kind": "dvcload derive", "vers', encoding="utf-8")
    bad_mean = copy.deepcopy(DERIVE["routes"])
    bad_mean["POST /auth/login"]["mean_ms"] = "fast"
    return {
        "not a derive.json": (["summary.json"], "not a derive.json: 'kind' is None"),
        "not JSON": (["broken.json"], "not a derive.json (JSON)"),
        "no request times": (["derive.json", "!routes", json.dumps(no_times)],
                             "has no request times"),
        "a bad mean": (["derive.json", "!routes", json.dumps(bad_mean)],
                       "routes.POST /auth/login.mean_ms: 'fast' is not a number"),
        "a rule that takes nothing": (["derive.json", "--tier", "db=/sql"],
                                      "--tier: db=/sql takes no route"),
        "a bad rule": (["derive.json", "--tier", "db=(["], "is not a regular expression"),
        "two rests": (["derive.json", "--tier", "a", "--tier", "b"], "one bare TIER"),
        "a run's source": (["derive.json", "--source", "access_log"], "needs results folders"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    ["not a derive.json", "not JSON", "no request times", "a bad mean",
     "a rule that takes nothing", "a bad rule", "two rests", "a run's source"],
)  # fmt: skip
def test_a_bad_derive_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    args, fragment = _bad(tmp_path)[case]
    if "!routes" in args:
        at = args.index("!routes")
        _derive_json(tmp_path, routes=json.loads(args[at + 1]))
        args = args[:at] + args[at + 2 :]
    else:
        _derive_json(tmp_path)
    proc = run_main(["calibrate", *args, "--out", tmp_path / "cal.yaml"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert not (tmp_path / "cal.yaml").exists()


def test_a_derive_json_with_results_folders_is_refused(
    tmp_path: Path, make_run: Any, dvcload_cmd: list[str]
) -> None:
    run = make_run("a-run")
    derive = _derive_json(tmp_path)
    proc = subprocess.run(
        [*dvcload_cmd, "calibrate", str(run), str(derive), "--out", str(tmp_path / "m.yaml")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1
    assert "give one derive.json alone, or results folders" in proc.stderr


def test_read_derived_refuses_zero_sessions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="0 sessions"):
        read_derived(_derive_json(tmp_path, sessions=0))
