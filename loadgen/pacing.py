"""A hard ceiling on the request rate of one process (a token bucket).

Every scenario has one (``load.max_request_rate``, requests/s, split evenly across
worker processes), so that no mistake in a profile or a user count can send more than
the operator allowed. A request that finds the bucket empty waits for its token and
is counted as throttled; in the open model that wait shows up as start delay and in
the coordinated-omission-corrected session times, never silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateCeiling:
    """At most ``rate_per_s`` acquisitions per second, with a burst of ``burst`` tokens.

    Parameters
    ----------
    rate_per_s
        Sustained ceiling, acquisitions per second (> 0).
    burst
        Tokens available at once; defaults to 50 ms worth (at least 1).
    sleep, clock
        Cooperative sleep and monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        rate_per_s: float,
        *,
        burst: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s!r}")
        self.rate_per_s = rate_per_s
        self.burst = max(1.0, rate_per_s * 0.05) if burst is None else burst
        self._tokens = self.burst
        self._sleep = sleep
        self._clock = clock
        self._last = clock()
        self.throttled = 0

    def acquire(self) -> None:
        """Take a token, waiting for one if the bucket is empty."""
        self._refill()
        if self._tokens < 1.0:
            self.throttled += 1
            wait_s = (1.0 - self._tokens) / self.rate_per_s
            self._tokens -= 1.0  # reserve it: concurrent callers queue up behind
            self._sleep(wait_s)
            return
        self._tokens -= 1.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now
