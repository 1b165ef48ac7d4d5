"""``dvcload plan`` at the command line.

:func:`dvcload.cli.main` runs in-process (plan needs no gevent, and a ``python -m
dvcload`` start-up costs 1-2 s of NumPy, SciPy and Matplotlib imports); the exit code 1
of a plan above ``max_servers`` also goes through the real command line.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest
from inprocess import run_main

from models import Exponential, MMc, min_servers
from models.sizing import TierBudget

# Clean numbers, so that the printed inputs are exact: the busiest hours hold 40/s.
BY_HAND = """\
name: by-hand
capacity:
  method: psa
  arrivals:
    hourly: [2, 2, 2, 2, 2, 2, 5, 10, 20, 40, 40, 30, 20, 20, 30, 40, 30, 20, 10, 5, 5, 2, 2, 2]
  budgets: ["p95 < 250ms", "P(wait) < 0.2", "utilization < 0.8"]
  tiers:
    web: {service_time: 20ms, visits: 6}
    app: {service_time: 50ms, visits: 4, max_servers: 100}
"""


def _plan(
    capsys: pytest.CaptureFixture[str], cwd: Path, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``dvcload plan ARGS`` in-process, in ``cwd``: exit code, stdout and stderr."""
    return run_main(["plan", *args], cwd=cwd)


