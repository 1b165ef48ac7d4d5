"""The M/M/c queue: Poisson arrivals, exponential service, c servers, FCFS.

Every metric is exact and vectorised: the parameters may be NumPy arrays and
broadcast against each other (and against ``p`` or ``t`` in the quantile and
distribution methods).

References
----------
.. [1] Kleinrock, L. (1975). *Queueing Systems, Vol. 1: Theory*. Wiley, §3.6.
.. [2] Gross, D., Shortle, J. F., Thompson, J. M. & Harris, C. M. (2008).
   *Fundamentals of Queueing Theory*, 4th ed. Wiley, §2.3 (M/M/c measures) and
   §2.3.1 (waiting-time distribution, eqs. 2.36-2.37).
.. [3] Jain, R. (1991). *The Art of Computer Systems Performance Analysis*. Wiley,
   §31.3 and Box 31.2 (M/M/m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models._roots import find_root_bracketed
from models.erlang import erlang_c
from models.errors import ModelError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MMc:
    """An M/M/c queue, stable (utilisation ``rho = arrival_rate / (servers * service_rate) < 1``).

    Rates are per unit of time (per second in dvcload), so waits come out in the
    same unit. Use :class:`models.ErlangA` when the queue may be overloaded: with
    abandonment it is stable for every load.

    Parameters
    ----------
    arrival_rate : float or array_like
        Poisson arrival rate ``lambda >= 0`` (1/s).
    service_rate : float or array_like
        Exponential service rate per server ``mu > 0`` (1/s).
    servers : int or array_like of int
        Number of servers ``c >= 1``.

    Raises
    ------
    ModelError
        For a parameter outside its domain, and when ``rho >= 1`` (the queue has no
        steady state).

    Examples
    --------
    >>> q = MMc(arrival_rate=6.0, service_rate=3.0, servers=3)
    >>> round(q.mean_response, 4)   # Gross et al. (2008), p. 72: 0.4815 h
    0.4815
    >>> round(q.response_quantile(0.95), 4)
    1.3402
    """

    arrival_rate: float | FloatArray
    service_rate: float | FloatArray
    servers: int | NDArray[np.int64]

    def __post_init__(self) -> None:
        lam, mu, c = self._params()
        _require(lam, (lam >= 0) & np.isfinite(lam), "arrival_rate", "a finite number >= 0")
        _require(mu, (mu > 0) & np.isfinite(mu), "service_rate", "a finite number > 0")
        _require(
            c, (c >= 1) & (c == np.floor(c)) & np.isfinite(c), "servers", "a whole number >= 1"
        )
        rho = lam / (c * mu)
        if np.any(rho >= 1):
            bad = np.broadcast_to(rho, np.broadcast_shapes(rho.shape))[rho >= 1].flat[0]
            raise ModelError(
                f"M/M/c is unstable: utilisation rho = arrival_rate / (servers * service_rate)"
                f" = {float(bad)!r} >= 1; add servers, or use ErlangA (with abandonment)"
                f" for an overloaded queue"
            )

    def _params(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        return (
            np.asarray(self.arrival_rate, dtype=np.float64),
            np.asarray(self.service_rate, dtype=np.float64),
            np.asarray(self.servers, dtype=np.float64),
        )

    @property
    def offered_load(self) -> float | FloatArray:
        """Offered load ``a = lambda / mu`` in erlangs (mean number of busy servers)."""
        lam, mu, _ = self._params()
        return _out(lam / mu)

    @property
    def utilization(self) -> float | FloatArray:
        """Server utilisation ``rho = lambda / (c mu)``."""
        lam, mu, c = self._params()
        return _out(lam / (c * mu))

    @property
    def prob_wait(self) -> float | FloatArray:
        """``P(W > 0)``, Erlang C (Kleinrock 1975, eq. 3.40)."""
        lam, mu, c = self._params()
        return _out(np.asarray(erlang_c(c, lam / mu)))

    @property
    def mean_wait(self) -> float | FloatArray:
        """Mean wait in queue ``E[W] = C / (c mu - lambda)`` (Gross et al. 2008, eq. 2.32)."""
        lam, mu, c = self._params()
        return _out(np.asarray(erlang_c(c, lam / mu)) / (c * mu - lam))

    @property
    def mean_response(self) -> float | FloatArray:
        """Mean response (sojourn) time ``E[T] = E[W] + 1/mu``."""
        _, mu, _ = self._params()
        return _out(np.asarray(self.mean_wait) + 1.0 / mu)

    @property
    def mean_queue_length(self) -> float | FloatArray:
        """Mean number waiting ``L_q = lambda E[W]`` (Little's law)."""
        lam, _, _ = self._params()
        return _out(lam * np.asarray(self.mean_wait))

    @property
    def mean_in_system(self) -> float | FloatArray:
        """Mean number in the system ``L = lambda E[T]`` (Little's law)."""
        lam, _, _ = self._params()
        return _out(lam * np.asarray(self.mean_response))

    @property
    def wait_variance(self) -> float | FloatArray:
        """``Var[W] = C (2 - C) / (c mu - lambda)**2``."""
        lam, mu, c = self._params()
        cw = np.asarray(erlang_c(c, lam / mu))
        return _out(cw * (2.0 - cw) / (c * mu - lam) ** 2)

    @property
    def response_variance(self) -> float | FloatArray:
        """``Var[T] = Var[W] + 1/mu**2`` (W and S are independent under FCFS)."""
        _, mu, _ = self._params()
        return _out(np.asarray(self.wait_variance) + 1.0 / mu**2)

    def prob_wait_exceeds(self, t: ArrayLike) -> float | FloatArray:
        """``P(W > t) = C exp(-(c mu - lambda) t)`` for ``t >= 0`` (Gross et al. 2008, eq. 2.36).

        Parameters
        ----------
        t : float or array_like
            Time (s), broadcast against the parameters.
        """
        t = _check_times(t)
        lam, mu, c = self._params()
        cw = np.asarray(erlang_c(c, lam / mu))
        return _out(cw * np.exp(-(c * mu - lam) * t))

    def wait_quantile(self, p: ArrayLike) -> float | FloatArray:
        """The ``p``-quantile of the waiting time, exact.

        ``w_p = max(0, ln(C / (1 - p)) / (c mu - lambda))``: zero when ``p <= 1 - C``.

        Parameters
        ----------
        p : float or array_like
            Probability in [0, 1).

        Returns
        -------
        float or ndarray
            Waiting time (s).

        Examples
        --------
        >>> round(MMc(arrival_rate=9.0, service_rate=1.0, servers=10).wait_quantile(0.95), 4)
        2.5934
        """
        p = _check_probs(p)
        lam, mu, c = self._params()
        cw = np.asarray(erlang_c(c, lam / mu))
        with np.errstate(divide="ignore"):
            w = np.log(cw) - np.log1p(-p)
        return _out(np.maximum(w, 0.0) / (c * mu - lam))

    def response_survival(self, t: ArrayLike) -> float | FloatArray:
        """``P(T > t)`` for the response time ``T = W + S``, exact.

        ``P(T > t) = e^{-mu t} [1 + C mu t phi((theta - mu) t)]`` with
        ``theta = c mu - lambda`` and ``phi(x) = (1 - e^{-x}) / x``, the form of
        Gross et al. (2008, eq. 2.37) that stays finite when ``theta = mu``;
        evaluated in log space.

        Parameters
        ----------
        t : float or array_like
            Time (s), ``t >= 0``.
        """
        t = _check_times(t)
        lam, mu, c = self._params()
        cw = np.asarray(erlang_c(c, lam / mu))
        return _out(np.exp(_log_response_survival(t, mu, c * mu - lam, cw)))

    def response_quantile(self, p: ArrayLike) -> float | FloatArray:
        """The ``p``-quantile of the response time, exact (root of the distribution).

        Solved by Chandrupatla's method inside a bracket proven from ``T >= S``,
        ``T >= W`` and ``P(S + W > t1 + t2) <= P(S > t1) + P(W > t2)``; accurate to a
        few ulps.

        Parameters
        ----------
        p : float or array_like
            Probability in [0, 1).

        Returns
        -------
        float or ndarray
            Response time (s).

        Examples
        --------
        >>> q = MMc(arrival_rate=1.0, service_rate=2.0, servers=1)   # M/M/1
        >>> round(q.response_quantile(0.9), 6)   # ln(10) / (mu - lambda)
        2.302585
        """
        p = _check_probs(p)
        lam, mu, c = self._params()
        cw = np.asarray(erlang_c(c, lam / mu))
        theta = c * mu - lam
        p, mu, theta, cw = np.broadcast_arrays(p, mu, theta, cw)
        tail = -np.log1p(-p)
        with np.errstate(divide="ignore"):
            log_c = np.log(cw)
        w_p = np.maximum(log_c + tail, 0.0) / theta
        lo = np.maximum(tail / mu, w_p)
        hi = (tail + np.log(2.0)) / mu + np.maximum(log_c + tail + np.log(2.0), 0.0) / theta
        out = find_root_bracketed(_quantile_gap, lo, hi, args=(mu, theta, cw, -tail))
        return _out(np.where(p == 0, 0.0, out))


def _quantile_gap(
    t: FloatArray, mu: FloatArray, theta: FloatArray, cw: FloatArray, log_target: FloatArray
) -> FloatArray:
    return _log_response_survival(t, mu, theta, cw) - log_target


def _log_response_survival(
    t: FloatArray, mu: FloatArray, theta: FloatArray, cw: FloatArray
) -> FloatArray:
    x = (theta - mu) * t
    ax = np.abs(x)
    tiny = ax < 1e-300
    safe = np.where(tiny, 1.0, ax)
    with np.errstate(divide="ignore"):
        log_phi = np.where(tiny, 0.0, np.maximum(-x, 0.0) + np.log(-np.expm1(-safe)) - np.log(safe))
        extra = np.log(cw) + np.log(mu * t) + log_phi
    return -mu * t + np.logaddexp(0.0, extra)


def _require(value: FloatArray, ok: NDArray[np.bool_], name: str, allowed: str) -> None:
    if not np.all(ok):
        bad = np.broadcast_to(value, ok.shape)[~ok].flat[0]
        raise ModelError(f"{name} must be {allowed}, got {bad.item()!r}")


def _check_probs(p: ArrayLike) -> FloatArray:
    arr = np.asarray(p, dtype=np.float64)
    _require(arr, (arr >= 0) & (arr < 1), "p", "a probability in [0, 1)")
    return arr


def _check_times(t: ArrayLike) -> FloatArray:
    arr = np.asarray(t, dtype=np.float64)
    _require(arr, (arr >= 0) & np.isfinite(arr), "t", "a finite time >= 0")
    return arr


def _out(x: FloatArray) -> float | FloatArray:
    return float(x) if np.ndim(x) == 0 else x
