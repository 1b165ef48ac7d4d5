"""Bootstrap confidence intervals for a change in a latency percentile, from histograms.

A run's histogram is its sample of latencies. The nonparametric bootstrap [1]_ draws
new samples of the same size from it (a multinomial draw of the bucket counts with the
observed proportions), recomputes the percentile on each, and takes the spread of the
recomputed values as the sampling error. For two runs, the bootstrap distribution of
the *difference* of their percentiles gives a percentile-method confidence interval
([1]_, ch. 13); a change is statistically significant when that interval excludes 0.

The percentile of a multinomial resample depends only on the resampled cumulative count
at each bucket, and that count is Binomial(n, F_j), F_j the observed cumulative share
of bucket j. So the resampled percentile's distribution is known exactly:

    P*(Q* <= v_j) = P(Binomial(n, F_j) >= t),   t = max(round(p n / 100), 1)

(the exact bootstrap distribution of a quantile, [2]_). :func:`percentile_draws`
samples from it by inversion: the same draws as resampling the counts B times, for
O(buckets + B) work instead of O(buckets x B), which keeps a 10-million-request run
fast. The test suite checks it against explicit multinomial resampling.

The bootstrap treats requests as independent draws. Latencies under load are
correlated in time (a queue lasts), so the interval is too narrow when a run is short
or bursty; dvcload therefore also requires a change to exceed a practical threshold
before calling it real (see :mod:`analysis.compare`).

References
----------
.. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman &
   Hall, 1993.
.. [2] J. S. Maritz and R. G. Jarrett, "A note on estimating the variance of the sample
   median", *J. Amer. Statist. Assoc.* 73 (1978), 194-196.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.distribution import US_PER_MS, LatencyDistribution, percentile_targets
from models._rng import RngLike, as_generator

N_RESAMPLES = 2000
CONFIDENCE = 0.95
DEFAULT_SEED = 20251123  # a gate must give the same verdict twice on the same folders


def percentile_draws(
    dist: LatencyDistribution, percentile: float, n_resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Bootstrap replicates of one percentile (ms) of ``dist``.

    Parameters
    ----------
    dist
        The observed distribution (n requests in its buckets).
    percentile
        Which percentile, 0 < p < 100.
    n_resamples
        How many bootstrap replicates B.
    rng
        The random stream.

    Returns
    -------
    ndarray
        ``n_resamples`` values in ms, distributed as the percentile of a multinomial
        resample of ``dist``'s bucket counts.

    Examples
    --------
    >>> from dvcschema.histograms import new_histogram, record_values
    >>> h = new_histogram()
    >>> _ = record_values(h, np.arange(1, 10_001) * 100)
    >>> d = LatencyDistribution.from_histogram(h)
    >>> draws = percentile_draws(d, 95.0, 500, np.random.default_rng(1))
    >>> bool(930 < np.median(draws) < 970)
    True
    """
    from scipy import stats  # lazily: ~1 s to import, only gates need it

    total = dist.count
    if total == 0:
        return np.full(n_resamples, np.nan)
    share = np.cumsum(dist.counts) / total
    target = int(percentile_targets(np.array([percentile]), total)[0])
    cdf = stats.binom.sf(target - 1, total, np.minimum(share, 1.0))
    cdf[-1] = 1.0
    index = np.searchsorted(cdf, rng.random(n_resamples), side="left")
    return dist.highest_us[np.minimum(index, cdf.size - 1)] / US_PER_MS


def mean_draws(
    dist: LatencyDistribution, n_resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Bootstrap replicates of the mean latency (ms).

    The mean of a resample of n has the observed mean and variance s²/n ([1]_, sec.
    5.2); for the sample sizes of a load test it is normal to a very good approximation
    (central limit theorem), so the replicates are drawn from that normal law.
    """
    total = dist.count
    if total == 0:
        return np.full(n_resamples, np.nan)
    scale = np.sqrt(dist.variance_ms2() / total)
    return rng.normal(dist.mean_ms(), scale, n_resamples)


def metric_draws(
    dist: LatencyDistribution, metric: str, n_resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Replicates of ``metric`` (``pNN`` or ``mean``) of ``dist``, in ms."""
    if metric == "mean":
        return mean_draws(dist, n_resamples, rng)
    if not metric.startswith("p"):
        raise ValueError(f"no bootstrap for {metric!r}; options are pNN, mean")
    return percentile_draws(dist, float(metric[1:]), n_resamples, rng)


@dataclass(frozen=True)
class Interval:
    """A bootstrap estimate of ``candidate - baseline`` and of ``candidate / baseline - 1``."""

    baseline_ms: float
    candidate_ms: float
    difference_ms: float
    low_ms: float
    high_ms: float
    relative: float
    relative_low: float
    relative_high: float
    confidence: float

    @property
    def significant(self) -> bool:
        """The interval of the difference excludes 0."""
        return self.low_ms > 0 or self.high_ms < 0


def difference_interval(
    baseline: LatencyDistribution,
    candidate: LatencyDistribution,
    metric: str,
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    rng: RngLike = DEFAULT_SEED,
) -> Interval:
    """Percentile-method bootstrap interval of a change in ``metric`` between two runs.

    Parameters
    ----------
    baseline, candidate
        The two runs' distributions of one request name (independent samples).
    metric
        ``pNN`` (e.g. ``p95``, ``p99.9``) or ``mean``.
    n_resamples
        Bootstrap replicates per run (B = 2,000 gives stable 95% limits, [1]_ ch. 13).
    confidence
        Two-sided level of the interval.
    rng
        Seed or generator; a fixed default makes a verdict reproducible.

    Returns
    -------
    Interval
        Point estimates from the observed histograms; limits from the replicates.
    """
    generator = as_generator(rng)
    base = metric_draws(baseline, metric, n_resamples, generator)
    cand = metric_draws(candidate, metric, n_resamples, generator)
    alpha = (1.0 - confidence) / 2.0
    quantiles = [alpha, 1.0 - alpha]
    low, high = np.quantile(cand - base, quantiles)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_low, rel_high = np.quantile(cand / base - 1.0, quantiles)
    base_ms, cand_ms = _point(baseline, metric), _point(candidate, metric)
    return Interval(
        baseline_ms=base_ms,
        candidate_ms=cand_ms,
        difference_ms=cand_ms - base_ms,
        low_ms=float(low),
        high_ms=float(high),
        relative=cand_ms / base_ms - 1.0 if base_ms > 0 else float("nan"),
        relative_low=float(rel_low),
        relative_high=float(rel_high),
        confidence=confidence,
    )


def _point(dist: LatencyDistribution, metric: str) -> float:
    return dist.mean_ms() if metric == "mean" else dist.percentile_ms(float(metric[1:]))
