"""Vietnamese mobile numbers: 10 digits, a carrier prefix then 7 digits.

Prefixes by carrier are those in force since the 2018 renumbering (domain notes).
Carrier shares of mobile subscriptions are an estimate from press reports of Ministry of
Information and Communications figures around 2022-2023 (Viettel a little over half,
VinaPhone and MobiFone about a fifth each, the small carriers the rest); within a carrier
every prefix is equally likely (estimate). Faker's own vi_VN phone numbers are invalid
most of the time, so no Faker call is used here.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from loadgen.sampling import Categorical
from models._rng import RngLike, as_generator

CARRIERS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    # (carrier, prefixes, share of subscriptions: estimate)
    ("Viettel", ("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097",
                 "098"), 0.54),
    ("VinaPhone", ("081", "082", "083", "084", "085", "088", "091", "094"), 0.22),
    ("MobiFone", ("070", "076", "077", "078", "079", "089", "090", "093"), 0.19),
    ("Vietnamobile", ("052", "056", "058", "092"), 0.035),
    ("Gmobile", ("059", "099"), 0.01),
    ("Itelecom", ("087",), 0.005),
)  # fmt: skip
PHONE_DIGITS = 10
_SUBSCRIBER_SPACE = 10_000_000


def carrier_shares() -> dict[str, float]:
    """Target share (0..1) of each carrier."""
    total = sum(share for _, _, share in CARRIERS)
    return {name: share / total for name, _, share in CARRIERS}


@cache
def prefix_table() -> tuple[npt.NDArray[np.int64], Categorical, dict[str, str]]:
    """All prefixes as integers (32 for "032"), their distribution, and a prefix -> carrier map."""
    prefixes, weights, carrier_of = [], [], {}
    total = sum(share for _, _, share in CARRIERS)
    for name, carrier_prefixes, share in CARRIERS:
        for prefix in carrier_prefixes:
            prefixes.append(int(prefix))
            weights.append(share / total / len(carrier_prefixes))
            carrier_of[prefix] = name
    return np.array(prefixes, dtype=np.int64), Categorical(np.array(weights)), carrier_of


def sample_phone_numbers(size: int, rng: RngLike = None) -> npt.NDArray[np.int64]:
    """Mobile numbers as integers without the leading 0 (format with ``f"0{n:09d}"``)."""
    generator = as_generator(rng)
    prefixes, distribution, _ = prefix_table()
    index = distribution.index(generator.random(size))
    subscriber = generator.integers(0, _SUBSCRIBER_SPACE, size, dtype=np.int64)
    return prefixes[index] * _SUBSCRIBER_SPACE + subscriber


def carrier_of(phone: str) -> str | None:
    """The carrier of a 10-digit mobile number, or None when the prefix is not a mobile one."""
    return prefix_table()[2].get(phone[:3]) if len(phone) == PHONE_DIGITS else None
