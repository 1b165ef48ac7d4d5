"""``dvcload plan`` on the national deadline, through the command line.

The command runs in-process (:func:`dvcload.cli.main`: a plan needs no gevent, and each
``python -m dvcload`` would pay 2-3 s of NumPy, SciPy and Matplotlib imports; the real
command line is tested in ``test_plan_command.py``). What the command adds to
:mod:`planning` is tested here: its JSON and text are the library's
(:func:`planning.plan_json`, :func:`planning.report`), the seed comes from ``--seed``,
``DVCLOAD_SEED`` or the scenario, bad what-ifs are one line and exit 2, ``--plot``
writes both figures. The figures themselves (the peak hour by hand, the Monte Carlo
spread, the what-ifs, latency against servers) are tested on the library in
``tests/planning/test_deadline_plan.py``.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_main

from dvcschema.scenario import load_scenario
from planning import parse_spike, plan_json, plan_scenario, report

REPO = Path(__file__).resolve().parents[2]
SCENARIO = "scenarios/national-deadline.yaml"
SAMPLES = "400"  # enough for stable percentiles, and quick


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """``dvcload plan ARGS`` in-process, in the repository: exit code, stdout, stderr."""
    return run_main(["plan", *args], cwd=REPO)


@cache
def _json(*args: str) -> dict[str, Any]:
    """The ``--json`` output for ``args`` (cached: each distinct run happens once)."""
    proc = _run(SCENARIO, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_json_and_the_text_are_the_librarys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the scenario's source is printed as the command was given it
    args = ("--samples", SAMPLES, "--surge", "1.5x", "--spike", "3x@12:00+30m")
    proc = _run(SCENARIO, *args)
    assert proc.returncode == 0, proc.stderr
    run = plan_scenario(
        load_scenario(SCENARIO),
        surge=1.5,
        spikes=(parse_spike("3x@12:00+30m"),),
        samples=int(SAMPLES),
    )
    assert proc.stdout == report(run) + "\n"
    assert _json(*args) == json.loads(json.dumps(plan_json(run)))


def test_seed_comes_from_the_environment_then_the_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _json("--samples", SAMPLES)["monte_carlo"]["seed"] == 20260430  # the scenario's
    assert _json("--samples", SAMPLES, "--seed", "7")["monte_carlo"]["seed"] == 7
    monkeypatch.setenv("DVCLOAD_SEED", "99")
    proc = _run(SCENARIO, "--json", "--samples", "50")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["monte_carlo"]["seed"] == 99


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(("--spike", "3x@25:00+30m"), "not a time of day"), (("--spike", "3x17:00"), "not a spike"),
     (("--spike", "0x@17:00+30m"), "factor out of range"),
     (("--spike", "3x@23:50+30m"), "ending by 24:00"), (("--spike", "3x@17:00+30"), "a unit"),
     (("--samples", "0"), "out of range"), (("--seed", "x"), "not a whole number")],
)  # fmt: skip
def test_bad_what_ifs_and_samples_exit_2_with_one_line(
    args: tuple[str, str], fragment: str
) -> None:
    proc = _run(SCENARIO, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and args[0] in lines[0], proc.stderr
    assert not proc.stdout


def test_plot_writes_the_schedule_and_the_latency_figure(tmp_path: Path) -> None:
    out = tmp_path / "plan.png"
    proc = _run(SCENARIO, "--samples", "100", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    for path in (out, tmp_path / "plan-latency.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"plot written to {path}" in proc.stdout


TIER_RANGES = """\
name: tier-ranges
capacity:
  method: psa
  arrivals:
    hourly: [2, 2, 2, 2, 2, 2, 5, 10, 20, 40, 40, 30, 20, 20, 30, 40, 30, 20, 10, 5, 5, 2, 2, 2]
  budgets: ["p95 < 250ms", "P(wait) < 0.2", "utilization < 0.8"]
  tiers:
    web: {service_time: 20ms, visits: 6}
    app: {service_time: {low: 40ms, high: 90ms, source: "guess"}, visits: {low: 3, high: 5}}
"""


def test_a_range_whose_longest_service_time_misses_a_budget_exits_2_with_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(TIER_RANGES, encoding="utf-8")
    proc = _run(str(path))  # the longest service time alone misses p95 < 250ms
    assert proc.returncode == 2 and "cannot be met at tier 'app'" in proc.stderr
    assert "service_time 90ms" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not proc.stdout
