"""Operational laws: relations between measured quantities that hold for any
stable system observed over an interval, whatever the distributions.

All functions are vectorised (NumPy broadcasting).

References
----------
.. [1] Denning, P. J. & Buzen, J. P. (1978). The operational analysis of queueing
   network models. *ACM Computing Surveys* 10(3), 225-261.
.. [2] Lazowska, E. D., Zahorjan, J., Graham, G. S. & Sevcik, K. C. (1984).
   *Quantitative System Performance*. Prentice-Hall, ch. 3.
.. [3] Jain, R. (1991). *The Art of Computer Systems Performance Analysis*. Wiley,
   ch. 33 (utilization, forced flow, Little's, general and interactive response
   time laws).
.. [4] Little, J. D. C. (1961). A proof for the queuing formula L = lambda W.
   *Operations Research* 9(3), 383-387.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.errors import ModelError

FloatArray = NDArray[np.float64]


def utilization(
    throughput: ArrayLike, service_time_s: ArrayLike, servers: ArrayLike = 1
) -> float | FloatArray:
    """Utilisation law ``U = X S / c`` (per server).

    Parameters
    ----------
    throughput : float or array_like
        Completions per second at the resource, X.
    service_time_s : float or array_like
        Mean service time per completion, S (s).
    servers : int or array_like
        Servers sharing the work, c (1 gives the classic ``U = X S``).

    Returns
    -------
    float or ndarray

    References
    ----------
    Jain (1991), §33.2; Lazowska et al. (1984), §3.2.1.

    Examples
    --------
    >>> utilization(125.0, 0.002)
    0.25
    """
    x, s, c = _nonneg(throughput=throughput, service_time_s=service_time_s, servers=servers)
    if np.any(c == 0):
        raise ModelError(f"servers must be >= 1, got {servers!r}")
    return _out(x * s / c)


def service_demand(utilization_: ArrayLike, throughput: ArrayLike) -> float | FloatArray:
    """Service demand law ``D = U / X``: busy time per request at a resource (s).

    Parameters
    ----------
    utilization_ : float or array_like
        Measured utilisation U of the resource (busy fraction, summed over servers).
    throughput : float or array_like
        System throughput X (requests/s), > 0.

    Returns
    -------
    float or ndarray

    References
    ----------
    Lazowska et al. (1984), §3.2.4; Jain (1991), §33.3.

    Examples
    --------
    >>> service_demand(0.6, 30.0)
    0.02
    """
    u, x = _nonneg(utilization=utilization_, throughput=throughput)
    if np.any(x == 0):
        raise ModelError(f"throughput must be > 0, got {throughput!r}")
    return _out(u / x)


def littles_law(
    *,
    arrival_rate: ArrayLike | None = None,
    time_in_system_s: ArrayLike | None = None,
    number_in_system: ArrayLike | None = None,
) -> float | FloatArray:
    """Little's law ``L = lambda W``: give any two of the three, get the third.

    Parameters
    ----------
    arrival_rate : float or array_like, optional
        Throughput lambda (1/s).
    time_in_system_s : float or array_like, optional
        Mean time in the system W (s).
    number_in_system : float or array_like, optional
        Mean number in the system L.

    Returns
    -------
    float or ndarray
        The missing quantity.

    References
    ----------
    Little (1961); Jain (1991), §33.4.

    Examples
    --------
    >>> littles_law(arrival_rate=125.0, time_in_system_s=0.002)
    0.25
    >>> littles_law(number_in_system=3.0, arrival_rate=0.75)
    4.0
    """
    given = {
        k: v
        for k, v in (
            ("arrival_rate", arrival_rate),
            ("time_in_system_s", time_in_system_s),
            ("number_in_system", number_in_system),
        )
        if v is not None
    }
    if len(given) != 2:
        raise ModelError(
            "give exactly two of arrival_rate, time_in_system_s, number_in_system;"
            f" got {sorted(given)!r}"
        )
    vals = dict(zip(given, _nonneg(**given), strict=True))
    if number_in_system is None:
        return _out(vals["arrival_rate"] * vals["time_in_system_s"])
    if arrival_rate is None:
        return _out(_divide(vals["number_in_system"], vals["time_in_system_s"], "time_in_system_s"))
    return _out(_divide(vals["number_in_system"], vals["arrival_rate"], "arrival_rate"))


def interactive_response_time(
    users: ArrayLike, throughput: ArrayLike, think_time_s: ArrayLike = 0.0
) -> float | FloatArray:
    """Interactive response time law ``R = N / X - Z``.

    Parameters
    ----------
    users : float or array_like
        Number of users N (Locust users).
    throughput : float or array_like
        System throughput X (requests/s), > 0.
    think_time_s : float or array_like
        Mean think time Z between a user's requests (s).

    Returns
    -------
    float or ndarray
        Mean response time R (s).

    References
    ----------
    Lazowska et al. (1984), §3.2.3; Jain (1991), §33.5.

    Examples
    --------
    >>> round(interactive_response_time(100, 0.3325, 300.0), 4)   # PDQ closed1 example
    0.7519
    """
    n, x, z = _nonneg(users=users, throughput=throughput, think_time_s=think_time_s)
    return _out(_divide(n, x, "throughput") - z)


def forced_flow(visits: ArrayLike, throughput: ArrayLike) -> float | FloatArray:
    """Forced flow law ``X_k = V_k X``: throughput at a station from the system's.

    Examples
    --------
    >>> forced_flow(3.0, 10.0)
    30.0
    """
    v, x = _nonneg(visits=visits, throughput=throughput)
    return _out(v * x)


def _nonneg(**values: ArrayLike) -> list[FloatArray]:
    out = []
    for name, v in values.items():
        arr = np.asarray(v, dtype=np.float64)
        if not np.all(np.isfinite(arr) & (arr >= 0)):
            raise ModelError(f"{name} must be a finite number >= 0, got {v!r}")
        out.append(arr)
    return out


def _divide(num: FloatArray, den: FloatArray, name: str) -> FloatArray:
    if np.any(den == 0):
        raise ModelError(f"{name} must be > 0 here, got {den.tolist()!r}")
    return num / den


def _out(x: FloatArray) -> float | FloatArray:
    return float(x) if np.ndim(x) == 0 else x
