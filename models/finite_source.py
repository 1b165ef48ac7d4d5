"""The finite-source M/M/c//N queue (machine repairman; Locust users with think time).

N sources (users) each think for an exponential time with mean Z, then send a
request to a station with c servers and exponential service; the number of
requests at the station is a birth-death chain with birth rate ``(N - n)/Z`` and
death rate ``min(n, c)/S``, solved exactly in log space.

References
----------
.. [1] Gross, D., Shortle, J. F., Thompson, J. M. & Harris, C. M. (2008).
   *Fundamentals of Queueing Theory*, 4th ed. Wiley, §2.7 (finite source queues).
.. [2] Kleinrock, L. (1975). *Queueing Systems, Vol. 1*. Wiley, §3.9 (M/M/m//M).
.. [3] Gunther, N. J. (1998). *The Practical Performance Analyst*. McGraw-Hill,
   ch. 3 (the repairman model, PDQ's ``repair`` example).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp

from models.errors import ModelError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FiniteSource:
    """M/M/c//N: ``sources`` users with mean think time ``think_time_s``.

    Parameters
    ----------
    sources : int
        Number of sources N >= 1 (machines, users).
    think_time_s : float
        Mean time a source spends away from the station, Z > 0 (s).
    service_time_s : float
        Mean service time, S > 0 (s).
    servers : int
        Servers c >= 1.

    Examples
    --------
    >>> q = FiniteSource(sources=8, think_time_s=12.5, service_time_s=1.2, servers=3)
    >>> round(q.throughput, 4), round(q.mean_response, 4)   # PDQ repair example
    (0.5836, 1.2084)
    """

    sources: int
    think_time_s: float
    service_time_s: float
    servers: int

    def __post_init__(self) -> None:
        for name, value in (("sources", self.sources), ("servers", self.servers)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ModelError(f"{name} must be a whole number >= 1, got {value!r}")
        for name, t in (
            ("think_time_s", self.think_time_s),
            ("service_time_s", self.service_time_s),
        ):
            if not (np.isfinite(t) and t > 0):
                raise ModelError(f"{name} must be a finite number > 0 (s), got {t!r}")

    @property
    def distribution(self) -> FloatArray:
        """``P(n)`` requests at the station, ``n = 0..N``."""
        n = np.arange(self.sources + 1)
        births = np.log(self.sources - n[:-1]) - np.log(self.think_time_s)
        deaths = np.log(np.minimum(n[1:], self.servers)) - np.log(self.service_time_s)
        log_p = np.concatenate([[0.0], np.cumsum(births - deaths)])
        return np.exp(log_p - logsumexp(log_p))

    @property
    def mean_in_system(self) -> float:
        p = self.distribution
        return float(np.arange(p.size) @ p)

    @property
    def mean_queue_length(self) -> float:
        p = self.distribution
        return float(np.maximum(np.arange(p.size) - self.servers, 0) @ p)

    @property
    def throughput(self) -> float:
        """Requests completed per second ``(N - L) / Z``."""
        return (self.sources - self.mean_in_system) / self.think_time_s

    @property
    def mean_response(self) -> float:
        """Mean response time ``R = L / X`` (s) (equivalently ``N/X - Z``)."""
        return self.mean_in_system / self.throughput

    @property
    def mean_wait(self) -> float:
        return self.mean_queue_length / self.throughput

    @property
    def utilization(self) -> float:
        """Per-server utilisation ``X S / c``."""
        return self.throughput * self.service_time_s / self.servers
