"""Open Jackson networks: Poisson arrivals, probabilistic routing, M/M/c stations.

By Jackson's theorem each station behaves as an independent M/M/c queue fed at the
rate given by the traffic equations ``lambda = gamma + P^T lambda``.

References
----------
.. [1] Jackson, J. R. (1957). Networks of waiting lines. *Operations Research*
   5(4), 518-521.
.. [2] Gross, D. & Harris, C. M. (1998). *Fundamentals of Queueing Theory*, 3rd ed.
   Wiley, §4.2 (open Jackson networks; Example 4.2, p. 181).
.. [3] Bolch, G., Greiner, S., de Meer, H. & Trivedi, K. S. (2006). *Queueing
   Networks and Markov Chains*, 2nd ed. Wiley, §7.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.errors import ModelError
from models.mmc import MMc

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class JacksonNetwork:
    """An open Jackson network of K M/M/c stations.

    Parameters
    ----------
    external_arrival_rates : array_like
        Poisson arrivals from outside into each station, ``gamma_k >= 0`` (1/s).
    routing : array_like
        K x K matrix; ``routing[i, j]`` is the probability that a customer leaving
        station i goes to station j. Row sums must be <= 1 (the rest leaves), and
        every customer must eventually leave (``I - P`` invertible).
    service_rates : array_like
        Service rate per server at each station (1/s).
    servers : array_like of int
        Servers at each station.

    Raises
    ------
    ModelError
        For invalid routing, or a station with utilisation >= 1 (named in the
        message).

    Examples
    --------
    >>> net = JacksonNetwork([0.1, 0, 0], [[0, 1, 0], [0, 0, 1], [0, 0, 0]],
    ...                      [1.0, 0.5, 1 / 3], [1, 1, 1])   # PDQ simple_series
    >>> round(net.mean_response, 4)
    7.8968
    """

    external_arrival_rates: FloatArray
    routing: FloatArray
    service_rates: FloatArray
    servers: NDArray[np.int64]
    stations: tuple[MMc, ...] = field(init=False, repr=False)
    arrival_rates: FloatArray = field(init=False, repr=False)

    def __init__(
        self,
        external_arrival_rates: ArrayLike,
        routing: ArrayLike,
        service_rates: ArrayLike,
        servers: ArrayLike,
    ) -> None:
        gamma = np.atleast_1d(np.asarray(external_arrival_rates, dtype=np.float64))
        p = np.atleast_2d(np.asarray(routing, dtype=np.float64))
        mu = np.atleast_1d(np.asarray(service_rates, dtype=np.float64))
        c = np.atleast_1d(np.asarray(servers))
        k = gamma.size
        if p.shape != (k, k) or mu.shape != (k,) or c.shape != (k,):
            raise ModelError(
                f"need K external rates, a K x K routing matrix, K service rates and K server"
                f" counts; got shapes {gamma.shape}, {p.shape}, {mu.shape}, {c.shape}"
            )
        if np.any(gamma < 0) or gamma.sum() <= 0:
            raise ModelError(
                f"external arrival rates must be >= 0 with a positive sum, got {gamma.tolist()!r}"
            )
        if np.any(p < 0) or np.any(p.sum(axis=1) > 1 + 1e-12):
            raise ModelError(
                f"routing probabilities must be >= 0 with row sums <= 1, got {p.tolist()!r}"
            )
        try:
            lam = np.linalg.solve(np.eye(k) - p.T, gamma)
        except np.linalg.LinAlgError:
            raise ModelError(
                "routing matrix traps customers: I - P is singular (no exit)"
            ) from None
        if np.any(lam < -1e-12) or not np.all(np.isfinite(lam)):
            raise ModelError(
                "routing matrix traps customers: the traffic equations have no solution"
            )
        lam = np.maximum(lam, 0.0)
        rho = lam / (c * mu)
        if np.any(rho >= 1):
            i = int(np.argmax(rho))
            raise ModelError(
                f"station {i} is unstable: utilisation {float(rho[i])!r} >= 1; add servers there"
            )
        object.__setattr__(self, "external_arrival_rates", gamma)
        object.__setattr__(self, "routing", p)
        object.__setattr__(self, "service_rates", mu)
        object.__setattr__(self, "servers", c.astype(np.int64))
        object.__setattr__(self, "arrival_rates", lam)
        stations = tuple(MMc(float(lam[i]), float(mu[i]), int(c[i])) for i in range(k))
        object.__setattr__(self, "stations", stations)

    @property
    def visit_ratios(self) -> FloatArray:
        """Mean visits to each station per customer, ``lambda_k / sum(gamma)``."""
        return self.arrival_rates / self.external_arrival_rates.sum()

    @property
    def utilizations(self) -> FloatArray:
        return np.array([s.utilization for s in self.stations])

    @property
    def mean_in_station(self) -> FloatArray:
        """Mean number at each station L_k (waiting or in service)."""
        return np.array([s.mean_in_system for s in self.stations])

    @property
    def residence_times(self) -> FloatArray:
        """Mean time a customer spends at each station over all its visits (s)."""
        return self.visit_ratios * np.array([s.mean_response for s in self.stations])

    @property
    def mean_response(self) -> float:
        """End-to-end mean response time ``sum_k L_k / sum_k gamma_k`` (Little's law)."""
        return float(self.mean_in_station.sum() / self.external_arrival_rates.sum())
