"""The rate ceiling (a token bucket on a fake clock) and how a run's processes share it."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from loadgen.pacing import RateCeiling
from loadgen.share import (
    CEILING_MESSAGE,
    REQUEST_MESSAGE,
    accept_shares,
    announce_shares,
    share_per_worker,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _ceiling(rate: float | None, clock: FakeClock) -> RateCeiling:
    return RateCeiling(rate, sleep=clock.sleep, clock=clock)


@pytest.mark.parametrize("rate", [1.0, 5.0, 40.0, 400.0])
def test_the_ceiling_holds_over_any_window_within_the_burst(rate: float) -> None:
    clock = FakeClock()
    ceiling = _ceiling(rate, clock)
    times = []
    for _ in range(int(rate * 10)):
        ceiling.acquire()
        times.append(clock.now)
    # in any window of length T at most rate*T + burst acquisitions
    for t0 in times[:: max(1, len(times) // 20)]:
        in_window = sum(1 for t in times if t0 <= t < t0 + 1.0)
        assert in_window <= rate * 1.0 + ceiling.burst + 1e-9
    assert ceiling.acquired == len(times)
    assert ceiling.throttled >= len(times) - ceiling.burst - 1


def test_without_a_rate_nothing_is_acquired_until_one_is_set() -> None:
    clock = FakeClock()
    ceiling = _ceiling(None, clock)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.sleep(seconds)
        if len(waits) == 3:
            ceiling.set_rate(2.0)

    ceiling._sleep = sleep
    ceiling.acquire()
    assert len(waits) >= 3 and ceiling.acquired == 1


def test_lowering_the_rate_takes_effect_at_once() -> None:
    clock = FakeClock()
    ceiling = _ceiling(100.0, clock)
    ceiling.set_rate(2.0)
    start = clock.now
    for _ in range(5):
        ceiling.acquire()
    assert clock.now - start >= (5 - ceiling.burst) / 2.0 - 1e-9


def _windows_within_the_ceiling(times: list[float], rate: float, burst: float) -> list[str]:
    """Every one-second window holding more than ``rate + burst`` acquisitions."""
    return [
        f"{n} from {t0:.3f} s"
        for t0 in times
        if (n := sum(1 for t in times if t0 <= t < t0 + 1.0)) > rate + burst + 1e-9
    ]


def test_a_stalled_process_does_not_catch_up_on_its_waiters() -> None:
    """Ten users wait on a 20/s ceiling; the whole process then stalls for 0.6 s (a busy
    machine, a GC pause), during which a dozen waiters' wake-ups come due. They must
    not all go at once when it resumes: no one-second window holds more than the rate
    plus the burst. (Real gevent, real clock; a slower machine only spaces them more.)"""
    import gevent
    from gevent import monkey

    stall = monkey.get_original("time", "sleep")  # blocks the whole process, hub included
    rate = 20.0
    ceiling = RateCeiling(rate, sleep=gevent.sleep, clock=time.monotonic)
    times: list[float] = []

    def user() -> None:
        for _ in range(4):
            ceiling.acquire()
            times.append(time.monotonic())

    users = [gevent.spawn(user) for _ in range(10)]
    gevent.sleep(0.3)
    stall(0.6)
    gevent.joinall(users, timeout=30, raise_error=True)
    assert len(times) == 40 and ceiling.acquired == 40
    assert not _windows_within_the_ceiling(times, rate, ceiling.burst)


def test_a_waiter_that_is_killed_leaves_the_queue() -> None:
    """The run stops a user waiting for its token: the users behind it are served."""
    import gevent

    ceiling = RateCeiling(50.0, burst=1.0, sleep=gevent.sleep, clock=time.monotonic)
    ceiling.acquire()  # the bucket is empty now
    served: list[int] = []
    waiters = [gevent.spawn(lambda i=i: (ceiling.acquire(), served.append(i))) for i in range(4)]
    gevent.sleep(0)  # all four queue, the first at the head
    waiters[0].kill()
    gevent.joinall(waiters[1:], timeout=10, raise_error=True)
    assert served == [1, 2, 3]
    ceiling.acquire()  # and the queue still moves afterwards


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_a_rate_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError):
        RateCeiling(bad)


@pytest.mark.parametrize(
    ("expected", "connected", "share"), [(3, 0, 10.0), (3, 3, 10.0), (3, 5, 6.0), (0, 0, 30.0)]
)
def test_each_worker_takes_an_equal_share_of_at_least_the_expected_workers(
    expected: int, connected: int, share: float
) -> None:
    assert share_per_worker(30.0, expected, connected) == pytest.approx(share)


class FakeRunner:
    """Enough of a Locust runner: custom messages, connected clients."""

    def __init__(self) -> None:
        self.clients: dict[str, object] = {}
        self.handlers: dict[str, Any] = {}
        self.sent: list[tuple[str, Any, str | None]] = []

    def register_message(self, kind: str, handler: Any) -> None:
        self.handlers[kind] = handler

    def send_message(self, kind: str, data: Any = None, client_id: str | None = None) -> None:
        self.sent.append((kind, data, client_id))


def _environment() -> Any:
    listeners: list[Any] = []
    events = SimpleNamespace(worker_connect=SimpleNamespace(add_listener=listeners.append))
    env = SimpleNamespace(runner=FakeRunner(), events=events)
    env.connect = lambda client_id: [f(client_id=client_id) for f in listeners]
    return env


def test_the_master_answers_a_workers_request_with_its_share() -> None:
    master = _environment()
    announce_shares(master, 30.0, expected=3)
    master.runner.clients = {"a": 1}
    master.runner.handlers[REQUEST_MESSAGE](master, SimpleNamespace(node_id="b"))
    assert master.runner.sent == [(CEILING_MESSAGE, {"rate_per_s": 10.0}, "b")]


def test_more_workers_than_expected_lower_everyones_share() -> None:
    master = _environment()
    announce_shares(master, 30.0, expected=2)
    master.runner.clients = {"a": 1, "b": 1}
    master.connect("c")  # the third worker: a and b are lowered; c will ask
    assert sorted(master.runner.sent, key=str) == [
        (CEILING_MESSAGE, {"rate_per_s": 10.0}, "a"),
        (CEILING_MESSAGE, {"rate_per_s": 10.0}, "b"),
    ]


def test_a_worker_asks_for_its_share_and_never_takes_more_than_its_cap() -> None:
    worker = _environment()
    ceiling = RateCeiling(None)
    accept_shares(worker, ceiling, cap_per_s=10.0)
    assert worker.runner.sent == [(REQUEST_MESSAGE, None, None)]
    on_share = worker.runner.handlers[CEILING_MESSAGE]
    on_share(environment=worker, msg=SimpleNamespace(data={"rate_per_s": 4.0}))
    assert ceiling.rate_per_s == 4.0
    on_share(environment=worker, msg=SimpleNamespace(data={"rate_per_s": 1e9}))
    assert ceiling.rate_per_s == 10.0  # a master cannot raise it above the worker's cap
    for bad in ({"rate_per_s": "nan"}, {"rate_per_s": -1}, {}, None, {"rate_per_s": [1]}):
        on_share(environment=worker, msg=SimpleNamespace(data=bad))
    assert ceiling.rate_per_s == 10.0
