"""A cooperative sleep with microsecond wake-ups, for the open model's arrival clock.

gevent's default loop (libev on epoll) rounds every timer up to the next whole
millisecond, because ``epoll_wait`` takes its timeout in milliseconds, and starts the
next wait right after the previous wake. Sleeping from one arrival to the next
therefore snaps the gaps between arrivals to integer milliseconds: at 200 sessions/s
(5 ms mean gap) a Kolmogorov-Smirnov test rejects the exponential at p ~ 1e-25 even
on an idle machine. A Linux ``timerfd`` (``timerfd_create(2)``) is armed with a
nanosecond timeout on the kernel's high-resolution timers, and the loop wakes when
its descriptor becomes readable, without a timeout of its own: the same sleep then
lands ~0.15 ms late on average with no grid, and the KS test no longer rejects
(``python -m benchmarks arrivals``).

Python 3.11 has no ``os.timerfd_create`` (added in 3.13), so the three calls go
through :mod:`ctypes`. Where they are missing (not Linux), :func:`precise_sleeper`
falls back to the plain cooperative sleep and says so in ``resolution``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Self

_CLOCK_MONOTONIC = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Sleeper:
    """A sleeper closes what it holds when done; a context manager for that."""

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class TimerFdSleeper(_Sleeper):
    """``sleep(seconds)`` on a one-shot ``timerfd``, waiting cooperatively for it.

    One sleeper serves one greenlet at a time (it owns one descriptor). Close it when
    done, or use it as a context manager.

    Parameters
    ----------
    wait_readable
        Blocks the calling greenlet until a descriptor is readable
        (``gevent.socket.wait_read``).
    """

    resolution = "timerfd (ns timer, ~0.15 ms wake-up latency)"

    def __init__(self, wait_readable: Callable[[int], object]) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._settime = libc.timerfd_settime
        self._wait_readable = wait_readable
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_create: {os.strerror(errno)}")
        self._fd: int | None = fd

    def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed (at once if ``seconds <= 0``)."""
        if self._fd is None:
            raise ValueError("sleep on a closed TimerFdSleeper")
        if seconds <= 0:
            return
        whole = int(seconds)
        nanos = max(int((seconds - whole) * 1e9), 1 if whole == 0 else 0)
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(whole, nanos))
        if self._settime(self._fd, 0, ctypes.byref(spec), None) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_settime: {os.strerror(errno)}")
        while True:
            try:
                os.read(self._fd, 8)  # the expiration count; readable once it fired
                return
            except BlockingIOError:
                self._wait_readable(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LoopSleeper(_Sleeper):
    """The fallback: the loop's own sleep (1 ms granularity under libev/epoll)."""

    resolution = "event-loop timer (1 ms granularity)"

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self.sleep = sleep


def precise_sleeper() -> TimerFdSleeper | LoopSleeper:
    """The best cooperative sleeper here: a timerfd on Linux, else gevent's sleep."""
    import gevent
    from gevent.socket import wait_read

    if sys.platform.startswith("linux"):
        try:
            return TimerFdSleeper(wait_read)
        except (OSError, AttributeError):
            pass
    return LoopSleeper(gevent.sleep)
