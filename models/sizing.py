"""Sizing: the fewest servers that meet a latency or waiting budget, vectorised.

Budgets read like k6 thresholds: ``TierBudget("response_quantile", 2.0, quantile=0.95)``
is "p95 response time <= 2 s". For exponential service the metrics are the exact
M/M/c ones; otherwise the M/G/c approximations of :mod:`models.approximations`
(Whitt 1993 for the mean wait, the Erlang C atom plus exponential tail for
quantiles) are used. Every metric is monotone in the number of servers, so a
vectorised bisection finds the smallest number that meets the budget.

References
----------
.. [1] Halfin, S. & Whitt, W. (1981). Heavy-traffic limits for queues with many
   exponential servers. *Operations Research* 29(3), 567-588.
.. [2] Borst, S., Mandelbaum, A. & Reiman, M. I. (2004). Dimensioning large call
   centers. *Operations Research* 52(1), 17-34 (square-root staffing).
.. [3] Whitt, W. (1993). Approximations for the GI/G/m queue. *Production and
   Operations Management* 2(2), 114-161.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from models.approximations import _service_survival, _wait_mixture, approx_response_survival
from models.distributions import Deterministic, Exponential, Lognormal, ServiceTimeDistribution
from models.errors import ModelError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BUDGET_KINDS = ("response_quantile", "wait_quantile", "prob_wait", "mean_wait", "max_utilization")


@dataclass(frozen=True)
class TierBudget:
    """A service-level budget one tier must meet.

    Parameters
    ----------
    kind : {'response_quantile', 'wait_quantile', 'prob_wait', 'mean_wait', 'max_utilization'}
        ``response_quantile``/``wait_quantile``: the ``quantile`` of the response
        time / wait must be <= ``value`` seconds; ``prob_wait``: ``P(W > 0) <= value``;
        ``mean_wait``: ``E[W] <= value`` seconds; ``max_utilization``: ``rho <= value``.
    value : float
        The limit (seconds, a probability, or a utilisation).
    quantile : float, optional
        Required for the two quantile kinds, e.g. 0.95 for p95.
    tier : str, optional
        Apply the budget to this tier only; every tier when None.

    Examples
    --------
    >>> TierBudget("response_quantile", 2.0, quantile=0.95)
    TierBudget(kind='response_quantile', value=2.0, quantile=0.95, tier=None)
    """

    kind: str
    value: float
    quantile: float | None = None
    tier: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in BUDGET_KINDS:
            raise ModelError(
                f"unknown budget kind {self.kind!r}; options are {', '.join(BUDGET_KINDS)}"
            )
        if not (math.isfinite(self.value) and self.value > 0):
            raise ModelError(f"budget value must be a finite number > 0, got {self.value!r}")
        needs_q = self.kind in ("response_quantile", "wait_quantile")
        if needs_q and (self.quantile is None or not 0 < self.quantile < 1):
            raise ModelError(f"{self.kind} budget needs quantile in (0, 1), got {self.quantile!r}")
        if not needs_q and self.quantile is not None:
            raise ModelError(f"{self.kind} budget takes no quantile, got {self.quantile!r}")
        if self.kind in ("prob_wait", "max_utilization") and self.value > 1:
            raise ModelError(f"{self.kind} budget must be <= 1, got {self.value!r}")


def service_distribution(mean_s: float, cv: float) -> ServiceTimeDistribution:
    """Exponential for CV 1, deterministic for CV 0, lognormal otherwise."""
    if cv == 1:
        return Exponential(mean=mean_s)
    if cv == 0:
        return Deterministic(mean=mean_s)
    return Lognormal(mean=mean_s, cv=cv)


def meets_budget(
    arrival_rate: ArrayLike,
    service: ServiceTimeDistribution,
    servers: ArrayLike,
    budget: TierBudget,
) -> NDArray[np.bool_]:
    """Whether ``servers`` meet ``budget`` at ``arrival_rate`` (1/s), elementwise.

    Unstable combinations (``rho >= 1``) never meet a budget.
    """
    lam, c = np.broadcast_arrays(
        np.asarray(arrival_rate, dtype=np.float64), np.asarray(servers, dtype=np.float64)
    )
    ok = lam * service.mean < c
    out = np.zeros(lam.shape, dtype=bool)
    if not np.any(ok):
        return out
    lam_s, c_s = lam[ok], c[ok]
    if budget.kind == "max_utilization":
        res = lam_s * service.mean / c_s <= budget.value
    elif budget.kind == "response_quantile":
        assert budget.quantile is not None
        surv = np.asarray(approx_response_survival(budget.value, lam_s, service, c_s))
        res = surv <= 1 - budget.quantile
    else:
        cq, m = _wait_mixture(lam_s, service, c_s, 1.0, "whitt")
        if budget.kind == "prob_wait":
            res = cq <= budget.value
        elif budget.kind == "mean_wait":
            res = cq * m <= budget.value
        else:  # wait_quantile: P(W > v) = C exp(-v/m)
            assert budget.quantile is not None
            with np.errstate(divide="ignore", over="ignore"):
                tail = cq * np.exp(-budget.value / np.where(m > 0, m, 1.0))
            res = np.where(m > 0, tail, 0.0) <= 1 - budget.quantile
    out[ok] = res
    return out


def min_servers(
    arrival_rate: ArrayLike,
    service: ServiceTimeDistribution,
    budget: TierBudget,
    *,
    max_servers: int = 10_000_000,
) -> IntArray:
    """The smallest number of servers meeting ``budget``, for each arrival rate.

    Parameters
    ----------
    arrival_rate : float or array_like
        Arrival rate (1/s), >= 0.
    service : ServiceTimeDistribution
        Service-time distribution (s).
    budget : TierBudget
    max_servers : int
        Search limit; a :class:`ModelError` names budgets not met below it (e.g. a
        p95 below the service time's own p95, which no number of servers can meet).

    Returns
    -------
    ndarray of int
        At least 1 server per element (0 where the arrival rate is 0).

    Examples
    --------
    >>> int(min_servers(90.0, Exponential(mean=1.0), TierBudget("prob_wait", 0.2)))
    101
    """
    lam = np.asarray(arrival_rate, dtype=np.float64)
    if np.any(~np.isfinite(lam) | (lam < 0)):
        raise ModelError(f"arrival rates must be finite and >= 0, got {arrival_rate!r}")
    if budget.kind == "response_quantile":
        assert budget.quantile is not None
        floor = float(_service_survival(service, budget.value))
        if floor > 1 - budget.quantile:
            raise ModelError(
                f"budget {budget!r} cannot be met by any number of servers: the service time"
                f" alone exceeds {budget.value!r} s with probability {floor:.4g}"
            )
    a = lam * service.mean
    lo = np.floor(a)  # invariant: lo servers do not meet the budget (unstable)
    if budget.kind == "max_utilization":
        lo = np.maximum(lo, np.ceil(a / budget.value) - 1)
    lo = np.maximum(lo, 0.0)
    gap = np.ceil(np.sqrt(a)) + 1
    hi = lo + gap
    for _ in range(64):
        good = meets_budget(lam, service, hi, budget) | (lam == 0)
        if np.all(good):
            break
        lo = np.where(good, lo, hi)
        gap = gap * 2
        hi = np.where(good, hi, lo + gap)
        if np.any(hi > max_servers):
            bad = float(lam[(hi > max_servers) & ~good].flat[0]) if lam.ndim else float(lam)
            raise ModelError(
                f"budget {budget!r} cannot be met with at most {max_servers} servers at"
                f" arrival rate {bad!r}/s (service mean {service.mean!r} s)"
            )
    while np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2)
        good = meets_budget(lam, service, mid, budget) | (lam == 0)
        active = hi - lo > 1
        hi = np.where(active & good, mid, hi)
        lo = np.where(active & ~good, mid, lo)
    return np.where(lam == 0, 0, hi).astype(np.int64)


def halfin_whitt_beta(target_prob_wait: float) -> float:
    """The ``beta`` with ``[1 + beta Phi(beta) / phi(beta)]^-1 = target`` (Halfin & Whitt 1981).

    Examples
    --------
    >>> round(halfin_whitt_beta(0.2), 4)
    1.0615
    """
    if not 0 < target_prob_wait < 1:
        raise ModelError(
            f"target probability of waiting must be in (0, 1), got {target_prob_wait!r}"
        )

    def gap(beta: float) -> float:
        ratio = special.ndtr(beta) * math.sqrt(2 * math.pi) * math.exp(beta * beta / 2)
        return 1.0 / (1.0 + beta * ratio) - target_prob_wait

    if gap(10.0) > 0:  # target below ~1e-23
        raise ModelError(f"target probability of waiting {target_prob_wait!r} is too small")
    return float(optimize.brentq(gap, 0.0, 10.0, xtol=1e-14))


def square_root_staffing(offered_load: ArrayLike, target_prob_wait: float) -> IntArray:
    """Square-root staffing ``c = ceil(a + beta sqrt(a))`` for ``P(W > 0) ~ target``.

    A cross-check for :func:`min_servers` (exact Erlang C): for large loads the two
    agree within a server or two (Borst, Mandelbaum & Reiman 2004).

    Examples
    --------
    >>> int(square_root_staffing(5000.0, 0.2))
    5076
    """
    a = np.asarray(offered_load, dtype=np.float64)
    beta = halfin_whitt_beta(target_prob_wait)
    return np.ceil(a + beta * np.sqrt(a)).astype(np.int64)
