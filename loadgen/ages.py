"""Ages and dates of birth of adult citizens (18 and over).

The age weights are the shape of Viet Nam's population pyramid in the 2019 Population
and Housing Census (GSO), by five-year group, restricted to adults and spread evenly
over the single years of each group.

Sources and estimates, figure by figure:

- 25-29 (8,447,997 persons, 8.78%) and 30-34 (8,393,810, 8.72%) are published census
  counts [1]_.
- The broad shares are published too: 15-64 is 68.0% and 65+ is 7.7% of the 2019
  population (derived from [2]_: 67.4% and 9.3% in 2024, 0.6 points lower and 1.6
  points higher than in 2019).
- The other groups are approximate readings of the census pyramid (estimate), scaled so
  that the groups add up to those published shares.
- 85+ is spread over 85-100 with weights falling by 18% a year (estimate).
- The 2019 shape is applied at :data:`REFERENCE_DATE` (1 July 2025) without ageing it by
  six years, so the oldest ages are slightly under-represented (65+ grew from 7.7% to
  9.3% of the population by 2024 [2]_).

A fixed reference date, not "today", keeps populations identical from one day to the
next: a seed gives the same dates of birth in every run.

References
----------
.. [1] General Statistics Office of Viet Nam, Completed results of the 2019 Viet Nam
   Population and Housing Census, Statistical Publishing House, 2020; age-group counts
   as quoted in "Tuổi nào đông nhất, Việt Nam đang ở đỉnh của thời kỳ dân số vàng",
   top-10.vn.
.. [2] "Việt Nam vẫn đang trong thời kỳ cơ cấu dân số vàng", VietnamPlus, Jan 2025
   (GSO mid-term population survey 2024).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import numpy.typing as npt

from loadgen.sampling import Categorical
from models._rng import RngLike, as_generator

REFERENCE_DATE = dt.date(2025, 7, 1)
"""Ages are counted at this date (the day the 34 provinces took effect)."""
MIN_AGE = 18
MAX_AGE = 100

AGE_GROUPS_2019_THOUSANDS: tuple[tuple[int, int, float], ...] = (
    # (first age, last age, persons in thousands); see the module docstring.
    (15, 19, 6452.0),  # estimate
    (20, 24, 6664.0),  # estimate
    (25, 29, 8448.0),  # census: 8,447,997
    (30, 34, 8394.0),  # census: 8,393,810
    (35, 39, 7431.0),  # estimate
    (40, 44, 6849.0),  # estimate
    (45, 49, 6198.0),  # estimate
    (50, 54, 5721.0),  # estimate
    (55, 59, 5095.0),  # estimate
    (60, 64, 4169.0),  # estimate
    (65, 69, 2786.0),  # estimate
    (70, 74, 1643.0),  # estimate
    (75, 79, 1136.0),  # estimate
    (80, 84, 880.0),  # estimate
    (85, MAX_AGE, 965.0),  # estimate, spread with OLDEST_DECAY_PER_YEAR
)
OLDEST_DECAY_PER_YEAR = 0.82
"""Weight ratio between consecutive single ages in the open 85+ group (estimate)."""

_EPOCH = dt.date(1970, 1, 1)


@cache
def age_weights() -> npt.NDArray[np.float64]:
    """Probability of each single age ``MIN_AGE..MAX_AGE`` (index 0 is age 18).

    Returns
    -------
    numpy.ndarray
        ``MAX_AGE - MIN_AGE + 1`` probabilities that sum to 1.

    Examples
    --------
    >>> round(float(age_weights()[25 - MIN_AGE] * 100), 2)  # share of 25-year-olds, %
    2.45
    """
    weights = np.zeros(MAX_AGE + 1)
    for first, last, thousands in AGE_GROUPS_2019_THOUSANDS:
        ages = np.arange(first, last + 1)
        open_ended = last == MAX_AGE
        shape = OLDEST_DECAY_PER_YEAR ** (ages - first) if open_ended else np.ones(ages.size)
        weights[ages] = thousands * shape / shape.sum()
    adults = weights[MIN_AGE:] / weights[MIN_AGE:].sum()
    adults.flags.writeable = False
    return adults


@cache
def _birth_day_bounds() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each age, the first and last day (days since 1970) of a birth at that age."""
    first, last = [], []
    for age in range(MIN_AGE, MAX_AGE + 1):
        newest = _years_before(REFERENCE_DATE, age)
        oldest = _years_before(REFERENCE_DATE, age + 1) + dt.timedelta(days=1)
        first.append((oldest - _EPOCH).days)
        last.append((newest - _EPOCH).days)
    return np.array(first, dtype=np.int64), np.array(last, dtype=np.int64)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def sample_ages(size: int, rng: RngLike = None) -> npt.NDArray[np.int16]:
    """Draw ``size`` ages in whole years at :data:`REFERENCE_DATE` from :func:`age_weights`."""
    return (_age_distribution().sample(size, rng) + MIN_AGE).astype(np.int16)


@cache
def _age_distribution() -> Categorical:
    return Categorical(age_weights())


def sample_birth_days(ages: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.int32]:
    """Uniform dates of birth (days since 1970-01-01) giving exactly ``ages`` at REFERENCE_DATE."""
    generator = as_generator(rng)
    offset = np.asarray(ages, dtype=np.int64) - MIN_AGE
    first, last = _birth_day_bounds()
    span = last[offset] - first[offset] + 1
    return (first[offset] + (generator.random(offset.size) * span).astype(np.int64)).astype(
        np.int32
    )


def birth_years(birth_days: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Calendar year of each date of birth given as days since 1970-01-01."""
    days = np.asarray(birth_days, dtype="datetime64[D]")
    return (days.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int16)


def age_on(date_of_birth: dt.date, day: dt.date = REFERENCE_DATE) -> int:
    """Age in whole years on ``day``."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)


EARLIEST_BIRTH_DATE = _years_before(REFERENCE_DATE, MAX_AGE + 1) + dt.timedelta(days=1)
LATEST_BIRTH_DATE = _years_before(REFERENCE_DATE, MIN_AGE)
MIN_BIRTH_YEAR = EARLIEST_BIRTH_DATE.year
MAX_BIRTH_YEAR = LATEST_BIRTH_DATE.year
