"""Vietnamese full names: family, middle and given name, drawn in bulk.

Word lists come from Faker's vi_VN person provider, read once and cleaned: entries that
are not Vietnamese syllables ("John", "Jane", which Faker's ``first_name()`` returns)
and compound middle names ("Mai Bảo") are dropped. Faker's lists are then completed
where they are too thin to be realistic (10 family names; almost no female middle
names), and weighted.

Family names. The weights of the 14 most common names are published shares (secondary
source, [1]_): Nguyễn 38%, Trần 11%, Lê 9.5%, Phạm 7%, Hoàng/Huỳnh 5%, Phan 4.5%,
Vũ/Võ 3.9%, Đặng 2.1%, Bùi 2%, Đỗ 1.4%, Hồ 1.3%, Ngô 1.3%, Dương 1%, Lý 0.5%. The
remaining 11.5% is spread evenly (estimate) over the other names of Faker's list and
:data:`OTHER_FAMILY_NAMES`. Hoàng/Huỳnh and Vũ/Võ are one name each with a northern
and a southern spelling (Huỳnh and Võ came from naming taboos of the Nguyễn lords in
the south [1]_); the southern spelling is drawn for :data:`SOUTHERN_SPELLING_SHARE` of
citizens born from Quảng Trị southwards and for :data:`NORTHERN_SOUTHERN_SPELLING_SHARE`
of those born further north (both estimates).

Middle names follow gender: "Văn" only for men and "Thị" only for women. Their share
falls with the birth year (:data:`TRADITIONAL_MIDDLE_SHARE`, estimate); otherwise a
middle name is drawn evenly from the gender's list.

Given names are drawn evenly from Faker's male (or female) plus unisex lists: no
published frequencies were available (estimate).

References
----------
.. [1] "Vietnamese name", Wikipedia, https://en.wikipedia.org/wiki/Vietnamese_name
   (family-name shares and the Hoàng/Huỳnh, Vũ/Võ spellings).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
from faker.providers.person.vi_VN import Provider as FakerPersonVi

from loadgen.sampling import Categorical
from loadgen.vntext import is_name_word
from models._rng import RngLike, as_generator

FAMILY_NAME_SHARES_PCT: tuple[tuple[str, str | None, float], ...] = (
    # (northern spelling, southern spelling or None, share of the population in %)
    ("Nguyễn", None, 38.0),
    ("Trần", None, 11.0),
    ("Lê", None, 9.5),
    ("Phạm", None, 7.0),
    ("Hoàng", "Huỳnh", 5.0),
    ("Phan", None, 4.5),
    ("Vũ", "Võ", 3.9),
    ("Đặng", None, 2.1),
    ("Bùi", None, 2.0),
    ("Đỗ", None, 1.4),
    ("Hồ", None, 1.3),
    ("Ngô", None, 1.3),
    ("Dương", None, 1.0),
    ("Lý", None, 0.5),
)
OTHER_FAMILY_NAMES = (
    "Đinh", "Trịnh", "Đoàn", "Trương", "Đào", "Lâm", "Lương", "Cao", "Hà", "Tạ",
    "Lưu", "Tô", "Châu", "Quách", "Thái", "Kiều", "Triệu", "Phùng", "La",
)  # fmt: skip
"""Less common family names added to Faker's list (from [1]_), sharing the remainder evenly."""
SOUTHERN_SPELLING_SHARE = 0.85
NORTHERN_SOUTHERN_SPELLING_SHARE = 0.05
FIRST_SOUTHERN_BIRTH_CODE = "045"
"""Quảng Trị: CCCD birth codes from here on count as southern for spellings (estimate)."""

