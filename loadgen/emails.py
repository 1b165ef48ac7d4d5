"""E-mail addresses derived from the citizen's name, without diacritics.

The local part joins the lowercase ASCII forms of the name words (đ becomes d) in one of
a few common patterns, with the birth year or a small number, at a common domain:
``annguyen90@gmail.com``, ``nguyenvanan123@gmail.com``, ``an.nguyen1990@yahoo.com``.
Pattern and domain shares are estimates (Gmail dominates personal mail in Viet Nam).
Addresses are plausible, not unique: two citizens can share one, as with real names.

An address is kept as indices: four name *slots* into :func:`email_tables` ``.tokens``
(a token is an ASCII name word, ``"."`` or ``""``), a number into ``.numbers``
(``numbers[1 + v]`` is ``v`` written with at least two digits, ``numbers[0]`` is empty)
and a domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from loadgen.names import name_tables
from loadgen.sampling import Categorical
from loadgen.vntext import ascii_token
from models._rng import RngLike, as_generator

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.86),
    ("yahoo.com", 0.05),
    ("icloud.com", 0.03),
    ("outlook.com", 0.04),
    ("hotmail.com", 0.02),
)  # estimates
EMAIL_PATTERNS: tuple[tuple[str, float], ...] = (
    # slots: g = given, m = middle, f = family, . = a dot; number: yy, yyyy or n (1-999)
    ("gf+yy", 0.30),
    ("fmg+n", 0.25),
    ("g.f+yyyy", 0.20),
    ("fg+yy", 0.15),
    ("gmf+n", 0.10),
)  # estimates
MAX_SLOTS = 4
MAX_NUMBER = 9999


@dataclass(frozen=True)
class EmailTables:
    tokens: tuple[str, ...]  # "", ".", then ASCII name words
    family_token: npt.NDArray[np.int64]  # family-name index -> token index
    middle_token: npt.NDArray[np.int64]
    given_token: npt.NDArray[np.int64]
    numbers: tuple[str, ...]
    domains: tuple[str, ...]


@dataclass(frozen=True)
class EmailCodes:
    """Per-citizen indices: ``slots`` has shape (n, 4)."""

    slots: npt.NDArray[np.uint8]
    number: npt.NDArray[np.uint16]
    domain: npt.NDArray[np.uint8]


@cache
def email_tables() -> EmailTables:
    names = name_tables()
    words = sorted({ascii_token(w) for w in (*names.family, *names.middle, *names.given)})
    tokens = ("", ".", *words)
    index = {t: i for i, t in enumerate(tokens)}
    numbers = ("", *(f"{v:02d}" for v in range(MAX_NUMBER + 1)))
    return EmailTables(
        tokens=tokens,
        family_token=np.array([index[ascii_token(w)] for w in names.family]),
        middle_token=np.array([index[ascii_token(w)] for w in names.middle]),
        given_token=np.array([index[ascii_token(w)] for w in names.given]),
        numbers=numbers,
        domains=tuple(d for d, _ in EMAIL_DOMAINS),
    )


@cache
def _distribution(shares: tuple[tuple[str, float], ...]) -> Categorical:
    return Categorical(np.array([s for _, s in shares]))


def _choice(
    shares: tuple[tuple[str, float], ...], u: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    return _distribution(shares).index(u)


@cache
def _pattern_table() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per pattern: each slot's source row (0 empty, 1 dot, 2 g, 3 m, 4 f) and the number kind."""
    source_row = {".": 1, "g": 2, "m": 3, "f": 4}
    kinds = {"yy": 0, "yyyy": 1, "n": 2}
    slots = np.zeros((len(EMAIL_PATTERNS), MAX_SLOTS), dtype=np.int64)
    number_kind = np.zeros(len(EMAIL_PATTERNS), dtype=np.int64)
    for row, (spec, _) in enumerate(EMAIL_PATTERNS):
        letters, kind = spec.split("+")
        slots[row, : len(letters)] = [source_row[c] for c in letters]
        number_kind[row] = kinds[kind]
    return slots, number_kind


def sample_emails(
    family: npt.ArrayLike,
    middle: npt.ArrayLike,
    given: npt.ArrayLike,
    birth_year: npt.ArrayLike,
    rng: RngLike = None,
) -> EmailCodes:
    """Draw e-mail addresses for citizens with the given name indices and birth years."""
    generator = as_generator(rng)
    tables = email_tables()
    f = tables.family_token[np.asarray(family, dtype=np.int64)]
    m = tables.middle_token[np.asarray(middle, dtype=np.int64)]
    g = tables.given_token[np.asarray(given, dtype=np.int64)]
    year = np.asarray(birth_year, dtype=np.int64)
    size = f.size
    pattern = _choice(EMAIL_PATTERNS, generator.random(size))
    small = generator.integers(1, 1000, size)
    # One row per source: empty, dot, g, m, f; then pick each slot's source by pattern.
    sources = np.stack([np.zeros(size, np.int64), np.ones(size, np.int64), g, m, f])
    slot_source, number_kind = _pattern_table()
    slots = np.take_along_axis(sources, slot_source[pattern].T, axis=0).T
    values = np.stack([year % 100, year, small])
    numbers = 1 + values[number_kind[pattern], np.arange(size)]
    domain = _choice(EMAIL_DOMAINS, generator.random(size))
    return EmailCodes(
        slots=slots.astype(np.uint8),
        number=numbers.astype(np.uint16),
        domain=domain.astype(np.uint8),
    )
