"""Agreement with Ciw simulation (fixed seeds; tolerances from replication errors).

Each check allows 4 standard errors of the replication means (independent
replications after a warm-up), so the tests are neither flaky nor tuned: the
approximations additionally get the error their docstrings state.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import ErlangA, Exponential, Lognormal, MMc, approx_mean_wait, approx_response_quantile
from models.simulation import simulate_queue, simulate_time_varying

Z = 4.0  # standard errors allowed for sampling noise


def test_mmc_agrees_with_ciw_within_sampling_error() -> None:
    q = MMc(arrival_rate=3.2, service_rate=1.0, servers=4)
    sim = simulate_queue(
        3.2, Exponential(mean=1.0), 4, run_s=3000, warmup_s=200, replications=6, rng=11
    )
    assert abs(sim.mean_wait - q.mean_wait) <= Z * sim.mean_wait_se
    assert abs(sim.prob_wait - q.prob_wait) <= Z * sim.prob_wait_se
    assert abs(sim.mean_response - q.mean_response) <= Z * sim.mean_response_se
    # The exact p95 of the response time: the fraction above it is 5 % per replication.
    t95 = q.response_quantile(0.95)
    n = len(sim.responses) // sim.replications
    fractions = [np.mean(sim.responses[i * n : (i + 1) * n] > t95) for i in range(sim.replications)]
    se = np.std(fractions, ddof=1) / np.sqrt(len(fractions))
    assert abs(np.mean(fractions) - 0.05) <= Z * se + 1e-3


def test_erlang_a_agrees_with_ciw_reneging() -> None:
    q = ErlangA(arrival_rate=12.0, service_rate=1.0, servers=10, abandon_rate=1.0)
    sim = simulate_queue(
        12.0,
        Exponential(mean=1.0),
        10,
        abandon_rate=1.0,
        run_s=800,
        warmup_s=100,
        replications=6,
        rng=5,
    )
    assert abs(sim.prob_abandon - q.prob_abandon) <= Z * sim.prob_abandon_se
    assert abs(sim.mean_wait - q.mean_wait) <= Z * sim.mean_wait_se
    assert abs(sim.prob_wait - q.prob_wait) <= Z * sim.prob_wait_se


# Stated in models.approximations (Whitt mean wait; p95 of the response time).
STATED_ERROR = {0.5: (0.08, 0.06), 1.0: (0.08, 0.06), 2.0: (0.30, 0.30)}


@pytest.mark.parametrize("cv", [0.5, 1.0, 2.0])
def test_mgc_approximation_error_against_ciw(cv: float, record_property: object) -> None:
    lam, c = 2.8, 4  # rho = 0.7
    svc = Lognormal(mean=1.0, cv=cv)
    sim = simulate_queue(lam, svc, c, run_s=3500, warmup_s=200, replications=6, rng=int(100 * cv))
    w = approx_mean_wait(lam, svc, c)
    p95 = approx_response_quantile(0.95, lam, svc, c)
    err_w = (w - sim.mean_wait) / sim.mean_wait
    err_p95 = (p95 - sim.response_quantile(0.95)) / sim.response_quantile(0.95)
    record_property("mean_wait_rel_error", err_w)  # type: ignore[operator]
    record_property("p95_rel_error", err_p95)  # type: ignore[operator]
    tol_w, tol_p = STATED_ERROR[cv]
    assert abs(w - sim.mean_wait) <= tol_w * sim.mean_wait + Z * sim.mean_wait_se
    assert abs(err_p95) <= tol_p + 0.02


def test_mol_staffing_holds_its_target_through_a_peak_in_ciw() -> None:
    from models import TierBudget, staffing_schedule

    interval = 60.0
    rates = np.array([2.0] * 5 + [8.0] * 5 + [2.0] * 10)  # a ten-minute surge
    starts = np.arange(len(rates)) * interval
    svc = Exponential(mean=2.0)
    # Piecewise-constant rates as a piecewise-linear profile with 1 us steps.
    u = np.column_stack([starts, starts + interval - 1e-6]).ravel()
    lam = np.repeat(rates, 2)
    sched = staffing_schedule(
        u, lam, svc, TierBudget("prob_wait", 0.3), eval_times_s=starts + interval
    )
    sim = simulate_time_varying(rates, interval, svc, sched.servers, replications=4, rng=3)
    busy = sim.arrivals > 50
    # MOL keeps P(wait) near the target in every busy interval (loose: it staffs per
    # interval end, and the estimate has binomial noise of ~0.05).
    assert np.all(sim.prob_wait[busy] <= 0.3 + 0.15)
