"""The inputs of ``dvcload plan`` as numbers: the arrival curve, what-ifs, Monte Carlo samples.

A capacity section with ranges (a tier's ``service_time`` or ``visits``) or a
``derivation:`` is planned twice over:

* the central plan: every input at its central value (the median of its range), by
  :func:`models.plan_capacity`, exactly as a plan without ranges;
* a Monte Carlo spread: ``samples`` draws of every range (independent, seeded), each
  staffed the same way, summarised per tier and interval by the P50 and P90 of the
  servers the samples need (:mod:`models.montecarlo`).

What-ifs change the arrival curve of both: ``--surge 2x`` multiplies it throughout,
``--spike 3x@17:00+30m`` multiplies it by 3 from 17:00 for 30 minutes (a sudden event;
repeatable, overlapping spikes multiply). With a derivation, the curve is the shape in
``arrivals:`` (peak 1) times the derived peak, then the what-ifs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dvcschema.capacity import STEP_S, CapacitySpec, TierSpec
from dvcschema.capacity_inputs import Quantity
from dvcschema.errors import ConfigError, shown
from dvcschema.rates import DAY_S
from dvcschema.units import format_duration_s, parse_duration_s
from models import Budget, CapacityPlan, ModelError, offered_load, service_distribution
from models.montecarlo import (
    input_range,
    min_servers_samples,
    sample_percentiles,
    sample_ranges,
)
from models.time_varying import STAFFING_METHODS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MAX_FACTOR = 1000.0
MAX_SAMPLES = 20_000
PERCENTILES = (0.5, 0.9)
_SPIKE = re.compile(
    r"\s*(?P<factor>\d+(?:\.\d+)?)\s*[x×]?\s*@\s*(?P<h>\d{1,2}):(?P<m>\d{2})"
    r"\s*\+\s*(?P<length>\S+)\s*",
    re.ASCII,
)


@dataclass(frozen=True)
class Spike:
    """Arrivals multiplied by ``factor`` over ``[start_s, start_s + length_s)`` (clock s)."""

    factor: float
    start_s: float
    length_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.length_s

    def describe(self) -> str:
        return f"x{self.factor:g} at {_clock(self.start_s)} for {format_duration_s(self.length_s)}"


def parse_spike(text: str) -> Spike:
    """``"3x@17:00+30m"``: three times the arrivals from 17:00 for 30 minutes."""
    match = _SPIKE.fullmatch(text)
    allowed = "FACTOR@HH:MM+DURATION, e.g. 3x@17:00+30m"
    if match is None:
        raise ConfigError(f"{shown(text)} is not a spike; allowed: {allowed}", field="--spike")
    factor = float(match["factor"])
    hours, minutes = int(match["h"]), int(match["m"])
    try:
        length_s = parse_duration_s(match["length"])
    except ValueError as exc:
        raise ConfigError(f"{shown(text)}: {exc}", field="--spike") from None
    start_s = hours * 3600.0 + minutes * 60.0
    if not 0 < factor <= MAX_FACTOR:
        raise ConfigError(
            f"{shown(text)}: factor out of range; allowed: > 0, <= 1000", field="--spike"
        )
    if minutes >= 60 or start_s >= DAY_S:
        raise ConfigError(
            f"{shown(text)}: not a time of day; allowed: 00:00 to 23:59", field="--spike"
        )
    if not 1.0 <= length_s <= DAY_S - start_s:
        raise ConfigError(
            f"{shown(text)}: length out of range; allowed: >= 1s, ending by 24:00", field="--spike"
        )
    return Spike(factor, start_s, length_s)


# -- the arrival curve ------------------------------------------------------------------------
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


def plan_curve(spec: CapacitySpec, surge: float, spikes: tuple[Spike, ...]) -> Curve:
    """The arrival curve at the central values, with the what-ifs applied."""
    t = np.asarray(spec.arrivals.times_s, dtype=np.float64)
    r = np.asarray(spec.arrivals.rate_per_s, dtype=np.float64) * surge
    for spike in spikes:
        if spike.end_s <= t[0] or spike.start_s >= t[-1]:
            raise ConfigError(
                f"spike {spike.describe()} is outside the plan ({_clock(t[0])}-{_clock(t[-1])})",
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


# -- the load each interval is staffed for -------------------------------------------------
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
    on its grid, ``max m(t)`` (MOL) or ``max lambda(t) E[S]`` (PSA); this returns that
    load divided by the mean service time, on the same grid (a copy of that function's
    grid, which it does not expose; this belongs next to it in :mod:`models.plan`).
    Under PSA it does not depend on the service time. Under MOL it does, slightly (the
    lag): it is computed exactly for up to ``grid_points`` distinct means, else on
    ``grid_points`` log-spaced means across their span and interpolated linearly in
    ``log s``.

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
    fine, starts = _plan_grid(u, interval_s, resolution_s)
    if method == "psa":
        row = np.maximum.reduceat(np.interp(fine, u, lam), starts)
        return np.broadcast_to(row, (means.size, row.size)).copy()
    distinct = np.unique(means)
    grid = distinct if distinct.size <= grid_points else _log_grid(distinct, grid_points)
    table = np.array(
        [
            np.maximum.reduceat(
                offered_load(u, lam, service_distribution(float(s), service_cv), eval_times_s=fine)
                / s,
                starts,
            )
            for s in grid
        ]
    )
    if grid.size == 1:
        return np.broadcast_to(table[0], (means.size, table.shape[1])).copy()
    x = np.log(grid)
    k = np.clip(np.searchsorted(x, np.log(means)) - 1, 0, grid.size - 2)
    w = ((np.log(means) - x[k]) / (x[k + 1] - x[k]))[:, None]
    return table[k] * (1 - w) + table[k + 1] * w


def _plan_grid(
    u: FloatArray, interval_s: float, resolution_s: float | None
) -> tuple[FloatArray, IntArray]:
    """The staffing grid of :func:`models.plan.plan_capacity`, and where each interval starts."""
    step = interval_s / 60 if resolution_s is None else resolution_s
    n_int = max(1, math.ceil((u[-1] - u[0]) / interval_s - 1e-9))
    fine = np.arange(u[0], u[0] + n_int * interval_s, step)
    which = np.minimum(((fine - u[0]) // interval_s).astype(np.int64), n_int - 1)
    return fine, np.searchsorted(which, np.arange(n_int)).astype(np.int64)


def _log_grid(values: FloatArray, n: int) -> FloatArray:
    return np.unique(np.concatenate([np.geomspace(values[0], values[-1], n), values[[0, -1]]]))


# -- Monte Carlo ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonteCarlo:
    """The samples of a plan's ranges and the servers each sample needs.

    ``inputs`` maps a label (``'derivation.<name>'``, ``'<tier>.service_time'``,
    ``'<tier>.visits'``) to its samples (ranges only); ``figures`` maps every figure of
    the derivation to its samples; ``servers`` maps a tier to an array of shape
    (samples, intervals).
    """

    samples: int
    seed: int
    inputs: dict[str, FloatArray]
    figures: dict[str, FloatArray]
    servers: dict[str, IntArray]

    def tier_percentiles(self, tier: str) -> IntArray:
        """Shape (2, intervals): P50 and P90 of the servers ``tier`` needs."""
        return sample_percentiles(self.servers[tier], PERCENTILES)

    def total_percentiles(self, interval: int) -> IntArray:
        """P50 and P90 of all tiers' servers together in one interval (per sample, summed)."""
        total = sum(s[:, interval] for s in self.servers.values())
        return sample_percentiles(np.asarray(total), PERCENTILES)

    def figure_percentiles(self, name: str) -> FloatArray:
        return np.quantile(self.figures[name], PERCENTILES, method="inverted_cdf")


