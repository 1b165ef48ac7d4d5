"""The fluid queue (models/fluid.py): a spike worked by hand, conservation, abandonment and
retrials in closed form, monotonicity, an ODE solver, and agreement with Ciw."""

from __future__ import annotations

import math
import time

import ciw
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from models import ErlangA, FluidPath, ModelError, fluid_queue, step_means

# The issue's spike (issue 17): the web tier of national-deadline.yaml at 16:00, 55 workers
# of 32.5 ms, 1,341.99 requests/s tripled, and the 164 workers the spike needs from 300 s.
S = 0.0325
MU = 1 / S  # 30.769 requests/s per worker
LAM = 3 * 1341.99  # 4,025.97 requests/s
C0, C1, LEAD_S = 55, 164, 300
GRID = np.arange(0.0, 1201.0)


def spike(**kwargs: float) -> FluidPath:
    servers = np.where(GRID[:-1] < LEAD_S, C0, C1)
    # The servers are all busy when the spike starts (x0 = 55): the hand figures below have
    # no time to fill them.
    return fluid_queue(GRID, LAM, servers, S, initial_in_system=float(C0), **kwargs)


def test_the_issues_spike_matches_the_fluid_worked_by_hand() -> None:
    path = spike()
    # Before the scale-up 55 x 30.769 = 1,692.31 requests/s are served against 4,025.97
    # arriving: the backlog grows at 2,333.66/s, to 2,333.66 x 300 = 700,098.7 at 300 s.
    grow = LAM - C0 * MU
    assert_allclose(grow, 2333.6623, rtol=1e-7)
    assert_allclose(path.max_backlog, grow * 300, rtol=1e-12)
    assert_allclose(path.max_backlog, 700_098.69, rtol=1e-8)
    assert path.max_backlog_at_s == 300.0
    assert_allclose(path.backlog[100], grow * 100, rtol=1e-12)
    # At 300 s the 109 new workers take 109 requests at once: 699,989.7 queued. 164 x 30.769
    # = 5,046.15/s then drain it at 5,046.15 - 4,025.97 = 1,020.18/s: 686.14 s, so the
    # backlog is gone at 986.14 s.
    after = grow * 300 - (C1 - C0)
    assert_allclose(path.backlog[300], after, rtol=1e-12)
    drain = C1 * MU - LAM
    assert_allclose(300 + after / drain, 986.1407, rtol=1e-7)
    assert path.drained_at_s is not None
    assert_allclose(path.drained_at_s, 300 + after / drain, rtol=1e-12)
    assert path.backlog[986] > 0 and path.backlog[987] == 0
    # The last arrival before the scale-up has 699,989.7 ahead, served at 5,046.15/s: 138.72 s.
    assert_allclose(path.wait_s[300], after / (C1 * MU), rtol=1e-12)
    assert_allclose(path.wait_s[300], 138.7175, rtol=1e-6)
    # Arriving at 126 s: 2,333.66 x 126 = 294,041.5 ahead, served by 1,692.31 x 174 =
    # 294,461.5 before 300 s, so it waits 294,041.5 / 1,692.31 = 173.75 s. At 127 s:
    # 296,375.1 ahead, 1,692.31 x 173 + 109 = 292,878.2 gone by 300 s, the rest at
    # 5,046.15/s: 173 + 3,496.9 / 5,046.15 = 173.69 s.
    assert_allclose(path.wait_s[126], grow * 126 / (C0 * MU), rtol=1e-12)
    rest = grow * 127 - C0 * MU * 173 - (C1 - C0)
    assert_allclose(path.wait_s[127], 173 + rest / (C1 * MU), rtol=1e-12)
    assert_allclose(path.wait_s[[126, 127]], [173.7518, 173.6930], rtol=1e-6)
    # The longest wait is the arrival whose turn comes exactly at 300 s: t* solves
    # 2,333.66 t = 1,692.31 (300 - t) + 109, t* = 126.13 s, a wait of 173.87 s (126 s on the grid).
    t_star = (300 * C0 * MU + (C1 - C0)) / LAM
    assert_allclose(300 - t_star, 173.8686, rtol=1e-6)
    assert path.max_wait_at_s == 126.0 and path.max_wait_s <= 300 - t_star


def test_without_a_lead_time_a_spike_that_fits_leaves_no_backlog() -> None:
    path = fluid_queue(GRID, LAM, C1, S, initial_in_system=1341.99 * S)
    assert path.max_backlog == 0 and path.max_wait_s == 0
    assert path.drained_at_s == 0.0
    assert_allclose(path.in_service[-1], LAM * S, rtol=1e-9)  # the spike's offered load


