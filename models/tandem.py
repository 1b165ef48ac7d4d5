"""End-to-end response time of a request that visits several stations in turn.

The mean is the sum of the stations' mean response times: linearity of expectation,
exact whatever the dependence between them (Jackson's network mean response is the
same sum). The distribution is the convolution of the stations' response-time
distributions, which treats the times spent at successive stations as independent.
That is exact for a tandem of M/M/1 queues (Reich 1957, from Burke's output theorem)
and an approximation otherwise: with several servers a customer can be overtaken,
and the times at successive stations are then slightly dependent (Burke 1969). Each
station's own distribution is the one of :func:`models.approx_response_survival`
(exact for M/M/c).

The convolution is numerical: each distribution is cut into ``grid_points`` bins up
to the sum of the stations' horizons (where each one's tail is below ``1e-7``; a
station's remaining tail goes to the bin of its own horizon), each bin's probability
is placed at its midpoint and the masses are convolved, so a quantile is off by at
most about one bin width (horizon / grid_points, ~0.03% with the defaults).

References
----------
.. [1] Burke, P. J. (1956). The output of a queuing system. *Operations Research*
   4(6), 699-704.
.. [2] Reich, E. (1957). Waiting times when queues are in tandem. *Annals of
   Mathematical Statistics* 28(3), 768-773.
.. [3] Burke, P. J. (1969). The dependence of sojourn times in tandem M/M/s queues.
   *Operations Research* 17(4), 754-755.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from models.approximations import (
    approx_mean_wait,
    approx_response_quantile,
    approx_response_survival,
)
from models.distributions import ServiceTimeDistribution
from models.errors import ModelError

FloatArray = NDArray[np.float64]
TAIL = 1e-7
GRID_POINTS = 4096


@dataclass(frozen=True)
class QueueStation:
    """One G/G/c station of a tandem: arrival rate (1/s), service (s), servers.

    Examples
    --------
    >>> from models.distributions import Exponential
    >>> round(QueueStation(3.0, Exponential(mean=1.0), 4).mean_response, 4)  # M/M/4
    1.5094
    """

    arrival_rate: float
    service: ServiceTimeDistribution
    servers: int
    arrival_cv: float = 1.0

    @property
    def mean_response(self) -> float:
        """Mean wait (by :func:`models.approx_mean_wait`) plus mean service (s)."""
        wait = approx_mean_wait(
            self.arrival_rate, self.service, self.servers, arrival_cv=self.arrival_cv
        )
        return float(wait) + self.service.mean

    def response_quantile(self, p: float) -> float:
        """The ``p``-quantile of the response time at this station (s)."""
        return float(
            approx_response_quantile(
                p, self.arrival_rate, self.service, self.servers, arrival_cv=self.arrival_cv
            )
        )

    def response_survival(self, t: FloatArray) -> FloatArray:
        """``P(T > t)`` at this station."""
        return np.asarray(
            approx_response_survival(
                t, self.arrival_rate, self.service, self.servers, arrival_cv=self.arrival_cv
            ),
            dtype=np.float64,
        )


def tandem_mean_response(stations: Sequence[QueueStation]) -> float:
    """Mean end-to-end response time: the sum of the stations' means (s).

    Examples
    --------
    >>> from models.distributions import Exponential
    >>> a = QueueStation(0.5, Exponential(mean=1.0), 1)
    >>> tandem_mean_response([a, a])       # two M/M/1 queues at rho 0.5: 2 + 2
    4.0
    """
    _check(stations)
    return float(sum(s.mean_response for s in stations))


def tandem_response_quantile(
    p: float, stations: Sequence[QueueStation], *, grid_points: int = GRID_POINTS
) -> float:
    """The ``p``-quantile of the end-to-end response time, by numerical convolution.

    Parameters
    ----------
    p : float
        Probability in (0, 1).
    stations : sequence of QueueStation
        The stations visited, in any order (a sum does not depend on it).
    grid_points : int
        Bins per station distribution.

    Returns
    -------
    float
        The quantile (s), assuming independent times at the stations (exact for
        tandem M/M/1 queues, Reich 1957).

    Examples
    --------
    >>> import math
    >>> from models.distributions import Exponential
    >>> a = QueueStation(1.0, Exponential(mean=0.5), 1)    # M/M/1 sojourn: Exp(1)
    >>> b = QueueStation(1.0, Exponential(mean=0.25), 1)   # Exp(3)
    >>> t = tandem_response_quantile(0.95, [a, b])          # independent: Reich (1957)
    >>> round(1.5 * math.exp(-t) - 0.5 * math.exp(-3 * t), 4)
    0.05
    """
    _check(stations)
    if not 0 < p < 1:
        raise ModelError(f"p must be a probability in (0, 1), got {p!r}")
    if len(stations) == 1:
        return stations[0].response_quantile(p)
    # a station visited k times (the same object k times) is binned once
    horizon_of = {id(s): s.response_quantile(1 - TAIL) for s in stations}
    width = sum(horizon_of[id(s)] for s in stations) / grid_points
    edges = np.arange(grid_points + 1, dtype=np.float64) * width
    binned = {
        k: _bin_masses(s, edges, horizon_of[k]) for k, s in {id(s): s for s in stations}.items()
    }
    mass = binned[id(stations[0])]
    for station in stations[1:]:
        mass = np.clip(signal.fftconvolve(mass, binned[id(station)]), 0.0, None)
    # Bin j of a sum of k midpoints sits at (j + k/2) * width; as for one distribution
    # (midpoint rule), the mass up to bin j is reached half a bin above its centre.
    upper = (np.arange(mass.size) + len(stations) / 2 + 0.5) * width
    cdf = np.cumsum(mass)
    i = int(np.searchsorted(cdf, p))
    if i == 0:
        return float(upper[0])
    if i >= cdf.size:
        return float(upper[-1])
    frac = (p - cdf[i - 1]) / (cdf[i] - cdf[i - 1])
    return float(upper[i - 1] + frac * width)


def _bin_masses(station: QueueStation, edges: FloatArray, horizon: float) -> FloatArray:
    """Probability of each bin; the tail beyond ``horizon`` (< TAIL) goes to the bin
    that holds the horizon (and the survival function is not evaluated out there,
    where numerical integration has nothing left to resolve)."""
    survival = np.zeros(edges.size)
    inside = edges <= horizon
    survival[inside] = station.response_survival(edges[inside])
    return np.clip(-np.diff(survival), 0.0, None)


def _check(stations: Sequence[QueueStation]) -> None:
    if not stations:
        raise ModelError("a tandem needs at least one station")
