"""The FIFO station: capacity, strict order, queue limit, cancellation safety."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.station import Station, StationFullError


def test_station_serves_at_most_c_at_once_in_arrival_order() -> None:
    async def scenario() -> tuple[list[int], int]:
        station = Station("web", servers=2, queue_limit=10)
        order: list[int] = []
        peak = 0

        async def customer(number: int) -> None:
            nonlocal peak
            async with station.hold():
                peak = max(peak, station.busy)
                order.append(number)
                await asyncio.sleep(0.01)

        tasks = []
        for number in range(8):
            tasks.append(asyncio.create_task(customer(number)))
            await asyncio.sleep(0)  # arrive one after another
        await asyncio.gather(*tasks)
        assert (station.busy, station.waiting) == (0, 0)
        return order, peak

    order, peak = asyncio.run(scenario())
    assert order == list(range(8))
    assert peak == 2


def test_station_refuses_when_the_line_is_at_its_limit() -> None:
    async def scenario() -> None:
        station = Station("db", servers=1, queue_limit=1)
        await station.acquire()  # in service
        waiter = asyncio.create_task(station.acquire())  # waits
        await asyncio.sleep(0)
        assert station.waiting == 1
        with pytest.raises(
            StationFullError, match=r"tier 'db' is at its queue limit \(1 waiting\)"
        ):
            await station.acquire()
        station.release()
        assert await waiter >= 0.0
        station.release()
        assert (station.busy, station.waiting) == (0, 0)

    asyncio.run(scenario())


def test_queue_limit_zero_is_a_loss_system() -> None:
    async def scenario() -> None:
        station = Station("payment", servers=1, queue_limit=0)
        assert await station.acquire() == 0.0
        with pytest.raises(StationFullError):
            await station.acquire()
        station.release()

    asyncio.run(scenario())


def test_cancelled_waiter_leaves_the_line_without_taking_a_server() -> None:
    async def scenario() -> None:
        station = Station("web", servers=1, queue_limit=5)
        await station.acquire()
        first = asyncio.create_task(station.acquire())
        second = asyncio.create_task(station.acquire())
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        assert station.waiting == 1
        station.release()  # goes to `second`, not to the cancelled `first`
        assert await second >= 0.0
        assert station.busy == 1
        station.release()
        assert (station.busy, station.waiting) == (0, 0)

    asyncio.run(scenario())


def test_waiter_cancelled_just_after_being_handed_a_server_passes_it_on() -> None:
    async def scenario() -> None:
        station = Station("web", servers=1, queue_limit=5)
        await station.acquire()
        first = asyncio.create_task(station.acquire())
        second = asyncio.create_task(station.acquire())
        await asyncio.sleep(0)
        station.release()  # hands the server to `first` ...
        first.cancel()  # ... which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await second >= 0.0  # the server went on to `second`
        assert station.busy == 1
        station.release()
        assert station.busy == 0

    asyncio.run(scenario())


def test_releasing_more_than_acquired_is_a_bug() -> None:
    station = Station("web", servers=1, queue_limit=1)
    with pytest.raises(RuntimeError, match="released more servers"):
        station.release()


@pytest.mark.parametrize(("servers", "queue_limit"), [(0, 1), (1, -1)])
def test_station_parameters_are_checked(servers: int, queue_limit: int) -> None:
    with pytest.raises(ValueError, match=r"server|queue_limit"):
        Station("web", servers=servers, queue_limit=queue_limit)


@settings(max_examples=40, deadline=None)
@given(
    servers=st.integers(1, 4),
    queue_limit=st.integers(0, 6),
    plan=st.lists(
        st.tuples(st.integers(0, 3), st.booleans()),  # (hold in ticks, cancel while waiting)
        min_size=1,
        max_size=20,
    ),
)
def test_no_slot_leaks_whatever_the_cancellations(
    servers: int, queue_limit: int, plan: list[tuple[int, bool]]
) -> None:
    async def scenario() -> None:
        station = Station("web", servers=servers, queue_limit=queue_limit)
        peak = 0

        async def customer(ticks: int) -> None:
            nonlocal peak
            try:
                async with station.hold():
                    peak = max(peak, station.busy)
                    for _ in range(ticks):
                        await asyncio.sleep(0)
            except StationFullError:
                pass

        tasks = [asyncio.create_task(customer(ticks)) for ticks, _ in plan]
        await asyncio.sleep(0)
        for task, (_, cancel) in zip(tasks, plan, strict=True):
            if cancel:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert peak <= servers
        assert (station.busy, station.waiting) == (0, 0)

    asyncio.run(scenario())
