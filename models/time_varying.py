"""Time-varying arrivals for deadline peaks: the infinite-server offered load and
staffing schedules by the pointwise stationary approximation (PSA) and the
modified offered load (MOL).

The offered load of the M(t)/G/infinity model is the mean number of busy servers
when every arrival is served at once,

``m(t) = int_{-inf}^{t} lambda(u) P(S > t - u) du = E[lambda(t - S_e)] E[S]``,

(``S_e`` the stationary-excess of the service time), which lags and smooths the
arrival rate. MOL staffs at time t as a stationary queue with offered load
``m(t)``; PSA uses ``lambda(t) E[S]``, which ignores the lag and so under-staffs
just after a steep rise (a deadline surge) and over-staffs as it decays.

References
----------
.. [1] Eick, S. G., Massey, W. A. & Whitt, W. (1993). The physics of the
   M_t/G/infinity queue. *Operations Research* 41(4), 731-742 (Theorem 1; linear
   and sinusoidal rates, §§3-4).
.. [2] Jennings, O. B., Mandelbaum, A., Massey, W. A. & Whitt, W. (1996). Server
   staffing to meet time-varying demand. *Management Science* 42(10), 1383-1394
   (MOL and PSA).
.. [3] Green, L. V., Kolesar, P. J. & Whitt, W. (2007). Coping with time-varying
   demand when setting staffing requirements for a service system. *Production
   and Operations Management* 16(1), 13-39.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from models.distributions import Deterministic, Exponential, Lognormal, ServiceTimeDistribution
from models.errors import ModelError
from models.sizing import TierBudget, min_servers

FloatArray = NDArray[np.float64]
STAFFING_METHODS = ("mol", "psa")


def offered_load(
    times_s: ArrayLike,
    arrival_rate_per_s: ArrayLike,
    service: ServiceTimeDistribution,
    *,
    eval_times_s: ArrayLike | None = None,
) -> FloatArray:
    """Offered load ``m(t)`` of the M(t)/G/infinity model, exact for a piecewise-linear rate.

    The arrival rate is linear between the given points and constant (at the first
    and last values) before and after them, so the system is in steady state at the
    start. Each linear piece contributes
    ``int (alpha + beta v) P(S > v) dv = alpha G1 + beta G2`` with the closed forms
    ``G1(x) = E[min(S, x)]`` and ``G2(x) = E[min(S, x)**2] / 2`` of the service
    distribution: there is no discretisation error. Cost O(len(eval) * len(times)).

    Parameters
    ----------
    times_s : array_like
        Increasing times (s) at which the arrival rate is given.
    arrival_rate_per_s : array_like
        Arrival rate at those times (1/s), >= 0.
    service : ServiceTimeDistribution
        Service-time distribution (s): exponential, lognormal or deterministic.
    eval_times_s : array_like, optional
        Where to evaluate ``m``; ``times_s`` by default.

    Returns
    -------
    ndarray
        Offered load (erlangs) at ``eval_times_s``.

    References
    ----------
    Eick, Massey & Whitt (1993), Theorem 1.

    Examples
    --------
    >>> from models.distributions import Exponential
    >>> m = offered_load([0, 3600], [10.0, 10.0], Exponential(mean=2.0))
    >>> m.tolist()
    [20.0, 20.0]
    """
    u, lam = _check_profile(times_s, arrival_rate_per_s)
    t = u if eval_times_s is None else np.asarray(eval_times_s, dtype=np.float64)
    out = np.empty(t.shape)
    flat_t = t.ravel()
    for start in range(0, flat_t.size, 2048):  # bound memory: 2048 x pieces at a time
        out.flat[start : start + 2048] = _offered_load_at(
            flat_t[start : start + 2048], u, lam, service
        )
    return out


def _offered_load_at(
    t: FloatArray, u: FloatArray, lam: FloatArray, service: ServiceTimeDistribution
) -> FloatArray:
    tt = t[:, None]
    # Linear pieces [u_i, u_{i+1}] mapped to v = t - u in [t - u_{i+1}, t - u_i], clipped at 0.
    slope = np.diff(lam) / np.diff(u)
    v_hi = np.clip(tt - u[:-1], 0.0, None)
    v_lo = np.clip(tt - u[1:], 0.0, None)
    alpha = lam[:-1] + slope * (tt - u[:-1])
    beta = -slope
    g1 = _g1(v_hi, service) - _g1(v_lo, service)
    g2 = _g2(v_hi, service) - _g2(v_lo, service)
    pieces = (alpha * g1 + beta * g2).sum(axis=1)
    # Constant tail before u_0 (v > t - u_0) and head after u_last (v < t - u_last).
    v0 = np.clip(t - u[0], 0.0, None)
    tail = lam[0] * (service.mean - _g1(v0, service))
    head = lam[-1] * _g1(np.clip(t - u[-1], 0.0, None), service)
    # A load is >= 0; where the rate has been 0 for long, the differences above cancel
    # to rounding (-1e-16 for a lognormal), which min_servers would refuse.
    return np.maximum(pieces + tail + head, 0.0)


def _g1(x: FloatArray, service: ServiceTimeDistribution) -> FloatArray:
    """``E[min(S, x)] = int_0^x P(S > v) dv``."""
    if isinstance(service, Exponential):
        return -service.mean * np.expm1(-x / service.mean)
    if isinstance(service, Deterministic):
        return np.minimum(x, service.mean)
    if isinstance(service, Lognormal):
        mu, s = service.mu, service.sigma
        with np.errstate(divide="ignore"):
            lx = np.log(x)
        part = service.mean * special.ndtr((lx - mu - s * s) / s)
        return part + x * special.ndtr(-(lx - mu) / s)
    raise ModelError(f"service distribution {service!r} is not supported")


def _g2(x: FloatArray, service: ServiceTimeDistribution) -> FloatArray:
    """``int_0^x v P(S > v) dv = E[min(S, x)**2] / 2``."""
    if isinstance(service, Exponential):
        m = service.mean
        r = x / m
        return m * m * (-np.expm1(-r) - r * np.exp(-r))
    if isinstance(service, Deterministic):
        return np.minimum(x, service.mean) ** 2 / 2
    if isinstance(service, Lognormal):
        mu, s = service.mu, service.sigma
        with np.errstate(divide="ignore"):
            lx = np.log(x)
        second = np.exp(2 * mu + 2 * s * s) * special.ndtr((lx - mu - 2 * s * s) / s)
        return (second + x * x * special.ndtr(-(lx - mu) / s)) / 2
    raise ModelError(f"service distribution {service!r} is not supported")


@dataclass(frozen=True)
class StaffingSchedule:
    """Servers needed over time, with the loads that set them.

    Attributes
    ----------
    times_s : ndarray
        Evaluation times (s).
    arrival_rate_per_s : ndarray
        Arrival rate at those times (1/s).
    offered_load : ndarray
        ``m(t)`` for MOL, ``lambda(t) E[S]`` for PSA (erlangs).
    servers : ndarray of int
        Smallest number of servers meeting the budget at each time.
    method : str
        ``'mol'`` or ``'psa'``.
    """

    times_s: FloatArray
    arrival_rate_per_s: FloatArray
    offered_load: FloatArray
    servers: NDArray[np.int64]
    method: str


def staffing_schedule(
    times_s: ArrayLike,
    arrival_rate_per_s: ArrayLike,
    service: ServiceTimeDistribution,
    budget: TierBudget,
    *,
    method: str = "mol",
    eval_times_s: ArrayLike | None = None,
) -> StaffingSchedule:
    """Staffing over time for a budget, by MOL (default) or PSA.

    At each time the stationary M/G/c model with arrival rate
    ``load(t) / E[S]`` is sized with :func:`models.sizing.min_servers`, where
    ``load`` is ``m(t)`` (MOL) or ``lambda(t) E[S]`` (PSA).

    Parameters
    ----------
    times_s, arrival_rate_per_s : array_like
        The arrival-rate profile (piecewise linear; see :func:`offered_load`).
    service : ServiceTimeDistribution
        Service-time distribution (s).
    budget : TierBudget
        e.g. ``TierBudget("prob_wait", 0.2)`` or
        ``TierBudget("response_quantile", 2.0, quantile=0.95)``.
    method : {'mol', 'psa'}
    eval_times_s : array_like, optional
        Times at which to staff; ``times_s`` by default.

    Returns
    -------
    StaffingSchedule

    References
    ----------
    Jennings, Mandelbaum, Massey & Whitt (1996).

    Examples
    --------
    >>> from models.distributions import Exponential
    >>> s = staffing_schedule([0, 600, 1200], [1.0, 50.0, 1.0], Exponential(mean=60.0),
    ...                       TierBudget("prob_wait", 0.2), eval_times_s=[600.0])
    >>> int(s.servers[0]) < 3000   # MOL: the load lags the 600 s spike
    True
    """
    if method not in STAFFING_METHODS:
        raise ModelError(
            f"unknown staffing method {method!r}; options are {', '.join(STAFFING_METHODS)}"
        )
    u, lam = _check_profile(times_s, arrival_rate_per_s)
    t = u if eval_times_s is None else np.asarray(eval_times_s, dtype=np.float64)
    rate_t = np.interp(t, u, lam)
    if method == "mol":
        load = offered_load(u, lam, service, eval_times_s=t)
    else:
        load = rate_t * service.mean
    servers = min_servers(load / service.mean, service, budget)
    return StaffingSchedule(t, rate_t, load, servers, method)


def _check_profile(times_s: ArrayLike, rates: ArrayLike) -> tuple[FloatArray, FloatArray]:
    u = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
    lam = np.atleast_1d(np.asarray(rates, dtype=np.float64))
    if u.ndim != 1 or u.shape != lam.shape or u.size < 2:
        raise ModelError(
            f"need at least two (time, rate) points of equal length, got {u.size} times and"
            f" {lam.size} rates"
        )
    if not np.all(np.isfinite(u)) or np.any(np.diff(u) <= 0):
        raise ModelError("times_s must be finite and strictly increasing")
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        bad = lam[~(np.isfinite(lam) & (lam >= 0))][0]
        raise ModelError(f"arrival rates must be finite and >= 0 (1/s), got {float(bad)!r}")
    return u, lam
