"""The FIFO virtual wait of a fluid queue's path (:func:`models.fluid.fluid_queue`).

A fluid arriving at ``t`` waits until the fluid ahead of it, ``q(t)``, has entered
service; with abandonment (rate ``theta``) the mass ahead also shrinks as it gives up
(Whitt 2006, Operations Research 54(1)). Computed on the path's grid with cumulative
sums, in chunks of time so that the weights ``exp(theta t)`` never overflow.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_CHUNK_EXPONENT = 300.0  # waits with abandonment: weights exp(theta t) stay below e**600


def virtual_wait(  # noqa: PLR0917 (private helper)
    t: FloatArray, x: FloatArray, c: FloatArray, served: FloatArray, mu: float, theta: float
) -> FloatArray:
    """FIFO wait of fluid arriving at each grid time (:mod:`models.fluid`), by chunks of time.

    The mass ahead ``a`` reaches 0 when ``int_t^s e^(theta (v - t)) dE(v) = q(t)``, ``E``
    the fluid that entered service; the integrals are cumulative sums on the grid, with
    weights ``e^(theta (v - t0))`` taken from the chunk's start ``t0`` (no overflow).
    """
    c_after, c_before = np.append(c, c[-1]), np.insert(c, 0, c[0])
    queue = np.maximum(x - c_after, 0.0)
    entered_after = served + np.minimum(x, c_after)
    entered_before = served + np.minimum(x, c_before)
    flows = np.empty(2 * c.size)
    flows[0::2] = np.maximum(entered_before[1:] - entered_after[:-1], 0.0)  # during step k
    flows[1::2] = np.maximum(entered_after[1:] - entered_before[1:], 0.0)  # servers added
    wait = np.zeros(t.size)
    todo = np.flatnonzero(queue > 0)
    span = math.inf if theta == 0 else _CHUNK_EXPONENT / theta
    first = 0
    while first < todo.size:
        t0 = t[todo[first]]
        last = int(np.searchsorted(t[todo], t0 + span, side="left"))
        chunk = todo[first:last]
        end = int(np.searchsorted(t, t0 + 2 * span, side="right")) - 1
        wait[chunk] = _waits(t, c_after, flows, queue, chunk, end, mu, theta)
        first = last
    return wait


def _waits(  # noqa: PLR0917 (private helper)
    t: FloatArray,
    c: FloatArray,
    flows: FloatArray,
    queue: FloatArray,
    chunk: NDArray[np.int64],
    end: int,
    mu: float,
    theta: float,
) -> FloatArray:
    i0 = int(chunk[0])
    dt = np.diff(t[i0 : end + 1])
    weight = np.ones(2 * dt.size)
    if theta:
        grow = np.exp(theta * (t[i0 : end + 1] - t[i0]))
        weight[0::2] = grow[:-1] * np.expm1(theta * dt) / (theta * dt)
        weight[1::2] = grow[1:]
    g = np.concatenate([[0.0], np.cumsum(flows[2 * i0 : 2 * end] * weight)])
    own = 2 * (chunk - i0)  # the point of each arrival: its grid time, after any servers added
    target = g[own] + queue[chunk] * np.exp(theta * (t[chunk] - t[i0]))
    p = np.maximum(np.searchsorted(g, target, side="left"), own)  # at own: a rounding's wait, 0
    # p odd: inside step i0 + (p-1)/2; p even: at the servers added at t[i0 + p/2]; past the
    # window: from its end, with the servers then, busy until the wait ends.
    odd = (p % 2 == 1) & (p < g.size)
    even = (p % 2 == 0) & (p < g.size)
    k = np.where(odd, i0 + (p - 1) // 2, np.where(even, i0 + p // 2, end))
    base = np.where(odd, g[np.maximum(p - 1, 0)], np.where(even, target, g[-1]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = mu * c[k] * np.exp(theta * (t[k] - t[i0]))
        z = np.where(target > base, (target - base) / scale, 0.0)
        u = z if theta == 0 else np.log1p(theta * z) / theta
    u = np.where(odd, np.minimum(u, np.append(dt, np.inf)[k - i0]), u)
    return t[k] + u - t[chunk]
