"""Monte Carlo capacity plans: sample uncertain inputs, staff every sample at once.

The inputs of a national plan are ranges (sessions a deadline brings, service times in
production). Each range is drawn independently, uniformly or log-uniformly between its
ends (:func:`sample_ranges`), and every sample is staffed as the central plan is: the
fewest servers meeting every budget at each interval's peak load
(:func:`min_servers_samples`). Two facts make thousands of samples cheap:

* Scale invariance. With a fixed service CV, an M/G/c queue measured in units of its
  mean service time ``s`` depends only on the offered load ``a = lambda s`` and on
  time limits divided by ``s``; one unit-mean distribution serves every sample, and
  the metrics are vectorised over ``(a, limit / s, c)``.
* Bounds before quadrature. A response-time quantile with lognormal service needs a
  quadrature per point (:func:`models.approximations.approx_response_survival`).
  Cutting the service time into equal-probability cells bounds ``P(W + S > t)`` from
  both sides in closed form, within ``P(W > 0) / 64``; only points whose bounds
  straddle the budget are integrated, so the answer is the quadrature's.

The servers of the samples are summarised by percentiles that are themselves sample
values (the inverted empirical CDF), so a P90 is a number of servers some sample needed.

References
----------
.. [1] Morgan, M. G. & Henrion, M. (1990). *Uncertainty: A Guide to Dealing with
   Uncertainty in Quantitative Risk and Policy Analysis*. Cambridge University
   Press, ch. 8 (Monte Carlo propagation of input ranges).
.. [2] Whitt, W. (1993). Approximations for the GI/G/m queue. *Production and
   Operations Management* 2(2), 114-161.
.. [3] Jennings, O. B., Mandelbaum, A., Massey, W. A. & Whitt, W. (1996). Server
   staffing to meet time-varying demand. *Management Science* 42(10), 1383-1394.
.. [4] Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages.
   *The American Statistician* 50(4), 361-365 (definition 1, the inverted CDF).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from models._rng import RngLike, as_generator
from models.approximations import _service_quantile, _wait_mixture, approx_response_survival
from models.distributions import Lognormal, ServiceTimeDistribution
from models.errors import ModelError
from models.sizing import TierBudget, service_distribution

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
RANGE_KINDS = ("uniform", "loguniform")
TIME_BUDGETS = ("response_quantile", "wait_quantile", "mean_wait")
CELLS = 64  # equal-probability cells of the service time for the bounds
CHUNK = 32_768  # points bounded at once (memory: CHUNK x CELLS floats)


@dataclass(frozen=True)
class Uniform:
    """Uniform on ``[low, high]``: an input known to lie in a range.

    >>> Uniform(low=5000.0, high=6000.0).median
    5500.0
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, positive=False)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    median = mean

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def ppf(self, u: ArrayLike) -> FloatArray:
        """Quantile function at probabilities ``u`` in [0, 1]."""
        return self.low + (self.high - self.low) * np.asarray(u, dtype=np.float64)

    def sample(self, size: int | None = None, rng: RngLike = None) -> FloatArray:
        return self.ppf(as_generator(rng).random(size))


