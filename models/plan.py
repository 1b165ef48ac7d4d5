"""Capacity plans: servers per tier per interval for a day's arrival profile.

:func:`plan_capacity` is the pure function behind ``dvcload plan`` (through the
``planning`` package): plain Python and NumPy in, a :class:`CapacityPlan` out that is
printed, serialised (:meth:`CapacityPlan.to_dict`) and drawn
(:func:`models.plot.plot_staffing`). :func:`staffing_grid` is the grid it staffs on,
the one place that grid is defined (the Monte Carlo of a plan staffs on it too).

Each tier is an M/G/c station fed at ``visits * lambda(t)`` requests per second
with the tier's own service time (mean and CV: exponential for CV 1, lognormal
otherwise). Every budget applies to each tier separately (or to the tier it names):
a response-time budget bounds the time one request spends at that tier. Staffing
is computed on a fine grid (``resolution_s``) by MOL or PSA and the plan takes,
for each interval, the largest number needed at any moment inside it; utilisation
and the predicted p95 are reported at the interval's peak load with that staffing.

References
----------
.. [1] Jennings, O. B., Mandelbaum, A., Massey, W. A. & Whitt, W. (1996). Server
   staffing to meet time-varying demand. *Management Science* 42(10), 1383-1394.
.. [2] Whitt, W. (1993). Approximations for the GI/G/m queue. *Production and
   Operations Management* 2(2), 114-161.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from models.approximations import approx_mean_wait, approx_response_quantile
from models.erlang import erlang_c
from models.errors import ModelError
from models.sizing import TierBudget, min_servers, service_distribution
from models.time_varying import STAFFING_METHODS, offered_load

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class TierDemand:
    """One tier of the portal (web, application, database, payment gateway...).

    Parameters
    ----------
    name : str
        Tier name, unique in a plan.
    service_time_s : float
        Mean service time of one request at this tier (s).
    service_cv : float
        Coefficient of variation of the service time (1: exponential).
    visits : float
        Requests to this tier per arriving request (forced flow).
    max_servers : int, optional
        Servers available; intervals needing more are flagged ``exceeds_max``.
    """

    name: str
    service_time_s: float
    service_cv: float = 1.0
    visits: float = 1.0
    max_servers: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ModelError("tier name must be a non-empty string")
        if not (math.isfinite(self.service_time_s) and self.service_time_s > 0):
            raise ModelError(
                f"tier {self.name!r}: service_time_s must be > 0, got {self.service_time_s!r}"
            )
        if not (math.isfinite(self.service_cv) and self.service_cv >= 0):
            raise ModelError(
                f"tier {self.name!r}: service_cv must be >= 0, got {self.service_cv!r}"
            )
        if not (math.isfinite(self.visits) and self.visits > 0):
            raise ModelError(f"tier {self.name!r}: visits must be > 0, got {self.visits!r}")
        if self.max_servers is not None and self.max_servers < 1:
            raise ModelError(
                f"tier {self.name!r}: max_servers must be >= 1, got {self.max_servers!r}"
            )


@dataclass(frozen=True)
class TierPlan:
    """The plan for one tier; arrays have one entry per interval."""

    name: str
    servers: IntArray
    utilization: FloatArray
    p95_response_s: FloatArray
    prob_wait: FloatArray
    mean_wait_s: FloatArray
    peak_offered_load: FloatArray
    exceeds_max: NDArray[np.bool_]
    offered_load_fine: FloatArray
    servers_fine: IntArray


@dataclass(frozen=True)
class CapacityPlan:
    """Result of :func:`plan_capacity`.

    Attributes
    ----------
    method : str
        ``'mol'`` or ``'psa'``.
    interval_s : float
        Length of each reporting interval (s).
    interval_starts_s : ndarray
        Start of each interval (s, same origin as the input times).
    mean_arrival_rate_per_s, peak_arrival_rate_per_s : ndarray
        Arrival rate over each interval (1/s).
    tiers : tuple of TierPlan
    budgets : tuple of TierBudget
    times_s, arrival_rate_per_s : ndarray
        The fine grid used for staffing, and the arrival rate on it (for plots).
    """

    method: str
    interval_s: float
    interval_starts_s: FloatArray
    mean_arrival_rate_per_s: FloatArray
    peak_arrival_rate_per_s: FloatArray
    tiers: tuple[TierPlan, ...]
    budgets: tuple[TierBudget, ...]
    times_s: FloatArray
    arrival_rate_per_s: FloatArray

    def tier(self, name: str) -> TierPlan:
        for t in self.tiers:
            if t.name == name:
                return t
        raise ModelError(f"no tier {name!r}; tiers are {', '.join(t.name for t in self.tiers)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (lists of floats and ints, no NumPy types)."""
        return {
            "method": self.method,
            "interval_s": self.interval_s,
            "budgets": [
                {"kind": b.kind, "value": b.value, "quantile": b.quantile, "tier": b.tier}
                for b in self.budgets
            ],
            "intervals": [
                {
                    "start_s": float(start),
                    "mean_arrival_rate_per_s": float(self.mean_arrival_rate_per_s[i]),
                    "peak_arrival_rate_per_s": float(self.peak_arrival_rate_per_s[i]),
                    "tiers": {
                        t.name: {
                            "servers": int(t.servers[i]),
                            "utilization": float(t.utilization[i]),
                            "p95_response_s": _finite(t.p95_response_s[i]),
                            "prob_wait": float(t.prob_wait[i]),
                            "mean_wait_s": _finite(t.mean_wait_s[i]),
                            "peak_offered_load": float(t.peak_offered_load[i]),
                            "exceeds_max": bool(t.exceeds_max[i]),
                        }
                        for t in self.tiers
                    },
                }
                for i, start in enumerate(self.interval_starts_s)
            ],
        }


