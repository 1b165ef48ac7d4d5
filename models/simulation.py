"""Simulation cross-checks with Ciw, a well-kept discrete-event simulator.

The models are checked against simulation rather than trusted: these wrappers run
Ciw (Palmer et al. 2019) for the queues the package models and summarise the
customers' waits with standard errors from independent replications.

Ciw keeps its random state in module globals (``random`` and ``ciw.rng``); each
replication is seeded from the caller's ``rng`` through :func:`ciw.seed`, so runs
are reproducible, but two simulations must not run concurrently in one process.

Time-varying arrivals use :class:`ciw.dists.PoissonIntervals`, which samples the
number of arrivals in each interval and spreads them uniformly: it cannot skip a
short peak, unlike time-dependent inter-arrival sampling, which draws the next gap
from the rate at the current time and can jump over a peak that starts during a
long gap. :func:`simulate_time_varying` summarises every interval of a whole day;
:func:`simulate_window` keeps the customers of one window after a warm-up on the
actual rates and servers before it (for a schedule too busy to simulate whole).

References
----------
.. [1] Palmer, G. I., Knight, V. A., Harper, P. R. & Hawa, A. L. (2019). Ciw: An
   open-source discrete event simulation library. *Journal of Simulation* 13(1),
   68-82.
.. [2] Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., §9.5
   (replication/deletion: independent replications after a warm-up period).
.. [3] Asmussen, S. & Glynn, P. W. (2007). *Stochastic Simulation: Algorithms and
   Analysis*, Springer, §III.5a (sectioning: a confidence interval for a nonlinear
   estimator such as a quantile from its spread over independent replications).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import ciw
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from models._rng import RngLike, as_generator
from models.distributions import Deterministic, Exponential, Lognormal, ServiceTimeDistribution
from models.errors import ModelError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SimulationSummary:
    """Waits and responses of simulated customers, per replication and pooled.

    ``*_reps`` hold one estimate per replication; the properties give their mean and
    standard error (replications are independent, so ``sd / sqrt(n)`` is valid).
    """

    mean_wait_reps: FloatArray
    prob_wait_reps: FloatArray
    mean_response_reps: FloatArray
    prob_abandon_reps: FloatArray
    waits: FloatArray
    responses: FloatArray
    customers: int

    @property
    def replications(self) -> int:
        return len(self.mean_wait_reps)

    @property
    def mean_wait(self) -> float:
        return float(np.mean(self.mean_wait_reps))

    @property
    def mean_wait_se(self) -> float:
        return _se(self.mean_wait_reps)

    @property
    def prob_wait(self) -> float:
        return float(np.mean(self.prob_wait_reps))

    @property
    def prob_wait_se(self) -> float:
        return _se(self.prob_wait_reps)

    @property
    def mean_response(self) -> float:
        return float(np.mean(self.mean_response_reps))

    @property
    def mean_response_se(self) -> float:
        return _se(self.mean_response_reps)

    @property
    def prob_abandon(self) -> float:
        return float(np.mean(self.prob_abandon_reps))

    @property
    def prob_abandon_se(self) -> float:
        return _se(self.prob_abandon_reps)

    def response_quantile(self, p: float) -> float:
        """Pooled empirical ``p``-quantile of the served customers' response times."""
        return float(np.quantile(self.responses, p))

    def __repr__(self) -> str:
        return (
            f"SimulationSummary(customers={self.customers}, replications={self.replications},"
            f" mean_wait={self.mean_wait:.6g}±{self.mean_wait_se:.2g},"
            f" prob_wait={self.prob_wait:.4g}±{self.prob_wait_se:.2g})"
        )


def to_ciw(dist: ServiceTimeDistribution) -> Any:
    """The Ciw distribution equal to one of ours (exponential, lognormal, deterministic)."""
    if isinstance(dist, Exponential):
        return ciw.dists.Exponential(rate=dist.rate)
    if isinstance(dist, Lognormal):
        return ciw.dists.Lognormal(mean=dist.mu, sd=dist.sigma)
    if isinstance(dist, Deterministic):
        return ciw.dists.Deterministic(value=dist.mean)
    raise ModelError(f"no Ciw equivalent for {dist!r}; use Exponential, Lognormal or Deterministic")


