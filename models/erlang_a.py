"""Erlang-A, the M/M/c+M queue: c servers, exponential patience (abandonment).

Citizens who wait too long give up (domain.md); with abandonment the queue has a
steady state for every load, so Erlang-A stays valid for ``rho >= 1`` where Erlang C
does not. All formulas are exact. With ``x = c mu / theta`` and ``y = lambda / theta``
they rest on the function

``A(x, y) = x e^y y^-x gamma(x, y) = 1F1(1; x + 1; y) = sum_k y^k / ((x+1)...(x+k))``

(``gamma`` the lower incomplete gamma function), computed as
``gammainc(x, y) / p(x; y)`` with a stable Poisson term, or, where the incomplete
gamma function underflows (``y`` far below ``x``), by Gauss-Laguerre quadrature of
``A = x/(x-y) int_0^inf e^-u exp(-y psi(u/(x-y))) du``, ``psi(s) = s - 1 + e^-s``.

References
----------
.. [1] Palm, C. (1943). Intensitätsschwankungen im Fernsprechverkehr. *Ericsson
   Technics* 44 (the model).
.. [2] Garnett, O., Mandelbaum, A. & Reiman, M. (2002). Designing a call center with
   impatient customers. *Manufacturing & Service Operations Management* 4(3),
   208-227 (P(W > 0), P(Ab), eqs. in §3).
.. [3] Mandelbaum, A. & Zeltyn, S. (2007). Service engineering in action: the
   Palm/Erlang-A queue, with applications to call centers. In *Advances in Services
   Innovations*, Springer, 17-45 (the A function and the waiting-time
   distribution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from models._roots import find_root_bracketed
from models._special import DEEP_TAIL_BD0, bd0, laguerre_integral, log_poisson_pmf, psi_exp
from models.erlang import log_erlang_b
from models.mmc import _check_probs, _check_times, _out, _require

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ErlangA:
    """An Erlang-A (M/M/c+M) queue; valid for every load, including ``rho >= 1``.

    Parameters
    ----------
    arrival_rate : float or array_like
        Poisson arrival rate ``lambda >= 0`` (1/s).
    service_rate : float or array_like
        Exponential service rate per server ``mu > 0`` (1/s).
    servers : int or array_like of int
        Number of servers ``c >= 1``.
    abandon_rate : float or array_like
        Rate of abandonment ``theta > 0`` (1/s): patience is exponential with mean
        ``1/theta``. As ``theta -> 0`` the model tends to M/M/c (Erlang C) when
        ``rho < 1``.

    Notes
    -----
    ``W`` is the time an arrival spends in the queue, until it is served or
    abandons; ``V`` (offered wait) is the time it would wait if it were infinitely
    patient. ``P(W > t) = e^{-theta t} P(V > t)`` and
    ``P(V > t) = P(W > 0) gamma(x, y e^{-theta t}) / gamma(x, y)`` (derived from the
    birth-death chain: ``V`` given ``k`` waiting ahead is ``-ln(Beta(x, k+1))/theta``).

    Examples
    --------
    >>> q = ErlangA(arrival_rate=10.0, service_rate=1.0, servers=10, abandon_rate=0.5)
    >>> round(q.prob_wait, 4), round(q.prob_abandon, 4), round(q.mean_wait, 4)
    (0.6197, 0.1039, 0.2078)
    """

    arrival_rate: float | FloatArray
    service_rate: float | FloatArray
    servers: int | NDArray[np.int64]
    abandon_rate: float | FloatArray

    def __post_init__(self) -> None:
        lam, mu, c, theta = self._params()
        _require(lam, (lam >= 0) & np.isfinite(lam), "arrival_rate", "a finite number >= 0")
        _require(mu, (mu > 0) & np.isfinite(mu), "service_rate", "a finite number > 0")
        _require(
            c, (c >= 1) & (c == np.floor(c)) & np.isfinite(c), "servers", "a whole number >= 1"
        )
        _require(
            theta,
            (theta > 0) & np.isfinite(theta),
            "abandon_rate",
            "a finite number > 0 (use MMc for no abandonment)",
        )

    def _params(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        return (
            np.asarray(self.arrival_rate, dtype=np.float64),
            np.asarray(self.service_rate, dtype=np.float64),
            np.asarray(self.servers, dtype=np.float64),
            np.asarray(self.abandon_rate, dtype=np.float64),
        )

    def _core(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``P(W > 0)``, ``P(Ab | W > 0)`` and ``log A(x, y)``, broadcast."""
        lam, mu, c, theta = np.broadcast_arrays(*self._params())
        x, y = c * mu / theta, lam / theta
        log_a, p_ab_wait = _log_kummer(x, y)
        log_b = np.asarray(log_erlang_b(c, lam / mu))
        idle = lam == 0
        with np.errstate(divide="ignore", over="ignore"):
            ratio = np.exp(np.log1p(-np.exp(log_b)) - log_a - log_b)
            p_wait = np.where(idle, 0.0, 1.0 / (1.0 + ratio))
        return p_wait, p_ab_wait, log_a

    @property
    def offered_load(self) -> float | FloatArray:
        """Offered load ``a = lambda / mu`` in erlangs."""
        lam, mu, _, _ = self._params()
        return _out(lam / mu)

    @property
    def prob_wait(self) -> float | FloatArray:
        """``P(W > 0) = A B / (1 + (A - 1) B)`` (Garnett et al. 2002; B = Erlang B)."""
        return _out(self._core()[0])

    @property
    def prob_abandon_given_wait(self) -> float | FloatArray:
        """``P(Ab | W > 0) = 1/(rho A) + 1 - 1/rho`` (Mandelbaum & Zeltyn 2007)."""
        return _out(self._core()[1])

    @property
    def prob_abandon(self) -> float | FloatArray:
        """``P(Ab) = P(Ab | W > 0) P(W > 0)``: the fraction of arrivals that give up."""
        p_wait, p_ab_wait, _ = self._core()
        return _out(p_wait * p_ab_wait)

    @property
    def mean_wait(self) -> float | FloatArray:
        """``E[W] = P(Ab) / theta`` (Little's law on the abandonment flow), all arrivals."""
        _, _, _, theta = self._params()
        return _out(np.asarray(self.prob_abandon) / theta)

    @property
    def mean_queue_length(self) -> float | FloatArray:
        """Mean number waiting ``L_q = lambda E[W]``."""
        lam, _, _, _ = self._params()
        return _out(lam * np.asarray(self.mean_wait))

    @property
    def throughput(self) -> float | FloatArray:
        """Rate of served customers ``lambda (1 - P(Ab))`` (1/s)."""
        lam, _, _, _ = self._params()
        return _out(lam * (1.0 - np.asarray(self.prob_abandon)))

    @property
    def utilization(self) -> float | FloatArray:
        """Server utilisation ``lambda (1 - P(Ab)) / (c mu)`` (< 1 always)."""
        _, mu, c, _ = self._params()
        return _out(np.asarray(self.throughput) / (c * mu))

    def prob_wait_exceeds(self, t: ArrayLike) -> float | FloatArray:
        """``P(W > t)``, the probability of waiting (in queue, served or not) beyond ``t``.

        Parameters
        ----------
        t : float or array_like
            Time (s), ``t >= 0``.
        """
        t = _check_times(t)
        return _out(np.exp(self._log_wait_survival(t)))

    def service_level(self, t: ArrayLike) -> float | FloatArray:
        """``P(W <= t)``: the fraction of arrivals whose wait ends within ``t`` s."""
        return _out(1.0 - np.asarray(self.prob_wait_exceeds(t)))

    def wait_quantile(self, p: ArrayLike) -> float | FloatArray:
        """The ``p``-quantile of ``W`` (s), exact (root of ``P(W > t) = 1 - p``).

        Examples
        --------
        >>> q = ErlangA(arrival_rate=12.0, service_rate=1.0, servers=10, abandon_rate=1.0)
        >>> round(q.wait_quantile(0.9), 4)
        0.5368
        """
        p = _check_probs(p)
        lam, mu, c, theta = self._params()
        p, lam, mu, c, theta = np.broadcast_arrays(p, lam, mu, c, theta)
        p_wait = np.broadcast_to(self._core()[0], p.shape)
        with np.errstate(divide="ignore"):
            # P(W > t) <= P(W > 0) e^{-theta t} bounds the root from above.
            hi = np.maximum(np.log(p_wait) - np.log1p(-p), 0.0) / theta
        out = find_root_bracketed(_wait_gap, np.zeros_like(hi), hi, args=(lam, mu, c, theta, p))
        return _out(out)

    def _log_wait_survival(self, t: FloatArray) -> FloatArray:
        lam, mu, c, theta = self._params()
        p_wait, _, log_a = self._core()
        t, lam, mu, c, theta, p_wait, log_a = np.broadcast_arrays(
            t, lam, mu, c, theta, p_wait, log_a
        )
        x, y = c * mu / theta, lam / theta
        log_a_t, _ = _log_kummer(x, y * np.exp(-theta * t))
        with np.errstate(divide="ignore"):
            log_p_wait = np.log(p_wait)
        return log_p_wait - theta * t - c * mu * t - y * np.expm1(-theta * t) + log_a_t - log_a


