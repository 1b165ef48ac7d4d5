"""The arrival process: Poisson by construction (checked offline with large samples),
exact for time-varying rates, and a dispatcher that counts every arrival."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from dvcschema import rates
from loadgen.arrivals import Dispatcher, Ticket, poisson_arrivals


def _times(profile: rates.RateProfile, duration_s: float, seed: int) -> np.ndarray:
    return np.concatenate(list(poisson_arrivals(profile, duration_s, rng=seed)))


def test_constant_rate_gaps_are_exponential() -> None:
    t = _times(rates.constant(200.0, 600.0), 600.0, seed=3)  # ~120,000 arrivals
    gaps = np.diff(t)
    assert len(t) == pytest.approx(120_000, rel=4 / np.sqrt(120_000))
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.01)
    assert stats.kstest(gaps, "expon", args=(0, 1 / 200.0)).pvalue > 0.01


def test_arrivals_are_sorted_and_within_the_run() -> None:
    t = _times(rates.constant(50.0, 30.0), 30.0, seed=1)
    assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < 30.0


def test_time_varying_counts_follow_the_rate_integral() -> None:
    """Counts per window match ∫rate (chi-square), including a 2 s spike."""
    profile = rates.stages([(20, 20, False), (2, 400, True), (18, 10, True)])
    t = _times(profile, profile.duration_s, seed=11)
    edges = np.arange(0.0, profile.duration_s + 1e-9, 1.0)
    observed, _ = np.histogram(t, edges)
    expected = np.array([profile.expected_arrivals(a, b) for a, b in itertools.pairwise(edges)])
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=len(expected)) > 0.01
    spike = (t >= 20) & (t < 22)
    assert spike.sum() == pytest.approx(800, abs=4 * np.sqrt(800))  # the peak is not skipped


def test_same_seed_same_arrivals() -> None:
    p = rates.constant(100.0, 10.0)
    np.testing.assert_array_equal(_times(p, 10.0, seed=5), _times(p, 10.0, seed=5))


class FakeClock:
    """A clock that only moves when the dispatcher sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_dispatcher_counts_started_and_dropped() -> None:
    clock = FakeClock()
    free = iter([True, False, True, False, False])
    seen: list[Ticket] = []

    def offer(ticket: Ticket) -> bool:
        ok = next(free)
        if ok:
            seen.append(ticket)
        return ok

    chunks = iter([np.array([0.1, 0.2, 0.3]), np.array([1.5, 1.6])])
    d = Dispatcher(chunks, offer, sleep=clock.sleep, clock=clock)
    d.run(started_at=1000.0)
    assert (d.stats.offered, d.stats.started, d.stats.dropped) == (5, 2, 3)
    assert [t.intended_at for t in seen] == [1000.1, 1000.3]
    assert clock.now == pytest.approx(1001.6)  # it slept to each arrival's time


def test_dispatcher_counts_late_starts_and_stops_when_asked() -> None:
    clock = FakeClock()
    calls = {"n": 0}

    def slow_offer(_ticket: Ticket) -> bool:
        clock.now += 0.5  # the hand-over itself took 0.5 s: later arrivals start late
        calls["n"] += 1
        return True

    d = Dispatcher(
        iter([np.array([0.0, 0.1, 0.2, 5.0])]), slow_offer, sleep=clock.sleep, clock=clock
    )
    d.run(started_at=1000.0, should_stop=lambda: calls["n"] >= 3)
    assert d.stats.offered == 3
    assert d.stats.late == 3


def test_dispatcher_hands_nothing_over_when_the_stop_comes_during_its_wait() -> None:
    """A stop during the sleep to the next arrival must not hand that arrival over.

    Otherwise it is counted as offered (and started or dropped) after the session users
    have been told the run is over.
    """
    clock = FakeClock()
    stopped = {"now": False}

    def sleep_then_stop(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 1001.0:
            stopped["now"] = True

    handed: list[Ticket] = []

    def offer(ticket: Ticket) -> bool:
        handed.append(ticket)
        return True

    d = Dispatcher(iter([np.array([0.5, 1.5, 2.5])]), offer, sleep=sleep_then_stop, clock=clock)
    d.run(started_at=1000.0, should_stop=lambda: stopped["now"])
    assert [t.index for t in handed] == [1]
    assert (d.stats.offered, d.stats.started, d.stats.dropped) == (1, 1, 0)