@dataclass(frozen=True)
class LogUniform:
    """Log-uniform on ``[low, high]``, ``0 < low``: an input known to a factor.

    >>> round(LogUniform(low=2.0, high=8.0).median, 6)
    4.0
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, positive=True)

    @property
    def median(self) -> float:
        return math.sqrt(self.low * self.high)

    @property
    def mean(self) -> float:
        return (self.high - self.low) / math.log(self.high / self.low)

    @property
    def variance(self) -> float:
        return (self.high**2 - self.low**2) / (2 * math.log(self.high / self.low)) - self.mean**2

    def ppf(self, u: ArrayLike) -> FloatArray:
        """Quantile function at probabilities ``u`` in [0, 1]."""
        return self.low * (self.high / self.low) ** np.asarray(u, dtype=np.float64)

    def sample(self, size: int | None = None, rng: RngLike = None) -> FloatArray:
        return self.ppf(as_generator(rng).random(size))


InputRange = Uniform | LogUniform


def input_range(kind: str, low: float, high: float) -> InputRange:
    """The distribution named ``kind`` (``'uniform'`` or ``'loguniform'``) on ``[low, high]``."""
    if kind == "uniform":
        return Uniform(low, high)
    if kind == "loguniform":
        return LogUniform(low, high)
    raise ModelError(f"unknown range kind {kind!r}; options are {', '.join(RANGE_KINDS)}")


def sample_ranges(ranges: Sequence[InputRange], size: int, rng: RngLike = None) -> FloatArray:
    """``size`` independent draws of each range, one row per range, from one stream.

    Row ``i`` uses the generator's draws ``i * size`` to ``(i + 1) * size - 1``, so
    appending a range leaves the earlier rows unchanged for the same seed.

    Examples
    --------
    >>> x = sample_ranges([Uniform(0.0, 1.0), LogUniform(1.0, 100.0)], 4, rng=7)
    >>> x.shape, bool(np.all((x[1] >= 1) & (x[1] <= 100)))
    ((2, 4), True)
    """
    if size < 1:
        raise ModelError(f"size must be >= 1, got {size!r}")
    u = as_generator(rng).random((len(ranges), size))
    return np.array([r.ppf(row) for r, row in zip(ranges, u, strict=True)]).reshape(
        len(ranges), size
    )


def sample_percentiles(values: ArrayLike, q: Sequence[float] = (0.5, 0.9)) -> IntArray:
    """Percentiles over axis 0 that are sample values (inverted CDF, Hyndman & Fan def. 1).

    >>> sample_percentiles([[3], [1], [2], [4]], (0.5, 0.9)).tolist()
    [[2], [4]]
    """
    arr = np.asarray(values)
    return np.quantile(arr, list(q), axis=0, method="inverted_cdf").astype(np.int64)


# -- staffing many samples at once ---------------------------------------------------------
def min_servers_samples(
    arrival_rate: ArrayLike,
    service_mean_s: ArrayLike,
    service_cv: float,
    budgets: Sequence[TierBudget],
    *,
    max_servers: int = 10_000_000,
) -> IntArray:
    """The fewest servers meeting every budget, for each (arrival rate, service mean).

    Equal to ``max(min_servers(rate, service_distribution(mean, cv), b) for b in
    budgets)`` element by element (:func:`models.sizing.min_servers`), but vectorised
    over the service mean too, by scale invariance (module docstring).

    Parameters
    ----------
    arrival_rate : array_like
        Requests per second (1/s), >= 0.
    service_mean_s : array_like
        Mean service time (s), > 0; broadcast against ``arrival_rate``.
    service_cv : float
        Coefficient of variation of the service time, the same for every element.
    budgets : sequence of TierBudget
        Every one must hold (their ``tier`` is ignored).
    max_servers : int
        Search limit, as for :func:`models.sizing.min_servers`.

    Returns
    -------
    ndarray of int
        0 where the arrival rate is 0.

    Examples
    --------
    >>> b = [TierBudget("prob_wait", 0.2), TierBudget("response_quantile", 0.25, quantile=0.95)]
    >>> min_servers_samples([160.0, 320.0], [0.05, 0.05], 1.0, b).tolist()
    [12, 21]
    """
    lam, mean = np.broadcast_arrays(
        np.asarray(arrival_rate, dtype=np.float64), np.asarray(service_mean_s, dtype=np.float64)
    )
    if np.any(~np.isfinite(lam) | (lam < 0)) or np.any(~np.isfinite(mean) | (mean <= 0)):
        raise ModelError("arrival rates must be finite and >= 0 and service means finite and > 0")
    if not budgets:
        raise ModelError("need at least one budget")
    unit = service_distribution(1.0, service_cv)
    a = (lam * mean).ravel()
    _check_feasible(budgets, unit, mean.ravel())
    c = np.zeros(a.shape)
    for budget in sorted(budgets, key=lambda b: _is_costly(b, unit)):
        meets = _meets_at(a, _scaled_limit(budget, mean.ravel()), unit, budget)
        c = np.maximum(c, _search(a, c, budget, meets, max_servers))
    return np.where(a == 0, 0, c).astype(np.int64).reshape(lam.shape)


def _check_feasible(
    budgets: Sequence[TierBudget], unit: ServiceTimeDistribution, mean: FloatArray
) -> None:
    """Refuse a response-time budget below the service time's own quantile (no c meets it)."""
    for b in budgets:
        if b.kind == "response_quantile":
            floor = float(_service_quantile(unit, np.asarray(_quantile(b)))) * mean.max()
            if b.value < floor:
                raise ModelError(
                    f"budget {b!r} cannot be met by any number of servers: the service time"
                    f" alone has a p{_quantile(b) * 100:g} of {floor:.4g} s"
                )