def has_ranges(spec: CapacitySpec) -> bool:
    """Whether anything in ``spec`` is uncertain (so a Monte Carlo spread means something)."""
    inputs = [q for _, q in _ranges(spec)]
    return any(q.is_range for q in inputs)


def monte_carlo(
    spec: CapacitySpec,
    plan: CapacityPlan,
    curve: Curve,
    budgets: dict[str, list[Budget]],
    *,
    samples: int,
    seed: int,
) -> MonteCarlo:
    """Draw every range ``samples`` times and staff each sample as ``plan`` was staffed.

    ``budgets`` maps each tier to the model budgets it must meet.
    """
    labelled = [(label, q) for label, q in _ranges(spec) if q.is_range]
    drawn = sample_ranges(
        [input_range(q.dist, q.low, q.high) for _, q in labelled], samples, rng=seed
    )
    inputs = {label: row for (label, _), row in zip(labelled, drawn, strict=True)}
    figures: dict[str, FloatArray] = {}
    scale = np.ones(samples)
    if spec.derivation is not None:
        prefix = "derivation."
        values = {k.removeprefix(prefix): v for k, v in inputs.items() if k.startswith(prefix)}
        figures = {
            k: np.broadcast_to(v, (samples,)) for k, v in spec.derivation.evaluate(values).items()
        }
        scale = figures[spec.derivation.peak]
        bad = ~np.isfinite(scale) | (scale <= 0)
        if np.any(bad):
            raise ConfigError(
                f"the derived peak {spec.derivation.peak} is not a number above 0 for"
                f" {int(bad.sum())} of {samples} samples; check the formulas and ranges",
                field="capacity.derivation",
            )
    servers = {
        tier.name: _tier_servers(
            spec, tier, curve, (inputs, scale), method=plan.method, budgets=budgets[tier.name]
        )
        for tier in spec.tiers
    }
    return MonteCarlo(samples, seed, inputs, figures, servers)