def test_abandonment_caps_the_backlog_at_whitts_equilibrium() -> None:
    patience_s = 60.0
    path = spike(patience_s=patience_s)
    theta, grow = 1 / patience_s, LAM - C0 * MU
    # Queued requests give up at theta q: dq/dt = 2,333.66 - q / 60 from q = 0, so
    # q(t) = 140,019.7 (1 - e^(-t/60)) and q(300) = 139,076.3, a fifth of the 700,099 above.
    q_eq = grow / theta
    assert_allclose(q_eq, 140_019.74, rtol=1e-7)
    t = GRID[:301]
    assert_allclose(path.backlog[:300], (q_eq * -np.expm1(-theta * t))[:300], rtol=1e-10)
    assert_allclose(path.max_backlog, q_eq * -math.expm1(-5), rtol=1e-12)
    assert path.max_backlog < spike().max_backlog / 5
    # Those who gave up by 300 s: arrivals - served - queued = 700,098.7 - 139,076.3 = 561,022.4.
    queued = path.in_system[300] - C0  # just before the new servers take their share
    assert_allclose(queued, q_eq * -math.expm1(-5), rtol=1e-12)
    assert_allclose(path.abandoned[300], grow * 300 - queued, rtol=1e-9)
    assert_allclose(path.abandoned[300], 561_022.4, rtol=1e-7)


def test_long_overload_settles_at_the_equilibrium_queue_and_wait() -> None:
    grid = np.arange(0.0, 3601.0)
    path = fluid_queue(grid, LAM, C0, S, patience_s=60.0, initial_in_system=float(C0))
    # Whitt (2006): q* = (lambda - mu c) / theta, w* = ln(lambda / (mu c)) / theta.
    assert_allclose(path.backlog[-1], (LAM - C0 * MU) * 60, rtol=1e-12)
    assert_allclose(path.wait_s[-1], 60 * math.log(LAM / (C0 * MU)), rtol=1e-9)
    assert_allclose(path.wait_s[-1], 52.0, rtol=1e-3)
    # A request waiting w gives up with probability 1 - e^(-theta w) = 1 - mu c / lambda,
    # the fraction Erlang-A gives in heavy overload (exact here: all servers always busy).
    erlang_a = ErlangA(arrival_rate=LAM, service_rate=MU, servers=C0, abandon_rate=1 / 60)
    assert_allclose(-math.expm1(-path.wait_s[-1] / 60), erlang_a.prob_abandon, rtol=1e-6)
    assert_allclose(path.backlog[-1], erlang_a.mean_queue_length, rtol=1e-6)


def test_retries_raise_the_backlog_to_their_own_equilibrium() -> None:
    grid = np.arange(0.0, 7201.0)
    x0 = float(C0)
    alone = fluid_queue(grid, LAM, C0, S, patience_s=60.0, initial_in_system=x0)
    back = fluid_queue(
        grid, LAM, C0, S, patience_s=60.0, retry_fraction=0.5, retry_delay_s=30.0,
        initial_in_system=x0,
    )  # fmt: skip
    assert np.all(back.backlog >= alone.backlog - 1e-6) and back.max_backlog > alone.max_backlog
    # Half come back: d(q + r)/dt = 2,333.66 - (1 - 0.5) q / 60 = 0 at q = 280,039.5, and
    # the orbit holds 0.5 x q / 60 x 30 s = 70,009.9.
    q_eq = (LAM - C0 * MU) * 60 / 0.5
    assert_allclose(back.backlog[-1], q_eq, rtol=1e-9)
    assert_allclose(back.orbit[-1], 0.5 * q_eq / 60 * 30, rtol=1e-9)
    # Giving up for good happens at the rate that arrives in excess of service.
    assert_allclose(np.diff(back.lost)[-1], LAM - C0 * MU, rtol=1e-9)


def test_the_closed_form_with_retrials_agrees_with_an_ode_solver() -> None:
    grid = np.arange(0.0, 601.0)
    lam = np.where(grid[:-1] < 200, 30.0, 8.0)
    servers = np.where(grid[:-1] < 100, 10.0, 14.0)
    mu, theta, psi, nu = 2.0, 1 / 20, 0.6, 1 / 15
    path = fluid_queue(
        grid, lam, servers, 1 / mu, patience_s=20.0, retry_fraction=psi, retry_delay_s=15.0,
        initial_in_system=3.0,
    )  # fmt: skip

    def rhs(t: float, y: np.ndarray) -> list[float]:
        k = min(int(t), 599)
        x, r = y[0], y[1]
        q, c = max(x - servers[k], 0.0), servers[k]
        return [lam[k] + nu * r - mu * min(x, c) - theta * q, psi * theta * q - nu * r,
                mu * min(x, c), theta * q, nu * r]  # fmt: skip

    sol = solve_ivp(rhs, (0, 600), [3.0, 0, 0, 0, 0], t_eval=grid, rtol=1e-10, atol=1e-9,
                    max_step=0.05)  # fmt: skip
    got = [path.in_system, path.orbit, path.served, path.abandoned, path.retried]
    for mine, solved in zip(got, sol.y, strict=True):
        assert_allclose(mine, solved, atol=1e-5 * np.abs(solved).max())