def _meets_at(
    a: FloatArray, limit: FloatArray, unit: ServiceTimeDistribution, budget: TierBudget
) -> Callable[[IntArray, FloatArray], BoolArray]:
    """``meets(idx, c)``: whether ``c`` servers meet ``budget`` for the elements ``idx``."""

    def meets(idx: IntArray, servers: FloatArray) -> BoolArray:
        return _meets(a[idx], servers, limit[idx], unit, budget)

    return meets


def _is_costly(budget: TierBudget, unit: ServiceTimeDistribution) -> bool:
    return budget.kind == "response_quantile" and isinstance(unit, Lognormal)


def _scaled_limit(budget: TierBudget, mean: FloatArray) -> FloatArray:
    """The budget's value in units of each element's mean service time (or as it is)."""
    return budget.value / mean if budget.kind in TIME_BUDGETS else np.full(mean.shape, budget.value)


def _search(
    a: FloatArray,
    current: FloatArray,
    budget: TierBudget,
    meets: Callable[[IntArray, FloatArray], BoolArray],
    max_servers: int,
) -> FloatArray:
    """Smallest ``c`` meeting ``budget`` where it is above ``current``; else ``current``."""
    lo = np.floor(a)  # invariant: lo servers do not meet the budget (unstable or too busy)
    if budget.kind == "max_utilization":
        lo = np.maximum(lo, np.ceil(a / budget.value) - 1)
    use_current = (current > lo) & (a > 0)
    settled = a == 0
    check = np.flatnonzero(use_current)
    settled[check] = meets(check, current[check])
    lo = np.where(use_current, current, lo)  # where current fails, it is the new lower end
    out = current.copy()
    todo = np.flatnonzero(~settled)
    if todo.size == 0:
        return out
    lo_t = lo[todo]
    gap = np.ceil(np.sqrt(a[todo])) + 1
    hi_t = lo_t + gap
    good = meets(todo, hi_t)
    while not np.all(good):
        if np.any(hi_t[~good] > max_servers):
            raise ModelError(
                f"budget {budget!r} cannot be met with at most {max_servers} servers at an"
                f" offered load of {float(a[todo][~good][0])!r} erlangs"
            )
        bad = np.flatnonzero(~good)
        lo_t[bad] = hi_t[bad]
        gap[bad] *= 2
        hi_t[bad] = lo_t[bad] + gap[bad]
        good[bad] = meets(todo[bad], hi_t[bad])
    while np.any(active := hi_t - lo_t > 1):
        idx = np.flatnonzero(active)
        mid = np.floor((lo_t[idx] + hi_t[idx]) / 2)
        ok = meets(todo[idx], mid)
        hi_t[idx] = np.where(ok, mid, hi_t[idx])
        lo_t[idx] = np.where(ok, lo_t[idx], mid)
    out[todo] = hi_t
    return out


