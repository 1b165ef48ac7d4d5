"""Two-moment approximations for the G/G/c and M/G/c queues.

No exact formula exists for the mean wait of M/G/c; these approximations scale the
exact M/M/c wait by the variability of arrivals and service. Their errors were
measured against Ciw simulations of M/G/c with lognormal service times
(``python -m benchmarks.bench_models --mgc``; checked in
``tests/models/test_simulation.py``), and each docstring states the error found.

References
----------
.. [1] Kingman, J. F. C. (1961). The single server queue in heavy traffic.
   *Proc. Cambridge Philosophical Society* 57(4), 902-904.
.. [2] Allen, A. O. (1990). *Probability, Statistics, and Queueing Theory with
   Computer Science Applications*, 2nd ed. Academic Press, §6.4 (the
   Allen-Cunneen approximation, eq. 6.45).
.. [3] Whitt, W. (1993). Approximations for the GI/G/m queue. *Production and
   Operations Management* 2(2), 114-161, eqs. (2.23)-(2.27).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, special

from models._roots import find_root_bracketed
from models.distributions import Deterministic, Exponential, Lognormal, ServiceTimeDistribution
from models.erlang import erlang_c
from models.errors import ModelError
from models.mmc import _log_response_survival, _out

FloatArray = NDArray[np.float64]
APPROXIMATIONS = ("whitt", "allen_cunneen", "kingman")


def kingman_mean_wait(
    arrival_rate: ArrayLike,
    mean_service_s: ArrayLike,
    *,
    arrival_cv: ArrayLike = 1.0,
    service_cv: ArrayLike = 1.0,
) -> float | FloatArray:
    """Kingman's heavy-traffic approximation of the G/G/1 mean wait.

    ``E[W] ~ rho / (1 - rho) * (ca**2 + cs**2) / 2 * E[S]``: exact for M/G/1
    (Pollaczek-Khinchine) and for M/M/1, asymptotically exact as ``rho -> 1``.

    Parameters
    ----------
    arrival_rate : float or array_like
        Arrival rate (1/s).
    mean_service_s : float or array_like
        Mean service time (s).
    arrival_cv, service_cv : float or array_like
        Coefficients of variation of inter-arrival and service times.

    Returns
    -------
    float or ndarray
        Mean wait in queue (s).

    References
    ----------
    Kingman (1961).

    Examples
    --------
    >>> round(kingman_mean_wait(0.8, 1.0, service_cv=2.0), 6)   # M/G/1: exact P-K
    10.0
    """
    return allen_cunneen_mean_wait(
        arrival_rate, mean_service_s, 1, arrival_cv=arrival_cv, service_cv=service_cv
    )


def allen_cunneen_mean_wait(
    arrival_rate: ArrayLike,
    mean_service_s: ArrayLike,
    servers: ArrayLike,
    *,
    arrival_cv: ArrayLike = 1.0,
    service_cv: ArrayLike = 1.0,
) -> float | FloatArray:
    """Allen-Cunneen approximation of the G/G/c mean wait.

    ``E[W] ~ E[W_{M/M/c}] * (ca**2 + cs**2) / 2``.

    Expected error (measured against Ciw: M/G/c, lognormal service, c in
    {1, 4, 16}, rho in {0.7, 0.9}, 400,000 customers per case): -8 % to +2 % for
    service CV 0.5, -2 % to +5 % for CV 1, and -17 % to +46 % for CV 2 (two moments
    do not pin down the wait when the service time is heavy-tailed).

    Parameters
    ----------
    arrival_rate : float or array_like
        Arrival rate (1/s).
    mean_service_s : float or array_like
        Mean service time (s).
    servers : int or array_like of int
        Number of servers ``c >= 1``.
    arrival_cv, service_cv : float or array_like
        Coefficients of variation of inter-arrival and service times.

    Returns
    -------
    float or ndarray
        Mean wait in queue (s); ``inf`` where ``rho >= 1``.

    References
    ----------
    Allen (1990), eq. (6.45).

    Examples
    --------
    >>> round(allen_cunneen_mean_wait(3.0, 1.0, 4, service_cv=0.5), 4)
    0.3184
    """
    lam, es, c, ca, cs = _check(arrival_rate, mean_service_s, servers, arrival_cv, service_cv)
    return _out(_mmc_wait(lam, es, c) * (ca**2 + cs**2) / 2.0)


def whitt_mean_wait(
    arrival_rate: ArrayLike,
    mean_service_s: ArrayLike,
    servers: ArrayLike,
    *,
    arrival_cv: ArrayLike = 1.0,
    service_cv: ArrayLike = 1.0,
) -> float | FloatArray:
    """Whitt's (1993) refined approximation of the G/G/c mean wait.

    ``E[W] ~ phi(rho, ca**2, cs**2, c) * (ca**2 + cs**2) / 2 * E[W_{M/M/c}]`` with
    Whitt's correction ``phi`` (eqs. 2.23-2.27), which pulls the Allen-Cunneen value
    down for low service variability and many servers.

    Expected error (measured against Ciw: M/G/c, lognormal service, c in
    {4, 16}, rho in {0.7, 0.9}, 400,000 customers per case): -1 % to +6 % for
    service CV 0.5, -2 % to +5 % for CV 1, and -20 % to +20 % for CV 2 (where the
    simulation's own standard error reaches 15 %). For one server use
    :func:`approx_mean_wait`, which switches to the exact Pollaczek-Khinchine
    formula (Whitt's correction is -10 % off at c = 1, CV 2).

    Parameters
    ----------
    arrival_rate, mean_service_s, servers, arrival_cv, service_cv
        As for :func:`allen_cunneen_mean_wait`.

    Returns
    -------
    float or ndarray
        Mean wait in queue (s); ``inf`` where ``rho >= 1``.

    References
    ----------
    Whitt (1993), *Production and Operations Management* 2(2), eqs. (2.23)-(2.27).

    Examples
    --------
    >>> round(whitt_mean_wait(3.0, 1.0, 4, service_cv=0.5), 4)
    0.3289
    """
    lam, es, c, ca, cs = _check(arrival_rate, mean_service_s, servers, arrival_cv, service_cv)
    rho = lam * es / c
    ca2, cs2 = ca**2, cs**2
    phi = _whitt_phi(rho, ca2, cs2, c)
    return _out(phi * (ca2 + cs2) / 2.0 * _mmc_wait(lam, es, c))


def approx_mean_wait(
    arrival_rate: ArrayLike,
    service: ServiceTimeDistribution,
    servers: ArrayLike,
    *,
    arrival_cv: ArrayLike = 1.0,
    method: str = "whitt",
) -> float | FloatArray:
    """Mean wait of a G/G/c queue by the named approximation.

    Parameters
    ----------
    arrival_rate : float or array_like
        Arrival rate (1/s).
    service : ServiceTimeDistribution
        Service-time distribution (its ``mean`` in s and ``cv`` are used).
    servers : int or array_like of int
    arrival_cv : float or array_like
        CV of inter-arrival times (1 for Poisson arrivals).
    method : {'whitt', 'allen_cunneen', 'kingman'}
        ``'whitt'`` (default) uses the exact Pollaczek-Khinchine formula where
        ``servers == 1`` and ``arrival_cv == 1`` (M/G/1), Whitt (1993) elsewhere.

    Returns
    -------
    float or ndarray
        Mean wait in queue (s).

    Examples
    --------
    >>> round(approx_mean_wait(3.0, Exponential(mean=1.0), 4), 4)  # exact M/M/c
    0.5094
    """
    if method == "whitt":
        whitt = whitt_mean_wait(
            arrival_rate, service.mean, servers, arrival_cv=arrival_cv, service_cv=service.cv
        )
        exact_mg1 = allen_cunneen_mean_wait(
            arrival_rate, service.mean, servers, arrival_cv=arrival_cv, service_cv=service.cv
        )
        mg1 = (np.asarray(servers) == 1) & (np.asarray(arrival_cv) == 1)
        return _out(np.where(mg1, exact_mg1, whitt))
    if method == "allen_cunneen":
        fn = allen_cunneen_mean_wait
    elif method == "kingman":
        if np.any(np.asarray(servers) != 1):
            raise ModelError(f"Kingman's formula is for one server, got servers={servers!r}")
        fn = allen_cunneen_mean_wait
    else:
        raise ModelError(
            f"unknown approximation {method!r}; options are {', '.join(APPROXIMATIONS)}"
        )
    return fn(arrival_rate, service.mean, servers, arrival_cv=arrival_cv, service_cv=service.cv)


def approx_response_survival(
    t: ArrayLike,
    arrival_rate: ArrayLike,
    service: ServiceTimeDistribution,
    servers: ArrayLike,
    *,
    arrival_cv: ArrayLike = 1.0,
    method: str = "whitt",
) -> float | FloatArray:
    """Approximate ``P(T > t)`` for the response time of a G/G/c queue.

    The wait is modelled as in M/M/c, an atom at zero plus an exponential tail,
    ``W ~ (1 - C) delta_0 + C Exp(mean E[W]/C)``, with ``C`` the Erlang C
    probability and ``E[W]`` from the chosen mean-wait approximation; the response
    time is ``T = W + S`` with the given service distribution, integrated exactly
    (closed form for exponential and deterministic service, tanh-sinh quadrature for
    lognormal). Exact for M/M/c.

    Expected error of the resulting p95 (measured against Ciw: M/G/c, lognormal
    service, c in {1, 4, 16}, rho in {0.7, 0.9}): +0 % to +2 % for service CV 0.5,
    -4 % to +2 % for CV 1, and -26 % to +3 % for CV 2, where it under-estimates at
    high load (the exponential tail assumed for the wait is too light).

    Parameters
    ----------
    t : float or array_like
        Time (s).
    arrival_rate, service, servers, arrival_cv, method
        As for :func:`approx_mean_wait`.

    Returns
    -------
    float or ndarray
    """
    t_arr = np.asarray(t, dtype=np.float64)
    cq, m = _wait_mixture(arrival_rate, service, servers, arrival_cv, method)
    t_arr, cq, m = np.broadcast_arrays(t_arr, cq, m)
    return _out(_survival(t_arr, service, cq, m))


def approx_response_quantile(
    p: ArrayLike,
    arrival_rate: ArrayLike,
    service: ServiceTimeDistribution,
    servers: ArrayLike,
    *,
    arrival_cv: ArrayLike = 1.0,
    method: str = "whitt",
) -> float | FloatArray:
    """Approximate ``p``-quantile of the G/G/c response time (s).

    The root of :func:`approx_response_survival` ``= 1 - p``; see there for the model
    and its measured error.

    Examples
    --------
    >>> from models.mmc import MMc
    >>> exact = MMc(arrival_rate=3.0, service_rate=1.0, servers=4).response_quantile(0.95)
    >>> approx = approx_response_quantile(0.95, 3.0, Exponential(mean=1.0), 4)
    >>> bool(abs(approx - exact) < 1e-9)
    True
    """
    p_arr = np.asarray(p, dtype=np.float64)
    if np.any((p_arr < 0) | (p_arr >= 1)):
        raise ModelError(f"p must be a probability in [0, 1), got {p!r}")
    cq, m = _wait_mixture(arrival_rate, service, servers, arrival_cv, method)
    p_arr, cq, m = np.broadcast_arrays(p_arr, cq, m)
    tail = -np.log1p(-p_arr)
    half = tail + math.log(2.0)
    with np.errstate(divide="ignore"):
        log_cq = np.log(cq)
    w_lo = np.maximum(log_cq + tail, 0.0) * m
    w_hi = np.maximum(log_cq + half, 0.0) * m
    lo = np.maximum(_service_quantile(service, -np.expm1(-tail)), w_lo)
    hi = _service_quantile(service, -np.expm1(-half)) + w_hi

    def gap(x: FloatArray, cq_: FloatArray, m_: FloatArray, target: FloatArray) -> FloatArray:
        return _survival(x, service, cq_, m_) - target

    out = find_root_bracketed(gap, lo, hi, args=(cq, m, 1.0 - p_arr))
    return _out(np.where(p_arr == 0, 0.0, out))


def _wait_mixture(
    arrival_rate: ArrayLike,
    service: ServiceTimeDistribution,
    servers: ArrayLike,
    arrival_cv: ArrayLike,
    method: str,
) -> tuple[FloatArray, FloatArray]:
    mean_w = np.asarray(
        approx_mean_wait(arrival_rate, service, servers, arrival_cv=arrival_cv, method=method)
    )
    lam = np.asarray(arrival_rate, dtype=np.float64)
    cq = np.asarray(erlang_c(servers, lam * service.mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(cq > 0, mean_w / np.where(cq > 0, cq, 1.0), 0.0)
    return cq, m


def _survival(
    t: FloatArray, service: ServiceTimeDistribution, cq: FloatArray, m: FloatArray
) -> FloatArray:
    if isinstance(service, Exponential):
        theta = np.where(m > 0, 1.0 / np.where(m > 0, m, 1.0), 1.0)
        return np.exp(_log_response_survival(t, np.full_like(t, service.rate), theta, cq))
    if isinstance(service, Deterministic):
        d = service.mean
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.where(t < d, 1.0, np.exp(-(t - d) / np.where(m > 0, m, 1.0)))
        tail = np.where((m == 0) & (t >= d), 0.0, tail)
        return np.where(t < d, 1.0, cq * tail)
    if isinstance(service, Lognormal):
        return _lognormal_survival(t, service, cq, m)
    raise ModelError(
        f"service distribution {service!r} is not supported; use Exponential, Lognormal or"
        f" Deterministic"
    )


def _lognormal_survival(
    t: FloatArray, service: Lognormal, cq: FloatArray, m: FloatArray
) -> FloatArray:
    """``P(W + S > t)`` for ``W ~ (1 - cq) delta_0 + cq Exp(mean m)`` and lognormal ``S``.

    ``P(S > t) + cq * P(S <= t, W > t - S)``; with ``S = exp(mu + sigma z)``, the second
    term is ``integral of phi(z) exp(-(t - S(z)) / m)`` for ``z`` up to
    ``z* = (ln t - mu) / sigma``, computed elementwise by tanh-sinh quadrature
    (Takahasi and Mori 1974; ``scipy.integrate.tanhsinh``). Its nodes crowd the ends of
    the interval, where the integrand peaks when ``m`` is small beside ``t``: a peak
    ``m / (t sigma)`` wide that adaptive Gauss-Kronrod (QUADPACK) over the whole range
    stepped over, by up to 1e-4. ``z`` runs over ``[-12, min(z*, 12)]``: beyond it
    ``phi`` is below 1e-31 and the factor at most 1 (the range once started at
    ``z* - 40``, which for a narrow service far above its median left the normal
    density out: wrong by up to 0.14). Agrees with mpmath at 40 digits to 1e-9
    relative (``tests/models/test_approximations.py``); any shape of ``t``.
    """
    mu, sigma = service.mu, service.sigma
    shape = np.shape(t)
    t, cq, m = (np.ravel(a).astype(np.float64) for a in (t, cq, m))
    positive = t > 0
    z_star = np.where(positive, np.log(np.where(positive, t, 1.0)) - mu, -np.inf) / sigma
    out = np.asarray(special.ndtr(-z_star), dtype=np.float64)
    todo = (cq > 0) & (m > 0) & (z_star > -_Z_REACH)
    if np.any(todo):
        upper = np.minimum(z_star[todo], _Z_REACH)
        conv = integrate.tanhsinh(
            _lognormal_convolution, -_Z_REACH, upper, args=(t[todo], m[todo], mu, sigma),
            atol=1e-14, rtol=1e-12,
        )  # fmt: skip
        out[todo] += cq[todo] * conv.integral
    return out.reshape(shape)


_Z_REACH = 12.0  # standard normal deviations past which phi(z) < 1e-31


def _lognormal_convolution(
    z: FloatArray, t: FloatArray, m: FloatArray, mu: float, sigma: float
) -> FloatArray:
    """``phi(z) exp(-(t - S(z)) / m)``, with ``S(z) = exp(mu + sigma z) <= t``."""
    return np.exp(-0.5 * z * z - (t - np.exp(mu + sigma * z)) / m) / math.sqrt(2 * math.pi)


def _service_survival(service: ServiceTimeDistribution, t: float) -> float:
    """``P(S > t)``: the limit of ``P(T > t)`` as the number of servers grows."""
    if isinstance(service, Exponential):
        return math.exp(-t / service.mean)
    if isinstance(service, Deterministic):
        return 1.0 if t < service.mean else 0.0
    if isinstance(service, Lognormal):
        return float(special.ndtr(-(math.log(t) - service.mu) / service.sigma)) if t > 0 else 1.0
    raise ModelError(f"service distribution {service!r} is not supported")


def _service_quantile(service: ServiceTimeDistribution, p: FloatArray) -> FloatArray:
    if isinstance(service, Exponential):
        return -service.mean * np.log1p(-p)
    if isinstance(service, Deterministic):
        return np.full_like(p, service.mean)
    if isinstance(service, Lognormal):
        return np.exp(service.mu + service.sigma * special.ndtri(p))
    raise ModelError(f"service distribution {service!r} is not supported")


def _whitt_phi(rho: FloatArray, ca2: FloatArray, cs2: FloatArray, c: FloatArray) -> FloatArray:
    rho = np.where(rho > 0, rho, 1.0)  # rho = 0: no wait, phi is irrelevant
    gamma = np.minimum(0.24, (1 - rho) * (c - 1) * (np.sqrt(4 + 5 * c) - 2) / (16 * c * rho))
    phi1 = 1 + gamma
    phi3 = (1 - 4 * gamma) * np.exp(-2 * (1 - rho) / (3 * rho))
    phi4 = np.minimum(1.0, (phi1 + phi3) / 2)
    scv = (ca2 + cs2) / 2

    def psi(v: FloatArray) -> FloatArray:
        return np.where(v >= 1, 1.0, phi4 ** (2 * (1 - np.minimum(v, 1.0))))

    with np.errstate(divide="ignore", invalid="ignore"):
        above = 4 * (ca2 - cs2) / (4 * ca2 - 3 * cs2) * phi1 + cs2 / (4 * ca2 - 3 * cs2) * psi(scv)
        below = (cs2 - ca2) / (2 * (ca2 + cs2)) * phi3 + (cs2 + 3 * ca2) / (2 * (ca2 + cs2)) * psi(
            scv
        )
    return np.where(ca2 == cs2, psi(scv), np.where(ca2 > cs2, above, below))


def _mmc_wait(lam: FloatArray, es: FloatArray, c: FloatArray) -> FloatArray:
    a = lam * es
    cw = np.asarray(erlang_c(c, a))
    stable = a < c
    with np.errstate(divide="ignore"):
        return np.where(stable, cw * es / np.where(stable, c - a, 1.0), np.inf)


def _check(*values: ArrayLike) -> tuple[FloatArray, ...]:
    names = ("arrival_rate", "mean_service_s", "servers", "arrival_cv", "service_cv")
    arrays = tuple(np.asarray(v, dtype=np.float64) for v in values)
    for i, (name, arr) in enumerate(zip(names, arrays, strict=True)):
        positive = i == 1
        ok = (arr > 0 if positive else arr >= 0) & np.isfinite(arr)
        if not np.all(ok):
            allowed = "a finite number > 0" if positive else "a finite number >= 0"
            raise ModelError(f"{name} must be {allowed}, got {arr[~ok].flat[0].item()!r}")
    c = arrays[2]
    bad = (c < 1) | (c != np.floor(c))
    if np.any(bad):
        raise ModelError(f"servers must be whole numbers >= 1, got {c[bad].flat[0].item()!r}")
    return arrays
