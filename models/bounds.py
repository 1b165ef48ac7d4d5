"""Asymptotic and balanced-job bounds for single-class closed networks.

Bounds need only the total demand ``D = sum_k D_k``, the largest ``D_max`` and the
average ``D_avg = D / K``, so they are a cross-check on MVA and a first answer
before any model is solved.

References
----------
.. [1] Lazowska, E. D., Zahorjan, J., Graham, G. S. & Sevcik, K. C. (1984).
   *Quantitative System Performance*. Prentice-Hall, §5.2 (asymptotic bounds,
   Table 5.1) and §5.3 (balanced system bounds, Table 5.2).
.. [2] Zahorjan, J., Sevcik, K. C., Eager, D. L. & Galler, B. (1982). Balanced job
   bound analysis of queueing networks. *Communications of the ACM* 25(2), 134-141.
.. [3] Jain, R. (1991). *The Art of Computer Systems Performance Analysis*. Wiley,
   §33.6 (asymptotic bounds) and §34.4 (balanced job bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.errors import ModelError
from models.mva import _check


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bounds on throughput (1/s) and response time (s)."""

    throughput_lower: float
    throughput_upper: float
    response_lower: float
    response_upper: float
    knee_users: float
    """``N* = (D + Z) / D_max``, where the light- and heavy-load asymptotes meet."""


def asymptotic_bounds(service_demands: ArrayLike, users: int, think_time: float = 0.0) -> Bounds:
    """Asymptotic bounds (ABA) for N users with think time Z.

    ``N / (N D + Z) <= X(N) <= min(1 / D_max, N / (D + Z))`` and
    ``max(D, N D_max - Z) <= R(N) <= N D``.

    Parameters
    ----------
    service_demands : array_like
        Demand per request at each queueing station (s).
    users : int
        Population N >= 1.
    think_time : float
        Z (s).

    Returns
    -------
    Bounds

    References
    ----------
    Lazowska et al. (1984), Table 5.1; Jain (1991), §33.6.

    Examples
    --------
    >>> b = asymptotic_bounds([0.2, 0.1], users=10, think_time=1.0)
    >>> round(b.throughput_upper, 4), round(b.response_lower, 4)
    (5.0, 1.0)
    """
    d, n, z = _inputs(service_demands, users, think_time)
    total, d_max = float(d.sum()), float(d.max())
    return Bounds(
        throughput_lower=n / (n * total + z),
        throughput_upper=min(1.0 / d_max, n / (total + z)),
        response_lower=max(total, n * d_max - z),
        response_upper=n * total,
        knee_users=(total + z) / d_max,
    )


def balanced_job_bounds(service_demands: ArrayLike, users: int, think_time: float = 0.0) -> Bounds:
    """Balanced job (balanced system) bounds, tighter than the asymptotic ones.

    ``X(N) >= N / (D + Z + (N-1) D_max / (1 + Z/(N D)))``,
    ``X(N) <= min(1/D_max, N / (D + Z + (N-1) D_avg / (1 + Z/D)))``, and the
    response-time bounds ``R = N/X - Z`` that follow.

    Parameters
    ----------
    service_demands, users, think_time
        As for :func:`asymptotic_bounds`.

    Returns
    -------
    Bounds

    References
    ----------
    Zahorjan et al. (1982); Lazowska et al. (1984), Table 5.2; Jain (1991), §34.4.

    Examples
    --------
    >>> b = balanced_job_bounds([0.2, 0.1], users=10, think_time=1.0)
    >>> round(b.throughput_lower, 3), round(b.throughput_upper, 3)
    (3.774, 5.0)
    """
    d, n, z = _inputs(service_demands, users, think_time)
    total, d_max = float(d.sum()), float(d.max())
    d_avg = total / d.size
    x_low = n / (total + z + (n - 1) * d_max / (1 + z / (n * total)))
    x_up = min(1.0 / d_max, n / (total + z + (n - 1) * d_avg / (1 + z / total)))
    r_low = max(n * d_max - z, total + (n - 1) * d_avg / (1 + z / total))
    r_up = total + (n - 1) * d_max / (1 + z / (n * total))
    return Bounds(x_low, x_up, r_low, r_up, knee_users=(total + z) / d_max)


def _inputs(
    service_demands: ArrayLike, users: int, think_time: float
) -> tuple[NDArray[np.float64], int, float]:
    d, n, z, _ = _check(service_demands, users, think_time, None)
    if n < 1 or d.sum() <= 0:
        raise ModelError(
            f"bounds need users >= 1 and a positive total demand, got users={users!r},"
            f" demands={service_demands!r}"
        )
    return d, n, z
