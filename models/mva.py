"""Closed queueing networks: exact Mean Value Analysis and Bard-Schweitzer.

A closed network is how Locust users with think time behave: N users cycle between
thinking (a delay of Z seconds) and a request that visits K stations (tiers), each
with a service demand ``D_k = V_k S_k`` (visits times service time per visit).

References
----------
.. [1] Reiser, M. & Lavenberg, S. S. (1980). Mean-value analysis of closed
   multichain queuing networks. *Journal of the ACM* 27(2), 313-322.
.. [2] Lazowska, E. D., Zahorjan, J., Graham, G. S. & Sevcik, K. C. (1984).
   *Quantitative System Performance*. Prentice-Hall, §6.3 (exact MVA, Algorithm
   6.1) and §6.4.2 (the Bard-Schweitzer approximation).
.. [3] Schweitzer, P. J. (1979). Approximate analysis of multiclass closed networks
   of queues. *Proc. Int. Conf. on Stochastic Control and Optimization*, Amsterdam.
.. [4] Jain, R. (1991). *The Art of Computer Systems Performance Analysis*. Wiley,
   §34.2 (MVA, Box 34.2) and §34.3 (Schweitzer's approximation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.errors import ModelError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MVAResult:
    """Performance of a closed network with ``users`` customers.

    Attributes
    ----------
    users : int
        Population N.
    throughput : float
        System throughput X (requests/s).
    response_time : float
        Mean response time R (s), think time excluded.
    queue_lengths : ndarray
        Mean number at each station Q_k (waiting or in service).
    residence_times : ndarray
        Mean time per request at each station R_k (s), summed over its visits.
    utilizations : ndarray
        U_k = X D_k (for a delay station, the mean number in it).
    think_time : float
        Z (s).
    method : str
        ``'exact'`` or ``'schweitzer'``.
    iterations : int
        Fixed-point iterations (Schweitzer) or populations solved (exact).
    """

    users: int
    throughput: float
    response_time: float
    queue_lengths: FloatArray
    residence_times: FloatArray
    utilizations: FloatArray
    think_time: float
    method: str
    iterations: int


def mva(
    service_demands: ArrayLike,
    users: int,
    think_time: float = 0.0,
    *,
    delay: ArrayLike | None = None,
) -> MVAResult:
    """Exact Mean Value Analysis of a single-class closed product-form network.

    For ``n = 1..N``: ``R_k(n) = D_k (1 + Q_k(n-1))`` at queueing stations and
    ``R_k(n) = D_k`` at delay stations; ``X(n) = n / (Z + sum_k R_k(n))``;
    ``Q_k(n) = X(n) R_k(n)``.

    Parameters
    ----------
    service_demands : array_like
        Service demand per request at each station, ``D_k >= 0`` (s).
    users : int
        Number of users ``N >= 0``.
    think_time : float
        Think time ``Z >= 0`` (s) between a user's requests.
    delay : array_like of bool, optional
        Marks delay (infinite-server) stations; all stations queue by default.

    Returns
    -------
    MVAResult

    References
    ----------
    Reiser & Lavenberg (1980); Lazowska et al. (1984), Algorithm 6.1.

    Examples
    --------
    >>> r = mva([0.63], users=100, think_time=300.0)  # PDQ, Gunther (1998) ch. 2
    >>> round(r.throughput, 4), round(r.response_time, 4)
    (0.3325, 0.7943)
    """
    d, n_users, z, is_delay = _check(service_demands, users, think_time, delay)
    q = np.zeros_like(d)
    r_k = d.copy()
    x = 0.0
    for n in range(1, n_users + 1):
        r_k = np.where(is_delay, d, d * (1.0 + q))
        x = n / (z + r_k.sum()) if z + r_k.sum() > 0 else float("inf")
        q = x * r_k
    return _result(d, n_users, z, x, r_k, q, "exact", n_users)


def schweitzer(
    service_demands: ArrayLike,
    users: int,
    think_time: float = 0.0,
    *,
    delay: ArrayLike | None = None,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> MVAResult:
    """Bard-Schweitzer approximate MVA: O(K) per iteration, whatever N is.

    Replaces ``Q_k(N-1)`` by ``(N-1)/N Q_k(N)`` and iterates to a fixed point.
    Typical error against exact MVA is a few percent in throughput, largest at
    moderate N near the knee (Lazowska et al. 1984, §6.4.2).

    Parameters
    ----------
    service_demands, users, think_time, delay
        As for :func:`mva`.
    tol : float
        Stop when the largest change in a queue length is below ``tol`` (relative to
        N).
    max_iter : int
        Upper bound on iterations; :class:`ModelError` if it is reached.

    Returns
    -------
    MVAResult

    References
    ----------
    Schweitzer (1979); Lazowska et al. (1984), §6.4.2; Jain (1991), Box 34.3.

    Examples
    --------
    >>> r = schweitzer([0.1], users=3, think_time=0.1)
    >>> round(r.throughput, 2)
    8.79
    """
    d, n_users, z, is_delay = _check(service_demands, users, think_time, delay)
    if n_users == 0:
        return _result(d, 0, z, 0.0, d.copy(), np.zeros_like(d), "schweitzer", 0)
    queueing = ~is_delay
    q = np.where(queueing, n_users / max(1, int(queueing.sum())), 0.0)
    factor = (n_users - 1) / n_users
    for it in range(1, max_iter + 1):
        r_k = np.where(is_delay, d, d * (1.0 + factor * q))
        x = n_users / (z + r_k.sum())
        q_new = x * r_k
        if np.max(np.abs(q_new - q), initial=0.0) < tol * n_users:
            return _result(d, n_users, z, x, r_k, q_new, "schweitzer", it)
        q = q_new
    raise ModelError(f"Bard-Schweitzer did not converge in max_iter={max_iter!r} iterations")


def _result(  # noqa: PLR0917 (private constructor helper)
    d: FloatArray, n: int, z: float, x: float, r_k: FloatArray, q: FloatArray, method: str, it: int
) -> MVAResult:
    return MVAResult(
        users=n,
        throughput=float(x),
        response_time=float(r_k.sum()) if n > 0 else float(d.sum()),
        queue_lengths=q,
        residence_times=r_k,
        utilizations=x * d,
        think_time=z,
        method=method,
        iterations=it,
    )


def _check(
    service_demands: ArrayLike, users: int, think_time: float, delay: ArrayLike | None
) -> tuple[FloatArray, int, float, NDArray[np.bool_]]:
    d = np.atleast_1d(np.asarray(service_demands, dtype=np.float64))
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d) & (d >= 0)):
        raise ModelError(
            f"service_demands must be a non-empty list of finite numbers >= 0 (s), got "
            f"{service_demands!r}"
        )
    if isinstance(users, bool) or not isinstance(users, int | np.integer) or users < 0:
        raise ModelError(f"users must be a whole number >= 0, got {users!r}")
    if not (np.isfinite(think_time) and think_time >= 0):
        raise ModelError(f"think_time must be a finite number >= 0 (s), got {think_time!r}")
    is_delay = np.zeros(d.shape, dtype=bool) if delay is None else np.asarray(delay, dtype=bool)
    if is_delay.shape != d.shape:
        raise ModelError(f"delay must have one flag per station ({d.size}), got {delay!r}")
    if d.sum() + think_time == 0 and users > 0:
        raise ModelError("all demands and the think time are zero: throughput is unbounded")
    return d, int(users), float(think_time), is_delay