def test_the_wait_with_abandonment_is_the_mass_ahead_running_out() -> None:
    # Constant servers: the mass ahead falls as da/du = -mu c - theta a, so a request with q
    # ahead waits ln(1 + theta q / (mu c)) / theta. Short patience (1 s) makes the wait
    # computation go through many chunks of 300 / theta = 300 s.
    grid = np.arange(0.0, 2001.0)
    lam = np.where(grid[:-1] < 1000, 80.0, 20.0)
    path = fluid_queue(grid, lam, 10.0, 0.25, patience_s=1.0)
    expected = np.log1p(path.backlog / 40.0)
    assert_allclose(path.wait_s, expected, rtol=1e-9, atol=1e-12)
    assert_allclose(path.wait_s[500], math.log(2.0), rtol=1e-9)  # q* = 40: ln(80 / 40)


@settings(deadline=None, max_examples=40)
@given(
    rates=st.lists(st.floats(0.0, 50.0), min_size=4, max_size=4),
    servers=st.lists(st.integers(0, 12), min_size=4, max_size=4),
    patience=st.one_of(st.none(), st.floats(0.5, 100.0)),
    retry=st.floats(0.0, 0.9),
)
def test_every_request_is_accounted_for(
    rates: list[float], servers: list[int], patience: float | None, retry: float
) -> None:
    grid = np.linspace(0.0, 200.0, 201)
    lam, c = np.repeat(rates, 50), np.repeat(servers, 50).astype(float)
    retry = retry if patience is not None else 0.0
    path = fluid_queue(grid, lam, c, 2.0, patience_s=patience, retry_fraction=retry,
                       retry_delay_s=10.0, initial_in_system=5.0)  # fmt: skip
    scale = 1.0 + path.arrived[-1]
    # arrivals = served + gave up for good + queued + in service + waiting to retry
    total = path.served + path.lost + path.backlog + path.in_service + path.orbit
    assert_allclose(path.arrived + 5.0, total, atol=1e-9 * scale)
    assert_allclose(path.orbit, retry * path.abandoned - path.retried, atol=1e-9 * scale)
    assert np.all(path.backlog >= 0) and np.all(path.wait_s >= 0)
    assert np.all(np.diff(path.served) >= -1e-9 * scale)


@settings(deadline=None, max_examples=40)
@given(
    lam=st.floats(5.0, 40.0),
    c0=st.integers(1, 20),
    extra=st.integers(1, 10),
    lead=st.integers(0, 150),
    patience=st.one_of(st.none(), st.floats(1.0, 100.0)),
)
def test_more_servers_or_a_shorter_lead_time_never_hurt(
    lam: float, c0: int, extra: int, lead: int, patience: float | None
) -> None:
    grid = np.arange(0.0, 401.0)

    def run(before: int, lead_s: int) -> FluidPath:
        servers = np.where(grid[:-1] < lead_s, before, 30)
        return fluid_queue(grid, lam, servers, 1.0, patience_s=patience)

    base = run(c0, lead)
    more = run(c0 + extra, lead)
    later = run(c0, lead + 50)
    tol = 1e-9 * (1 + base.max_backlog)
    assert np.all(more.backlog <= base.backlog + tol)
    assert np.all(more.wait_s <= base.wait_s + 1e-9)
    assert later.max_backlog >= base.max_backlog - tol
    assert later.max_wait_s >= base.max_wait_s - 1e-9


@settings(deadline=None, max_examples=50)
@given(
    values=st.lists(st.floats(0.0, 100.0), min_size=2, max_size=8),
    edges=st.lists(st.floats(-50.0, 150.0), min_size=2, max_size=10, unique=True),
)
def test_step_means_keep_every_arrival(values: list[float], edges: list[float]) -> None:
    knots = np.linspace(0.0, 100.0, len(values))
    e = np.sort(edges)
    means = step_means(knots, values, e)
    fine = np.linspace(e[0], e[-1], 200_001)
    exact = np.trapezoid(np.interp(fine, knots, values), fine)
    assert_allclose(np.sum(means * np.diff(e)), exact, rtol=1e-6, atol=1e-6)


