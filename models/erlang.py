"""Erlang B and Erlang C, vectorised and stable for tens of thousands of servers.

Two independent algorithms are provided and tested against each other:

* :func:`erlang_b` (default ``method="logspace"``) writes Erlang B as the ratio of
  the Poisson probability of ``c`` to the Poisson distribution function at ``c``,
  ``B(c, a) = p(c; a) / P(c; a)``, with ``p`` from Loader's saddle-point form and
  ``P = gammaincc(c + 1, a)``; far in the overloaded tail (``a >> c``), where
  ``P`` underflows, ``1/B = a int_0^inf e^{-a t} (1 + t)^c dt`` is integrated by
  Gauss-Laguerre quadrature. Cost is O(1) per pair: a million pairs take a fraction
  of a second.
* :func:`erlang_b_recursion` is Jagerman's recursion
  ``B(k) = a B(k-1) / (k + a B(k-1))``, ``B(0) = 1``, which is numerically stable
  (every step is a convex combination) but costs O(c) per pair.

References
----------
.. [1] Jagerman, D. L. (1974). Some properties of the Erlang loss function.
   *Bell System Technical Journal* 53(3), 525-551.
.. [2] Kleinrock, L. (1975). *Queueing Systems, Vol. 1: Theory*. Wiley, §3.6 (M/M/m,
   Erlang C, eq. 3.40) and §3.7 (M/M/m/m, Erlang B, eq. 3.44).
.. [3] Gross, D., Shortle, J. F., Thompson, J. M. & Harris, C. M. (2008).
   *Fundamentals of Queueing Theory*, 4th ed. Wiley, §2.3 and §2.5.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from models._special import DEEP_TAIL_BD0, bd0, laguerre_integral, log_poisson_pmf, psi_log
from models.errors import ModelError

FloatArray = NDArray[np.float64]
ERLANG_METHODS = ("logspace", "recursion")


def erlang_b(
    servers: ArrayLike, offered_load: ArrayLike, *, method: str = "logspace"
) -> float | FloatArray:
    """Blocking probability of the M/M/c/c (Erlang loss) system, Erlang B.

    ``B(c, a) = (a**c / c!) / sum_{k=0..c} a**k / k!``.

    Parameters
    ----------
    servers : int or array_like of int
        Number of servers ``c >= 0``.
    offered_load : float or array_like
        Offered load ``a = arrival_rate / service_rate`` in erlangs, ``a >= 0``.
        Broadcast against ``servers``.
    method : {'logspace', 'recursion'}
        ``'logspace'`` (default) is O(1) per pair; ``'recursion'`` is Jagerman's
        O(c) recursion, kept as an independent check.

    Returns
    -------
    float or ndarray
        ``B`` in [0, 1]; a float when both inputs are scalars.

    References
    ----------
    Kleinrock (1975), *Queueing Systems* Vol. 1, eq. (3.44); Jagerman (1974).

    Examples
    --------
    >>> round(erlang_b(10, 5.0), 6)
    0.018385
    >>> erlang_b([1, 2], 1.0)
    array([0.5, 0.2])
    """
    c, a = _check(servers, offered_load)
    if method == "logspace":
        out = np.exp(_log_erlang_b(c, a))
    elif method == "recursion":
        out = _recursion(c, a)
    else:
        raise ModelError(
            f"unknown Erlang method {method!r}; options are {', '.join(ERLANG_METHODS)}"
        )
    return _scalar_or_array(out)


def erlang_b_recursion(servers: ArrayLike, offered_load: ArrayLike) -> float | FloatArray:
    """Erlang B by Jagerman's recursion (O(max c) vectorised steps).

    ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``.

    Parameters
    ----------
    servers, offered_load : array_like
        As for :func:`erlang_b`.

    Returns
    -------
    float or ndarray

    References
    ----------
    Jagerman (1974), *Bell System Technical Journal* 53(3).

    Examples
    --------
    >>> round(erlang_b_recursion(3, 10.0), 5)
    0.73206
    """
    return erlang_b(servers, offered_load, method="recursion")


def log_erlang_b(servers: ArrayLike, offered_load: ArrayLike) -> float | FloatArray:
    """Natural logarithm of Erlang B, finite even where B underflows (a << c).

    Parameters
    ----------
    servers, offered_load : array_like
        As for :func:`erlang_b`.

    Returns
    -------
    float or ndarray
        ``log B``; ``-inf`` where ``a == 0`` and ``c >= 1``.

    Examples
    --------
    >>> round(float(log_erlang_b(1000, 10.0)), 3)
    -3619.543
    """
    c, a = _check(servers, offered_load)
    return _scalar_or_array(_log_erlang_b(c, a))


def erlang_c(
    servers: ArrayLike, offered_load: ArrayLike, *, method: str = "logspace"
) -> float | FloatArray:
    """Probability of waiting in the M/M/c queue, Erlang C.

    ``C(c, a) = c B / (c - a + a B)`` with ``B = erlang_b(c, a)``, which has no
    cancellation (``c - a`` is exact) and so keeps full relative accuracy for
    ``c`` up to 1e5 and beyond.

    Parameters
    ----------
    servers : int or array_like of int
        Number of servers ``c >= 1``.
    offered_load : float or array_like
        Offered load ``a = arrival_rate / service_rate`` in erlangs, ``a >= 0``.
    method : {'logspace', 'recursion'}
        How Erlang B is computed (see :func:`erlang_b`).

    Returns
    -------
    float or ndarray
        ``C`` in [0, 1]. Where ``a >= c`` the queue is unstable and every arrival
        eventually waits: 1.0 is returned (documented convention, not an error,
        so that sizing can search over ``c`` with arrays).

    References
    ----------
    Kleinrock (1975), *Queueing Systems* Vol. 1, eq. (3.40); Gross et al. (2008),
    *Fundamentals of Queueing Theory* 4th ed., eq. (2.32).

    Examples
    --------
    >>> round(erlang_c(2, 1.0), 6)
    0.333333
    >>> round(erlang_c(5100, 5000.0), 6)
    0.102881
    """
    c, a = _check(servers, offered_load)
    if np.any(c < 1):
        raise ModelError(f"Erlang C needs servers >= 1, got {_first(c, c < 1)!r}")
    if method not in ERLANG_METHODS:
        raise ModelError(
            f"unknown Erlang method {method!r}; options are {', '.join(ERLANG_METHODS)}"
        )
    c, a = np.broadcast_arrays(c, a)
    out = np.ones(c.shape, dtype=np.float64)
    stable = a < c
    cs, as_ = c[stable], a[stable]
    b = np.exp(_log_erlang_b(cs, as_)) if method == "logspace" else _recursion(cs, as_)
    out[stable] = cs * b / (cs - as_ + as_ * b)
    return _scalar_or_array(out)


def _log_erlang_b(c: FloatArray, a: FloatArray) -> FloatArray:
    out = np.zeros(np.broadcast_shapes(c.shape, a.shape), dtype=np.float64)
    c, a = np.broadcast_to(c, out.shape), np.broadcast_to(a, out.shape)
    trivial = (c == 0) | (a == 0)
    out[trivial & (c > 0)] = -np.inf  # a == 0, c >= 1: nobody is blocked
    work = ~trivial
    cw, aw = c[work], a[work]
    dev = bd0(cw, aw)
    deep = (aw > cw) & (dev > DEEP_TAIL_BD0)
    res = np.empty_like(cw)
    # Direct: log p(c; a) - log P(c; a).
    direct = ~deep
    cd, ad = cw[direct], aw[direct]
    res[direct] = log_poisson_pmf(cd, ad, dev[direct]) - np.log(special.gammaincc(cd + 1.0, ad))
    # Deep overload: 1/B = a/(a-c) * int e^-u exp(-c psi(u/(a-c))) du, psi(s) = s - log1p(s).
    ck, ak = cw[deep], aw[deep]
    integral, _ = laguerre_integral(ck, ak - ck, psi_log)
    res[deep] = np.log((ak - ck) / ak) - np.log(integral)
    out[work] = res
    return out


def _recursion(c: FloatArray, a: FloatArray) -> FloatArray:
    shape = np.broadcast_shapes(c.shape, a.shape)
    c, a = np.broadcast_to(c, shape), np.broadcast_to(a, shape)
    b = np.ones(shape, dtype=np.float64)
    for k in range(1, int(c.max(initial=0)) + 1):
        ab = a * b
        b = np.where(k <= c, ab / (k + ab), b)
    return b


def _check(servers: ArrayLike, offered_load: ArrayLike) -> tuple[FloatArray, FloatArray]:
    c = np.asarray(servers, dtype=np.float64)
    a = np.asarray(offered_load, dtype=np.float64)
    bad_c = ~np.isfinite(c) | (c < 0) | (c != np.floor(c))
    if np.any(bad_c):
        raise ModelError(
            f"servers must be whole numbers >= 0, got {_first(np.asarray(servers), bad_c)!r}"
        )
    bad_a = ~np.isfinite(a) | (a < 0)
    if np.any(bad_a):
        raise ModelError(
            f"offered load must be a finite number >= 0 (erlangs), got "
            f"{_first(np.asarray(offered_load), bad_a)!r}"
        )
    return c, a


def _first(values: NDArray[np.generic], mask: NDArray[np.bool_]) -> object:
    values = np.broadcast_to(values, mask.shape)
    return values[mask].flat[0].item()


def _scalar_or_array(x: FloatArray) -> float | FloatArray:
    return float(x) if np.ndim(x) == 0 else x
