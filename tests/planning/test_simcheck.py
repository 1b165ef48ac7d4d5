"""``simulate_plan``: a plan's schedule checked row by row by time-varying simulation.

A small three-hour plan (a step up at 10:00 and down at 11:00) meets its targets in
simulation; the same schedule minus servers is flagged; a seed reproduces the check;
each window starts at its row's busiest step (a spike) after a warm-up on the curve.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from models import TierBudget
from models.simulation import Estimate
from planning import PlanRun, make_plan, parse_spike, plan_scenario
from planning.simcheck import (
    BudgetCheck,
    RowCheck,
    SimCheck,
    TierCheck,
    iterate_staffing,
    simulate_plan,
)
from planning.simcheck_text import lines, to_json

REPO = Path(__file__).resolve().parents[2]

SMALL = """\
name: small
capacity:
  method: psa
  interval: 1h
  arrivals:
    stages: [{duration: 1h, rate: 0.25, step: true}, {duration: 1h, rate: 1, step: true},
             {duration: 1h, rate: 0.5, step: true}]
    start_at: 9h
  budgets: ["p95 < 1s", "P(wait) < 0.3", "utilization < 0.85"]
  tiers:
    web: {service_time: 200ms, visits: 4}
    db: {service_time: 20ms, cv: 0.8, visits: 6, budgets: ["p95 < 100ms"]}
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> PlanRun:
    path = tmp_path_factory.mktemp("simcheck") / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return plan_scenario(load_scenario(path), samples=1)


@pytest.fixture(scope="module")
def checked(small: PlanRun) -> SimCheck:
    return simulate_plan(small, customers=4000, replications=3, seed=4)


def test_the_small_plan_meets_every_target_in_simulation(small: PlanRun, checked: SimCheck) -> None:
    assert [t.name for t in checked.tiers] == ["web", "db"]
    for tier in checked.tiers:
        planned = small.plan.tier(tier.name)
        assert [r.servers for r in tier.rows] == planned.servers.tolist()
        assert np.allclose([r.utilization for r in tier.rows], planned.utilization)
        for row in tier.rows:
            assert row.met, (tier.name, row.start_s, row.missed)
            assert {b.label for b in row.budgets} >= {"P(wait) < 0.3", "utilization < 0.85"}
    assert checked.met
    text = "\n".join(lines(checked))
    assert text.count("NOT MET") == 1  # the note, in no row
    assert "web: every row meets its targets" in text
    assert "Every row at or below utilisation 0.85 meets its targets." in text
    assert "10:00-11:00" in text  # clock times of the rows


def test_p_wait_agrees_with_erlang_c_at_a_steady_row(small: PlanRun, checked: SimCheck) -> None:
    """09:00-10:00 starts the plan: the rate and the servers are constant up to its window."""
    row = checked.tiers[0].rows[0]
    planned = small.plan.tier("web").prob_wait[0]
    assert abs(row.prob_wait.value - planned) <= 4 * row.prob_wait.se + 0.01


def test_an_under_staffed_schedule_is_flagged_not_met(small: PlanRun) -> None:
    web = small.plan.tier("web").servers
    assert web.tolist() == [1, 2, 2]
    check = simulate_plan(
        small, servers={"web": np.array([1, 1, 2])}, customers=1500, replications=2, seed=4
    )
    row = check.tiers[0].rows[1]  # M/M/1 at rho 0.8: P(wait) 0.8, p95 3 s
    assert row.servers == 1 and row.utilization == pytest.approx(0.8)
    assert row.missed == ["p95 < 1s", "P(wait) < 0.3"]
    assert row.prob_wait.value > 0.5 and row.p95_response_s.value > 1.5
    assert check.tiers[0].missed() == [row]
    assert all(r.met for r in check.tiers[1].rows)
    text = "\n".join(lines(check))
    assert "NOT MET: p95 < 1s, P(wait) < 0.3" in text
    assert "web: missed at 10:00-11:00 (p95 < 1s, P(wait) < 0.3; util 0.80)" in text
    assert "! rows at or below utilisation 0.85 that miss a target: web 10:00-11:00" in text
    assert not check.met and to_json(check)["met"] is False