def _plan_process(
    dvcload_cmd: list[str], cwd: Path, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``dvcload plan ARGS`` through the real command line."""
    return subprocess.run(
        [*dvcload_cmd, "plan", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_plan_prints_a_table_per_tier_with_the_peak_marked(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = _plan(capsys, repo, "scenarios/national-plan.yaml")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for tier in ("web", "db", "payment"):
        assert re.search(rf"^{tier}: .* per request", out, re.M), out
    assert out.count("<- peak") == 3  # one row in each tier's table
    assert "Budgets are per tier" in out and "budgets   per tier" in out
    assert re.search(
        r"^Peak 09:00-10:00 .* servers per tier: web \d+, db \d+, payment \d+ ", out, re.M
    )
    assert "never added up" in out
    assert "MOL" in out and "sessions/s" in out


def test_json_has_servers_per_tier_per_interval(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = _plan(capsys, repo, "scenarios/national-plan.yaml", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # nothing but JSON on stdout
    intervals = data["plan"]["intervals"]
    assert len(intervals) == 24
    for interval in intervals:
        assert set(interval["tiers"]) == {"web", "db", "payment"}
        assert all(isinstance(t["servers"], int) for t in interval["tiers"].values())
    assert data["inputs"]["arrivals"] == {"diurnal": {"peak": 53, "trough": 1.06}}
    assert data["budgets_per_tier"]["db"][0] == "p95 < 50ms"
    peak = data["peak"]
    assert "total_servers" not in peak  # no sum of unlike servers across tiers
    assert peak["start_s"] == 9 * 3600


def test_surge_multiplies_the_arrivals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, BY_HAND)
    plain = json.loads(_plan(capsys, tmp_path, path, "--json").stdout)
    doubled = json.loads(_plan(capsys, tmp_path, path, "--json", "--surge", "2x").stdout)
    assert doubled["surge"] == 2.0
    assert (
        doubled["peak"]["peak_arrival_rate_per_s"] == 2 * plain["peak"]["peak_arrival_rate_per_s"]
    )
    assert all(doubled["peak"]["servers"][t] >= n for t, n in plain["peak"]["servers"].items())
    assert doubled["peak"]["servers"]["web"] > plain["peak"]["servers"]["web"]


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.png"
    proc = _plan(capsys, tmp_path, _scenario(tmp_path, BY_HAND), "--plot", out)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {out}" in proc.stdout


def test_more_than_max_servers_exits_1_and_says_where(
    tmp_path: Path, dvcload_cmd: list[str]
) -> None:
    path = _scenario(tmp_path, BY_HAND.replace("max_servers: 100", "max_servers: 11"))
    proc = _plan_process(dvcload_cmd, tmp_path, path)
    assert proc.returncode == 1, proc.stderr
    assert "! above max_servers" in proc.stdout
    assert "needs more than max_servers: app at 09:00, 10:00, 15:00" in proc.stdout


BAD = [  # (what is wrong, the scenario, extra arguments, a fragment of the one line)
    ("no capacity section", "name: x\nduration: 5s\nload: {users: 1}\n", (), "no 'capacity'"),
    ("bad budget", BY_HAND.replace("p95 < 250ms", "p95 < 250"), (), "with a unit"),
    ("impossible budget", BY_HAND.replace("p95 < 250ms", "p95 < 50ms"), (), "cannot be met"),
    ("bad surge", BY_HAND, ("--surge", "lots"), "--surge"),
    ("zero surge", BY_HAND, ("--surge", "0x"), "--surge"),
    ("plot not png", BY_HAND, ("--plot", "plan.svg"), "not a .png"),
    ("plot folder missing", BY_HAND, ("--plot", "nowhere/plan.png"), "does not exist"),
    ("bad method", BY_HAND, ("--method", "erlang"), "invalid choice"),
]


@pytest.mark.parametrize(
    ("text", "args", "fragment"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    args: tuple[str, ...],
    fragment: str,
) -> None:
    proc = _plan(capsys, tmp_path, _scenario(tmp_path, text), *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert fragment in lines[0], lines[0]
    assert not proc.stdout


def test_impossible_budget_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, BY_HAND.replace("p95 < 250ms", "p95 < 50ms"))
    proc = _plan(capsys, tmp_path, path)
    assert f"{path}:6: capacity.budgets[0]: 'p95 < 50ms' cannot be met at tier" in proc.stderr


def _printed_inputs(out: str, tier: str) -> tuple[float, float, float, int]:
    """Service time (s), visits, peak sessions/s and servers of the peak row, as printed."""
    demand = re.search(rf"^ {{12}}{tier} +(\d+)ms +(\S+) +(\S+) ", out, re.M)
    assert demand is not None, out
    block = next(b for b in out.split("\n\n") if b.startswith(f"{tier}:"))
    row = next(line for line in block.splitlines() if line.endswith("<- peak"))
    cells = row.split()
    peak_per_s, servers = float(cells[2]), int(cells[4].replace(",", ""))
    assert float(demand[2]) == 1.0  # cv 1: an M/M/c station, exact
    return float(demand[1]) / 1000, float(demand[3]), peak_per_s, servers


def test_peak_servers_rebuilt_by_hand_from_the_printed_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = _plan(capsys, tmp_path, _scenario(tmp_path, BY_HAND))
    assert proc.returncode == 0, proc.stderr
    service_s, visits, peak_per_s, printed = _printed_inputs(proc.stdout, "app")
    assert (service_s, visits, peak_per_s) == (0.05, 4.0, 40.0)
    # PSA staffs each moment as a stationary M/M/c at that moment's rate; the peak row's
    # busiest moment has 40 sessions/s x 4 visits = 160 requests/s of 50 ms each.
    rate = peak_per_s * visits
    c = math.floor(rate * service_s) + 1
    while not _meets_all(MMc(arrival_rate=rate, service_rate=1 / service_s, servers=c)):
        c += 1
    assert printed == c
    # ... and the sizing function agrees, budget by budget.
    budgets = [
        TierBudget("response_quantile", 0.25, quantile=0.95),
        TierBudget("prob_wait", 0.2),
        TierBudget("max_utilization", 0.8),
    ]
    by_sizing = max(int(min_servers(rate, Exponential(mean=service_s), b)) for b in budgets)
    assert by_sizing == c


def _meets_all(q: MMc) -> bool:
    return bool(q.response_quantile(0.95) <= 0.25 and q.prob_wait <= 0.2 and q.utilization <= 0.8)


def test_model_replaces_the_demands_and_the_text_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "calibrated.yaml"
    model.write_text(
        "version: 1\ntiers:\n  web: {service_time: 10ms, cv: 1, visits: 6, source: access_log}\n",
        encoding="utf-8",
    )
    path = _scenario(tmp_path, BY_HAND)
    text = _plan(capsys, tmp_path, path, "--model", model)
    assert text.returncode == 0, text.stderr
    said = f"demands of web (access_log) from the calibrated model {model}"
    assert text.stdout.splitlines()[0] == f"{said} (dvcload calibrate)"
    data = json.loads(_plan(capsys, tmp_path, path, "--json", "--model", model).stdout)
    assert data["inputs"]["tiers"]["web"]["service_time"] == "10ms"
    assert data["inputs"]["tiers"]["app"]["service_time"] == "50ms"  # not in the model: kept
