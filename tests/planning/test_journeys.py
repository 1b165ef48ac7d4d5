"""Journey-level latency (``planning.journeys``) against closed forms worked by hand.

Two M/M/1 queues in tandem: the sojourn at each is exponential with rate ``mu - lambda``
and the two are independent (Reich 1957), so a journey through both takes a
hypoexponential time, ``P(T > t) = (a2 exp(-a1 t) - a1 exp(-a2 t)) / (a2 - a1)``.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import optimize, stats

from dvcschema.capacity_journeys import JourneyBudget, JourneySpec
from dvcschema.scenario import load_scenario
from models.distributions import Exponential, Lognormal
from models.tandem import QueueStation
from planning import make_plan
from planning.journeys import journey_latency, journey_time, lines, to_json
from planning.plan import PlanRun

# web: 1 request/s, 0.5 s each, 1 server -> Exp(2 - 1); db: 1/s, 0.25 s -> Exp(4 - 1)
TWO_MM1 = """\
name: tandem
capacity:
  method: psa
  arrivals: {constant: 1}
  budgets: ["utilization < 0.8"]
  tiers:
    web: {service_time: 500ms, cv: 1}
    db: {service_time: 250ms, cv: 1}
"""
A1, A2 = 1.0, 3.0  # mu - lambda at web and db (1/s)


def _survival(t: float) -> float:
    """Hypoexponential survival of Exp(A1) + Exp(A2)."""
    return (A2 * math.exp(-A1 * t) - A1 * math.exp(-A2 * t)) / (A2 - A1)


def _quantile(p: float) -> float:
    return float(optimize.brentq(lambda t: _survival(t) - (1 - p), 0.0, 50.0, xtol=1e-12))


def _run(tmp_path: Path, text: str = TWO_MM1) -> PlanRun:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.capacity is not None
    return make_plan(scenario.capacity)


def _journey(name: str, budgets: tuple[JourneyBudget, ...] = (), **visits: int) -> JourneySpec:
    return JourneySpec(name, tuple(visits.items()), budgets)


def test_the_plan_gives_each_tier_one_server(tmp_path: Path) -> None:
    run = _run(tmp_path)
    assert [int(t.servers[run.peak]) for t in run.plan.tiers] == [1, 1]


def test_two_mm1_visits_have_the_hypoexponential_p95(tmp_path: Path) -> None:
    run = _run(tmp_path)
    budgets = (
        JourneyBudget("p95 < 3s", 0.95, 3.0),
        JourneyBudget("p99 < 10s", 0.99, 10.0),
    )
    result = journey_latency(run, [_journey("status", budgets, web=1, db=1)])
    (j,) = result.journeys
    # mean 1/1 + 1/3 s; p95 solves 1.5 exp(-t) - 0.5 exp(-3t) = 0.05: t = 3.40083 s
    assert_allclose(j.mean_s, 1 / A1 + 1 / A2, rtol=1e-9)
    assert_allclose(_quantile(0.95), 3.40083, rtol=1e-5)
    assert_allclose(j.p95_s, _quantile(0.95), rtol=1e-4)  # the convolution's grid
    assert_allclose(j.budgets[1].predicted_s, _quantile(0.99), rtol=1e-4)  # 5.0052 s
    assert [b.met for b in j.budgets] == [False, True] and j.met is False
    assert_allclose(j.shares["web"], 0.75) and assert_allclose(j.shares["db"], 0.25)
    assert result.peak_sessions_per_s == pytest.approx(1.0)


def test_k_visits_to_one_mm1_tier_are_an_erlang(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (j,) = journey_latency(run, [_journey("browse", web=3)]).journeys
    # three Exp(1) sojourns: Erlang(3, 1), p95 = gamma(3).ppf(0.95) = 6.2958 s
    assert_allclose(j.mean_s, 3.0, rtol=1e-9)
    assert_allclose(j.p95_s, stats.gamma(3).ppf(0.95), rtol=1e-4)


def test_one_visit_is_the_plans_own_p95_at_the_tier(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (j,) = journey_latency(run, [_journey("one", web=1)]).journeys
    assert_allclose(j.p95_s, float(run.plan.tier("web").p95_response_s[run.peak]), rtol=1e-6)
    assert_allclose(j.p95_s, math.log(20), rtol=1e-6)  # Exp(1): -ln(0.05)


def test_the_mean_is_the_sum_of_the_visits_means() -> None:
    web = QueueStation(300.0, Exponential(mean=0.03), 12)
    db = QueueStation(450.0, Lognormal(mean=0.004, cv=0.8), 3)
    j = journey_time(_journey("filing", web=8, db=12), {"web": web, "db": db})
    assert_allclose(j.mean_s, 8 * web.mean_response + 12 * db.mean_response, rtol=1e-12)
    assert_allclose(sum(j.shares.values()), 1.0)
    assert j.mean_s < j.p95_s < 20 * max(web.response_quantile(0.95), db.response_quantile(0.95))


def test_a_journey_through_an_unstable_tier_takes_forever() -> None:
    web = QueueStation(2.0, Exponential(mean=1.0), 2)  # offered 2 erlangs on 2 servers
    budget = JourneyBudget("p95 < 5s", 0.95, 5.0)
    j = journey_time(_journey("stuck", (budget,), web=1), {"web": web})
    assert math.isinf(j.mean_s) and math.isinf(j.p95_s)
    assert j.met is False


@settings(max_examples=15, deadline=None)
@given(servers=st.integers(min_value=2, max_value=8), visits=st.integers(min_value=1, max_value=4))
def test_more_servers_never_lengthen_a_journey(servers: int, visits: int) -> None:
    load = 1.8  # erlangs: stable from 2 servers
    stations = [
        {"web": QueueStation(load / 0.1, Exponential(mean=0.1), c)} for c in (servers, servers + 1)
    ]
    fewer, more = (journey_time(_journey("j", web=visits), s) for s in stations)
    assert more.mean_s <= fewer.mean_s
    assert more.p95_s <= fewer.p95_s * (1 + 1e-3)  # within the convolution's grid


def test_text_and_json(tmp_path: Path) -> None:
    run = _run(tmp_path)
    result = journey_latency(
        run,
        [
            _journey("status", (JourneyBudget("p95 < 3s", 0.95, 3.0),), web=1, db=1),
            _journey("browse", web=2),
        ],
    )
    text = "\n".join(lines(result))
    assert "status" in text and "p95 < 3s NOT MET (3.40 s)" in text
    assert "share of the mean: web x1 75%, db x1 25%" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    data = json.loads(json.dumps(to_json(result)))
    assert data["journeys"]["status"]["met"] is False
    assert data["journeys"]["browse"]["met"] is None
    assert data["tiers"]["web"]["servers"] == 1
    assert data["journeys"]["status"]["mean_s"] == pytest.approx(4 / 3)
