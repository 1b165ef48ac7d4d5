"""Service times drawn in blocks from a distribution of :mod:`models.distributions`.

Calling NumPy once per request costs microseconds; drawing a block of samples at a
time costs a fraction of that per sample and gives the same stream, because a
:class:`numpy.random.Generator` produces the same numbers whether asked for them one
by one or all at once. Each (endpoint, tier) pair has its own generator, spawned from
the configuration's seed, so the times one endpoint sees do not depend on how other
endpoints' requests interleave with it.
"""

from __future__ import annotations

import numpy as np

from models._rng import RngLike, as_generator
from models.distributions import ServiceTimeDistribution

BLOCK_SIZE = 1024


class ServiceSampler:
    """Service times in seconds from one distribution, drawn ``block`` at a time.

    Parameters
    ----------
    distribution
        A distribution whose samples are in seconds.
    rng
        Seed or generator (see :func:`models._rng.as_generator`).
    block
        Samples drawn per call to NumPy.

    Examples
    --------
    >>> from models.distributions import Exponential
    >>> sampler = ServiceSampler(Exponential(mean=0.05), rng=1)
    >>> 0.0 <= sampler.next_s()
    True
    """

    def __init__(
        self, distribution: ServiceTimeDistribution, rng: RngLike = None, block: int = BLOCK_SIZE
    ) -> None:
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block!r}")
        self.distribution = distribution
        self.block = block
        self._rng = as_generator(rng)
        self._buffer: list[float] = []

    def __repr__(self) -> str:
        return f"ServiceSampler(distribution={self.distribution!r}, block={self.block})"

    def next_s(self) -> float:
        """The next service time, in seconds."""
        if not self._buffer:
            samples = self.distribution.sample(self.block, rng=self._rng)
            self._buffer = np.asarray(samples, dtype=np.float64)[::-1].tolist()
        return self._buffer.pop()


def spawn_generators(seed: int | None, count: int) -> list[np.random.Generator]:
    """``count`` independent generators derived from one seed (fresh entropy if ``None``)."""
    return as_generator(seed).spawn(count)
