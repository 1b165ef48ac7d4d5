"""Demand estimators (models/calibration.py): known answers, invariants, recovery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from models import (
    DemandEstimate,
    Exponential,
    Lognormal,
    MMc,
    ModelError,
    demand_from_response_time,
    demand_from_samples,
    fit_family,
    regress_demands,
    utilization,
)


# -- per-request samples ------------------------------------------------------------------
def test_samples_from_an_exponential_give_its_mean_within_three_standard_errors() -> None:
    rng = np.random.default_rng(7)
    est = demand_from_samples(rng.exponential(0.160, 5000))
    assert est.family == "exponential"
    assert est.cv == 1.0
    assert abs(est.mean_s - 0.160) < 3 * est.std_error_s
    assert_allclose(est.std_error_s, 0.160 / math.sqrt(5000), rtol=0.05)
    assert est.ci95_s[0] < 0.160 < est.ci95_s[1]


def test_samples_from_a_lognormal_give_the_lognormal_family_and_its_cv() -> None:
    rng = np.random.default_rng(8)
    truth = Lognormal(mean=0.160, cv=0.5)
    est = demand_from_samples(truth.sample(20_000, rng=rng))
    assert est.family == "lognormal"
    assert_allclose(est.cv, 0.5, rtol=0.05)
    assert_allclose(est.mean_s, 0.160, rtol=0.02)
    assert isinstance(est.distribution(), Lognormal)


def test_a_constant_sample_is_deterministic_with_cv_zero() -> None:
    est = demand_from_samples(np.full(100, 0.02))
    assert (est.family, est.cv) == ("deterministic", 0.0)
    assert est.std_error_s == pytest.approx(0.0, abs=1e-15)


def test_a_shifted_exponential_is_still_exponential_not_lognormal() -> None:
    """The portal's service time is the drawn time plus ~1 ms of real work."""
    rng = np.random.default_rng(9)
    assert fit_family(rng.exponential(0.160, 3000) + 0.001) == "exponential"


def test_a_sample_with_zeros_cannot_be_lognormal() -> None:
    rng = np.random.default_rng(10)
    sample = np.concatenate([[0.0], rng.lognormal(-3, 0.3, 1000)])
    assert fit_family(sample) == "exponential"


@pytest.mark.parametrize("bad", [[0.1], [0.1, -0.2], [0.1, math.nan], []])
def test_too_few_or_invalid_samples_are_refused(bad: list[float]) -> None:
    with pytest.raises(ModelError):
        demand_from_samples(bad)


def test_estimate_repr_shows_its_parameters() -> None:
    est = DemandEstimate(0.05, 1.0, 10, 0.01, "samples")
    assert "mean_s=0.05" in repr(est) and "method='samples'" in repr(est)
    assert est.relative_error == pytest.approx(0.2)


# -- response time and throughput --------------------------------------------------------
def test_one_server_response_time_law_inverts_r_equals_d_over_one_minus_u() -> None:
    # Lazowska et al. (1984), ch. 6: D = 50 ms at X = 10/s gives U = 0.5 and R = 100 ms.
    assert_allclose(demand_from_response_time(0.100, 10.0), 0.050, rtol=1e-12)


def test_at_zero_throughput_the_demand_is_the_response_time() -> None:
    assert demand_from_response_time(0.2, 0.0, servers=4) == 0.2


@settings(deadline=None, max_examples=60)
@given(
    demand=st.floats(min_value=0.001, max_value=2.0),
    servers=st.integers(min_value=1, max_value=64),
    rho=st.floats(min_value=0.01, max_value=0.97),
)
def test_response_time_inversion_recovers_the_mm_c_demand(
    demand: float, servers: int, rho: float
) -> None:
    x = rho * servers / demand
    r = float(MMc(x, 1 / demand, servers).mean_response)
    assert_allclose(demand_from_response_time(r, x, servers), demand, rtol=1e-7)


def test_response_time_inversion_never_exceeds_the_response_time() -> None:
    for servers in (1, 2, 8):
        assert demand_from_response_time(0.3, 20.0, servers) <= 0.3


@pytest.mark.parametrize(
    ("r", "x", "c"), [(0.0, 1.0, 1), (-1.0, 1.0, 1), (0.1, -1.0, 1), (0.1, 1.0, 0), (0.1, 1.0, 1.5)]
)
def test_response_time_inversion_refuses_bad_input(r: float, x: float, c: float) -> None:
    with pytest.raises(ModelError):
        demand_from_response_time(r, x, c)  # type: ignore[arg-type]


# -- regression ------------------------------------------------------------------------------
def test_regression_recovers_demands_and_background_from_the_utilisation_law() -> None:
    demands = np.array([0.040, 0.120])
    x = np.array([[10.0, 2.0], [20.0, 1.0], [30.0, 6.0], [5.0, 8.0]])
    busy = 0.3 + x @ demands
    fit = regress_demands(x, busy)
    assert_allclose(fit.demands_s, demands, atol=1e-10)
    assert fit.background == pytest.approx(0.3)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.levels == 4


def test_regression_matches_the_utilisation_law_for_one_class() -> None:
    x = np.array([10.0, 20.0, 40.0])
    busy = np.asarray(utilization(x, 0.05))  # U = X S with one server
    fit = regress_demands(x, busy, background=False)
    assert_allclose(fit.demands_s, [0.05], atol=1e-12)
    assert fit.background == 0.0


def test_regression_with_noise_has_standard_errors_that_cover_the_truth() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(5, 50, 40)
    busy = 0.2 + 0.05 * x + rng.normal(0, 0.05, 40)
    fit = regress_demands(x, busy)
    assert abs(fit.demands_s[0] - 0.05) < 4 * fit.std_errors_s[0]
    assert np.all(fit.std_errors_s > 0)


def test_collinear_classes_still_give_non_negative_demands() -> None:
    x = np.array([[10.0, 10.0], [20.0, 20.0], [30.0, 30.0]])  # the mix never changes
    fit = regress_demands(x, x[:, 0] * 0.1)
    assert np.all(fit.demands_s >= 0)
    assert_allclose(fit.demands_s.sum(), 0.1, rtol=1e-9)


def test_regression_refuses_too_few_levels_and_bad_shapes() -> None:
    with pytest.raises(ModelError, match="load levels"):
        regress_demands([10.0], [0.5])
    with pytest.raises(ModelError, match="shape"):
        regress_demands([[1.0, 2.0]], [0.5, 0.6])
    with pytest.raises(ModelError, match=">= 0"):
        regress_demands([-1.0, 2.0], [0.5, 0.6])


def test_the_distribution_of_an_exponential_estimate_is_exponential() -> None:
    est = demand_from_samples(np.random.default_rng(4).exponential(0.05, 5000))
    assert isinstance(est.distribution(), Exponential)
