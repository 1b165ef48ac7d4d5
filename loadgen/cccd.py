"""The personal ID number (CCCD): its structure and unique serials.

Twelve digits, no checksum: digits 1-3 the province where the birth was registered
(one of the 63 pre-2025 codes), digit 4 the century and gender (1900s: male 0, female
1; 2000s: male 2, female 3; 2100s: 4/5; 2200s: 6/7; 2300s: 8/9), digits 5-6 the last
two digits of the birth year, digits 7-12 a serial.

Uniqueness is by construction. All citizens who share the first six digits (a
*prefix*) are numbered 0, 1, 2, ... in population order, and that rank goes through a
keyed permutation of ``0..999,999`` (a four-round Feistel network on 1000 x 1000,
keyed by the seed and the prefix). A permutation is a bijection, so distinct ranks give
distinct serials, and the serials still look random. A prefix has room for 1,000,000
citizens; asking for more raises :class:`SerialSpaceExhaustedError`.

References
----------
.. [1] Circular 59/2021/TT-BCA (structure of the personal identification number).
.. [2] M. Luby and C. Rackoff, "How to construct pseudorandom permutations from
   pseudorandom functions", SIAM J. Computing 17(2), 1988 (Feistel networks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dvcschema.errors import ConfigError

SERIAL_SPACE = 1_000_000
"""Serials per prefix: digits 7-12."""
FIRST_CENTURY = 1900
LAST_CENTURY = 2300
_FEISTEL_HALF = 1000
_FEISTEL_ROUNDS = 4
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_ROUND_CONSTANTS = tuple(
    np.uint64(c)
    for c in (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89)
)  # digits of pi, as in Blowfish: "nothing up my sleeve" round constants
_CCCD_SHAPE = re.compile(r"[0-9]{12}")


class SerialSpaceExhaustedError(ConfigError):
    """More citizens share one ID-number prefix than there are serials (1,000,000)."""


@dataclass(frozen=True, slots=True)
class CccdParts:
    """The fields of one ID number."""

    province_code: str  # "001".."096"
    century_gender: int  # digit 4
    birth_year: int
    female: bool
    serial: int  # digits 7-12


def century_gender_digit(year: npt.ArrayLike, female: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Digit 4: ``2 * (century - 19) + female`` (1990, male -> 0; 2005, female -> 3)."""
    years = np.asarray(year, dtype=np.int64)
    if np.any((years < FIRST_CENTURY) | (years >= LAST_CENTURY + 100)):
        raise ValueError(f"birth year outside {FIRST_CENTURY}..{LAST_CENTURY + 99}: {year!r}")
    return (years // 100 - 19) * 2 + np.asarray(female, dtype=np.int64)


def compose_cccd(
    province_code: npt.ArrayLike,
    year: npt.ArrayLike,
    female: npt.ArrayLike,
    serial: npt.ArrayLike,
) -> npt.NDArray[np.int64]:
    """The ID numbers as 12-digit integers (format with ``f"{n:012d}"``)."""
    years = np.asarray(year, dtype=np.int64)
    return (
        np.asarray(province_code, dtype=np.int64) * 1_000_000_000
        + century_gender_digit(years, female) * 100_000_000
        + (years % 100) * 1_000_000
        + np.asarray(serial, dtype=np.int64)
    )


def parse_cccd(cccd: str) -> CccdParts | None:
    """Split an ID number into its fields, or None when it is not 12 ASCII digits."""
    if not isinstance(cccd, str) or _CCCD_SHAPE.fullmatch(cccd) is None:
        return None
    digit4 = int(cccd[3])
    return CccdParts(
        province_code=cccd[:3],
        century_gender=digit4,
        birth_year=FIRST_CENTURY + 100 * (digit4 // 2) + int(cccd[4:6]),
        female=bool(digit4 % 2),
        serial=int(cccd[6:]),
    )


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The SplitMix64 finaliser (Steele, Lea and Flood 2014), vectorised; wraps mod 2**64."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def permute_serials(
    ranks: npt.ArrayLike, prefix_keys: npt.ArrayLike, seed: int
) -> npt.NDArray[np.int64]:
    """Map ranks ``0..999,999`` to serials by a permutation keyed by ``(seed, prefix)``.

    For a fixed seed and prefix this is a bijection of ``range(1_000_000)``, so distinct
    ranks within a prefix never share a serial.

    Parameters
    ----------
    ranks : array_like of int
        Position of each citizen among those with the same prefix, ``0 <= rank < 1e6``.
    prefix_keys : array_like of int
        Any integer identifying the prefix (the same prefix must give the same key).
    seed : int
        The population seed; different seeds give unrelated permutations.

    Examples
    --------
    >>> serials = permute_serials(np.arange(1_000_000), np.zeros(1_000_000, int), seed=7)
    >>> int(np.unique(serials).size)
    1000000
    """
    rank = np.asarray(ranks, dtype=np.int64).ravel()
    if rank.size and (rank.min() < 0 or rank.max() >= SERIAL_SPACE):
        raise ValueError(f"ranks must be in 0..{SERIAL_SPACE - 1}")
    seed_key = _splitmix64(np.array([seed % 2**64], dtype=np.uint64))
    prefix = np.asarray(prefix_keys, dtype=np.int64).ravel().astype(np.uint64)
    key = _splitmix64(prefix ^ seed_key)
    left = (rank // _FEISTEL_HALF).astype(np.uint64)
    right = (rank % _FEISTEL_HALF).astype(np.uint64)
    for round_index in range(_FEISTEL_ROUNDS):
        round_key = key ^ _ROUND_CONSTANTS[round_index]
        mixed = (right + round_key) * _GOLDEN
        mixed = ((mixed ^ (mixed >> np.uint64(29))) * _MIX) >> np.uint64(40)
        mixed %= np.uint64(_FEISTEL_HALF)
        left, right = right, (left + mixed) % np.uint64(_FEISTEL_HALF)
    return (left * np.uint64(_FEISTEL_HALF) + right).astype(np.int64)


class SerialAllocator:
    """Ranks citizens within their prefix across consecutive batches of a population.

    Feed the batches in population order; each citizen's rank is the number of earlier
    citizens (in this and previous batches) with the same prefix key.
    """

    def __init__(self, n_keys: int) -> None:
        self._counts = np.zeros(n_keys, dtype=np.int64)

    def ranks(self, keys: npt.ArrayLike, *, describe_key: object = None) -> npt.NDArray[np.int64]:
        """Ranks of ``keys`` (in order), counting every key seen before; updates the counts."""
        key = np.asarray(keys, dtype=np.int64)
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        group_sizes = np.diff(np.r_[starts, key.size])
        within = np.arange(key.size) - np.repeat(starts, group_sizes)
        rank = np.empty(key.size, dtype=np.int64)
        rank[order] = within + self._counts[sorted_keys]
        self.count(key)
        if key.size and self._counts.max() > SERIAL_SPACE:
            full = int(np.argmax(self._counts))
            label = describe_key(full) if callable(describe_key) else full
            raise SerialSpaceExhaustedError(
                f"more than {SERIAL_SPACE:,} citizens share the ID-number prefix {label}; "
                "the population is too large for unique ID numbers (use a smaller --size)"
            )
        return rank

    def count(self, keys: npt.ArrayLike) -> None:
        """Count ``keys`` as seen without ranking them (for batches before a partition)."""
        key = np.asarray(keys, dtype=np.int64)
        self._counts += np.bincount(key, minlength=self._counts.size)
