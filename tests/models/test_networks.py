"""MVA, Bard-Schweitzer, bounds, Jackson networks and operational laws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import (
    FiniteSource,
    JacksonNetwork,
    ModelError,
    asymptotic_bounds,
    balanced_job_bounds,
    forced_flow,
    interactive_response_time,
    littles_law,
    mva,
    schweitzer,
    service_demand,
    utilization,
)

demands = st.lists(st.floats(min_value=0.001, max_value=2.0), min_size=1, max_size=6)


@settings(deadline=None, max_examples=60)
@given(
    d=demands, n=st.integers(min_value=1, max_value=150), z=st.floats(min_value=0.0, max_value=30.0)
)
def test_mva_satisfies_littles_law_and_response_time_law(d: list[float], n: int, z: float) -> None:
    r = mva(d, n, z)
    # Little's law over the whole closed loop (users in think + at stations) ...
    assert r.queue_lengths.sum() + r.throughput * z == pytest.approx(n, rel=1e-9)
    # ... and at each station, and the interactive response time law.
    np.testing.assert_allclose(r.queue_lengths, r.throughput * r.residence_times, rtol=1e-12)
    assert r.response_time == pytest.approx(interactive_response_time(n, r.throughput, z), rel=1e-9)


@settings(deadline=None, max_examples=60)
@given(
    d=demands, n=st.integers(min_value=1, max_value=150), z=st.floats(min_value=0.0, max_value=30.0)
)
def test_mva_stays_within_asymptotic_and_balanced_job_bounds(
    d: list[float], n: int, z: float
) -> None:
    r = mva(d, n, z)
    eps = 1e-9
    for b in (asymptotic_bounds(d, n, z), balanced_job_bounds(d, n, z)):
        assert b.throughput_lower * (1 - eps) <= r.throughput <= b.throughput_upper * (1 + eps)
        assert b.response_lower * (1 - eps) <= r.response_time <= b.response_upper * (1 + eps)


@settings(deadline=None, max_examples=40)
@given(
    d=demands, n=st.integers(min_value=1, max_value=100), z=st.floats(min_value=0.0, max_value=30.0)
)
def test_schweitzer_is_close_to_exact_mva(d: list[float], n: int, z: float) -> None:
    exact, approx = mva(d, n, z), schweitzer(d, n, z)
    # Lazowska et al. (1984) report errors of a few percent; 10 % is a safe bound.
    assert approx.throughput == pytest.approx(exact.throughput, rel=0.10)


def test_single_station_mva_equals_finite_source_model() -> None:
    # M/M/1//N (machine repairman) solved two independent ways.
    r = mva([0.5], users=20, think_time=4.0)
    fs = FiniteSource(sources=20, think_time_s=4.0, service_time_s=0.5, servers=1)
    assert r.throughput == pytest.approx(fs.throughput, rel=1e-12)
    assert r.response_time == pytest.approx(fs.mean_response, rel=1e-12)


def test_delay_station_adds_its_demand_without_queueing() -> None:
    r = mva([0.2, 1.0], users=10, think_time=0.0, delay=[False, True])
    assert r.residence_times[1] == pytest.approx(1.0)


def test_mva_validation_messages() -> None:
    with pytest.raises(ModelError, match="users"):
        mva([0.1], users=-1)
    with pytest.raises(ModelError, match="service_demands"):
        mva([-0.1], users=3)
    with pytest.raises(ModelError, match="delay"):
        mva([0.1, 0.2], users=3, delay=[True])


def test_jackson_network_errors() -> None:
    with pytest.raises(ModelError, match="station 0 is unstable"):
        JacksonNetwork([2.0], [[0.0]], [1.0], [1])
    with pytest.raises(ModelError, match="row sums"):
        JacksonNetwork([1.0, 0], [[0, 0.8], [0.7, 0.5]], [5.0, 5.0], [1, 1])
    with pytest.raises(ModelError, match="traps"):
        JacksonNetwork([1.0, 0], [[0, 1.0], [1.0, 0]], [5.0, 5.0], [1, 1])


def test_jackson_visit_ratios_solve_traffic_equations() -> None:
    p = np.array([[0, 0.6, 0.3], [0.2, 0, 0.5], [0.1, 0.1, 0]])
    net = JacksonNetwork([1.0, 0.5, 0.0], p, [10.0, 10.0, 10.0], [2, 2, 2])
    lam = net.arrival_rates
    np.testing.assert_allclose(lam, net.external_arrival_rates + p.T @ lam, rtol=1e-12)
    # Little's law end to end.
    assert net.mean_response == pytest.approx(net.mean_in_station.sum() / 1.5)


def test_operational_laws() -> None:
    assert utilization(200.0, 0.004, servers=2) == pytest.approx(0.4)
    assert service_demand(0.5, 25.0) == pytest.approx(0.02)
    assert littles_law(number_in_system=10.0, time_in_system_s=2.0) == pytest.approx(5.0)
    assert forced_flow([2.0, 3.0], 10.0).tolist() == [20.0, 30.0]
    with pytest.raises(ModelError, match="exactly two"):
        littles_law(arrival_rate=1.0)
    with pytest.raises(ModelError, match="throughput"):
        service_demand(0.5, 0.0)
