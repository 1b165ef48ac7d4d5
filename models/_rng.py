"""One helper that normalises the ``rng`` argument of every sampling function."""

from __future__ import annotations

import numpy as np

RngLike = int | np.random.Generator | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``rng``.

    ``None`` gives fresh OS entropy, an ``int`` seeds a PCG64 generator, and a
    ``Generator`` is returned as it is (so callers can share one stream).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int, a numpy.random.Generator or None, got {rng!r}")
