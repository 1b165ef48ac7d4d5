"""Service-time distributions given by their mean and coefficient of variation.

Queueing approximations (Allen-Cunneen, Whitt) need only the first two moments, and
the reference portal is configured the same way, so every distribution here is
built from ``mean`` and ``cv`` and knows its ``mean``, ``variance`` and ``cv``.

References
----------
.. [1] Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., ch. 6
   (lognormal parameters from mean and variance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from models._rng import RngLike, as_generator
from models.errors import ModelError

DISTRIBUTION_KINDS = ("exponential", "lognormal", "deterministic")


class ServiceTimeDistribution(Protocol):
    """What the portal and the models need of a service-time distribution."""

    @property
    def mean(self) -> float: ...

    @property
    def variance(self) -> float: ...

    @property
    def cv(self) -> float: ...

    def sample(self, size: int | None = None, rng: RngLike = None) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class Exponential:
    """Exponential distribution with the given mean (CV is 1).

    >>> Exponential(mean=0.05).cv
    1.0
    """

    mean: float

    def __post_init__(self) -> None:
        _check_mean(self.mean)

    @property
    def rate(self) -> float:
        return 1.0 / self.mean

    @property
    def variance(self) -> float:
        return self.mean**2

    @property
    def cv(self) -> float:
        return 1.0

    def sample(self, size: int | None = None, rng: RngLike = None) -> NDArray[np.float64]:
        return np.asarray(as_generator(rng).exponential(self.mean, size), dtype=np.float64)


@dataclass(frozen=True)
class Lognormal:
    """Lognormal distribution with the given mean and coefficient of variation.

    With ``sigma² = ln(1 + cv²)`` and ``mu = ln(mean) - sigma²/2`` the underlying
    normal has mean ``mu`` and standard deviation ``sigma`` ([1]_, §6.2.2).

    >>> round(Lognormal(mean=0.05, cv=2.0).variance, 6)
    0.01
    """

    mean: float
    cv: float

    def __post_init__(self) -> None:
        _check_mean(self.mean)
        if not (math.isfinite(self.cv) and self.cv > 0):
            raise ModelError(f"lognormal cv must be a finite number > 0, got {self.cv!r}")

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.cv**2))

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma**2 / 2.0

    @property
    def variance(self) -> float:
        return (self.cv * self.mean) ** 2

    def sample(self, size: int | None = None, rng: RngLike = None) -> NDArray[np.float64]:
        return np.asarray(as_generator(rng).lognormal(self.mu, self.sigma, size), dtype=np.float64)


@dataclass(frozen=True)
class Deterministic:
    """A constant service time (CV 0)."""

    mean: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.mean >= 0):
            raise ModelError(f"deterministic value must be a finite number >= 0, got {self.mean!r}")

    @property
    def variance(self) -> float:
        return 0.0

    @property
    def cv(self) -> float:
        return 0.0

    def sample(self, size: int | None = None, rng: RngLike = None) -> NDArray[np.float64]:
        return np.full(() if size is None else size, self.mean, dtype=np.float64)


def from_mean_cv(kind: str, mean: float, cv: float | None = None) -> ServiceTimeDistribution:
    """Build a distribution by name from its mean and coefficient of variation.

    Parameters
    ----------
    kind : {'exponential', 'lognormal', 'deterministic'}
    mean : float
        Mean, in whatever unit the caller uses (seconds in the models).
    cv : float, optional
        Coefficient of variation; required for lognormal, must be 1 (or omitted) for
        exponential and 0 (or omitted) for deterministic.
    """
    if kind == "exponential":
        if cv not in (None, 1, 1.0):
            raise ModelError(f"exponential has cv 1, got cv={cv!r}; use 'lognormal' for other cvs")
        return Exponential(mean=mean)
    if kind == "lognormal":
        if cv is None:
            raise ModelError("lognormal needs a cv (coefficient of variation), e.g. cv: 0.5")
        return Lognormal(mean=mean, cv=cv)
    if kind == "deterministic":
        if cv not in (None, 0, 0.0):
            raise ModelError(f"deterministic has cv 0, got cv={cv!r}")
        return Deterministic(mean=mean)
    raise ModelError(f"unknown distribution {kind!r}; options are {', '.join(DISTRIBUTION_KINDS)}")


def _check_mean(mean: float) -> None:
    if not (isinstance(mean, int | float) and math.isfinite(mean) and mean > 0):
        raise ModelError(f"mean must be a finite number > 0, got {mean!r}")