def test_a_day_at_one_second_steps_takes_well_under_a_second() -> None:
    day = np.arange(0.0, 86_401.0)
    lam = 2000.0 + 1500.0 * np.sin(day[:-1] / 86_400 * 6 * np.pi)
    start = time.perf_counter()
    path = fluid_queue(day, lam, 100.0, S, patience_s=60.0)
    assert time.perf_counter() - start < 1.0
    assert path.max_backlog > 0 and path.drained_at_s is not None


def test_the_repr_shows_the_parameters_and_the_peak() -> None:
    text = repr(spike(patience_s=60.0))
    assert text.startswith("FluidPath(steps=1200, service_time_s=0.0325, patience_s=60.0,")
    assert "max_backlog=139076" in text


def test_a_backlog_not_drained_on_the_grid_has_no_drain_time() -> None:
    path = fluid_queue(GRID, LAM, C0, S)
    assert path.drained_at_s is None
    # Its last wait is finished with the last servers, still busy: q / (mu c).
    assert_allclose(path.wait_s[-1], path.backlog[-1] / (C0 * MU), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"times_s": [0.0]}, "times_s must be at least two"),
        ({"times_s": [0.0, 2.0, 1.0]}, "times_s must be at least two"),
        ({"arrival_rate_per_s": [1.0, 2.0, 3.0]}, r"one value per step \(2\) or one for all"),
        ({"arrival_rate_per_s": -1.0}, "arrival_rate_per_s must be finite and >= 0, got -1.0"),
        ({"servers": math.nan}, "servers must be finite and >= 0, got nan"),
        ({"service_time_s": 0.0}, "service_time_s must be a finite number > 0, got 0.0"),
        ({"patience_s": -5.0}, "patience_s must be a finite number > 0 or None, got -5.0"),
        ({"retry_fraction": 1.0}, r"retry_fraction must be in \[0, 1\), got 1.0"),
        ({"retry_fraction": 0.5}, "needs patience_s and a retry_delay_s > 0"),
        ({"initial_in_system": -1.0}, "initial_in_system must be finite and >= 0"),
    ],
)
def test_bad_inputs_are_one_line_model_errors(kwargs: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {
        "times_s": [0.0, 1.0, 2.0], "arrival_rate_per_s": 1.0, "servers": 1.0,
        "service_time_s": 1.0,
    }  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ModelError, match=fragment) as caught:
        fluid_queue(**args)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


# -- agreement with simulation ----------------------------------------------------------------
SIM_LAM, SIM_C0, SIM_C1, SIM_LEAD_S, SIM_END_S = 20.0, 5, 35, 100.0, 220.0


def simulated_backlog(seed: int, grid: np.ndarray) -> np.ndarray:
    """Requests queued at each grid time in one Ciw run of the overloaded queue below."""
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=SIM_LAM)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[
            ciw.Schedule(numbers_of_servers=[SIM_C0, SIM_C1], shift_end_dates=[SIM_LEAD_S, 1e9])
        ],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(SIM_END_S)
    records = sim.get_all_records()
    still_in = sim.nodes[1].all_individuals
    arrived = [r.arrival_date for r in records] + [i.arrival_date for i in still_in]
    started = [r.service_start_date for r in records] + [
        i.service_start_date for i in still_in if i.service_start_date is not False
    ]
    return np.searchsorted(np.sort(arrived), grid, "right") - np.searchsorted(
        np.sort(started), grid, "right"
    )


def test_the_backlog_agrees_with_a_ciw_simulation_of_a_small_overloaded_queue() -> None:
    # 5 servers of 1 s against 20 requests/s for 100 s, then 35: the fluid backlog grows at
    # 15/s to 1,500, then drains at 15/s. Five runs of ~4,400 requests each (~2 s in all).
    grid = np.arange(0.0, 211.0)
    runs = np.array([simulated_backlog(seed, grid) for seed in range(5)])
    path = fluid_queue(grid, SIM_LAM, np.where(grid[:-1] < SIM_LEAD_S, SIM_C0, SIM_C1), 1.0)
    mean, se = runs.mean(axis=0), runs.std(axis=0, ddof=1) / np.sqrt(len(runs))
    # Within 4 standard errors of the runs plus 3 % of the peak at every second; the peak
    # and the area (total time queued) within 5 %.
    assert np.all(np.abs(mean - path.backlog) <= 4 * se + 0.03 * path.max_backlog)
    assert abs(mean[99] - path.backlog[99]) <= 0.05 * path.backlog[99]
    area = np.trapezoid(runs, grid, axis=1).mean()
    assert abs(area - np.trapezoid(path.backlog, grid)) <= 0.05 * area
