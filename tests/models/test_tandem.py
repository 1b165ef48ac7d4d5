"""Tandem response times (models/tandem.py): Reich's exact result, Jackson's mean,
and agreement with a simulation of the two-tier portal's stations."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize

from models import (
    Exponential,
    JacksonNetwork,
    Lognormal,
    ModelError,
    QueueStation,
    approx_response_quantile,
    tandem_mean_response,
    tandem_response_quantile,
)


def _hypoexponential_quantile(p: float, a: float, b: float) -> float:
    """Quantile of Exp(a) + Exp(b): P(T > t) = (b e^{-at} - a e^{-bt}) / (b - a)."""
    return float(
        optimize.brentq(
            lambda t: (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a) - (1 - p), 0, 100
        )
    )


@pytest.mark.parametrize("p", [0.5, 0.9, 0.95, 0.99])
def test_two_mm1_queues_in_tandem_match_reichs_exact_quantile(p: float) -> None:
    """Reich (1957): sojourn times of tandem M/M/1 queues are independent exponentials."""
    lam = 2.0
    stations = [
        QueueStation(lam, Exponential(mean=1 / 5), 1),
        QueueStation(lam, Exponential(mean=1 / 3), 1),
    ]
    exact = _hypoexponential_quantile(p, 5 - lam, 3 - lam)
    assert_allclose(tandem_response_quantile(p, stations), exact, rtol=2e-4)


def test_one_station_is_that_stations_own_quantile() -> None:
    station = QueueStation(80.0, Lognormal(mean=0.16, cv=0.5), 16)
    expected = float(approx_response_quantile(0.95, 80.0, Lognormal(mean=0.16, cv=0.5), 16))
    assert tandem_response_quantile(0.95, [station]) == pytest.approx(expected)


def test_the_mean_is_jacksons_end_to_end_mean_for_mmc_stations() -> None:
    net = JacksonNetwork([70.0, 0.0], [[0, 1], [0, 0]], [1 / 0.16, 1 / 0.1], [16, 8])
    stations = [QueueStation(70.0, Exponential(0.16), 16), QueueStation(70.0, Exponential(0.1), 8)]
    assert_allclose(tandem_mean_response(stations), net.mean_response, rtol=1e-12)


def test_the_quantile_converges_as_the_grid_is_refined() -> None:
    stations = [
        QueueStation(85.0, Exponential(0.16), 16),
        QueueStation(85.0, Lognormal(0.16, 0.5), 16),
    ]
    coarse = tandem_response_quantile(0.95, stations, grid_points=1024)
    fine = tandem_response_quantile(0.95, stations, grid_points=8192)
    assert coarse == pytest.approx(fine, rel=1e-3)


def test_the_sum_is_slower_than_either_station_and_faster_than_both_quantiles_added() -> None:
    a, b = QueueStation(60.0, Exponential(0.16), 16), QueueStation(60.0, Lognormal(0.16, 0.5), 16)
    q = tandem_response_quantile(0.95, [a, b])
    assert max(a.response_quantile(0.95), b.response_quantile(0.95)) < q
    assert q < a.response_quantile(0.95) + b.response_quantile(0.95)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ModelError):
        tandem_mean_response([])
    with pytest.raises(ModelError):
        tandem_response_quantile(1.0, [QueueStation(1.0, Exponential(0.1), 1)])


def _simulate_tandem(
    lam: float, services: list[tuple[float, float]], servers: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """FIFO multi-server stations in series (Kiefer-Wolfowitz recursion per station)."""
    t = np.cumsum(rng.exponential(1 / lam, n))
    arrive = t.copy()
    for mean, cv in services:
        if cv == 1.0:
            s = rng.exponential(mean, n)
        else:
            ln = Lognormal(mean, cv)
            s = rng.lognormal(ln.mu, ln.sigma, n)
        free = [0.0] * servers
        done = np.empty(n)
        for i in np.argsort(arrive, kind="stable"):
            start = max(heapq.heappop(free), arrive[i])
            done[i] = start + s[i]
            heapq.heappush(free, done[i])
        arrive = done
    return (arrive - t)[n // 10 :]


def test_the_convolution_agrees_with_a_simulation_of_the_two_tier_portal() -> None:
    """Web M/M/16 then payment M/G/16 (lognormal cv 0.5), both at rho 0.85: the
    independence assumption holds within a few percent (Burke 1969: small dependence)."""
    lam, servers = 85.0, 16
    sim = _simulate_tandem(
        lam, [(0.16, 1.0), (0.16, 0.5)], servers, 120_000, np.random.default_rng(1)
    )
    stations = [
        QueueStation(lam, Exponential(0.16), servers),
        QueueStation(lam, Lognormal(0.16, 0.5), servers),
    ]
    assert tandem_mean_response(stations) == pytest.approx(sim.mean(), rel=0.03)
    assert tandem_response_quantile(0.95, stations) == pytest.approx(
        np.percentile(sim, 95), rel=0.03
    )
