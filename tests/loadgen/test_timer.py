"""The arrival clock's sleeper: never early, closes its descriptor, falls back off Linux.

How precise it is (against gevent's own sleep, in one process) is measured by
``python -m benchmarks arrivals``, not asserted here: the machines are shared.
"""

from __future__ import annotations

import os
import sys
import time

import gevent
import pytest
from gevent.socket import wait_read

from loadgen import timer
from loadgen.timer import LoopSleeper, TimerFdSleeper, precise_sleeper

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux")


@linux_only
def test_the_timerfd_sleeper_never_wakes_before_the_deadline() -> None:
    with TimerFdSleeper(wait_read) as sleeper:
        for seconds in (0.0003, 0.0021, 0.0107, 1.25e-5):
            started = time.monotonic()
            sleeper.sleep(seconds)
            assert time.monotonic() - started >= seconds


@linux_only
def test_other_greenlets_run_while_the_sleeper_waits() -> None:
    ran: list[float] = []

    def other() -> None:
        ran.append(time.monotonic())

    with TimerFdSleeper(wait_read) as sleeper:
        gevent.spawn(other)
        started = time.monotonic()
        sleeper.sleep(0.01)
        ended = time.monotonic()
    assert len(ran) == 1 and started <= ran[0] < ended


@linux_only
def test_a_zero_or_negative_sleep_returns_at_once_and_close_releases_the_descriptor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[int] = []
    real_close = os.close

    def recording_close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    sleeper = TimerFdSleeper(wait_read)
    fd = sleeper._fd
    assert fd is not None and os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[timerfd]"
    sleeper.sleep(0)
    sleeper.sleep(-1.0)
    monkeypatch.setattr(timer.os, "close", recording_close)
    sleeper.close()
    sleeper.close()  # twice is harmless: closed once
    assert closed == [fd]
    with pytest.raises(ValueError, match="closed"):
        sleeper.sleep(0.001)


def test_without_timerfd_the_loop_sleep_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timer.sys, "platform", "darwin")
    sleeper = precise_sleeper()
    assert isinstance(sleeper, LoopSleeper) and "1 ms" in sleeper.resolution
    started = time.monotonic()
    with sleeper:
        sleeper.sleep(0.002)
    assert time.monotonic() - started >= 0.002


@linux_only
def test_on_linux_the_precise_sleeper_is_a_timerfd() -> None:
    with precise_sleeper() as sleeper:
        assert isinstance(sleeper, TimerFdSleeper)
