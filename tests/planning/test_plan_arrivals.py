"""``dvcload plan SCENARIO --arrivals DIR/arrivals.csv``: a derived arrival profile.

The CSV is written here in ``dvcload derive``'s format (``start,count``, the log's UTC
offset in each start); it replaces the scenario's arrivals, the plan says where they
came from, and a file that cannot be a plan's arrivals is one line and exit 2.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from inprocess import run_main

from dvcschema.scenario import load_scenario
from planning import plan_scenario

SCENARIO = """\
name: derived
capacity:
  method: psa
  interval: 30m
  arrivals:
    hourly: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
  budgets: ["p95 < 250ms", "utilization < 0.8"]
  tiers:
    web: {service_time: 20ms, visits: 5}
"""
DERIVATION = """\
  derivation:
    peak: peak
    figures:
      peak: {value: 3, source: "guess"}
"""


def _arrivals(folder: Path, counts: list[int], start: str = "2025-03-31T08:00:00+07:00") -> Path:
    """``arrivals.csv`` as derive writes it: a row per minute, zeros included."""
    first = datetime.fromisoformat(start)
    rows = "".join(
        f"{(first + timedelta(minutes=i)).isoformat()},{n}\n" for i, n in enumerate(counts)
    )
    path = folder / "arrivals.csv"
    path.write_text("start,count\n" + rows, encoding="utf-8")
    return path


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_the_derived_arrivals_replace_the_scenarios(tmp_path: Path, scenario: Path) -> None:
    csv = _arrivals(tmp_path, [600] * 30 + [1200] * 30)  # 10/s then 20/s, 08:00-09:00
    run = plan_scenario(load_scenario(scenario), arrivals=csv)
    assert run.plan.interval_starts_s.tolist() == [8 * 3600.0, 8.5 * 3600.0]
    assert run.plan.peak_arrival_rate_per_s.tolist() == pytest.approx([10.0, 20.0])
    assert run.spec.arrivals.kind == "csv"
    assert str(csv) in run.spec.arrivals.source


def test_the_plan_says_where_its_arrivals_came_from(tmp_path: Path, scenario: Path) -> None:
    _arrivals(tmp_path, [60] * 90)
    proc = run_main(["plan", scenario, "--arrivals", "arrivals.csv"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())  # the assumptions are wrapped at 100 columns
    assert "arrivals csv, in sessions/s by clock time: peak 1.0/s, 5,400 sessions" in out
    assert "over 08:00-09:30" in out
    assert (
        "from arrivals.csv: 90 rows of 1m from 2025-03-31T08:00:00+07:00 (row 0 at 08:00,"
        " its time of day); 08:00-09:30 planned (--arrivals, instead of the scenario's)"
    ) in out
    data = json.loads(
        run_main(["plan", scenario, "--arrivals", "arrivals.csv", "--json"], cwd=tmp_path).stdout
    )
    assert data["inputs"]["arrivals"] == {"csv": {"file": str(tmp_path / "arrivals.csv")}}
    assert data["arrivals_source"].startswith("arrivals.csv: 90 rows of 1m")
    assert data["peak"]["start_s"] == 8 * 3600.0


def test_what_ifs_apply_to_the_derived_arrivals(tmp_path: Path, scenario: Path) -> None:
    _arrivals(tmp_path, [60] * 120)
    args = ["plan", scenario, "--arrivals", "arrivals.csv", "--json"]
    plain = json.loads(run_main(args, cwd=tmp_path).stdout)
    spiked = json.loads(run_main([*args, "--spike", "3x@09:00+30m"], cwd=tmp_path).stdout)
    assert plain["peak"]["peak_arrival_rate_per_s"] == pytest.approx(1.0)
    assert spiked["peak"]["peak_arrival_rate_per_s"] == pytest.approx(3.0)
    assert spiked["peak"]["start_s"] == 9 * 3600.0


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """(the --arrivals file, a fragment of the one line) by what is wrong."""
    gap = folder / "gap.csv"
    gap.write_text(
        "start,count\n2025-03-31T08:00:00+07:00,5\n2025-03-31T08:01:00+07:00,5\n"
        "2025-03-31T08:03:00+07:00,5\n",
        encoding="utf-8",
    )
    binary = folder / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02garbage")
    empty = folder / "empty.csv"
    empty.write_bytes(b"")
    late = folder / "late"
    late.mkdir()
    _arrivals(late, [5] * 90, start="2025-03-31T23:00:00+07:00")
    return {
        "missing": (folder / "missing.csv", "--arrivals: no such file"),
        "folder": (folder, "--arrivals: is a folder"),
        "not equally spaced": (gap, "line 4: start 2025-03-31T08:03:00+07:00 is 2m after"),
        "binary": (binary, "not a text file"),
        "empty": (empty, "needs a header with a 'count' column"),
        "past midnight": (
            late / "arrivals.csv",
            "past 24:00; a plan covers one day; cut it with start_at or length in a scenario",
        ),
    }


@pytest.mark.parametrize(
    "case", ["missing", "folder", "not equally spaced", "binary", "empty", "past midnight"]
)
def test_a_bad_arrivals_file_is_one_line_and_exit_2(
    tmp_path: Path, scenario: Path, case: str
) -> None:
    path, fragment = _bad_files(tmp_path)[case]
    proc = run_main(["plan", scenario, "--arrivals", path], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert lines[0].startswith("dvcload plan: error: ") and "--arrivals" in lines[0]


def test_recorded_arrivals_are_preferred_to_a_derivation(tmp_path: Path, scenario: Path) -> None:
    scenario.write_text(SCENARIO + DERIVATION, encoding="utf-8")
    _arrivals(tmp_path, [60] * 30 + [360] * 30)  # 1/s, then 6/s
    proc = run_main(["plan", scenario, "--arrivals", "arrivals.csv"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "recorded arrivals are preferred to the scenario's derivation" in proc.stdout
    assert "central peak 3.0 sessions/s against the recorded 6.0 (x2.00)" in proc.stdout
    run = plan_scenario(load_scenario(scenario), arrivals=tmp_path / "arrivals.csv")
    assert run.spec.derivation is None and run.curve.scale == 1.0
    assert float(run.plan.peak_arrival_rate_per_s.max()) == pytest.approx(6.0)


def test_the_real_command_line_refuses_a_bad_arrivals_file(
    tmp_path: Path, scenario: Path, dvcload_cmd: list[str]
) -> None:
    path, _ = _bad_files(tmp_path)["past midnight"]
    proc = subprocess.run(
        [*dvcload_cmd, "plan", str(scenario), "--arrivals", str(path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "to 00:30 the next day, past 24:00" in proc.stderr


def test_derived_arrivals_that_end_in_zeros_plan_with_a_lognormal_model(
    tmp_path: Path, scenario: Path
) -> None:
    """derive writes rows up to the log's last request, zeros included; the offered load
    of a lognormal service then decays to 0 and must not round below it."""
    _arrivals(tmp_path, [60, 70, 75, 66] * 15 + [0] * 4)
    (tmp_path / "cal.yaml").write_text(
        "version: 1\nruns: [derive.json]\nsessions: 3154\ntiers:\n"
        "  web: {service_time: 43.382ms, cv: 0.9224, visits: 4.137, source: log_response_time}\n",
        encoding="utf-8",
    )
    text = SCENARIO.replace("method: psa", "method: mol").replace("30m", "15m")
    scenario.write_text(text, encoding="utf-8")
    args = ["plan", scenario, "--arrivals", "arrivals.csv", "--model", "cal.yaml", "--json"]
    proc = run_main(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)["plan"]
    assert len(plan["intervals"]) == 5  # 08:00-09:04 in rows of 15 minutes
