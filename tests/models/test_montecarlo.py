"""models.montecarlo: input ranges, and staffing many samples at once, checked against
:func:`models.min_servers` point by point (every budget kind, every service family)."""

from __future__ import annotations

import numpy as np
import pytest

from models import ModelError, TierBudget, min_servers, service_distribution
from models.montecarlo import (
    LogUniform,
    Uniform,
    input_range,
    min_servers_samples,
    sample_percentiles,
    sample_ranges,
)

BUDGETS = [
    TierBudget("response_quantile", 2.0, quantile=0.95),
    TierBudget("wait_quantile", 0.3, quantile=0.9),
    TierBudget("mean_wait", 0.1),
    TierBudget("prob_wait", 0.2),
    TierBudget("max_utilization", 0.8),
]


@pytest.mark.parametrize("cv", [0.0, 0.5, 0.8, 1.0, 1.5])
@pytest.mark.parametrize("budget", BUDGETS, ids=[b.kind for b in BUDGETS])
def test_min_servers_samples_agrees_with_min_servers_point_by_point(
    cv: float, budget: TierBudget
) -> None:
    rng = np.random.default_rng(11)
    rate = np.concatenate([[0.0], rng.uniform(0, 3, 14), rng.uniform(3, 300, 15)])
    mean_s = rng.uniform(0.2, 0.5, rate.size)
    got = min_servers_samples(rate, mean_s, cv, [budget])
    want = [
        int(min_servers(r, service_distribution(s, cv), budget))
        for r, s in zip(rate, mean_s, strict=True)
    ]
    assert got.tolist() == want


def test_min_servers_samples_refuses_a_budget_below_the_service_time() -> None:
    with pytest.raises(ModelError, match="cannot be met by any number of servers"):
        min_servers_samples(
            [10.0], [0.6], 0.8, [TierBudget("response_quantile", 1.2, quantile=0.95)]
        )


def test_ranges_sample_reproducibly_with_their_moments() -> None:
    ranges = [Uniform(5000.0, 6000.0), LogUniform(2.0, 8.0)]
    a, b = sample_ranges(ranges, 20_000, rng=3), sample_ranges(ranges, 20_000, rng=3)
    assert np.array_equal(a, b)
    assert np.array_equal(sample_ranges(ranges[:1], 20_000, rng=3)[0], a[0])  # order-stable
    for r, row in zip(ranges, a, strict=True):
        assert row.min() >= r.low and row.max() <= r.high
        assert row.mean() == pytest.approx(r.mean, rel=0.01)
        assert row.var() == pytest.approx(r.variance, rel=0.05)
        assert np.median(row) == pytest.approx(r.median, rel=0.01)
    assert input_range("loguniform", 2.0, 8.0) == LogUniform(2.0, 8.0)
    with pytest.raises(ModelError):
        Uniform(3.0, 3.0)


def test_percentiles_are_sample_values() -> None:
    x = np.arange(1, 11)[:, None]  # 1..10 in one column
    assert sample_percentiles(x, (0.5, 0.9)).ravel().tolist() == [5, 9]