MALE_ONLY_MIDDLE = "Văn"
FEMALE_ONLY_MIDDLE = "Thị"
_FAKER_MIDDLE_GENDERS = {
    "Văn": "male", "Thị": "female", "Quang": "male", "Đức": "male", "Trí": "male",
    "Xuân": "both", "Hoàng": "male", "Hải": "male", "Thế": "male", "Tấn": "male",
    "Phú": "male", "Hữu": "male", "Bảo": "both", "Mai": "female",
}  # fmt: skip
EXTRA_MALE_MIDDLE_NAMES = ("Minh", "Công", "Đình", "Duy", "Quốc", "Trọng", "Thanh", "Ngọc")
EXTRA_FEMALE_MIDDLE_NAMES = ("Ngọc", "Thu", "Thanh", "Thùy", "Kim", "Bích", "Hồng", "Phương", "Mỹ")
"""Common middle names missing from Faker's list (from [1]_)."""
TRADITIONAL_MIDDLE_SHARE: tuple[tuple[int, float, float], ...] = (
    # (born before this year, P(Văn | man), P(Thị | woman)); estimates
    (1960, 0.60, 0.75),
    (1980, 0.50, 0.62),
    (1995, 0.35, 0.45),
    (10_000, 0.20, 0.25),
)


@dataclass(frozen=True)
class NameTables:
    """Vocabularies (tuples of words) and the index lists sampling draws from."""

    family: tuple[str, ...]
    family_distribution: Categorical  # over the northern spellings and other names
    southern_spelling: npt.NDArray[np.int64]  # family index -> southern index (or itself)
    middle: tuple[str, ...]
    male_middle: npt.NDArray[np.int64]  # indices into middle, without Văn
    female_middle: npt.NDArray[np.int64]  # without Thị
    van: int
    thi: int
    given: tuple[str, ...]
    male_given: npt.NDArray[np.int64]
    female_given: npt.NDArray[np.int64]


def _clean(words: Iterable[object]) -> list[str]:
    """Faker's words that are single Vietnamese syllables, without duplicates, in order."""
    return list(dict.fromkeys(w for w in words if isinstance(w, str) and is_name_word(w)))


def family_name_weights() -> dict[str, float]:
    """Target share (0..1) of each family-name group, keyed by its northern spelling."""
    named = {north: pct / 100 for north, _, pct in FAMILY_NAME_SHARES_PCT}
    others = [n for n in name_tables().family if n not in named and n not in _southern_names()]
    rest = (100 - sum(p for _, _, p in FAMILY_NAME_SHARES_PCT)) / 100
    return named | {name: rest / len(others) for name in others}


def _southern_names() -> set[str]:
    return {south for _, south, _ in FAMILY_NAME_SHARES_PCT if south}


@cache
def name_tables() -> NameTables:
    """Build the cleaned, completed and weighted name lists (once per process)."""
    named = [north for north, _, _ in FAMILY_NAME_SHARES_PCT]
    southern = [south for _, south, _ in FAMILY_NAME_SHARES_PCT if south]
    faker_family = _clean(FakerPersonVi.last_names)
    others = [n for n in _clean([*faker_family, *OTHER_FAMILY_NAMES]) if n not in named + southern]
    family = tuple(named + others + southern)
    weights = np.array([p for _, _, p in FAMILY_NAME_SHARES_PCT] + [0.0] * len(others))
    weights[len(named) :] = (100 - weights.sum()) / len(others)
    southern_index = np.arange(len(family))
    for north, south, _ in FAMILY_NAME_SHARES_PCT:
        if south:
            southern_index[family.index(north)] = family.index(south)

    faker_middle = [w for w in _clean(FakerPersonVi.middle_names) if w in _FAKER_MIDDLE_GENDERS]
    middle = tuple(
        dict.fromkeys([*faker_middle, *EXTRA_MALE_MIDDLE_NAMES, *EXTRA_FEMALE_MIDDLE_NAMES])
    )
    male_ok = {w for w in faker_middle if _FAKER_MIDDLE_GENDERS[w] != "female"}
    female_ok = {w for w in faker_middle if _FAKER_MIDDLE_GENDERS[w] != "male"}
    male_ok |= set(EXTRA_MALE_MIDDLE_NAMES)
    female_ok |= set(EXTRA_FEMALE_MIDDLE_NAMES)

    unisex = _clean(FakerPersonVi.first_names_unisex)
    male_given = _clean([*FakerPersonVi.first_names_male, *unisex])
    female_given = _clean([*FakerPersonVi.first_names_female, *unisex])
    given = tuple(dict.fromkeys([*male_given, *female_given]))
    return NameTables(
        family=family,
        family_distribution=Categorical(weights),
        southern_spelling=southern_index,
        middle=middle,
        male_middle=np.array([i for i, w in enumerate(middle) if w in male_ok - {"Văn"}]),
        female_middle=np.array([i for i, w in enumerate(middle) if w in female_ok - {"Thị"}]),
        van=middle.index(MALE_ONLY_MIDDLE),
        thi=middle.index(FEMALE_ONLY_MIDDLE),
        given=given,
        male_given=np.array([given.index(w) for w in male_given]),
        female_given=np.array([given.index(w) for w in female_given]),
    )


