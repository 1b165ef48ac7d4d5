"""The Monte Carlo spread of a plan: P50 and P90 of the servers over samples of its ranges.

A capacity section with ranges (a tier's ``service_time`` or ``visits``) or a
``derivation:`` is planned twice over:

* the central plan: every input at its central value (the median of its range), by
  :func:`models.plan_capacity`, exactly as a plan without ranges;
* a Monte Carlo spread: ``samples`` draws of every range (independent, seeded), each
  staffed the same way on the same arrival curve (:mod:`planning.curve`), summarised per
  tier and interval by the P50 and P90 of the servers the samples need
  (:mod:`models.montecarlo`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dvcschema.capacity import CapacitySpec, TierSpec
from dvcschema.capacity_inputs import Quantity
from dvcschema.errors import ConfigError, shown
from models import TierBudget
from models.montecarlo import (
    input_range,
    min_servers_samples,
    sample_percentiles,
    sample_ranges,
)
from planning.curve import Curve, interval_peak_rates

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MAX_SAMPLES = 20_000
PERCENTILES = (0.5, 0.9)


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
    return any(q.is_range for _, q in _ranges(spec))


def check_samples(samples: int) -> int:
    """``samples`` if it is a number of samples (1 to 20,000), else :class:`ConfigError`."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise ConfigError(
            f"{shown(samples)} is out of range; allowed: 1 to {MAX_SAMPLES:,}", field="--samples"
        )
    return samples


def monte_carlo(
    spec: CapacitySpec,
    method: str,
    curve: Curve,
    budgets: dict[str, list[TierBudget]],
    *,
    samples: int,
    seed: int,
) -> MonteCarlo:
    """Draw every range ``samples`` times and staff each sample as the central plan is.

    ``method`` is the central plan's staffing method; ``curve`` its arrival curve;
    ``budgets`` maps each tier to the model budgets it must meet.
    """
    labelled = [(label, q) for label, q in _ranges(spec) if q.is_range]
    drawn = sample_ranges(
        [input_range(q.dist, q.low, q.high) for _, q in labelled], samples, rng=seed
    )
    inputs = {label: row for (label, _), row in zip(labelled, drawn, strict=True)}
    figures, scale = _derived_peaks(spec, inputs, samples)
    servers = {
        tier.name: _tier_servers(
            spec, tier, curve, (inputs, scale), method=method, budgets=budgets[tier.name]
        )
        for tier in spec.tiers
    }
    return MonteCarlo(samples, seed, inputs, figures, servers)


def _derived_peaks(
    spec: CapacitySpec, inputs: dict[str, FloatArray], samples: int
) -> tuple[dict[str, FloatArray], FloatArray]:
    """Every figure of the derivation per sample, and the derived peak (1 without one)."""
    if spec.derivation is None:
        return {}, np.ones(samples)
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
    return figures, scale


def _tier_servers(
    spec: CapacitySpec,
    tier: TierSpec,
    curve: Curve,
    drawn: tuple[dict[str, FloatArray], FloatArray],
    *,
    method: str,
    budgets: list[TierBudget],
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