@dataclass(frozen=True)
class StaffingGrid:
    """The fine grid a plan is staffed on, cut into its reporting intervals.

    Attributes
    ----------
    times_s : ndarray
        The grid (s): from the profile's first time, every ``resolution_s``, to the end
        of the last interval.
    interval : ndarray of int
        The interval each grid time belongs to.
    interval_starts_s : ndarray
        Start of each interval (s).
    """

    times_s: FloatArray
    interval: IntArray
    interval_starts_s: FloatArray

    @property
    def first_index(self) -> IntArray:
        """Index of each interval's first grid time (for ``np.maximum.reduceat``)."""
        n_int = self.interval_starts_s.size
        return np.searchsorted(self.interval, np.arange(n_int)).astype(np.int64)


def staffing_grid(
    times_s: ArrayLike, *, interval_s: float = 3600.0, resolution_s: float | None = None
) -> StaffingGrid:
    """The grid :func:`plan_capacity` staffs on: intervals of ``interval_s`` from ``times_s[0]``.

    The intervals cover ``[times_s[0], times_s[-1])`` (the last one may run past the
    end); each is checked every ``resolution_s`` (``interval_s / 60`` by default).

    Parameters
    ----------
    times_s : array_like
        Increasing times (s) of the arrival-rate profile.
    interval_s : float
        Reporting interval (s).
    resolution_s : float, optional
        Spacing of the grid (s).

    Returns
    -------
    StaffingGrid

    Examples
    --------
    >>> grid = staffing_grid([0, 7200], interval_s=3600, resolution_s=1200)
    >>> grid.times_s.tolist(), grid.interval.tolist(), grid.interval_starts_s.tolist()
    ([0.0, 1200.0, 2400.0, 3600.0, 4800.0, 6000.0], [0, 0, 0, 1, 1, 1], [0.0, 3600.0])
    >>> grid.first_index.tolist()
    [0, 3]
    """
    u = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
    step = interval_s / 60 if resolution_s is None else resolution_s
    if not (math.isfinite(step) and step > 0):
        raise ModelError(f"resolution_s must be > 0, got {resolution_s!r}")
    n_int = max(1, math.ceil((u[-1] - u[0]) / interval_s - 1e-9))
    starts = u[0] + interval_s * np.arange(n_int)
    fine = np.arange(u[0], u[0] + n_int * interval_s, step)
    which = np.minimum(((fine - u[0]) // interval_s).astype(np.int64), n_int - 1)
    return StaffingGrid(fine, which, starts)


def plan_capacity(
    tiers: Sequence[TierDemand],
    times_s: ArrayLike,
    arrival_rate_per_s: ArrayLike,
    budgets: Sequence[TierBudget],
    *,
    method: str = "mol",
    interval_s: float = 3600.0,
    resolution_s: float | None = None,
) -> CapacityPlan:
    """Servers needed per tier per interval so that every budget holds.

    Parameters
    ----------
    tiers : sequence of TierDemand
    times_s : array_like
        Increasing times (s) of the arrival-rate profile (e.g. hourly over a day).
    arrival_rate_per_s : array_like
        Arrival rate of requests to the portal at those times (1/s); linear in
        between.
    budgets : sequence of TierBudget
        At least one; each applies to every tier unless it names one.
    method : {'mol', 'psa'}
        Modified offered load (default) or pointwise stationary approximation.
    interval_s : float
        Reporting interval (s); the plan covers ``[times_s[0], times_s[-1])``.
    resolution_s : float, optional
        Spacing of the staffing grid; ``interval_s / 60`` by default
        (:func:`staffing_grid`).

    Returns
    -------
    CapacityPlan

    Examples
    --------
    >>> plan = plan_capacity(
    ...     [TierDemand("web", 0.05), TierDemand("db", 0.02, service_cv=2.0, visits=3)],
    ...     [0, 3600, 7200], [100.0, 400.0, 100.0],
    ...     [TierBudget("response_quantile", 0.5, quantile=0.95),
    ...      TierBudget("max_utilization", 0.8)],
    ...     interval_s=3600)
    >>> plan.tier("web").servers.tolist(), plan.tier("db").servers.tolist()
    ([25, 25], [30, 30])
    """
    if method not in STAFFING_METHODS:
        raise ModelError(
            f"unknown staffing method {method!r}; options are {', '.join(STAFFING_METHODS)}"
        )
    tiers = list(tiers)
    budgets = tuple(budgets)
    _check_plan_inputs(tiers, budgets, interval_s)
    u = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
    lam = np.atleast_1d(np.asarray(arrival_rate_per_s, dtype=np.float64))
    if u.size < 2 or u.shape != lam.shape:
        raise ModelError(
            f"need at least two (time, rate) points, got {u.size} times and {lam.size} rates"
        )
    grid = staffing_grid(u, interval_s=interval_s, resolution_s=resolution_s)
    fine, which, starts = grid.times_s, grid.interval, grid.interval_starts_s
    n_int = starts.size
    rate_fine = np.interp(fine, u, lam)
    mean_rate = np.array([rate_fine[which == i].mean() for i in range(n_int)])
    peak_rate = np.array([rate_fine[which == i].max() for i in range(n_int)])
    plans = tuple(_plan_tier(tier, budgets, u, lam, fine, which, n_int, method) for tier in tiers)
    return CapacityPlan(
        method, float(interval_s), starts, mean_rate, peak_rate, plans, budgets, fine, rate_fine
    )


def _plan_tier(  # noqa: PLR0917 (private helper)
    tier: TierDemand,
    budgets: tuple[TierBudget, ...],
    u: FloatArray,
    lam: FloatArray,
    fine: FloatArray,
    which: IntArray,
    n_int: int,
    method: str,
) -> TierPlan:
    service = service_distribution(tier.service_time_s, tier.service_cv)
    tier_rate = lam * tier.visits
    if method == "mol":
        load = offered_load(u, tier_rate, service, eval_times_s=fine)
    else:
        load = np.interp(fine, u, tier_rate) * service.mean
    rate_eff = load / service.mean
    servers_fine = np.ones(fine.shape, dtype=np.int64)
    for budget in budgets:
        if budget.tier is None or budget.tier == tier.name:
            servers_fine = np.maximum(servers_fine, min_servers(rate_eff, service, budget))
    servers = np.array([servers_fine[which == i].max() for i in range(n_int)])
    peak_load = np.array([load[which == i].max() for i in range(n_int)])
    peak_rate = peak_load / service.mean
    prob_wait = np.asarray(erlang_c(servers, peak_load))
    mean_wait = np.asarray(approx_mean_wait(peak_rate, service, servers))
    p95 = np.asarray(approx_response_quantile(0.95, peak_rate, service, servers))
    cap = tier.max_servers
    exceeds = servers > cap if cap is not None else np.zeros(n_int, dtype=bool)
    return TierPlan(
        name=tier.name,
        servers=servers,
        utilization=peak_load / servers,
        p95_response_s=p95,
        prob_wait=prob_wait,
        mean_wait_s=mean_wait,
        peak_offered_load=peak_load,
        exceeds_max=np.asarray(exceeds),
        offered_load_fine=load,
        servers_fine=servers_fine,
    )


def _check_plan_inputs(
    tiers: list[TierDemand], budgets: tuple[TierBudget, ...], interval_s: float
) -> None:
    if not tiers:
        raise ModelError("a capacity plan needs at least one tier")
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise ModelError(f"tier names must be unique, got {names!r}")
    if not budgets:
        raise ModelError("a capacity plan needs at least one budget")
    for b in budgets:
        if b.tier is not None and b.tier not in names:
            raise ModelError(f"budget names tier {b.tier!r}; tiers are {', '.join(names)}")
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ModelError(f"interval_s must be > 0, got {interval_s!r}")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