def _meets(
    a: FloatArray,
    c: FloatArray,
    limit: FloatArray,
    unit: ServiceTimeDistribution,
    budget: TierBudget,
) -> BoolArray:
    """Whether ``c`` servers meet ``budget`` at offered load ``a`` (unit-mean service)."""
    out = np.zeros(a.shape, dtype=bool)
    ok = a < c
    if not np.any(ok):
        return out
    a_s, c_s, v = a[ok], c[ok], limit[ok]
    if budget.kind == "max_utilization":
        out[ok] = a_s / c_s <= v
        return out
    cq, m = _wait_mixture(a_s, unit, c_s, 1.0, "whitt")
    if budget.kind == "prob_wait":
        res = cq <= v
    elif budget.kind == "mean_wait":
        res = cq * m <= v
    elif budget.kind == "wait_quantile":
        res = _wait_tail(cq, m, v) <= 1 - _quantile(budget)
    else:
        res = _response_meets(a_s, c_s, v, (cq, m), unit, target=1 - _quantile(budget))
    out[ok] = res
    return out


def _quantile(budget: TierBudget) -> float:
    if budget.quantile is None:  # TierBudget guarantees it for the quantile kinds
        raise ModelError(f"{budget.kind} budget needs a quantile")
    return budget.quantile


def _wait_tail(cq: FloatArray, m: FloatArray, t: FloatArray) -> FloatArray:
    """``P(W > t) = C exp(-t / m)`` for the wait of :mod:`models.approximations`."""
    with np.errstate(divide="ignore", over="ignore"):
        tail = cq * np.exp(-t / np.where(m > 0, m, 1.0))
    return np.where(m > 0, tail, 0.0)


def _response_meets(
    a: FloatArray,
    c: FloatArray,
    t: FloatArray,
    wait: tuple[FloatArray, FloatArray],
    unit: ServiceTimeDistribution,
    *,
    target: float,
) -> BoolArray:
    """``P(W + S > t) <= target``: closed-form bounds first, the quadrature between them."""
    cq, m = wait
    if not isinstance(unit, Lognormal):
        surv = np.asarray(approx_response_survival(t, a, unit, c))
        return surv <= target
    bounds = [  # in chunks: CELLS + 1 values per point
        _partition_bounds(unit, t[k : k + CHUNK], cq[k : k + CHUNK], m[k : k + CHUNK])
        for k in range(0, t.size, CHUNK)
    ]
    low = np.concatenate([b[0] for b in bounds]) if bounds else t
    high = np.concatenate([b[1] for b in bounds]) if bounds else t
    res = high <= target
    unsure = np.flatnonzero(~res & (low <= target))
    if unsure.size:  # between the bounds: the quadrature decides
        exact = np.asarray(approx_response_survival(t[unsure], a[unsure], unit, c[unsure]))
        res[unsure] = exact <= target
    return res


def _partition_bounds(
    service: Lognormal, t: FloatArray, cq: FloatArray, m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds on ``P(W + S > t)`` that differ by at most ``C / CELLS``.

    ``P(W + S > t) = P(S > t) + int_0^t P(W > t - s) dF(s)``; cutting ``[0, t]`` at the
    quantiles ``s_j`` of ``S`` into ``CELLS`` cells of probability ``F(t) / CELLS`` each,
    and using that ``P(W > t - s)`` increases with ``s``, the integral lies between the
    sums over the cells of their left and right ends; the two sums telescope to a gap of
    ``F(t) / CELLS * (C - P(W > t)) <= C / CELLS``.
    """
    z_t = (np.log(t) - service.mu) / service.sigma
    f_t = special.ndtr(z_t)[:, None]
    probs = f_t * np.linspace(0.0, 1.0, CELLS + 1)
    with np.errstate(divide="ignore"):
        s_j = np.exp(service.mu + service.sigma * special.ndtri(probs))
    s_j[:, -1] = t  # exactly t at the right end (P(W > 0) = C there)
    w = _wait_tail(cq[:, None], m[:, None], t[:, None] - s_j)
    w[:, -1] = cq
    cell = f_t[:, 0] / CELLS
    tail = special.ndtr(-z_t)
    return tail + cell * w[:, :-1].sum(axis=1), tail + cell * w[:, 1:].sum(axis=1)


def _check_range(low: float, high: float, *, positive: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ModelError(f"a range needs finite low < high, got low={low!r}, high={high!r}")
    if positive and low <= 0:
        raise ModelError(f"a log-uniform range needs low > 0, got {low!r}")