def simulate_queue(
    arrival_rate: float,
    service: ServiceTimeDistribution,
    servers: int,
    *,
    run_s: float,
    warmup_s: float = 0.0,
    replications: int = 5,
    abandon_rate: float | None = None,
    interarrival: ServiceTimeDistribution | None = None,
    rng: RngLike = None,
) -> SimulationSummary:
    """Simulate a G/G/c (+M) FCFS queue with Ciw and summarise its customers.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate (1/s); ignored when ``interarrival`` is given.
    service : ServiceTimeDistribution
        Service-time distribution (s).
    servers : int
        Number of servers.
    run_s : float
        Simulated time per replication after the warm-up (s).
    warmup_s : float
        Customers arriving before this time are discarded (s).
    replications : int
        Independent replications (>= 2 for a standard error).
    abandon_rate : float, optional
        Exponential patience rate (1/s) for an Erlang-A queue.
    interarrival : ServiceTimeDistribution, optional
        Inter-arrival distribution for G/G/c; Poisson arrivals by default.
    rng : int, numpy.random.Generator or None
        Seeds Ciw for each replication.

    Returns
    -------
    SimulationSummary
    """
    if replications < 2:
        raise ModelError(f"replications must be >= 2 for a standard error, got {replications!r}")
    if not (run_s > 0 and warmup_s >= 0):
        raise ModelError(f"run_s must be > 0 and warmup_s >= 0, got {run_s!r}, {warmup_s!r}")
    gen = as_generator(rng)
    arrivals = to_ciw(interarrival or Exponential(mean=1.0 / arrival_rate))
    network = ciw.create_network(
        arrival_distributions=[arrivals],
        service_distributions=[to_ciw(service)],
        number_of_servers=[servers],
        reneging_time_distributions=(
            [ciw.dists.Exponential(rate=abandon_rate)] if abandon_rate else None
        ),
    )
    reps: dict[str, list[float]] = {"w": [], "pw": [], "t": [], "ab": []}
    waits: list[FloatArray] = []
    responses: list[FloatArray] = []
    customers = 0
    for _ in range(replications):
        ciw.seed(int(gen.integers(2**31 - 1)))
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(warmup_s + run_s)
        records = [
            r for r in sim.get_all_records() if warmup_s <= r.arrival_date <= warmup_s + run_s
        ]
        served = [r for r in records if r.record_type == "service"]
        reneged = [r for r in records if r.record_type == "renege"]
        w_all = np.array(
            [r.waiting_time for r in served] + [r.exit_date - r.arrival_date for r in reneged]
        )
        resp = np.array([r.exit_date - r.arrival_date for r in served])
        if len(w_all) == 0:
            raise ModelError("no customers were simulated; increase run_s")
        reps["w"].append(float(w_all.mean()))
        reps["pw"].append(float(np.mean(w_all > 0)))
        reps["t"].append(float(resp.mean()) if len(resp) else float("nan"))
        reps["ab"].append(len(reneged) / len(w_all))
        waits.append(w_all)
        responses.append(resp)
        customers += len(w_all)
    return SimulationSummary(
        mean_wait_reps=np.array(reps["w"]),
        prob_wait_reps=np.array(reps["pw"]),
        mean_response_reps=np.array(reps["t"]),
        prob_abandon_reps=np.array(reps["ab"]),
        waits=np.concatenate(waits),
        responses=np.concatenate(responses),
        customers=customers,
    )


@dataclass(frozen=True)
class TimeVaryingSummary:
    """Per-interval results of a time-varying simulation, pooled over replications."""

    interval_starts_s: FloatArray
    prob_wait: FloatArray
    mean_wait: FloatArray
    arrivals: NDArray[np.int64]