def _wait_gap(  # noqa: PLR0917 (signature fixed by scipy's find_root)
    t: FloatArray, lam: FloatArray, mu: FloatArray, c: FloatArray, theta: FloatArray, p: FloatArray
) -> FloatArray:
    return ErlangA(lam, mu, c.astype(np.int64), theta)._log_wait_survival(t) - np.log1p(-p)


def _log_kummer(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``log A(x, y)`` and ``P(Ab | W > 0) = (1 - A (1 - y/x)) x / (y A)``.

    For ``x > 0`` and ``y >= 0``; the second output is 0 where ``y == 0``.
    """
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    log_a = np.zeros(x.shape)
    p_ab = np.zeros(x.shape)
    pos = y > 0
    xp, yp = x[pos], y[pos]
    dev = bd0(xp, yp)
    deep = (yp < xp) & (dev > DEEP_TAIL_BD0)
    la = np.empty_like(xp)
    pa = np.empty_like(xp)
    # Direct: A = P(x, y) / p(x; y); then P(Ab | W > 0) = 1/(rho A) + 1 - 1/rho.
    d = ~deep
    xd, yd = xp[d], yp[d]
    la[d] = np.log(special.gammainc(xd, yd)) - log_poisson_pmf(xd, yd, dev[d])
    pa[d] = np.exp(np.log(xd / yd) - la[d]) + (1.0 - xd / yd)
    # Deep (y << x): A (1 - y/x) = I = int e^-u exp(-y psi(u/(x-y))) du and
    # 1 - A (1 - y/x) = 1 - I, both from the quadrature without cancellation.
    xk, yk = xp[deep], yp[deep]
    integral, rest = laguerre_integral(yk, xk - yk, psi_exp, complement=True)
    assert rest is not None
    la[deep] = np.log(integral) + np.log(xk / (xk - yk))
    pa[deep] = rest * (xk - yk) / (yk * integral)
    log_a[pos] = la
    p_ab[pos] = np.clip(pa, 0.0, 1.0)
    return log_a, p_ab
