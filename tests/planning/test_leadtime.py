"""Autoscaling lead time (planning/leadtime.py): a spike's backlog and waits while its
servers boot, checked against the fluid worked by hand, and the must-run floor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from models import fluid_queue
from planning import PlanRun, Spike, make_plan, parse_spike, plan_scenario
from planning.leadtime import LeadTime, Reaction, lead_time, must_run_floor
from planning.leadtime_text import lines, to_json

REPO = Path(__file__).resolve().parents[2]
# The web tier of the issue (issue 17): 1,341.99 requests/s all day (167.74875 sessions/s x 8
# visits), 32.5 ms per request. At 80 % utilisation it needs 1,341.99 x 0.0325 / 0.8 = 54.5
# -> 55 workers; a 3x spike, 4,025.97 x 0.0325 / 0.8 = 163.6 -> 164.
SCENARIO = """\
name: spike-lead
capacity:
  method: psa
  interval: 1h
  arrivals:
    hourly: [{rates}]
  budgets: ["utilization < 0.8", "P(wait) < 0.2", "p95 < 1s"]
  tiers:
    web: {{service_time: 32.5ms, visits: 8}}
""".format(rates=", ".join(["167.74875"] * 24))
S, MU = 0.0325, 1 / 0.0325
LAM0, LAM = 1341.99, 3 * 1341.99  # requests/s before and during the spike
SPIKE = "3x@16:00+30m"
START = 16 * 3600.0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> PlanRun:
    path = tmp_path_factory.mktemp("leadtime") / "spike.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return plan_scenario(load_scenario(path), spikes=(parse_spike(SPIKE),))


@pytest.fixture(scope="module")
def late(run: PlanRun) -> LeadTime:
    return lead_time(run, 300.0, reaction=Reaction(60.0, 0.5, 30.0))


def test_the_backlog_of_a_3x_spike_with_a_5_minute_lead_time_is_the_hand_figure(
    run: PlanRun, late: LeadTime
) -> None:
    (web,) = late.spikes[0].tiers
    assert (web.servers_before, web.servers_after) == (55, 164)
    assert_allclose(web.requests_per_s, LAM, rtol=1e-9)
    # By hand: 55 x 30.769 = 1,692.31 requests/s served against 4,025.97 arriving; the
    # backlog grows at 2,333.66/s. At 16:00 only 1,341.99 x 0.0325 = 43.61 workers were
    # busy: the spike fills the other 11.39 first, x = 130.84 + (43.61 - 130.84) e^(-mu t)
    # reaches 55 at t = ln(87.23 / 75.84) / 30.769 = 4.5 ms, and the backlog grows from then
    # on: 2,333.66 x (300 - 0.0045) = 700,088.1 by 16:05 (700,098.7 with all 55 busy).
    grow, load = LAM - 55 * MU, LAM * S
    fill = np.log((load - LAM0 * S) / (load - 55)) / MU
    assert_allclose(fill, 0.004545, rtol=1e-3)
    by_hand = grow * (300 - fill)
    assert_allclose(by_hand, 700_088.1, rtol=1e-7)
    plain = web.plain
    assert_allclose(plain.max_backlog, by_hand, rtol=1e-10)
    assert plain.max_backlog_at_s == START + 300
    # The 109 new workers take 109 at once; 5,046.15/s drain the rest against 4,025.97
    # arriving: (700,088.1 - 109) / 1,020.18 = 686.14 s, empty at 16:16:26.
    drained = START + 300 + (by_hand - 109) / (164 * MU - LAM)
    assert_allclose(drained - START, 986.14, atol=0.01)
    assert plain.drained_at_s is not None
    assert_allclose(plain.drained_at_s, drained, rtol=1e-12)
    # The last request before the scale-up waits (700,088.1 - 109) / 5,046.15 = 138.72 s.
    at_scale_up = int(np.searchsorted(plain.times_s, START + 300))
    assert_allclose(plain.wait_s[at_scale_up], (by_hand - 109) / (164 * MU), rtol=1e-10)
    assert_allclose(plain.wait_s[at_scale_up], 138.7154, rtol=1e-6)
    # The plan's text shows the backlog, when it peaks and when it is gone.
    text = "\n".join(lines(late))
    assert "Spike x3 at 16:00 for 30m: its servers from 16:05" in text
    assert "55 servers (1,692.3 requests/s) until 16:05, then 164 (5,046.2/s)" in text
    row = next(line for line in text.splitlines() if "no abandonment" in line)
    assert "700,088" in row
    assert "16:05" in row and "16:16:26" in row


def test_patience_lowers_the_backlog_and_retries_raise_it_again(late: LeadTime) -> None:
    (web,) = late.spikes[0].tiers
    assert web.abandoning is not None and web.retrying is not None
    plain, gives_up, retries = web.plain.max_backlog, web.abandoning, web.retrying
    # With a minute's patience the backlog tends to 2,333.66 x 60 = 140,020 (Whitt 2006): it
    # reaches 140,020 (1 - e^-5) = 139,076 by 16:05 (4.5 ms later, as the idle fill first).
    assert_allclose(gives_up.max_backlog, (LAM - 55 * MU) * 60 * -np.expm1(-5.0), rtol=1e-4)
    assert gives_up.max_backlog < retries.max_backlog < plain
    assert gives_up.total_lost > retries.total_lost > 0 == web.plain.total_lost
    assert gives_up.max_wait_s < retries.max_wait_s < web.plain.max_wait_s
    text = "\n".join(lines(late))
    assert "patience 1m" in text and "+ 50% retry after 30s" in text


def test_without_a_lead_time_a_spike_leaves_no_backlog(run: PlanRun) -> None:
    now = lead_time(run, 0.0, reaction=Reaction(60.0))
    (web,) = now.spikes[0].tiers
    for _, path in web.cases():
        assert path.max_backlog == 0 and path.max_wait_s == 0 and path.total_abandoned == 0
    assert web.servers_before == 55 and web.must_run == 0


def test_the_floor_is_the_spikes_load_for_a_one_second_limit(run: PlanRun) -> None:
    spike = run.spikes[0]
    # 130 workers serve 4,000/s: 25.97/s queue for 300 s and the request whose turn comes at
    # 16:05 waits 300 - (300 x 4,000 + 34) / 4,025.97 = 1.93 s > 1 s. 131 serve 4,030.8/s,
    # more than arrive: no queue. So 131, the spike's 130.8 erlangs rounded up.
    assert must_run_floor(run, spike, "web", 300.0, 1.0) == 131
    # Under a minute: c0 (300 mu - 1) > lambda (300 - 60) - 164, c0 > 104.67 -> 105.
    assert_allclose((LAM * 240 - 164) / (300 * MU - 1), 104.67, rtol=1e-4)
    assert must_run_floor(run, spike, "web", 300.0, 60.0) == 105
    assert must_run_floor(run, spike, "web", 0.0, 1.0) == 0


@pytest.mark.parametrize("limit_s", [0.5, 20.0, 90.0])
def test_the_floor_keeps_the_wait_under_the_limit_and_one_less_does_not(
    run: PlanRun, limit_s: float
) -> None:
    floor = must_run_floor(run, run.spikes[0], "web", 120.0, limit_s)
    grid = np.arange(START, START + 1801.0)

    def longest_wait(c0: int) -> float:
        servers = np.where(grid[:-1] < START + 120, c0, 164)
        path = fluid_queue(grid, LAM, servers, S, initial_in_system=min(LAM0 * S, c0))
        return float(path.wait_s[:121].max())

    assert longest_wait(floor) < limit_s <= longest_wait(floor - 1)


def test_the_floor_grows_with_the_lead_time_and_shrinks_with_the_limit(run: PlanRun) -> None:
    spike = run.spikes[0]
    by_lead = [must_run_floor(run, spike, "web", lead, 30.0) for lead in (0, 30, 60, 300, 900)]
    by_limit = [must_run_floor(run, spike, "web", 300.0, w) for w in (0.1, 10, 60, 200)]
    assert by_lead == sorted(by_lead) and by_lead[0] < by_lead[-1]
    assert by_limit == sorted(by_limit, reverse=True) and by_limit[0] > by_limit[-1]


def test_a_bigger_spike_needs_a_higher_floor(tmp_path: Path) -> None:
    path = tmp_path / "spike.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    spec = load_scenario(path).capacity
    assert spec is not None
    floors = []
    for factor in (1.5, 2, 3, 4):
        spike = Spike(factor, START, 1800.0)
        run = make_plan(spec, spikes=(spike,))
        floors.append(must_run_floor(run, spike, "web", 300.0, 1.0))
    assert floors == sorted(floors) and floors[0] < floors[-1]


def test_a_lead_time_off_the_step_and_a_spike_off_the_hour(tmp_path: Path) -> None:
    path = tmp_path / "spike.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    run = plan_scenario(load_scenario(path), spikes=(parse_spike("3x@16:10+20m"),))
    (web,) = lead_time(run, 90.5).spikes[0].tiers
    assert web.plain.max_backlog_at_s == 16 * 3600 + 600 + 90.5
    fill = np.log((LAM * S - LAM0 * S) / (LAM * S - 55)) / MU  # as in the first test
    assert_allclose(web.plain.max_backlog, (LAM - 55 * MU) * (90.5 - fill), rtol=1e-10)


def test_the_json_has_every_case_and_is_plain_python(late: LeadTime) -> None:
    data = json.loads(json.dumps(to_json(late)))
    assert data["lead_time_s"] == 300.0 and data["patience_s"] == 60.0
    (spike,) = data["spikes"]
    assert spike["servers_at_s"] == START + 300
    web = spike["tiers"]["web"]
    assert set(web["cases"]) == {"plain", "abandonment", "retries"}
    assert_allclose(web["cases"]["plain"]["max_backlog"], 700_088.1, rtol=1e-7)
    assert web["must_run"] == {"servers": 131, "wait_limit_s": 1.0}


def test_a_run_without_a_spike_or_with_bad_reactions_is_refused(run: PlanRun) -> None:
    spec = run.spec
    with pytest.raises(ConfigError, match="needs a spike"):
        lead_time(make_plan(spec), 300.0)
    for bad, fragment in [
        (Reaction(patience_s=-1.0), "is not a patience"),
        (Reaction(60.0, 1.0, 30.0), "is not a retry fraction"),
        (Reaction(None, 0.5, 30.0), "need a patience and a retry delay"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            lead_time(run, 300.0, reaction=bad)
    with pytest.raises(ConfigError, match="is not a lead time"):
        lead_time(run, -5.0)
    with pytest.raises(ConfigError, match="no tier 'app' in the plan; tiers: web"):
        must_run_floor(run, run.spikes[0], "app", 300.0, 1.0)
    with pytest.raises(ConfigError, match="spike x2 at 16:00 for 30m is not the plan's"):
        must_run_floor(run, Spike(2.0, START, 1800.0), "web", 300.0, 1.0)
    with pytest.raises(ConfigError, match="is not a wait limit"):
        must_run_floor(run, run.spikes[0], "web", 300.0, 0.0)


def test_the_national_deadline_spike_has_a_block_per_tier() -> None:
    spike = parse_spike(SPIKE)
    run = plan_scenario(
        load_scenario(REPO / "scenarios" / "national-deadline.yaml"), spikes=(spike,), samples=10
    )
    result = lead_time(run, 300.0, reaction=Reaction(60.0))
    text = "\n".join(lines(result))
    for tier in result.spikes[0].tiers:
        assert f"  {tier.tier}: {tier.servers_before:,} servers" in text
        assert tier.abandoning is not None
        assert tier.abandoning.max_backlog <= tier.plain.max_backlog
    assert all(len(line) <= 100 for line in text.splitlines())