def _tier_servers(
    spec: CapacitySpec,
    tier: TierSpec,
    curve: Curve,
    drawn: tuple[dict[str, FloatArray], FloatArray],
    *,
    method: str,
    budgets: list[Budget],
) -> IntArray:
    """Servers per sample and interval: the row's peak rate x scale x visits, staffed."""
    inputs, scale = drawn
    n = scale.size
    service_s = inputs.get(f"{tier.name}.service_time", np.full(n, tier.service_time_s))
    visits = inputs.get(f"{tier.name}.visits", np.full(n, tier.visits))
    rows = interval_peak_rates(
        curve.times_s,
        curve.unit_rate_per_s,
        service_s,
        tier.cv,
        method=method,
        interval_s=spec.interval_s,
        resolution_s=spec.resolution_s,
    )
    rate = rows * (scale * visits)[:, None]
    return min_servers_samples(rate, service_s[:, None], tier.cv, budgets)


def _ranges(spec: CapacitySpec) -> list[tuple[str, Quantity]]:
    """Every input that may be a range, labelled, in a fixed order (the sampling order)."""
    out: list[tuple[str, Quantity]] = []
    if spec.derivation is not None:
        out += [(f"derivation.{f.name}", f.quantity) for f in spec.derivation.inputs if f.quantity]
    for tier in spec.tiers:
        if tier.service_time_input is not None:
            out.append((f"{tier.name}.service_time", tier.service_time_input))
        if tier.visits_input is not None:
            out.append((f"{tier.name}.visits", tier.visits_input))
    return out


def check_samples(samples: int) -> int:
    if not 1 <= samples <= MAX_SAMPLES:
        raise ConfigError(
            f"{shown(samples)} is out of range; allowed: 1 to {MAX_SAMPLES:,}", field="--samples"
        )
    return samples


def _clock(seconds: float) -> str:
    minutes = math.floor(seconds / 60 + 0.5)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
