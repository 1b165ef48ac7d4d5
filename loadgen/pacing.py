"""A hard ceiling on the request rate of a run (a token bucket per process).

Every scenario has one (``load.max_request_rate``, requests/s), so that no mistake in
a profile, a user count or a redirect loop can send more than the operator allowed.
It counts wire requests: ``loadgen.wire`` takes a token for every request that
leaves, redirect hops and client retries included. A request that finds the bucket
empty waits for its token and is counted as throttled; in the open model that wait
shows up as start delay and in the coordinated-omission-corrected session times,
never silently.

The ceiling is per run. With several processes each takes an equal share: a worker
that knows how many processes share the run (``dvcload worker --partition K/N``,
Locust's ``--processes N``) starts with its share; a worker that does not
(``locust --worker``) sends nothing until its master tells it (:mod:`loadgen.share`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

UNSET_POLL_S = 0.05  # how often a process without its share looks again
TOKEN_EPSILON = 1e-9  # a token refilled to within rounding is a token (no endless tiny waits)


class RateCeiling:
    """At most ``rate_per_s`` acquisitions per second, with a burst of ``burst`` tokens.

    Parameters
    ----------
    rate_per_s
        Sustained ceiling, acquisitions per second (> 0), or ``None``: nothing may be
        acquired until :meth:`set_rate` gives one.
    burst
        Tokens available at once; defaults to 50 ms worth (at least 1).
    sleep, clock
        Cooperative sleep and monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        rate_per_s: float | None,
        *,
        burst: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed_burst = burst
        self._sleep = sleep
        self._clock = clock
        self._last = clock()
        self.throttled = 0  # acquisitions that had to wait
        self.acquired = 0  # all acquisitions: the wire requests of this process
        self.rate_per_s: float | None = None
        self.burst = 1.0
        self._tokens = 0.0
        self._issued = 0  # tickets given to callers of acquire(), in order
        self._served = 0  # the oldest ticket not yet served
        self._abandoned: set[int] = set()  # tickets whose caller stopped waiting
        if rate_per_s is not None:
            self.set_rate(rate_per_s)
            self._tokens = self.burst

    def set_rate(self, rate_per_s: float) -> None:
        """Change the sustained rate (a worker's share when the workers change).

        Tokens already in the bucket are kept up to the new burst, so a lowered share
        takes effect at once.
        """
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s!r}")
        if self.rate_per_s is not None:
            self._refill()
        else:
            self._last = self._clock()
        self.rate_per_s = rate_per_s
        self.burst = max(1.0, rate_per_s * 0.05) if self._fixed_burst is None else self._fixed_burst
        self._tokens = min(self._tokens, self.burst)

    def acquire(self) -> None:
        """Take a token, waiting for one if the bucket is empty (or for a rate, while
        this process has not been given its share).

        Waiters are served first come, first served: each takes a ticket, and only the
        oldest unserved ticket may take a token. A token is only ever taken from the
        bucket as it stands, refilled in real time up to ``burst``: a waiter is never
        promised a future token. So a process that stalls (a busy machine, a long GC
        pause) and wakes with many waiters overdue sends ``burst`` of them, then one
        per ``1 / rate_per_s`` again, never the requests it "owed": in any window of
        ``T`` seconds at most ``rate_per_s * T + burst`` tokens are taken."""
        while self.rate_per_s is None:
            self._sleep(UNSET_POLL_S)
        self.acquired += 1
        ticket, self._issued = self._issued, self._issued + 1
        waited = False
        try:
            while True:
                self._refill()
                ahead = ticket - self._served  # waiters to be served before this one
                if ahead == 0 and self._tokens >= 1.0 - TOKEN_EPSILON:
                    self._tokens -= 1.0
                    self._served += 1
                    self._skip_abandoned()
                    return
                waited = True
                assert self.rate_per_s is not None
                self._sleep((ahead + 1.0 - self._tokens) / self.rate_per_s)
        except BaseException:  # killed while waiting (the run stopped): out of the queue
            self._abandoned.add(ticket)
            self._skip_abandoned()
            raise
        finally:
            self.throttled += waited

    def _skip_abandoned(self) -> None:
        while self._served in self._abandoned:
            self._abandoned.discard(self._served)
            self._served += 1

    def _refill(self) -> None:
        assert self.rate_per_s is not None
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now
