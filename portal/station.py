"""A FIFO queueing station with ``c`` identical servers and a bounded waiting line.

This is the physical part of the reference portal: every tier (web, db, payment) is
one :class:`Station`. A request asks for a server with :meth:`Station.acquire`; when
all ``c`` servers are busy it waits in a strict first-in, first-out line; when the
line already holds ``queue_limit`` requests it is refused at once with
:class:`StationFullError` (the portal answers 503). So a station is an M/G/c/(c+K) system
with K = ``queue_limit`` when arrivals are Poisson, and a pure loss system
(Erlang B) when ``queue_limit`` is 0.

Cancellation is safe: a request cancelled while waiting (its client went away)
leaves the line without taking a server, and one cancelled just after it was handed
a server gives that server to the next in line, so no slot ever leaks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass


class StationFullError(Exception):
    """The station's waiting line is at its limit; the request is refused."""

    def __init__(self, station: str, queue_limit: int) -> None:
        self.station = station
        self.queue_limit = queue_limit
        super().__init__(f"tier {station!r} is at its queue limit ({queue_limit} waiting)")


@dataclass(frozen=True)
class StationSnapshot:
    """What ``/health`` shows of a station at one instant."""

    servers: int
    busy: int
    waiting: int
    queue_limit: int

    def as_dict(self) -> dict[str, int]:
        return {
            "servers": self.servers,
            "busy": self.busy,
            "waiting": self.waiting,
            "queue_limit": self.queue_limit,
        }


class Station:
    """``servers`` identical servers fed by one FIFO line of at most ``queue_limit``.

    Parameters
    ----------
    name
        The tier's name, for messages.
    servers
        Number of servers (c >= 1).
    queue_limit
        Most requests allowed to wait (K >= 0); one more is refused.

    Examples
    --------
    >>> import asyncio
    >>> async def demo() -> float:
    ...     station = Station("web", servers=1, queue_limit=4)
    ...     async with station.hold() as wait_s:
    ...         return wait_s
    >>> asyncio.run(demo())
    0.0
    """

    def __init__(self, name: str, servers: int, queue_limit: int) -> None:
        if servers < 1:
            raise ValueError(f"a station needs at least 1 server, got {servers!r}")
        if queue_limit < 0:
            raise ValueError(f"queue_limit must be >= 0, got {queue_limit!r}")
        self.name = name
        self.servers = servers
        self.queue_limit = queue_limit
        self._busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __repr__(self) -> str:
        return (
            f"Station(name={self.name!r}, servers={self.servers}, "
            f"queue_limit={self.queue_limit}, busy={self._busy}, waiting={self.waiting})"
        )

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    def snapshot(self) -> StationSnapshot:
        return StationSnapshot(self.servers, self._busy, self.waiting, self.queue_limit)

    async def acquire(self) -> float:
        """Take a server, waiting in line if needed; return the wait in seconds.

        Raises :class:`StationFullError` without waiting when the line is at its limit.
        """
        if self._busy < self.servers and not self._waiters:
            self._busy += 1
            return 0.0
        if len(self._waiters) >= self.queue_limit:
            raise StationFullError(self.name, self.queue_limit)
        started = time.perf_counter()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            self._leave_line(waiter)
            raise
        return time.perf_counter() - started

    def release(self) -> None:
        """Give the server to the first live waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the server passes on; busy is unchanged
                return
        if self._busy <= 0:
            raise RuntimeError(f"station {self.name!r} released more servers than it gave")
        self._busy -= 1

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[float]:
        """``async with station.hold() as wait_s:`` holds one server for the block."""
        wait_s = await self.acquire()
        try:
            yield wait_s
        finally:
            self.release()

    def _leave_line(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            # Handed a server in the same instant as the cancellation: pass it on.
            self.release()
            return
        with suppress(ValueError):
            self._waiters.remove(waiter)