def test_iterative_staffing_adds_servers_where_the_check_missed(small: PlanRun) -> None:
    short = {"web": np.array([1, 1, 2])}
    check = simulate_plan(small, servers=short, customers=1500, replications=2, seed=4)
    (fix,) = iterate_staffing(small, check, servers=short)
    assert (fix.tier, fix.row.servers, fix.fixed.servers, fix.added) == ("web", 1, 2, 1)
    assert fix.fixed.met and fix.fixed.start_s == fix.row.start_s
    text = "\n".join(lines(check, (fix,)))
    assert "web      10:00-11:00: 1 -> 2 servers (+1)" in text and "meets its targets" in text
    assert to_json(check, (fix,))["corrections"][0]["servers"] == 2
    assert iterate_staffing(small, simulate_plan(small, customers=1500, replications=2)) == ()


def test_a_seed_reproduces_the_check(small: PlanRun) -> None:
    first = to_json(simulate_plan(small, customers=1500, replications=2, seed=4))
    assert to_json(simulate_plan(small, customers=1500, replications=2, seed=4)) == first
    assert to_json(simulate_plan(small, customers=1500, replications=2, seed=5)) != first


def test_windows_hold_the_customers_from_the_busiest_step(small: PlanRun) -> None:
    """A spike at 10:20 makes the window start there, after a warm-up at 10:00's rate."""
    run = make_plan(small.spec, spikes=(parse_spike("2x@10:20+10m"),), samples=1, name="spiked")
    check = simulate_plan(run, customers=1500, replications=2, seed=4)
    web = check.tiers[0].rows[1]
    assert web.window_s[0] == 10 * 3600 + 20 * 60
    span_s = web.window_s[1] - web.window_s[0]
    assert span_s == pytest.approx(1500 / 8)  # 8 requests/s in the spike
    assert 10 * 3600 <= web.warmup_from_s < web.window_s[0]
    assert web.customers == pytest.approx(2 * 1500, rel=0.15)
    assert web.servers == run.plan.tier("web").servers[1]


def test_a_row_with_fewer_customers_is_simulated_whole(checked: SimCheck) -> None:
    row = checked.tiers[0].rows[0]  # 0.25 sessions/s x 4 visits x 1 h = 3,600 requests
    assert row.window_s == (9 * 3600.0, 10 * 3600.0)
    assert row.warmup_from_s == 9 * 3600.0  # the plan's start: the day starts empty
    later = checked.tiers[0].rows[1]  # 4 requests/s: 4,000 of them in 1,000 s
    assert later.window_s == pytest.approx((36_000.0, 37_000.0))
    assert later.warmup_from_s < 36_000.0  # a warm-up at 09:00's rate and servers


def test_the_json_is_plain_and_complete(checked: SimCheck) -> None:
    data = json.loads(json.dumps(to_json(checked)))
    assert data["met"] is True and data["utilization_checked"] == 0.85
    row = data["tiers"]["db"]["rows"][1]
    assert row["start_s"] == 36_000 and row["end_s"] == 39_600
    assert {b["budget"] for b in row["budgets"]} == {
        "p95 < 100ms",
        "P(wait) < 0.3",
        "utilization < 0.85",
    }
    assert set(row["p95_response_s"]) == {"value", "se", "low", "high"}


