"""Behavioural segments: digital literacy, VNeID identification level, payment channel.

Digital literacy drives the journeys' think time and abandonment: elderly and rural
citizens read forms slower, make more mistakes and give up sooner (seed article 002).
The shares by age band and urban/rural residence in :data:`LITERACY_SHARES` are
estimates that encode that direction; no published breakdown was available.

VNeID level 2 (verified in person; needed for payments) is more common among the
digitally literate (:data:`VNEID_LEVEL2_SHARE`, estimates; > 57 M accounts were
activated by 2024). Payment channels are those PayGov accepts (bank apps via VietQR,
NAPAS cards, direct account debit, e-wallets MoMo, VNPT Pay, Viettel Money); their
shares by literacy (:data:`PAYMENT_CHANNEL_SHARES`) are estimates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models._rng import RngLike, as_generator

LITERACY_LEVELS = ("high", "medium", "low")
VNEID_LEVELS = (1, 2)
PAYMENT_CHANNELS = ("vietqr", "napas", "account-debit", "momo", "vnpt-pay", "viettel-money")

AGE_BANDS = (35, 50, 65)
"""Upper bounds (exclusive) of the first three age bands: 18-34, 35-49, 50-64, 65+."""
LITERACY_SHARES: dict[str, tuple[tuple[float, float, float], ...]] = {
    # one (high, medium, low) row per age band; estimates
    "urban": ((0.70, 0.25, 0.05), (0.55, 0.35, 0.10), (0.35, 0.45, 0.20), (0.15, 0.40, 0.45)),
    "rural": ((0.45, 0.40, 0.15), (0.30, 0.45, 0.25), (0.15, 0.45, 0.40), (0.05, 0.30, 0.65)),
}
VNEID_LEVEL2_SHARE = {"high": 0.90, "medium": 0.75, "low": 0.50}
PAYMENT_CHANNEL_SHARES: dict[str, tuple[float, ...]] = {
    # in PAYMENT_CHANNELS order; estimates
    "high": (0.45, 0.15, 0.10, 0.18, 0.04, 0.08),
    "medium": (0.38, 0.15, 0.14, 0.13, 0.06, 0.14),
    "low": (0.25, 0.12, 0.20, 0.08, 0.10, 0.25),
}


def expected_literacy_shares(age: int, urban: bool) -> dict[str, float]:
    """Target literacy shares for one age and residence type."""
    band = int(np.searchsorted(AGE_BANDS, age, side="right"))
    row = LITERACY_SHARES["urban" if urban else "rural"][band]
    return dict(zip(LITERACY_LEVELS, row, strict=True))


def sample_literacy(
    ages: npt.ArrayLike, urban: npt.ArrayLike, rng: RngLike = None
) -> npt.NDArray[np.uint8]:
    """Indices into :data:`LITERACY_LEVELS` from age and urban/rural residence."""
    generator = as_generator(rng)
    band = np.searchsorted(AGE_BANDS, np.asarray(ages), side="right")
    town = np.asarray(urban, dtype=bool)
    table = np.array([LITERACY_SHARES["rural"], LITERACY_SHARES["urban"]])  # (2, 4, 3)
    cdf = np.cumsum(table[town.astype(np.int64), band], axis=1)
    u = generator.random(band.size)[:, None] * cdf[:, -1:]
    return np.minimum((u >= cdf).sum(axis=1), len(LITERACY_LEVELS) - 1).astype(np.uint8)


def sample_vneid_levels(literacy: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.uint8]:
    """VNeID identification levels (1 or 2) given literacy indices."""
    generator = as_generator(rng)
    index = np.asarray(literacy, dtype=np.int64)
    p_level2 = np.array([VNEID_LEVEL2_SHARE[level] for level in LITERACY_LEVELS])[index]
    return (1 + (generator.random(index.size) < p_level2)).astype(np.uint8)


def sample_payment_channels(literacy: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.uint8]:
    """Indices into :data:`PAYMENT_CHANNELS` given literacy indices."""
    generator = as_generator(rng)
    index = np.asarray(literacy, dtype=np.int64)
    table = np.cumsum([PAYMENT_CHANNEL_SHARES[level] for level in LITERACY_LEVELS], axis=1)
    cdf = table[index]
    u = generator.random(index.size)[:, None] * cdf[:, -1:]
    return np.minimum((u >= cdf).sum(axis=1), len(PAYMENT_CHANNELS) - 1).astype(np.uint8)
