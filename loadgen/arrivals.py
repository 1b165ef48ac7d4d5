"""Open-loop arrivals: a non-homogeneous Poisson process and its dispatcher.

Arrival times are drawn by thinning (Lewis & Shedler 1979): in each chunk of run time,
candidates come from a homogeneous Poisson process at the chunk's maximum rate and
each is kept with probability ``rate(t) / max``. The maxima are exact because the
profiles are piecewise linear (:mod:`dvcschema.rates`), so the result is exactly a
Poisson process with the profile's rate, short peaks included.

The dispatcher hands each arrival to an idle session user through a zero-capacity
channel. When no user is idle (``max_concurrency`` sessions are running), the arrival
is *dropped* and counted (k6's ``dropped_iterations``), never silently lost. The delay
between an arrival's intended and actual start is recorded for every session.

Resolution: the dispatcher sleeps on a Linux ``timerfd`` (:mod:`loadgen.timer`), not
on gevent's timers, which wake on a 1 ms grid and snapped the gaps to whole
milliseconds. What remains is the generator being one cooperative thread: an arrival
due while another greenlet holds the CPU (about 0.7 ms per request, Locust included)
leaves when it yields, so gaps of a few milliseconds are slightly depleted and the
next ones slightly stretched. The rate, and the process at coarser scales, are not
affected; the session start delays in ``summary.json`` show how late dispatch was,
and ``python -m benchmarks arrivals`` measures the shape the portal saw.

References
----------
.. [1] P. A. W. Lewis and G. S. Shedler, "Simulation of nonhomogeneous Poisson
   processes by thinning", Naval Research Logistics Quarterly 26(3), 1979.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dvcschema.rates import RateProfile
from models._rng import RngLike, as_generator

CHUNK_S = 1.0


def poisson_arrivals(
    profile: RateProfile,
    duration_s: float,
    rng: RngLike = None,
    *,
    chunk_s: float = CHUNK_S,
) -> Iterator[NDArray[np.float64]]:
    """Arrival times (seconds since the start), chunk by chunk, for ``duration_s``.

    Parameters
    ----------
    profile
        The rate over run time, sessions per second.
    duration_s
        Stop after this many seconds of run time.
    rng
        Seed or generator.
    chunk_s
        Length of the windows thinned together (bounds memory, not accuracy).

    Examples
    --------
    >>> from dvcschema.rates import constant
    >>> times = np.concatenate(list(poisson_arrivals(constant(50, 100), 100, rng=1)))
    >>> round(len(times) / 100)
    50
    """
    generator = as_generator(rng)
    start = 0.0
    while start < duration_s:
        end = min(start + chunk_s, duration_s)
        peak = profile.max_rate(start, end)
        if peak > 0:
            n = generator.poisson(peak * (end - start))
            candidates = np.sort(generator.uniform(start, end, n))
            keep = generator.random(n) * peak < profile.rate_at(candidates)
            yield candidates[keep]
        start = end


@dataclass
class ArrivalStats:
    """Counts for ``summary.json``'s ``arrivals``."""

    offered: int = 0  # arrivals generated
    started: int = 0  # handed to a session user
    dropped: int = 0  # no session user was free
    late: int = 0  # started more than LATE_S after the intended time

    def merge(self, other: dict[str, int]) -> None:
        self.offered += int(other.get("offered", 0))
        self.started += int(other.get("started", 0))
        self.dropped += int(other.get("dropped", 0))
        self.late += int(other.get("late", 0))


@dataclass(frozen=True)
class Ticket:
    """One arrival: its number and intended start (Unix seconds)."""

    index: int
    intended_at: float


LATE_S = 0.1


class Dispatcher:
    """Hand arrivals to idle session users at their intended times.

    Parameters
    ----------
    arrivals
        Chunks of arrival times in run seconds (from :func:`poisson_arrivals`).
    offer
        ``offer(ticket) -> bool``: give the ticket to an idle user without waiting;
        ``False`` when none is idle (the arrival is dropped).
    sleep
        Cooperative sleep (``gevent.sleep``).
    clock
        Wall clock (Unix seconds).
    """

    def __init__(
        self,
        arrivals: Iterator[NDArray[np.float64]],
        offer: Callable[[Ticket], bool],
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._arrivals = arrivals
        self._offer = offer
        self._sleep = sleep
        self._clock = clock
        self.stats = ArrivalStats()

    def run(self, started_at: float, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Dispatch every arrival (returns at the end of the profile or when stopped)."""
        index = 0
        for chunk in self._arrivals:
            for offset in chunk:
                if should_stop():
                    return
                intended = started_at + float(offset)
                wait = intended - self._clock()
                if wait > 0:
                    self._sleep(wait)
                    if should_stop():  # the run ended while waiting: hand nothing over
                        return
                index += 1
                self.stats.offered += 1
                if self._offer(Ticket(index, intended)):
                    self.stats.started += 1
                    if self._clock() - intended > LATE_S:
                        self.stats.late += 1
                else:
                    self.stats.dropped += 1
