"""Comparing a run with a baseline run: which changes are real and which are noise.

For every request name in both runs (and for all requests together, and for each
journey) the comparison gives the change in p50, p95 and p99 with a bootstrap
confidence interval (:mod:`analysis.bootstrap`), and the change in error rate with
Newcombe's hybrid score interval [1]_. A change is *real* when its interval excludes
0 **and** it is at least a practical threshold (5% for latency, 0.1 percentage point
for the error rate, by default): with thousands of requests a 1% shift can be
statistically significant yet not matter, and under load requests are not
independent, which makes intervals somewhat too narrow (see :mod:`analysis.bootstrap`).

References
----------
.. [1] R. G. Newcombe, "Interval estimation for the difference between independent
   proportions: comparison of eleven methods", *Statistics in Medicine* 17 (1998),
   873-890 (method 10).
.. [2] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman &
   Hall, 1993.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.bootstrap import CONFIDENCE, DEFAULT_SEED, N_RESAMPLES, difference_interval
from analysis.distribution import LatencyDistribution, merge
from analysis.runfolder import RunFolder
from models._rng import RngLike, as_generator

COMPARED_PERCENTILES = ("p50", "p95", "p99")
LATENCY_THRESHOLD = 0.05  # relative change
ERROR_RATE_THRESHOLD = 0.001  # absolute change of the failure share (0.1 percentage point)
TOTAL = "total"


@dataclass(frozen=True)
class Change:
    """One metric of one request name: baseline, candidate and the interval of the change.

    ``difference``, ``low`` and ``high`` are in ms for latencies and in shares for the
    error rate. ``relative`` is ``candidate / baseline - 1`` (NaN from a zero baseline).
    """

    metric: str
    baseline: float
    candidate: float
    difference: float
    low: float
    high: float
    relative: float
    real: bool

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """``regression``, ``improvement`` or ``noise``."""
        if not self.real:
            return "noise"
        return "regression" if self.difference > 0 else "improvement"

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "baseline": _finite(self.baseline),
            "candidate": _finite(self.candidate),
            "difference": _finite(self.difference),
            "ci_low": _finite(self.low),
            "ci_high": _finite(self.high),
            "relative": _finite(self.relative),
            "significant": self.significant,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class KeyComparison:
    """All compared metrics of one request name, journey or the total."""

    key: str
    kind: str  # "endpoint", "journey", "total"
    baseline_count: int
    candidate_count: int
    changes: tuple[Change, ...]

    @property
    def regressed(self) -> bool:
        return any(c.verdict == "regression" for c in self.changes)

    def change(self, metric: str) -> Change:
        return next(c for c in self.changes if c.metric == metric)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "baseline_count": self.baseline_count,
            "candidate_count": self.candidate_count,
            "regressed": self.regressed,
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class Comparison:
    """A run against its baseline."""

    baseline: str
    candidate: str
    rows: tuple[KeyComparison, ...]
    only_in_baseline: tuple[str, ...]
    only_in_candidate: tuple[str, ...]
    confidence: float
    latency_threshold: float

    def row(self, key: str) -> KeyComparison:
        return next(r for r in self.rows if r.key == key)

    @property
    def regressions(self) -> tuple[KeyComparison, ...]:
        return tuple(r for r in self.rows if r.regressed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "confidence": self.confidence,
            "latency_threshold": self.latency_threshold,
            "error_rate_threshold": ERROR_RATE_THRESHOLD,
            "method": "bootstrap of the histograms (percentile interval, Efron & Tibshirani "
            "1993); error rate: Newcombe 1998 hybrid score interval",
            "rows": [r.as_dict() for r in self.rows],
            "only_in_baseline": list(self.only_in_baseline),
            "only_in_candidate": list(self.only_in_candidate),
        }


def compare_runs(
    baseline: RunFolder,
    candidate: RunFolder,
    *,
    latency_threshold: float = LATENCY_THRESHOLD,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    rng: RngLike = DEFAULT_SEED,
) -> Comparison:
    """Compare every request name, every journey and the total of two runs."""
    generator = as_generator(rng)
    pairs = _pairs(baseline, candidate)
    rows = tuple(
        compare_distributions(
            key,
            kind,
            base,
            cand,
            latency_threshold=latency_threshold,
            confidence=confidence,
            n_resamples=n_resamples,
            rng=generator,
        )
        for key, kind, base, cand in pairs
    )
    base_names, cand_names = set(baseline.endpoints), set(candidate.endpoints)
    return Comparison(
        baseline=str(baseline.path),
        candidate=str(candidate.path),
        rows=rows,
        only_in_baseline=tuple(sorted(base_names - cand_names)),
        only_in_candidate=tuple(sorted(cand_names - base_names)),
        confidence=confidence,
        latency_threshold=latency_threshold,
    )


def _pairs(
    baseline: RunFolder, candidate: RunFolder
) -> list[tuple[str, str, LatencyDistribution, LatencyDistribution]]:
    pairs = [
        (TOTAL, "total", merge(baseline.endpoints.values()), merge(candidate.endpoints.values()))
    ]
    for kind, base_map, cand_map in (
        ("endpoint", baseline.endpoints, candidate.endpoints),
        ("journey", baseline.journeys, candidate.journeys),
    ):
        for key in sorted(set(base_map) & set(cand_map)):
            label = key if kind == "endpoint" else f"journey:{key}"
            pairs.append((label, kind, base_map[key], cand_map[key]))
    return pairs


def compare_distributions(
    key: str,
    kind: str,
    baseline: LatencyDistribution,
    candidate: LatencyDistribution,
    *,
    latency_threshold: float = LATENCY_THRESHOLD,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    rng: RngLike = DEFAULT_SEED,
) -> KeyComparison:
    """p50, p95, p99 and error-rate changes of one key."""
    generator = as_generator(rng)
    changes = [
        latency_change(
            baseline,
            candidate,
            metric,
            threshold=latency_threshold,
            confidence=confidence,
            n_resamples=n_resamples,
            rng=generator,
        )
        for metric in COMPARED_PERCENTILES
    ]
    changes.append(error_rate_change(baseline, candidate, confidence=confidence))
    return KeyComparison(key, kind, baseline.count, candidate.count, tuple(changes))


def latency_change(
    baseline: LatencyDistribution,
    candidate: LatencyDistribution,
    metric: str,
    *,
    threshold: float = LATENCY_THRESHOLD,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    rng: RngLike = DEFAULT_SEED,
) -> Change:
    """The change in a percentile or the mean; real when significant and ≥ ``threshold``."""
    if baseline.count == 0 or candidate.count == 0:
        nan = float("nan")
        return Change(metric, nan, nan, nan, nan, nan, nan, False)
    interval = difference_interval(
        baseline, candidate, metric, n_resamples=n_resamples, confidence=confidence, rng=rng
    )
    real = interval.significant and abs(interval.relative) >= threshold
    return Change(
        metric,
        interval.baseline_ms,
        interval.candidate_ms,
        interval.difference_ms,
        interval.low_ms,
        interval.high_ms,
        interval.relative,
        bool(real),
    )


def error_rate_change(
    baseline: LatencyDistribution,
    candidate: LatencyDistribution,
    *,
    confidence: float = CONFIDENCE,
    threshold: float = ERROR_RATE_THRESHOLD,
) -> Change:
    """The change in the failure share, with Newcombe's hybrid score interval [1]_.

    >>> from analysis.distribution import LatencyDistribution
    >>> import numpy as np
    >>> one = np.array([1], dtype=np.int64)
    >>> a = LatencyDistribution(np.array([1000]), one, one, failures=10)
    >>> b = LatencyDistribution(np.array([1000]), one, one, failures=40)
    >>> c = error_rate_change(a, b)
    >>> round(c.difference, 3), c.verdict
    (0.03, 'regression')
    """
    n1, n2 = baseline.count, candidate.count
    if n1 == 0 or n2 == 0:
        nan = float("nan")
        return Change("error_rate", nan, nan, nan, nan, nan, nan, False)
    p1, p2 = baseline.failures / n1, candidate.failures / n2
    low, high = newcombe_interval(baseline.failures, n1, candidate.failures, n2, confidence)
    difference = p2 - p1
    real = (low > 0 or high < 0) and abs(difference) >= threshold
    relative = p2 / p1 - 1.0 if p1 > 0 else float("nan")
    return Change("error_rate", p1, p2, difference, low, high, relative, bool(real))


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Interval of ``x2/n2 - x1/n1`` from two Wilson score intervals (Newcombe method 10)."""
    from scipy import stats  # lazily: ~1 s to import, only gates need it

    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p2 - p1
    low = difference - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = difference + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return low, high


def wilson_interval(x: int, n: int, z: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion x/n."""
    p = x / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(centre - half, 0.0), min(centre + half, 1.0)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def comparison_lookup(comparison: Comparison | None) -> Mapping[str, KeyComparison]:
    """Rows by key (empty without a comparison)."""
    return {} if comparison is None else {r.key: r for r in comparison.rows}
