"""M/G/c approximations: exact special cases and validation (simulation in test_simulation)."""

from __future__ import annotations

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
