"""The bootstrap from histograms and the error-rate interval, against references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.bootstrap import difference_interval, mean_draws, percentile_draws
from analysis.compare import error_rate_change, latency_change, newcombe_interval
from analysis.distribution import LatencyDistribution, percentile_targets
from dvcschema.histograms import new_histogram, record_values


def lognormal(median_ms: float, n: int, seed: int, sigma: float = 0.6) -> LatencyDistribution:
    hist = new_histogram()
    rng = np.random.default_rng(seed)
    record_values(hist, rng.lognormal(np.log(median_ms * 1000.0), sigma, n))
    return LatencyDistribution.from_histogram(hist)


def multinomial_percentiles(dist: LatencyDistribution, p: float, b: int, seed: int) -> np.ndarray:
    """The textbook bootstrap: resample the bucket counts, recompute the percentile."""
    rng = np.random.default_rng(seed)
    n = dist.count
    resampled = rng.multinomial(n, dist.counts / n, size=b)
    cumulative = np.cumsum(resampled, axis=1)
    target = percentile_targets(np.array([p]), n)[0]
    index = np.argmax(cumulative >= target, axis=1)
    return dist.highest_us[index] / 1000.0


@pytest.mark.parametrize("p", [50.0, 95.0, 99.0])
def test_exact_percentile_draws_match_multinomial_resampling(p: float) -> None:
    dist = lognormal(20.0, 3000, seed=3)
    exact = percentile_draws(dist, p, 3000, np.random.default_rng(1))
    brute = multinomial_percentiles(dist, p, 3000, seed=2)
    assert stats.ks_2samp(exact, brute).pvalue > 0.001
    np.testing.assert_allclose(
        np.quantile(exact, [0.025, 0.5, 0.975]), np.quantile(brute, [0.025, 0.5, 0.975]), rtol=0.03
    )


def test_mean_draws_have_the_plug_in_standard_error() -> None:
    dist = lognormal(20.0, 5000, seed=4)
    draws = mean_draws(dist, 20000, np.random.default_rng(0))
    assert draws.std() == pytest.approx(np.sqrt(dist.variance_ms2() / dist.count), rel=0.03)


def test_interval_covers_a_true_change_and_flags_it() -> None:
    base, slow = lognormal(20.0, 5000, seed=1), lognormal(26.0, 5000, seed=2)
    interval = difference_interval(base, slow, "p95")
    assert interval.significant
    assert interval.relative_low < 0.30 < interval.relative_high
    change = latency_change(base, slow, "p95")
    assert change.real and change.verdict == "regression"


def test_same_distribution_is_rarely_significant() -> None:
    """About 5% of pairs from one law are significant at 95% (binomial: P(> 6 of 40) < 2%)."""
    significant, real = 0, 0
    for seed in range(40):
        a, b = lognormal(20.0, 3000, seed=2 * seed), lognormal(20.0, 3000, seed=2 * seed + 1)
        change = latency_change(a, b, "p95", rng=seed)
        significant += change.significant
        real += change.real
    assert significant <= 6
    assert real <= significant


def test_verdict_is_reproducible_with_the_default_seed() -> None:
    a, b = lognormal(20.0, 2000, seed=1), lognormal(21.0, 2000, seed=2)
    assert difference_interval(a, b, "p99") == difference_interval(a, b, "p99")


@pytest.mark.parametrize(
    ("counts", "published"),
    [  # Newcombe (1998), Table II, method 10: interval of p2 - p1
        ((48, 80, 56, 70), (0.0524, 0.3339)),
        ((3, 10, 9, 10), (0.1705, 0.8090)),
        ((2, 7, 6, 7), (0.0582, 0.8062)),
    ],
)
def test_newcombe_interval_matches_published_values(
    counts: tuple[int, int, int, int], published: tuple[float, float]
) -> None:
    np.testing.assert_allclose(newcombe_interval(*counts), published, atol=5e-5)


def test_error_rate_change_needs_significance_and_size() -> None:
    one = np.array([1], dtype=np.int64)
    base = LatencyDistribution(np.array([10_000]), one, one, failures=10)
    worse = LatencyDistribution(np.array([10_000]), one, one, failures=80)
    same = LatencyDistribution(np.array([10_000]), one, one, failures=12)
    assert error_rate_change(base, worse).verdict == "regression"
    assert error_rate_change(base, same).verdict == "noise"
