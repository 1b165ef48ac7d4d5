"""The arrival curve of a plan, and the load each interval of it is staffed for.

The curve is the scenario's arrivals (sessions/s by clock time, piecewise linear) with
the what-ifs applied (:mod:`planning.whatif`); with a ``derivation:``, the arrivals are
a shape (peak 1) and the curve is that shape times the derived peak. It is computed
once per plan (:func:`plan_curve`); the central plan, the Monte Carlo samples and the
peak hour by hand all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dvcschema.capacity import STEP_S, CapacitySpec
from dvcschema.errors import ConfigError, shown
from models import ModelError, offered_load, service_distribution
from models.plan import staffing_grid
from models.time_varying import STAFFING_METHODS
from planning.clock import clock
from planning.whatif import Spike

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Curve:
    """The arrival curve of the plan: ``scale * unit_rate_per_s`` sessions/s at ``times_s``.

    ``unit_rate_per_s`` is the arrivals with the what-ifs applied; ``scale`` is the
    derived peak (1 without a derivation).
    """

    times_s: FloatArray
    unit_rate_per_s: FloatArray
    scale: float

    @property
    def rate_per_s(self) -> FloatArray:
        return self.unit_rate_per_s * self.scale


def plan_curve(spec: CapacitySpec, surge: float = 1.0, spikes: tuple[Spike, ...] = ()) -> Curve:
    """The arrival curve at the central values, with the what-ifs applied.

    A spike entirely outside the arrivals' span is a :class:`ConfigError`.
    """
    t = np.asarray(spec.arrivals.times_s, dtype=np.float64)
    r = np.asarray(spec.arrivals.rate_per_s, dtype=np.float64) * surge
    for spike in spikes:
        if spike.end_s <= t[0] or spike.start_s >= t[-1]:
            raise ConfigError(
                f"spike {spike.describe()} is outside the plan ({clock(t[0])}-{clock(t[-1])})",
                field="--spike",
            )
        t, r = apply_spike(t, r, spike)
    scale = 1.0
    if spec.derivation is not None:
        scale = spec.derivation.central()[spec.derivation.peak]
    return Curve(t, r, scale)


def apply_spike(t: FloatArray, r: FloatArray, spike: Spike) -> tuple[FloatArray, FloatArray]:
    """Multiply the piecewise-linear curve by ``spike.factor`` inside the spike.

    Each edge of the spike is a step, written as a ramp over the ``STEP_S`` before it
    (as steps are everywhere in a plan's curve), so the times stay increasing.
    """
    edges = [spike.start_s - STEP_S, spike.start_s, spike.end_s - STEP_S, spike.end_s]
    new_t = np.union1d(t, [x for x in edges if t[0] <= x <= t[-1]])
    new_r = np.interp(new_t, t, r)
    inside = (new_t >= spike.start_s) & (new_t < spike.end_s)
    return new_t, np.where(inside, new_r * spike.factor, new_r)


def interval_peak_rates(
    times_s: ArrayLike,
    arrival_rate_per_s: ArrayLike,
    service_means_s: ArrayLike,
    service_cv: float,
    *,
    method: str = "mol",
    interval_s: float = 3600.0,
    resolution_s: float | None = None,
    grid_points: int = 16,
) -> FloatArray:
    """The effective arrival rate each interval is staffed for, per service mean.

    :func:`models.plan.plan_capacity` staffs an interval for the largest offered load
    on its grid (:func:`models.plan.staffing_grid`), ``max m(t)`` (MOL) or
    ``max lambda(t) E[S]`` (PSA); this returns that load divided by the mean service
    time, on the same grid. Under PSA it does not depend on the service time. Under MOL
    it does, slightly (the lag): it is computed exactly for up to ``grid_points``
    distinct means, else on ``grid_points`` log-spaced means across their span and
    interpolated linearly in ``log s``.

    Parameters
    ----------
    times_s, arrival_rate_per_s : array_like
        The arrival-rate profile (s, 1/s), linear between the points.
    service_means_s : array_like
        Mean service time of each sample (s).
    service_cv : float
        Coefficient of variation of the service time.
    method : {'mol', 'psa'}
    interval_s, resolution_s : float
        As for :func:`models.plan.plan_capacity`.
    grid_points : int

    Returns
    -------
    ndarray, shape (len(service_means_s), intervals)
        Requests per second (1/s).

    References
    ----------
    Jennings, Mandelbaum, Massey & Whitt (1996), *Management Science* 42(10) (MOL);
    Eick, Massey & Whitt (1993), *Operations Research* 41(4) (the offered load ``m(t)``).

    Examples
    --------
    >>> r = interval_peak_rates([0, 3600, 7200], [1.0, 3.0, 1.0], [0.1, 0.2], 1.0,
    ...                         method="psa")
    >>> r.round(4).tolist()   # the grid's busiest minute of each hour
    [[2.9667, 3.0], [2.9667, 3.0]]
    """
    if method not in STAFFING_METHODS:
        raise ModelError(
            f"unknown method {shown(method)}; options are {', '.join(STAFFING_METHODS)}"
        )
    u = np.asarray(times_s, dtype=np.float64)
    lam = np.asarray(arrival_rate_per_s, dtype=np.float64)
    means = np.atleast_1d(np.asarray(service_means_s, dtype=np.float64))
    grid = staffing_grid(u, interval_s=interval_s, resolution_s=resolution_s)
    fine, starts = grid.times_s, grid.first_index
    if method == "psa":
        row = np.maximum.reduceat(np.interp(fine, u, lam), starts)
        return np.broadcast_to(row, (means.size, row.size)).copy()
    distinct = np.unique(means)
    points = distinct if distinct.size <= grid_points else _log_grid(distinct, grid_points)
    table = np.array(
        [
            np.maximum.reduceat(
                offered_load(u, lam, service_distribution(float(s), service_cv), eval_times_s=fine)
                / s,
                starts,
            )
            for s in points
        ]
    )
    if points.size == 1:
        return np.broadcast_to(table[0], (means.size, table.shape[1])).copy()
    x = np.log(points)
    k = np.clip(np.searchsorted(x, np.log(means)) - 1, 0, points.size - 2)
    w = ((np.log(means) - x[k]) / (x[k + 1] - x[k]))[:, None]
    return table[k] * (1 - w) + table[k + 1] * w


def _log_grid(values: FloatArray, n: int) -> FloatArray:
    return np.unique(np.concatenate([np.geomspace(values[0], values[-1], n), values[[0, -1]]]))