def middle_names_for(gender: str) -> tuple[str, ...]:
    """Every middle name a citizen of ``gender`` ("male"/"female") can get."""
    tables = name_tables()
    traditional, others = (
        (tables.thi, tables.female_middle)
        if gender == "female"
        else (tables.van, tables.male_middle)
    )
    return tuple(tables.middle[i] for i in (traditional, *others))


def given_names_for(gender: str) -> tuple[str, ...]:
    """Every given name a citizen of ``gender`` can get."""
    tables = name_tables()
    index = tables.female_given if gender == "female" else tables.male_given
    return tuple(tables.given[i] for i in index)


def sample_family_names(southern_born: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.uint8]:
    """Family-name indices into ``name_tables().family``, spelled by birth region."""
    generator = as_generator(rng)
    tables = name_tables()
    south = np.asarray(southern_born, dtype=bool)
    group = tables.family_distribution.index(generator.random(south.size))
    share = np.where(south, SOUTHERN_SPELLING_SHARE, NORTHERN_SOUTHERN_SPELLING_SHARE)
    use_southern = generator.random(south.size) < share
    return np.where(use_southern, tables.southern_spelling[group], group).astype(np.uint8)


def sample_middle_names(
    female: npt.ArrayLike, birth_year: npt.ArrayLike, rng: RngLike = None
) -> npt.NDArray[np.uint8]:
    """Middle-name indices into ``name_tables().middle``: Văn/Thị by cohort, else even."""
    generator = as_generator(rng)
    tables = name_tables()
    woman = np.asarray(female, dtype=bool)
    cutoffs = np.array([row[0] for row in TRADITIONAL_MIDDLE_SHARE])
    band = np.searchsorted(cutoffs, np.asarray(birth_year), side="right")
    band = np.minimum(band, cutoffs.size - 1)
    p_male = np.array([row[1] for row in TRADITIONAL_MIDDLE_SHARE])
    p_female = np.array([row[2] for row in TRADITIONAL_MIDDLE_SHARE])
    traditional = generator.random(woman.size) < np.where(woman, p_female[band], p_male[band])
    u = generator.random(woman.size)
    other_male = tables.male_middle[(u * tables.male_middle.size).astype(np.int64)]
    other_female = tables.female_middle[(u * tables.female_middle.size).astype(np.int64)]
    chosen = np.where(
        woman,
        np.where(traditional, tables.thi, other_female),
        np.where(traditional, tables.van, other_male),
    )
    return chosen.astype(np.uint8)


def sample_given_names(female: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.uint8]:
    """Given-name indices into ``name_tables().given``, even within the gender's list."""
    generator = as_generator(rng)
    tables = name_tables()
    woman = np.asarray(female, dtype=bool)
    u = generator.random(woman.size)
    male = tables.male_given[(u * tables.male_given.size).astype(np.int64)]
    female_pick = tables.female_given[(u * tables.female_given.size).astype(np.int64)]
    return np.where(woman, female_pick, male).astype(np.uint8)