@pytest.mark.parametrize(
    ("servers", "fragment"),
    [
        ({"cache": [1, 1, 1]}, "no tier 'cache'"),
        ({"web": [1, 1]}, "is not a schedule"),
        ({"web": [1, 0, 1]}, "is not a schedule"),
        ({"web": [1.5, 2.0, 1.0]}, "is not a schedule"),
    ],
)
def test_a_bad_schedule_is_refused(
    small: PlanRun, servers: dict[str, list[float]], fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        simulate_plan(small, servers=servers)


def test_too_few_replications_are_refused(small: PlanRun) -> None:
    with pytest.raises(ConfigError, match="replications give no standard error"):
        simulate_plan(small, replications=1)


def test_a_borderline_miss_is_not_met_and_says_its_interval_holds_the_target() -> None:
    above = Estimate(value=0.21, se=0.01, low=0.19, high=0.23)
    budget = BudgetCheck("P(wait) < 0.2", TierBudget("prob_wait", 0.2, tier="web"), above)
    assert not budget.met and budget.borderline
    clear = BudgetCheck("P(wait) < 0.2", budget.budget, Estimate(0.1, 0.01, 0.08, 0.12))
    assert clear.met and not clear.borderline
    p95 = Estimate(0.5, 0.01, 0.48, 0.52)
    row = RowCheck(36_000.0, 4, 0.7, (36_000.0, 36_100.0), 35_900.0, 900, above, p95, (budget,))
    check = SimCheck("x", 3600.0, 300, 3, 1, (TierCheck("web", 0.1, 1.0, 1.0, (row,)),))
    text = "\n".join(lines(check))
    assert "NOT MET: P(wait) < 0.2 (CI covers P(wait) < 0.2)" in text
    assert "0.210 ± 0.010" in text and "500 ms [480, 520]" in text
    assert "web: missed at 10:00-11:00 (P(wait) < 0.2; util 0.70; the interval holds" in text


def test_other_budget_kinds_get_their_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "kinds.yaml"
    path.write_text(
        SMALL.replace(
            '"p95 < 1s", "P(wait) < 0.3", "utilization < 0.85"',
            '"mean_wait < 100ms", "wait_p99 < 2s"',
        ),
        encoding="utf-8",
    )
    check = simulate_plan(
        plan_scenario(load_scenario(path), samples=1), customers=300, replications=2
    )
    web = "\n".join(lines(check)).split("\n\n")[1].splitlines()
    header = web[1].split()
    assert header[5:] == [
        "P(wait)",
        "p95",
        "mean_wait",
        "<",
        "100ms",
        "wait_p99",
        "<",
        "2s",
        "verdict",
    ]
    labels = [b.label for b in check.tiers[0].rows[0].budgets]
    assert labels == ["mean_wait < 100ms", "wait_p99 < 2s"]
    assert all(" ms ± " in line or " s ± " in line for line in web[2:])  # the mean wait


def test_the_national_deadline_schedule_holds_its_targets_in_simulation() -> None:
    """The must-show: every hour at or below utilisation 0.85 meets its targets (or is
    within the simulation's noise of them), and iterative staffing closes what is left."""
    run = plan_scenario(load_scenario(REPO / "scenarios" / "national-deadline.yaml"), samples=10)
    check = simulate_plan(run, customers=1_000, replications=3, seed=1)
    assert {t.name for t in check.tiers} == {"web", "db", "payment", "vneid"}
    assert all(len(t.rows) == 24 for t in check.tiers)
    for tier in check.tiers:
        for row in tier.missed(0.85):
            assert set(row.missed) <= set(row.borderline), (tier.name, row.start_s, row.missed)
    corrections = iterate_staffing(run, check)
    assert all(c.fixed.met and c.added <= 2 for c in corrections), corrections
    text = "\n".join(lines(check, corrections))
    assert "Simulated check of the schedule of 'national-deadline'" in text


def test_plan_simulate_prints_the_check_and_its_json(tmp_path: Path) -> None:
    from inprocess import run_main

    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    proc = run_main(["plan", path, "--simulate", "500", "--seed", "3"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Simulated check of the schedule of 'small'" in proc.stdout
    assert "Iterative staffing (Feldman et al. 2008)" in proc.stdout
    proc = run_main(["plan", path, "--simulate", "500", "--json"], cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert set(doc["simulation"]["tiers"]) == {"web", "db"}
    assert doc["simulation"]["customers"] == 500 and doc["simulation"]["replications"] == 4
    bad = run_main(["plan", path, "--simulate", "5"], cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
