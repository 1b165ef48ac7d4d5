"""``simulate_window``: a time-varying queue simulated from empty, its last part measured.

Stationary windows agree with the exact M/M/c figures within their intervals; the
warm-up's state carries into the window; every measured customer is complete, even
in an overloaded window; bad steps are one-line errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import Exponential, Lognormal, MMc, ModelError
from models.simulation import Estimate, WindowSample, simulate_window

Z = 4.0  # standard errors allowed for sampling noise


def test_a_stationary_window_agrees_with_erlang_c_and_the_exact_p95() -> None:
    q = MMc(arrival_rate=3.2, service_rate=1.0, servers=4)
    sample = simulate_window(
        [100.0, 2100.0], [3.2, 3.2], [4, 4], Exponential(mean=1.0),
        measure_from_s=100.0, replications=6, rng=3,
    )  # fmt: skip
    pw = sample.prob_wait()
    assert abs(pw.value - float(q.prob_wait)) <= Z * pw.se
    assert abs(sample.mean_wait().value - float(q.mean_wait)) <= Z * sample.mean_wait().se
    p95 = sample.quantile(0.95)
    assert abs(p95.value - float(q.response_quantile(0.95))) <= Z * p95.se
    assert p95.low < p95.value < p95.high


def test_the_warm_up_state_carries_into_the_window() -> None:
    """A backlog built by one overloaded server makes the window's customers wait."""
    service = Exponential(mean=1.0)

    def run(rates: list[float], servers: list[int]) -> WindowSample:
        return simulate_window(
            [200, 400], rates, servers, service, measure_from_s=200.0, replications=3, rng=7
        )

    after_backlog = run([3.0, 3.0], [1, 6])
    after_calm = run([0.5, 3.0], [6, 6])
    assert after_backlog.mean_wait().value > 10 * after_calm.mean_wait().value
    assert all(w[0] > 30 for w in after_backlog.waits_s)  # ~400 queued at 200 s


def test_every_customer_of_an_overloaded_window_is_measured_to_the_end() -> None:
    """Arrivals stop at the window's end and the servers stay until the queue drains."""
    sample = simulate_window(
        [50.0], [4.0], [2], Lognormal(mean=1.0, cv=0.8), measure_from_s=0.0,
        replications=3, rng=11,
    )  # fmt: skip
    assert sample.window_s == (0.0, 50.0)
    for waits, responses in zip(sample.waits_s, sample.responses_s, strict=True):
        assert 120 < len(waits) < 280  # Poisson(200)
        assert np.all(np.isfinite(responses)) and np.all(responses > waits)
        assert waits[-1] > 20  # rho = 2: the last arrivals find a long queue
    assert sample.customers == sum(len(w) for w in sample.waits_s)


def test_only_the_window_is_measured() -> None:
    sample = simulate_window(
        [30.0, 40.0], [10.0, 10.0], [3, 3], Exponential(mean=0.1), measure_from_s=30.0,
        replications=2, rng=1,
    )  # fmt: skip
    assert all(60 < len(w) < 150 for w in sample.waits_s)  # Poisson(100), not 400


def test_a_seed_reproduces_the_sample() -> None:
    def run(seed: int) -> WindowSample:
        return simulate_window(
            [10.0, 20.0], [5.0, 8.0], [1, 2], Exponential(mean=0.2), measure_from_s=10.0,
            replications=2, rng=seed,
        )  # fmt: skip

    a, b, c = run(5), run(5), run(6)
    assert all(np.array_equal(x, y) for x, y in zip(a.waits_s, b.waits_s, strict=True))
    assert not all(
        len(x) == len(y) and np.array_equal(x, y) for x, y in zip(a.waits_s, c.waits_s, strict=True)
    )


def test_an_empty_window_has_no_estimate() -> None:
    sample = simulate_window(
        [10.0, 20.0], [1.0, 0.0], [1, 1], Exponential(mean=0.1), measure_from_s=10.0,
        replications=2, rng=1,
    )  # fmt: skip
    assert sample.customers == 0
    assert np.isnan(sample.prob_wait().value) and np.isnan(sample.quantile(0.95).se)


def test_an_estimate_says_whether_its_interval_covers_a_value() -> None:
    e = Estimate(value=0.19, se=0.01, low=0.17, high=0.21)
    assert e.covers(0.2) and not e.covers(0.25)


@pytest.mark.parametrize(
    ("ends", "rates", "servers", "start", "fragment"),
    [
        ([10.0, 20.0], [1.0], [1, 1], 0.0, "one rate and one server count per step"),
        ([10.0, 5.0], [1.0, 1.0], [1, 1], 0.0, "must increase"),
        ([0.0, 5.0], [1.0, 1.0], [1, 1], 0.0, "must increase"),
        ([10.0], [-1.0], [1], 0.0, "finite and >= 0"),
        ([10.0], [1.0], [0], 0.0, ">= 1 server"),
        ([10.0], [1.0], [1], 10.0, "measure_from_s must be in"),
    ],
)
def test_bad_steps_are_refused(
    ends: list[float], rates: list[float], servers: list[int], start: float, fragment: str
) -> None:
    with pytest.raises(ModelError, match=fragment):
        simulate_window(ends, rates, servers, Exponential(mean=1.0), measure_from_s=start)


def test_one_replication_and_an_unknown_quantity_are_refused() -> None:
    with pytest.raises(ModelError, match="replications must be >= 2"):
        simulate_window([1.0], [1.0], [1], Exponential(mean=1.0), measure_from_s=0.0,
                        replications=1)  # fmt: skip
    sample = WindowSample((np.zeros(3), np.ones(3)), (np.ones(3), np.ones(3)), (0.0, 1.0))
    with pytest.raises(ModelError, match="options are response, wait"):
        sample.quantile(0.5, of="service")


def test_an_interval_never_goes_below_zero() -> None:
    sample = WindowSample(
        (np.array([0.0, 0.0]), np.array([0.0, 9.0])), (np.ones(2), np.ones(2)), (0, 1)
    )
    wait = sample.mean_wait()
    assert wait.value == 2.25 and wait.low == 0.0 and wait.high > 4.5
