"""Capacity plans and their plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models import CapacityPlan, ModelError, TierBudget, TierDemand, plan_capacity
from models.plan import staffing_grid
from models.plot import plot_staffing

HOURS = np.arange(25) * 3600.0
RATE = 200 + 1800 * np.exp(-(((np.arange(25) - 20) / 1.5) ** 2))  # a deadline evening


def day_plan(method: str = "mol") -> CapacityPlan:
    return plan_capacity(
        [TierDemand("web", 0.08), TierDemand("db", 0.01, visits=5, max_servers=30)],
        HOURS,
        RATE,
        [
            TierBudget("response_quantile", 2.0, quantile=0.95),
            TierBudget("prob_wait", 0.2, tier="db"),
        ],
        method=method,
    )


def test_plan_meets_budgets_in_every_interval() -> None:
    plan = day_plan()
    assert len(plan.interval_starts_s) == 24
    web, db = plan.tier("web"), plan.tier("db")
    assert np.all(web.p95_response_s <= 2.0 + 1e-9)
    assert np.all(db.prob_wait <= 0.2 + 1e-12)
    assert np.all(web.utilization < 1) and np.all(db.utilization < 1)
    assert web.servers.argmax() in (19, 20)  # the peak hour
    assert db.exceeds_max.any() and not db.exceeds_max.all()


def test_plan_to_dict_is_json_serialisable() -> None:
    d = day_plan("psa").to_dict()
    text = json.dumps(d)
    back = json.loads(text)
    assert back["method"] == "psa"
    assert set(back["intervals"][0]["tiers"]) == {"web", "db"}
    assert isinstance(back["intervals"][20]["tiers"]["web"]["servers"], int)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "plan.png"
    plot_staffing(day_plan(), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("tiers", "budgets", "match"),
    [
        ([], [TierBudget("prob_wait", 0.2)], "at least one tier"),
        ([TierDemand("a", 0.1), TierDemand("a", 0.2)], [TierBudget("prob_wait", 0.2)], "unique"),
        ([TierDemand("a", 0.1)], [], "at least one budget"),
        ([TierDemand("a", 0.1)], [TierBudget("prob_wait", 0.2, tier="b")], "names tier 'b'"),
    ],
)
def test_plan_validation(tiers: list[TierDemand], budgets: list[TierBudget], match: str) -> None:
    with pytest.raises(ModelError, match=match):
        plan_capacity(tiers, [0, 3600], [1.0, 2.0], budgets)


def test_tier_validation() -> None:
    with pytest.raises(ModelError, match="service_time_s"):
        TierDemand("web", 0.0)


def test_the_plan_is_staffed_on_the_staffing_grid() -> None:
    plan = day_plan()
    grid = staffing_grid(HOURS, interval_s=3600.0)
    assert plan.times_s.tolist() == grid.times_s.tolist()
    assert plan.interval_starts_s.tolist() == grid.interval_starts_s.tolist()
    assert grid.times_s[1] - grid.times_s[0] == 60.0  # interval / 60 by default


def test_the_grid_cuts_a_partial_last_interval_and_starts_each_at_its_first_point() -> None:
    grid = staffing_grid([30.0, 30.0 + 2.5 * 3600], interval_s=3600.0, resolution_s=900.0)
    assert grid.interval_starts_s.tolist() == [30.0, 3630.0, 7230.0]
    assert grid.times_s[-1] == 30.0 + 3 * 3600 - 900  # the last interval runs to its end
    assert grid.first_index.tolist() == [0, 4, 8]
    assert np.all(grid.interval[grid.first_index] == np.arange(3))


@pytest.mark.parametrize("resolution_s", [0.0, -1.0, float("nan")])
def test_the_grid_refuses_a_resolution_that_is_not_positive(resolution_s: float) -> None:
    with pytest.raises(ModelError, match="resolution_s must be > 0"):
        staffing_grid([0, 3600], resolution_s=resolution_s)