def simulate_time_varying(
    rates_per_s: ArrayLike,
    interval_s: float,
    service: ServiceTimeDistribution,
    servers: ArrayLike,
    *,
    replications: int = 3,
    rng: RngLike = None,
) -> TimeVaryingSummary:
    """Simulate an M(t)/G/c(t) queue over piecewise-constant rates and staffing.

    Arrivals come from :class:`ciw.dists.PoissonIntervals` (exact for
    piecewise-constant rates, and never skips a short peak); the number of servers
    follows a :class:`ciw.Schedule` with the same intervals. Customers are grouped by
    the interval in which they arrive.

    Parameters
    ----------
    rates_per_s : array_like
        Arrival rate in each interval (1/s).
    interval_s : float
        Length of every interval (s).
    service : ServiceTimeDistribution
        Service-time distribution (s).
    servers : array_like of int
        Servers on duty in each interval.
    replications : int
    rng : int, numpy.random.Generator or None

    Returns
    -------
    TimeVaryingSummary
    """
    rates = [float(r) for r in np.asarray(rates_per_s, dtype=np.float64)]
    staff = [int(s) for s in np.asarray(servers)]
    if len(rates) != len(staff) or not rates:
        raise ModelError(
            f"need one server count per interval: {len(rates)} rates, {len(staff)} counts"
        )
    ends = [interval_s * (i + 1) for i in range(len(rates))]
    horizon = ends[-1]
    gen = as_generator(rng)
    n = len(rates)
    waited = np.zeros(n)
    total_wait = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    for _ in range(replications):
        ciw.seed(int(gen.integers(2**31 - 1)))
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.PoissonIntervals(rates, ends, horizon)],
            service_distributions=[to_ciw(service)],
            number_of_servers=[ciw.Schedule(numbers_of_servers=staff, shift_end_dates=ends)],
        )
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(horizon * 1.5)
        for r in sim.get_all_records():
            if r.record_type != "service" or r.arrival_date >= horizon:
                continue
            i = min(int(r.arrival_date // interval_s), n - 1)
            count[i] += 1
            waited[i] += r.waiting_time > 0
            total_wait[i] += r.waiting_time
    with np.errstate(invalid="ignore", divide="ignore"):
        return TimeVaryingSummary(
            interval_starts_s=np.arange(n, dtype=np.float64) * interval_s,
            prob_wait=np.where(count > 0, waited / np.maximum(count, 1), np.nan),
            mean_wait=np.where(count > 0, total_wait / np.maximum(count, 1), np.nan),
            arrivals=count,
        )


@dataclass(frozen=True)
class Estimate:
    """A simulated figure, its standard error and a 95 % confidence interval ``[low, high]``."""

    value: float
    se: float
    low: float
    high: float

    def covers(self, x: float) -> bool:
        """Whether ``x`` lies inside the confidence interval."""
        return bool(self.low <= x <= self.high)


@dataclass(frozen=True)
class WindowSample:
    """The customers who arrived in the measured window, one array per replication.

    ``waits_s`` and ``responses_s`` are in order of arrival; ``window_s`` is the
    measured window ``(start, end)`` on the simulation's clock (s). The estimates
    are the mean of the replications' values with a Student-t interval, or, for a
    quantile, the pooled sample quantile with the interval of sectioning ([3]_):
    waits in one run are correlated, so an order-statistic interval, which assumes
    independent draws, would be too narrow.
    """

    waits_s: tuple[FloatArray, ...]
    responses_s: tuple[FloatArray, ...]
    window_s: tuple[float, float]

    @property
    def replications(self) -> int:
        return len(self.waits_s)

    @property
    def customers(self) -> int:
        return sum(len(w) for w in self.waits_s)

    def prob_wait(self) -> Estimate:
        """P(wait > 0) of the window's customers."""
        return _replicated([np.mean(w > 0) if len(w) else np.nan for w in self.waits_s])

    def mean_wait(self) -> Estimate:
        """Mean wait of the window's customers (s)."""
        return _replicated([np.mean(w) if len(w) else np.nan for w in self.waits_s])

    def quantile(self, p: float, *, of: str = "response") -> Estimate:
        """The ``p``-quantile of the response times (``of='response'``) or waits (s)."""
        if of not in ("response", "wait"):
            raise ModelError(f"unknown quantity {of!r}; options are response, wait")
        runs = self.responses_s if of == "response" else self.waits_s
        reps = [np.quantile(x, p) if len(x) else np.nan for x in runs]
        pooled = np.concatenate(runs)
        return _replicated(reps, float(np.quantile(pooled, p)) if len(pooled) else np.nan)


def simulate_window(
    step_ends_s: ArrayLike,
    rates_per_s: ArrayLike,
    servers: ArrayLike,
    service: ServiceTimeDistribution,
    *,
    measure_from_s: float,
    replications: int = 5,
    rng: RngLike = None,
) -> WindowSample:
    """Simulate an M(t)/G/c(t) FCFS queue from empty and keep the customers of its end.

    Step ``i`` covers ``[step_ends_s[i-1], step_ends_s[i])`` (the first from 0) with a
    constant arrival rate and number of servers. The customers arriving from
    ``measure_from_s`` to the last end are measured; those before are the warm-up.
    Arrivals stop at the last end and the last step's servers stay on duty until
    every customer has left: under FCFS no customer's wait depends on later
    arrivals, so every measured customer is complete and none is biased. Servers
    leaving at a step end finish their customer first (Ciw's default).

    Parameters
    ----------
    step_ends_s : array_like
        Increasing end of each step (s), the first > 0.
    rates_per_s : array_like
        Poisson arrival rate in each step (1/s), >= 0.
    servers : array_like of int
        Servers on duty in each step, >= 1.
    service : ServiceTimeDistribution
        Service-time distribution (s).
    measure_from_s : float
        Start of the measured window (s), before the last end.
    replications : int
        Independent replications (>= 2 for a standard error).
    rng : int, numpy.random.Generator or None
        Seeds Ciw for each replication.

    Returns
    -------
    WindowSample

    References
    ----------
    Palmer et al. (2019) [1]_ (Ciw); Law (2015) [2]_ (replication/deletion).

    Examples
    --------
    A 4-server M/M/4 at rho = 0.8 for 60 s, then measured for 200 s:

    >>> sample = simulate_window([60, 260], [3.2, 3.2], [4, 4], Exponential(mean=1.0),
    ...                          measure_from_s=60, replications=3, rng=1)
    >>> sample.window_s, sample.replications
    ((60.0, 260.0), 3)
    >>> 0.3 < sample.prob_wait().value < 0.8   # Erlang C: 0.596
    True
    """
    ends, rates, staff = _window_steps(step_ends_s, rates_per_s, servers, measure_from_s)
    if replications < 2:
        raise ModelError(f"replications must be >= 2 for a standard error, got {replications!r}")
    gen = as_generator(rng)
    never = max(1e12, ends[-1] * 1e6)  # arrivals stopped, the last servers on duty
    waits: list[FloatArray] = []
    responses: list[FloatArray] = []
    for _ in range(replications):
        ciw.seed(int(gen.integers(2**31 - 1)))
        network = ciw.create_network(
            arrival_distributions=[
                ciw.dists.PoissonIntervals([*rates, 0.0], [*ends, never], never)
            ],
            service_distributions=[to_ciw(service)],
            number_of_servers=[
                ciw.Schedule(numbers_of_servers=[*staff, staff[-1]], shift_end_dates=[*ends, never])
            ],
        )
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(never)
        kept = [r for r in sim.get_all_records() if measure_from_s <= r.arrival_date < ends[-1]]
        kept.sort(key=lambda r: r.arrival_date)
        waits.append(np.array([r.waiting_time for r in kept], dtype=np.float64))
        responses.append(np.array([r.exit_date - r.arrival_date for r in kept], dtype=np.float64))
    return WindowSample(tuple(waits), tuple(responses), (float(measure_from_s), ends[-1]))


def _window_steps(
    step_ends_s: ArrayLike, rates_per_s: ArrayLike, servers: ArrayLike, measure_from_s: float
) -> tuple[list[float], list[float], list[int]]:
    ends = [float(e) for e in np.atleast_1d(np.asarray(step_ends_s, dtype=np.float64))]
    rates = [float(r) for r in np.atleast_1d(np.asarray(rates_per_s, dtype=np.float64))]
    staff = [int(c) for c in np.atleast_1d(np.asarray(servers))]
    if not ends or not len(ends) == len(rates) == len(staff):
        raise ModelError(
            f"need one rate and one server count per step: {len(ends)} ends, {len(rates)} rates,"
            f" {len(staff)} counts"
        )
    if not (ends[0] > 0 and all(b > a for a, b in itertools.pairwise(ends))):
        raise ModelError(f"step ends must increase from > 0 s, got {ends!r}")
    if not all(math.isfinite(r) and r >= 0 for r in rates):
        raise ModelError(f"arrival rates must be finite and >= 0, got {rates!r}")
    if min(staff) < 1:
        raise ModelError(f"every step needs >= 1 server, got {staff!r}")
    if not 0 <= measure_from_s < ends[-1]:
        raise ModelError(f"measure_from_s must be in [0, {ends[-1]!r}), got {measure_from_s!r}")
    return ends, rates, staff


def _replicated(reps: list[Any], pooled: float | None = None) -> Estimate:
    """Mean (or ``pooled``) of the replications' values, with a Student-t 95 % interval.

    The interval is cut at 0: every figure of a window (waits, times, P(wait)) is >= 0.
    """
    x = np.asarray(reps, dtype=np.float64)
    x = x[np.isfinite(x)]
    value = pooled if pooled is not None else float(np.mean(x)) if len(x) else math.nan
    if len(x) < 2:
        return Estimate(value, np.nan, np.nan, np.nan)
    se = _se(x)
    half = float(stats.t.ppf(0.975, len(x) - 1)) * se
    return Estimate(value, se, max(value - half, 0.0), value + half)


def _se(x: FloatArray) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(len(x)))
