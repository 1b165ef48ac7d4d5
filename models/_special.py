"""Numerical building blocks shared by the Erlang functions (private).

Two ideas keep Erlang B, C and A accurate for tens of thousands of servers:

* the Poisson probability ``a**x e**-a / x!`` is evaluated with Loader's
  saddle-point form ``exp(-stirlerr(x) - bd0(x, a)) / sqrt(2 pi x)``, which avoids
  the cancellation of ``x log a - a - lgamma(x + 1)`` (terms of size 1e6 whose
  difference is O(1) at x = 1e5) [1]_;
* where a regularised incomplete gamma function would underflow (the load is far
  from the number of servers, "deep" tails), the ratio that the Erlang formulas
  need is written as a Laplace-type integral
  ``integral_0^inf exp(-u) exp(-kappa * psi(u / sigma)) du`` whose second factor
  varies slowly, and is integrated by Gauss-Laguerre quadrature [2]_.

References
----------
.. [1] Loader, C. (2000). Fast and accurate computation of binomial probabilities.
   Technical report, Bell Labs (the algorithm behind R's ``dpois``).
.. [2] Abramowitz, M. & Stegun, I. A. (1964). *Handbook of Mathematical
   Functions*, 25.4.45 (Gauss-Laguerre quadrature).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
# Use the quadrature when the log of the Poisson ratio exceeds this: the integrand's
# second factor then varies on a scale of at least sqrt(2 * 150) ~ 17 units of u,
# where 16-point Gauss-Laguerre is exact to rounding (checked against mpmath;
# 12 points already give 4e-16).
DEEP_TAIL_BD0 = 150.0
_GL_NODES, _GL_WEIGHTS = np.polynomial.laguerre.laggauss(16)


def stirlerr(n: FloatArray) -> FloatArray:
    """``log(n!) - log(sqrt(2 pi n) (n/e)**n)`` for real ``n > 0``."""
    n = np.asarray(n, dtype=np.float64)
    out = np.empty_like(n)
    big = n > 15.0
    nb = n[big]
    nn = nb * nb
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    out[big] = (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / nb
    ns = n[~big]
    from scipy.special import gammaln

    out[~big] = gammaln(ns + 1.0) - (ns + 0.5) * np.log(ns) + ns - _LOG_SQRT_2PI
    return out


def bd0(x: FloatArray, m: FloatArray) -> FloatArray:
    """The deviance term ``x log(x/m) + m - x`` (>= 0) without cancellation."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    x, m = np.broadcast_arrays(x, m)
    out = np.empty(x.shape, dtype=np.float64)
    near = np.abs(x - m) < 0.1 * (x + m)
    xn, mn = x[near], m[near]
    v = (xn - mn) / (xn + mn)
    s = (xn - mn) * v
    ej = 2.0 * xn * v
    v2 = v * v
    for j in range(1, 10):  # |v| < 0.1: the 9th term is below 1e-18 of s
        ej = ej * v2
        s = s + ej / (2 * j + 1)
    out[near] = s
    xf, mf = x[~near], m[~near]
    out[~near] = xf * (np.log(xf) - np.log(mf)) + mf - xf
    return out


def log_poisson_pmf(x: FloatArray, m: FloatArray, deviance: FloatArray | None = None) -> FloatArray:
    """``log(m**x e**-m / Gamma(x + 1))`` for real ``x > 0`` and ``m > 0``.

    ``deviance`` may pass a precomputed ``bd0(x, m)``.
    """
    x = np.asarray(x, dtype=np.float64)
    d = bd0(x, m) if deviance is None else deviance
    return -stirlerr(x) - d - _LOG_SQRT_2PI - 0.5 * np.log(x)


def laguerre_integral(
    kappa: FloatArray,
    sigma: FloatArray,
    psi: Callable[[FloatArray], FloatArray],
    *,
    complement: bool = False,
) -> tuple[FloatArray, FloatArray | None]:
    """``I = int_0^inf e^-u exp(-kappa psi(u/sigma)) du`` (and ``1 - I`` accurately).

    ``psi`` must be >= 0 with ``psi(0) = 0``. The integrand's second factor must vary
    slowly (on a scale of u >~ 15); callers only use this in the deep tails.
    """
    kappa = np.asarray(kappa, dtype=np.float64)[..., None]
    sigma = np.asarray(sigma, dtype=np.float64)[..., None]
    e = -kappa * psi(_GL_NODES / sigma)
    integral = np.exp(e) @ _GL_WEIGHTS
    rest = -np.expm1(e) @ _GL_WEIGHTS if complement else None
    return integral, rest


# Below _PSI_SMALL the Taylor series to s**10 is exact to rounding (the first omitted
# term is < 2e-17 of the sum); above it the direct forms lose < 2 eps / s.
_PSI_SMALL = 0.01
_PSI_LOG_COEFFS = tuple((-1.0) ** k / k for k in range(2, 11))
_PSI_EXP_COEFFS = tuple((-1.0) ** k / math.factorial(k) for k in range(2, 11))


def _series_or(
    s: FloatArray, coeffs: tuple[float, ...], direct: Callable[[FloatArray], FloatArray]
) -> FloatArray:
    acc = np.full(s.shape, coeffs[-1])
    for coef in coeffs[-2::-1]:
        acc *= s
        acc += coef
    out = acc * s * s
    large = s >= _PSI_SMALL
    if large.any():
        out[large] = direct(s[large])
    return out


def psi_log(s: FloatArray) -> FloatArray:
    """``s - log1p(s)`` (>= 0), accurate to rounding for small s (Taylor series)."""
    return _series_or(s, _PSI_LOG_COEFFS, lambda t: t - np.log1p(t))


def psi_exp(s: FloatArray) -> FloatArray:
    """``s - 1 + exp(-s)`` (>= 0), accurate to rounding for small s (Taylor series)."""
    return _series_or(s, _PSI_EXP_COEFFS, lambda t: t + np.expm1(-t))
