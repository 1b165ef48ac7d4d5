"""Queueing models for capacity planning (imports nothing else of dvcload)."""

from __future__ import annotations

from models.distributions import (
    Deterministic,
    Distribution,
    Exponential,
    Lognormal,
    from_mean_cv,
)
from models.errors import ModelError

__all__ = [
    "Deterministic",
    "Distribution",
    "Exponential",
    "Lognormal",
    "ModelError",
    "from_mean_cv",
]
