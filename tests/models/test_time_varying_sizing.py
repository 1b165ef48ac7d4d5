"""Offered load m(t), PSA/MOL staffing and sizing."""

from __future__ import annotations

import numpy as np
import pytest

from models import (
    Deterministic,
    Exponential,
    Lognormal,
    ModelError,
    TierBudget,
    erlang_c,
    min_servers,
    offered_load,
    square_root_staffing,
    staffing_schedule,
)


@pytest.mark.parametrize(
    "service",
    [
        Exponential(mean=5.0),
        Lognormal(mean=5.0, cv=2.0),
        Lognormal(mean=5.0, cv=0.5),
        Deterministic(mean=5.0),
    ],
)
def test_linear_rate_gives_lagged_load(service: object) -> None:
    # Eick, Massey & Whitt (1993), §3: for lambda(t) = a + b t,
    # m(t) = E[S] (a + b (t - E[S_e])) with E[S_e] = E[S^2] / (2 E[S]).
    es = service.mean  # type: ignore[attr-defined]
    es2 = service.variance + es**2  # type: ignore[attr-defined]
    t = np.array([40_000.0, 60_000.0])
    m = offered_load([0.0, 1e5], [1.0, 1001.0], service, eval_times_s=t)  # type: ignore[arg-type]
    np.testing.assert_allclose(m, es * (1.0 + 0.01 * (t - es2 / (2 * es))), rtol=1e-9)


def test_sinusoidal_rate_with_exponential_service() -> None:
    # Eick, Massey & Whitt (1993), §4: lambda = a + b sin(w t), S ~ Exp(mu):
    # m(t) = a/mu + b (mu sin(wt) - w cos(wt)) / (mu^2 + w^2). The profile is given
    # piecewise linear on a 0.1 s grid, hence the 1e-7 tolerance.
    mu, a, b, w = 0.1, 10.0, 5.0, 2 * np.pi / 600
    u = np.linspace(-3000, 3000, 60_001)
    t = np.array([0.0, 100.0, 250.0])
    m = offered_load(u, a + b * np.sin(w * u), Exponential(mean=1 / mu), eval_times_s=t)
    expected = a / mu + b * (mu * np.sin(w * t) - w * np.cos(w * t)) / (mu**2 + w**2)
    np.testing.assert_allclose(m, expected, rtol=1e-7)


def test_mol_staffs_less_at_a_short_spike_and_more_after_it() -> None:
    times, rates = [0.0, 600.0, 660.0, 720.0, 3600.0], [10.0, 10.0, 200.0, 10.0, 10.0]
    svc = Exponential(mean=120.0)
    grid = np.array([660.0, 900.0])
    budget = TierBudget("prob_wait", 0.2)
    mol = staffing_schedule(times, rates, svc, budget, eval_times_s=grid)
    psa = staffing_schedule(times, rates, svc, budget, eval_times_s=grid, method="psa")
    assert mol.servers[0] < psa.servers[0]  # the load lags the spike ...
    assert mol.servers[1] > psa.servers[1]  # ... and outlasts it


def test_min_servers_is_the_smallest_meeting_prob_wait() -> None:
    lam = np.array([0.5, 9.0, 90.0, 900.0, 9000.0])
    c = min_servers(lam, Exponential(mean=1.0), TierBudget("prob_wait", 0.2))
    assert np.all(np.asarray(erlang_c(c, lam)) <= 0.2)
    assert np.all(np.asarray(erlang_c(c - 1, lam)) > 0.2)


def test_square_root_staffing_agrees_with_exact_sizing_at_scale() -> None:
    loads = np.array([1_000.0, 10_000.0, 50_000.0])
    exact = min_servers(loads, Exponential(mean=1.0), TierBudget("prob_wait", 0.2))
    sqrt_rule = square_root_staffing(loads, 0.2)
    assert np.all(np.abs(exact - sqrt_rule) <= 2)


def test_response_quantile_budget_is_met_and_minimal() -> None:
    from models import MMc

    lam = np.array([5.0, 50.0, 500.0])
    c = min_servers(lam, Exponential(mean=0.2), TierBudget("response_quantile", 1.0, quantile=0.95))
    assert np.all(MMc(lam, 5.0, c).response_quantile(0.95) <= 1.0)
    low = c - 1
    stable = lam * 0.2 < low
    assert np.all(MMc(lam[stable], 5.0, low[stable]).response_quantile(0.95) > 1.0)


def test_impossible_budget_is_named() -> None:
    with pytest.raises(ModelError, match="cannot be met by any number of servers"):
        min_servers(
            10.0, Exponential(mean=1.0), TierBudget("response_quantile", 0.5, quantile=0.95)
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "p95", "value": 1.0}, "unknown budget kind"),
        ({"kind": "response_quantile", "value": 1.0}, "needs quantile"),
        ({"kind": "prob_wait", "value": 1.5}, "<= 1"),
        ({"kind": "mean_wait", "value": -1.0}, "> 0"),
    ],
)
def test_budget_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ModelError, match=match):
        TierBudget(**kwargs)  # type: ignore[arg-type]
