"""M/G/c approximations: exact special cases and validation (simulation in test_simulation)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from models import (
    Deterministic,
    Exponential,
    Lognormal,
    MMc,
    ModelError,
    allen_cunneen_mean_wait,
    approx_mean_wait,
    approx_response_quantile,
    approx_response_survival,
    erlang_c,
    kingman_mean_wait,
    whitt_mean_wait,
)


def test_kingman_is_pollaczek_khinchine_for_mg1() -> None:
    lam, es, cv = 0.8, 1.0, 2.0
    pk = lam * es**2 * (1 + cv**2) / (2 * (1 - lam * es))
    assert kingman_mean_wait(lam, es, service_cv=cv) == pytest.approx(pk)
    assert approx_mean_wait(lam, Lognormal(mean=es, cv=cv), 1) == pytest.approx(pk)


@pytest.mark.parametrize("c", [1, 4, 50])
def test_all_approximations_are_exact_for_mmc(c: int) -> None:
    lam = 0.8 * c
    exact = MMc(arrival_rate=lam, service_rate=1.0, servers=c).mean_wait
    assert allen_cunneen_mean_wait(lam, 1.0, c) == pytest.approx(exact, rel=1e-12)
    assert whitt_mean_wait(lam, 1.0, c) == pytest.approx(exact, rel=1e-12)


def test_response_quantile_is_exact_for_mmc() -> None:
    q = MMc(arrival_rate=7.0, service_rate=1.0, servers=8)
    p = np.array([0.5, 0.9, 0.95, 0.99])
    np.testing.assert_allclose(
        approx_response_quantile(p, 7.0, Exponential(mean=1.0), 8),
        q.response_quantile(p),
        rtol=1e-9,
    )


def test_deterministic_service_response_is_at_least_the_service_time() -> None:
    t95 = approx_response_quantile(0.95, 3.0, Deterministic(mean=1.0), 4)
    assert t95 >= 1.0
    assert approx_response_survival(0.5, 3.0, Deterministic(mean=1.0), 4) == 1.0


def test_lognormal_response_quantile_inverts_survival() -> None:
    svc = Lognormal(mean=0.2, cv=2.0)
    t = approx_response_quantile([0.5, 0.95, 0.99], 15.0, svc, 4)
    np.testing.assert_allclose(
        approx_response_survival(t, 15.0, svc, 4), [0.5, 0.05, 0.01], rtol=1e-7
    )


def test_unstable_load_gives_infinite_mean_wait() -> None:
    assert whitt_mean_wait(5.0, 1.0, 4) == float("inf")


def test_validation_and_method_names() -> None:
    with pytest.raises(ModelError, match="mean_service_s"):
        allen_cunneen_mean_wait(1.0, 0.0, 2)
    with pytest.raises(ModelError, match="whitt, allen_cunneen, kingman"):
        approx_mean_wait(1.0, Exponential(mean=0.1), 2, method="nope")
    with pytest.raises(ModelError, match="one server"):
        approx_mean_wait(1.0, Exponential(mean=0.1), 2, method="kingman")


def _survival_mpmath(t: float, svc: Lognormal, cq: float, m: float) -> float:
    """``P(W + S > t)``, the same mixture of waits, integrated by mpmath at 40 digits
    on pieces that follow the integrand's peak at ``z*`` (``m / (t sigma)`` wide)."""
    mpmath.mp.dps = 40
    mu, sigma = mpmath.mpf(svc.mu), mpmath.mpf(svc.sigma)
    z_star = (mpmath.log(t) - mu) / sigma
    width = m / (t * sigma)
    cuts = sorted({-40.0, 0.0, *(float(z_star) - k * width for k in (300, 30, 3, 1))})
    pieces = [c for c in cuts if c < z_star] + [z_star]

    def integrand(z: mpmath.mpf) -> mpmath.mpf:
        return mpmath.npdf(z) * mpmath.exp(-(t - mpmath.exp(mu + sigma * z)) / m)

    return float(mpmath.ncdf(-z_star) + cq * mpmath.quad(integrand, pieces))


@pytest.mark.parametrize(
    ("svc", "rate", "servers", "t"),
    [
        # Many servers near saturation: short waits (m of 4 to 20 ms) beside responses
        # of seconds, where the integrand is a spike at z* 0.002 to 0.05 wide.
        (Lognormal(mean=0.2, cv=1.5), 4750.0, 1000, [0.5, 1.0, 2.0, 3.0]),
        (Lognormal(mean=0.2, cv=1.5), 490.0, 100, [0.3, 0.6, 1.2, 2.5]),
        (Lognormal(mean=1.0, cv=3.0), 195.0, 200, [2.0, 5.0, 12.0]),
        # Narrow service, one server at 0.99: waits 100 times the service, so z* is
        # far above 12 and the whole normal density lies inside the integral.
        (Lognormal(mean=0.1, cv=0.1), 9.9, 1, [3.0, 10.0, 30.0]),
    ],
)
def test_lognormal_response_survival_matches_mpmath(
    svc: Lognormal, rate: float, servers: int, t: list[float]
) -> None:
    cq = float(erlang_c(servers, rate * svc.mean))
    m = float(approx_mean_wait(rate, svc, servers)) / cq
    expected = [_survival_mpmath(x, svc, cq, m) for x in t]
    got = approx_response_survival(t, rate, svc, servers)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_lognormal_response_survival_takes_a_number_or_any_shape() -> None:
    svc = Lognormal(mean=0.2, cv=1.5)
    grid = np.array([[0.1, 0.5], [1.0, 2.0]])
    surface = approx_response_survival(grid, 15.0, svc, 4)
    assert np.shape(surface) == (2, 2)
    one = approx_response_survival(0.5, 15.0, svc, 4)
    assert isinstance(one, float) and one == pytest.approx(surface[0, 1], rel=1e-12)
    assert approx_response_survival(0.0, 15.0, svc, 4) == 1.0
    t95 = approx_response_quantile(0.95, 15.0, svc, 4)
    assert approx_response_survival(t95, 15.0, svc, 4) == pytest.approx(0.05, rel=1e-7)
