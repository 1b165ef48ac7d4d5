"""Deciding, request by request, which faults of a :class:`~portal.faults.FaultConfig` hit.

:meth:`FaultInjector.plan` draws once per request, from one seeded stream, in a fixed
order (reset, error, spike, gateway, slow database), so the same seed and the same
arrival order give the same faults. The returned :class:`FaultPlan` says what
happens to that request; precedence is outage, then a reset before any work, then
an injected error; the rest (spike, gateway hang, slow SQL, reset after commit) happen
while it is served. Each fault is marked on the plan when it is actually applied
(a request refused at the web tier never reaches its slow SQL), and those marks go
into the access log's ``fault`` field, joined with ``+`` in the order they happened.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from portal.faults import GATEWAY_ENDPOINT, FaultConfig

FAULT_KINDS = ("error", "spike", "gateway_timeout", "reset", "outage", "slow_db")
RESET_BEFORE = "before"
RESET_AFTER_COMMIT = "after_commit"


@dataclass
class FaultPlan:
    """What the injected faults do to one request (nothing, by default)."""

    retry_after_s: int | None = None  # in an outage: 503 with this Retry-After
    error_status: int | None = None
    reset: str | None = None  # RESET_BEFORE or RESET_AFTER_COMMIT
    spike_s: float = 0.0
    gateway_hang_s: float = 0.0
    slow_db_s: float = 0.0
    marks: list[str] = field(default_factory=list)
    counts: dict[str, int] | None = None

    def applied(self, kind: str) -> None:
        """Note that fault ``kind`` was applied to this request."""
        self.marks.append(kind)
        if self.counts is not None:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    async def hold(self, kind: str, seconds: float) -> None:
        """Apply a delay fault: mark it, then sleep (the caller holds its server)."""
        if seconds > 0:
            self.applied(kind)
            await asyncio.sleep(seconds)


class FaultInjector:
    """A fault set in effect since :attr:`started_s`, and its random stream.

    Parameters
    ----------
    config
        The validated fault set.
    portal_seed
        The portal's seed: the stream's seed when the fault set has none.
    clock
        Monotonic seconds (for tests).
    """

    def __init__(
        self,
        config: FaultConfig,
        portal_seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._portal_seed = portal_seed
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.config = config
        self.started_s = clock()
        self._rng = _stream(config, portal_seed)

    def __repr__(self) -> str:
        return f"FaultInjector(config={self.config!r})"

    def restart(self) -> None:
        """Count outage times from now (the portal starts serving)."""
        self.started_s = self._clock()

    def replace(self, config: FaultConfig) -> None:
        """Put a new fault set in effect from now (counts of injected faults go on)."""
        self.config = config
        self._rng = _stream(config, self._portal_seed)
        self.restart()

    def since_s(self) -> float:
        return self._clock() - self.started_s

    def plan(self, key: str, uses_database: bool) -> FaultPlan:
        """The faults that hit this request of endpoint ``key``."""
        plan = FaultPlan(counts=self.counts)
        config = self.config
        if config.empty:
            return plan
        draws = [self._rng.random() for _ in range(5)]
        plan.retry_after_s = self._outage_retry_after_s()
        reset = config.reset_for(key)
        if reset is not None and draws[0] < reset.rate:
            plan.reset = RESET_AFTER_COMMIT if reset.after_commit else RESET_BEFORE
        error = config.error_for(key)
        if error is not None and draws[1] < error.rate:
            plan.error_status = error.status
        spike = config.spike_for(key)
        if spike is not None and draws[2] < spike.rate:
            plan.spike_s = spike.extra_s
        gateway = config.gateway_timeouts
        if gateway is not None and key == GATEWAY_ENDPOINT and draws[3] < gateway.rate:
            plan.gateway_hang_s = gateway.hang_s
        slow = config.slow_database
        if slow is not None and uses_database and draws[4] < slow.rate:
            plan.slow_db_s = slow.extra_s
        return plan

    def _outage_retry_after_s(self) -> int | None:
        """Whole seconds until the current outage ends (at least 1), or ``None``."""
        now_s = self.since_s()
        ends = [o.end_s for o in self.config.outages if o.start_s <= now_s < o.end_s]
        if not ends:
            return None
        return max(1, math.ceil(max(ends) - now_s))


def _stream(config: FaultConfig, portal_seed: int | None) -> random.Random:
    if config.seed is not None:
        return random.Random(config.seed)
    if portal_seed is not None:
        return random.Random(f"dvcload-faults:{portal_seed}")
    return random.Random()
