"""Fluid model of a many-server queue whose capacity lags its demand: backlog and waits.

The deterministic fluid approximation of the M(t)/M/c(t)+M queue with retrials: arrivals
at rate ``lambda(t)``, ``c(t)`` servers of mean service time ``S`` (``mu = 1/S``), queued
requests that give up at rate ``theta`` (exponential patience of mean ``1/theta``), and a
fraction ``psi`` of those that come back after an exponential delay of mean ``1/nu``.
With ``x`` the fluid in the system (queued and in service) and ``r`` the orbit (waiting
to retry)::

    dx/dt = lambda(t) + nu r - mu min(x, c(t)) - theta (x - c(t))+
    dr/dt = psi theta (x - c(t))+ - nu r

The backlog is ``q = (x - c)+``. Without abandonment it is the plain fluid queue of
Newell [1]_: while ``lambda > mu c`` it grows at ``lambda - mu c``. With abandonment it
tends to Whitt's equilibrium ``q* = (lambda - mu c) / theta`` [3]_; retrials feed some of
it back [2]_. It is the first-order (law of large numbers) term: good when the backlog is
large against its random fluctuations, as in a spike that outruns capacity; it says
nothing of the queueing of a stable system (use the M/G/c models for that). The service
time enters through its mean only: busy servers complete ``c / S`` requests per second
whatever its distribution (Whitt finds the fluid insensitive to it beyond the mean [3]_;
the exponential only shapes the milliseconds idle servers take to fill). The patience is
exponential (its distribution does matter [3]_). ``c(t)`` may change at every step, as in
[4]_: servers added take the head of the queue at once; servers removed while busy put
their requests back at the head.

Method: ``lambda`` and ``c`` are constant on each step of a grid. On a step the system is
linear in each region (``x <= c``: all fluid in service; ``x >= c``: all servers busy), so
each step is solved in closed form (an exponential, or with retrials the 2 x 2 matrix
exponential by Putzer's formula [5]_); when the fluid crosses ``x = c`` inside a step the
crossing time is found to 1e-12 s and the step is finished in the other region. The
counts (served, abandoned, retried) follow from conservation on each piece, so that
``arrived + retried = served + abandoned + change in x`` holds to rounding. A day at 1 s
steps takes a fraction of a second.

Waits: ``wait_s`` is the virtual (offered) waiting time of fluid arriving at ``t``, first
come first served: the time until everything ahead of it has entered service or, with
abandonment, given up (Newell's horizontal distance between the arrival and service
curves [1]_; the virtual waiting time of [2]_). The mass ahead, ``a(0) = q(t)``, falls as
``da/du = -e(t + u) - theta a`` where ``e`` is the rate at which fluid enters service
(``mu c`` while the servers are busy, plus every server added; requests put back by
servers removed are not counted ahead); fluid arriving later, retrials included, joins
behind. It is the wait of a request that does not give up;
a request arriving at ``t`` gives up with probability ``1 - exp(-theta w(t))``. In
equilibrium ``w* = ln(lambda / (mu c)) / theta`` [3]_. A wait that ends after the grid is
finished with the last step's servers still busy.

References
----------
.. [1] Newell, G. F. (1982). *Applications of Queueing Theory*, 2nd ed. Chapman and Hall,
   London, ch. 2 (the deterministic fluid approximation; queue and FIFO wait as vertical
   and horizontal distances between cumulative arrival and departure curves).
.. [2] Mandelbaum, A., Massey, W. A., Reiman, M. I., Stolyar, A. & Rider, B. (2002).
   Queue lengths and waiting times for multiserver queues with abandonment and
   retrials. *Telecommunication Systems* 21(2-4), 149-171 (these equations, the fluid
   limit of the Markovian model with time-varying parameters, and its virtual wait).
.. [3] Whitt, W. (2006). Fluid models for multiserver queues with abandonments.
   *Operations Research* 54(1), 37-54 (the equilibrium queue and wait).
.. [4] Liu, Y. & Whitt, W. (2012). The Gt/GI/st+GI many-server fluid queue. *Queueing
   Systems* 71(4), 405-444 (time-varying capacity: alternating overloaded and
   underloaded intervals).
.. [5] Putzer, E. J. (1966). Avoiding the Jordan canonical form in the discussion of
   linear systems with constant coefficients. *American Mathematical Monthly* 73(1), 2-7.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from models._fluid_wait import virtual_wait
from models.errors import ModelError

FloatArray = NDArray[np.float64]
Step = tuple[float, float, float, float, float]  # x, r, served, abandoned, retried
_MAX_SWITCHES = 4  # crossings of x = c followed inside one step


@dataclass(frozen=True, repr=False)
class FluidPath:
    """A fluid trajectory on the grid ``times_s`` (:func:`fluid_queue`).

    One value per grid time (``n + 1``): ``in_system`` (``x``, requests queued or in
    service), ``orbit`` (``r``, requests waiting to retry), the cumulative counts from
    ``times_s[0]`` (requests) ``arrived`` (first attempts), ``served``, ``abandoned``
    (every time a queued request gives up, those that will retry included) and
    ``retried`` (returns from the orbit), and ``wait_s``, the virtual wait (s) of fluid
    arriving at that time. One value per step (``n``): ``arrival_rate_per_s`` and
    ``servers``. At a grid time the servers are those of the step that starts there.
    ``drained_at_s`` is when the backlog is back to 0 after its maximum (``times_s[0]``
    without a backlog, ``None`` if it is not within the grid).
    """

    times_s: FloatArray
    arrival_rate_per_s: FloatArray
    servers: FloatArray
    service_time_s: float
    patience_s: float | None
    retry_fraction: float
    retry_delay_s: float | None
    in_system: FloatArray
    orbit: FloatArray
    arrived: FloatArray
    served: FloatArray
    abandoned: FloatArray
    retried: FloatArray
    wait_s: FloatArray
    drained_at_s: float | None

    @property
    def servers_at(self) -> FloatArray:
        """Servers at each grid time: the step's that starts there (the last step's at the end)."""
        return np.append(self.servers, self.servers[-1])

    @property
    def backlog(self) -> FloatArray:
        """Requests queued, ``(x - c)+``, at each grid time (after any change of servers)."""
        return np.maximum(self.in_system - self.servers_at, 0.0)

    @property
    def in_service(self) -> FloatArray:
        """Requests in service, ``min(x, c)``, at each grid time."""
        return np.minimum(self.in_system, self.servers_at)

    @property
    def lost(self) -> FloatArray:
        """Cumulative requests that gave up for good (abandoned and not coming back)."""
        return self.abandoned * (1.0 - self.retry_fraction)

    @property
    def max_backlog(self) -> float:
        """The largest backlog on the grid, just before a change of servers included."""
        return float(self._backlog_either_side().max())

    @property
    def max_backlog_at_s(self) -> float:
        """When the backlog is largest (s; the first time, on a tie)."""
        return float(self.times_s[int(np.argmax(self._backlog_either_side()))])

    @property
    def max_wait_s(self) -> float:
        """The longest virtual wait of fluid arriving at a grid time (s)."""
        return float(self.wait_s.max())

    @property
    def max_wait_at_s(self) -> float:
        """When the fluid that waits longest arrives (s)."""
        return float(self.times_s[int(np.argmax(self.wait_s))])

    @property
    def total_abandoned(self) -> float:
        return float(self.abandoned[-1])

    @property
    def total_lost(self) -> float:
        return float(self.lost[-1])

    def _backlog_either_side(self) -> FloatArray:
        before = np.maximum(self.in_system - np.insert(self.servers, 0, self.servers[0]), 0.0)
        return np.maximum(before, self.backlog)

    def __repr__(self) -> str:
        return (
            f"FluidPath(steps={self.servers.size}, service_time_s={self.service_time_s!r},"
            f" patience_s={self.patience_s!r}, retry_fraction={self.retry_fraction!r},"
            f" retry_delay_s={self.retry_delay_s!r}, max_backlog={self.max_backlog:.6g},"
            f" max_wait_s={self.max_wait_s:.6g})"
        )


def fluid_queue(
    times_s: ArrayLike,
    arrival_rate_per_s: ArrayLike,
    servers: ArrayLike,
    service_time_s: float,
    *,
    patience_s: float | None = None,
    retry_fraction: float = 0.0,
    retry_delay_s: float | None = None,
    initial_in_system: float = 0.0,
) -> FluidPath:
    """The fluid backlog, counts and waits of a queue with time-varying arrivals and servers.

    Parameters
    ----------
    times_s : array_like
        The grid: ``n + 1`` increasing times (s), the edges of ``n`` steps.
    arrival_rate_per_s : array_like
        Arrival rate on each step (requests/s, >= 0): ``n`` values, or one for all.
        :func:`step_means` gives the exact means of a piecewise-linear rate.
    servers : array_like
        Servers on each step (>= 0, need not be whole): ``n`` values, or one for all.
    service_time_s : float
        Mean service time ``S`` (s); ``mu = 1 / S`` per server.
    patience_s : float, optional
        Mean patience (s) of a queued request, exponential; ``None``: nobody gives up.
    retry_fraction : float
        The fraction ``psi`` of those who give up that come back, in ``[0, 1)``.
    retry_delay_s : float, optional
        Mean delay (s) before they come back, exponential; needed when
        ``retry_fraction > 0``.
    initial_in_system : float
        Fluid in the system at ``times_s[0]`` (requests); the orbit starts empty.

    Returns
    -------
    FluidPath

    References
    ----------
    Newell (1982), ch. 2; Mandelbaum, Massey, Reiman, Stolyar & Rider (2002); Whitt
    (2006); see the module's docstring.

    Examples
    --------
    Three times 1,342 requests/s against 55 servers of 32.5 ms (1,692 requests/s), and
    164 servers from 300 s on: the backlog peaks at ``(4025.97 - 55 / 0.0325) * 300``.

    >>> import numpy as np
    >>> grid = np.arange(0.0, 1201.0)
    >>> servers = np.where(grid[:-1] < 300, 55, 164)
    >>> path = fluid_queue(grid, 4025.97, servers, 0.0325, initial_in_system=55.0)
    >>> round(path.max_backlog), path.max_backlog_at_s, round(path.drained_at_s, 2)
    (700099, 300.0, 986.14)

    With a mean patience of a minute the backlog settles at ``(lambda - mu c) / theta``
    and the wait at ``ln(lambda / (mu c)) / theta`` (Whitt 2006):

    >>> path = fluid_queue(grid, 4025.97, 55, 0.0325, patience_s=60.0, initial_in_system=55.0)
    >>> round(float(path.backlog[-1])), round(float(path.wait_s[-1]), 2)
    (140020, 52.0)
    """
    t, lam, c = _check_grid(times_s, arrival_rate_per_s, servers)
    _check_params(service_time_s, patience_s, retry_fraction, retry_delay_s, initial_in_system)
    mu = 1.0 / service_time_s
    theta = 0.0 if patience_s is None else 1.0 / patience_s
    nu = 0.0 if retry_fraction == 0 or retry_delay_s is None else 1.0 / retry_delay_s
    flow = _Flow(mu, theta, float(retry_fraction), nu)
    x, r, counts, emptied = _integrate(flow, t, lam, c, float(initial_in_system))
    arrived = np.concatenate([[0.0], np.cumsum(lam * np.diff(t))])
    served, abandoned, retried = counts
    wait = virtual_wait(t, x, c, served, mu, theta)
    path = FluidPath(
        t, lam, c, float(service_time_s), patience_s, float(retry_fraction), retry_delay_s,
        x, r, arrived, served, abandoned, retried, wait, None,
    )  # fmt: skip
    return _with_drain(path, emptied)


def step_means(times_s: ArrayLike, values: ArrayLike, edges_s: ArrayLike) -> FloatArray:
    """The exact mean of a piecewise-linear function over each step of a grid.

    The function is linear between ``(times_s, values)`` and constant beyond them (as
    the arrival rates of a plan); each step's mean is its integral (trapezoids, split at
    the knots) over its length, so a fluid fed with them gets every arrival.

    Parameters
    ----------
    times_s, values : array_like
        Increasing knots (s) and the function's values there (e.g. requests/s).
    edges_s : array_like
        ``n + 1`` increasing edges of the steps (s).

    Returns
    -------
    ndarray
        ``n`` means.

    Examples
    --------
    >>> step_means([0, 10], [0.0, 10.0], [0, 5, 10, 20]).tolist()
    [2.5, 7.5, 10.0]
    """
    u = np.asarray(times_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges_s, dtype=np.float64)
    if u.ndim != 1 or u.shape != v.shape or u.size < 1 or np.any(np.diff(u) <= 0):
        raise ModelError(f"need increasing times and as many values, got {u!r} and {v!r}")
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise ModelError(f"edges_s must be at least two increasing times, got {e!r}")
    knots = np.concatenate([[0.0], np.cumsum(np.diff(u) * (v[:-1] + v[1:]) / 2)])
    j = np.clip(np.searchsorted(u, e, side="right") - 1, 0, u.size - 1)
    area = knots[j] + (e - u[j]) * (v[j] + np.interp(e, u, v)) / 2
    return np.diff(area) / np.diff(e)


# -- one step in closed form ------------------------------------------------------------------
@dataclass(frozen=True)
class _Flow:
    """The rates ``mu``, ``theta``, ``psi``, ``nu`` and one region's closed-form solution."""

    mu: float
    theta: float
    psi: float
    nu: float

    @functools.cached_property
    def eigenvalues(self) -> tuple[float, float]:
        """Of ``[[-theta, nu], [psi theta, -nu]]``, the busy region with retrials; real, <= 0."""
        th, nu, psi = self.theta, self.nu, self.psi
        root = math.sqrt((th - nu) ** 2 + 4 * psi * th * nu)
        first = (-(th + nu) - root) / 2  # no cancellation; the other from the product
        return first, th * nu * (1 - psi) / first

    def step(  # noqa: PLR0917 (private helper)
        self, busy: bool, tau: float, x: float, r: float, lam: float, c: float
    ) -> Step:
        """``(x, r, served, abandoned, retried)`` after ``tau`` s in one region."""
        return self._busy(tau, x, r, lam, c) if busy else self._free(tau, x, r, lam)

    def _free(self, tau: float, x: float, r: float, lam: float) -> Step:
        # x <= c: dx/dt = lam + nu r - mu x, dr/dt = -nu r (nobody queues, nobody leaves).
        mu, nu = self.mu, self.nu
        x1 = x * math.exp(-mu * tau) - lam * math.expm1(-mu * tau) / mu
        r1 = r
        if r:
            r1 = r * math.exp(-nu * tau)
            x1 += nu * r * _exp_difference(-mu, -nu, tau)
        retried = r - r1
        return x1, r1, lam * tau + retried - (x1 - x), 0.0, retried

    def _busy(self, tau: float, x: float, r: float, lam: float, c: float) -> Step:
        # x >= c, q = x - c: dq/dt = g + nu r - theta q, dr/dt = psi theta q - nu r.
        th, psi, nu = self.theta, self.psi, self.nu
        q, g = x - c, lam - self.mu * c
        served = self.mu * c * tau
        if th == 0:
            return c + q + g * tau, r, served, 0.0, 0.0
        if psi == 0:
            q1 = q * math.exp(-th * tau) - g * math.expm1(-th * tau) / th
            return c + q1, r, served, g * tau - (q1 - q), 0.0
        # Putzer: exp(M t) = e^(l1 t) I + (e^(l1 t) - e^(l2 t)) / (l1 - l2) (M - l1 I),
        # applied to the distance from the equilibrium (M is invertible as psi < 1).
        l1, l2 = self.eigenvalues
        q_eq = g / ((1 - psi) * th)
        r_eq = psi * th * q_eq / nu
        dq, dr = q - q_eq, r - r_eq
        e1, dd = math.exp(l1 * tau), _exp_difference(l1, l2, tau)
        q1 = q_eq + e1 * dq + dd * (-th * dq + nu * dr - l1 * dq)
        r1 = r_eq + e1 * dr + dd * (psi * th * dq - nu * dr - l1 * dr)
        # Conservation: d(q + r) = g dt - (1 - psi) theta q dt; d r = psi theta q dt - nu r dt.
        abandoned = (g * tau - (q1 - q) - (r1 - r)) / (1 - psi)
        return c + q1, r1, served, abandoned, psi * abandoned - (r1 - r)


def _exp_difference(a: float, b: float, tau: float) -> float:
    """``(e^(a tau) - e^(b tau)) / (a - b)``, stable as ``a -> b`` (``tau e^(a tau)``)."""
    hi, lo = max(a, b), min(a, b)
    if hi == lo:
        return tau * math.exp(hi * tau)
    return -math.exp(hi * tau) * math.expm1((lo - hi) * tau) / (hi - lo)


def _integrate(
    flow: _Flow, t: FloatArray, lam: FloatArray, c: FloatArray, x0: float
) -> tuple[FloatArray, FloatArray, tuple[FloatArray, FloatArray, FloatArray], list[float]]:
    """``x``, ``r``, cumulative (served, abandoned, retried) and the times the queue emptied.

    Without retrials a step of the usual length that stays in its region takes the
    inlined linear update (the hot path); any other step goes through :func:`_one_step`.
    """
    n, edges, rates, caps = lam.size, t.tolist(), lam.tolist(), c.tolist()
    dt0 = edges[1] - edges[0]
    mu, theta, linear = flow.mu, flow.theta, flow.psi == 0
    free_keep, busy_keep = math.exp(-mu * dt0), math.exp(-theta * dt0)
    free_gain = -math.expm1(-mu * dt0) / mu
    busy_gain = -math.expm1(-theta * dt0) / theta if theta else dt0
    xs, rs = [x0] + [0.0] * n, [0.0] * (n + 1)
    totals = [[0.0] * (n + 1) for _ in range(3)]
    x, r, served, abandoned, retried = x0, 0.0, 0.0, 0.0, 0.0
    emptied: list[float] = []
    for k in range(n):
        rate, cap, dt = rates[k], caps[k], edges[k + 1] - edges[k]
        tol, done = 1e-12 * max(1.0, cap), False
        if linear and dt == dt0 and x != cap:
            if x > cap:
                q, g = x - cap, rate - mu * cap
                q1 = busy_keep * q + busy_gain * g
                if done := q1 >= -tol:
                    x, served = cap + q1, served + mu * cap * dt
                    abandoned += g * dt - (q1 - q) if theta else 0.0
            else:
                x1 = free_keep * x + free_gain * rate
                if done := x1 <= cap + tol:
                    x, served = x1, served + rate * dt - (x1 - x)
        elif not linear and x != cap:
            x1, r1, ds, da, dr = flow.step(x > cap, dt, x, r, rate, cap)
            if done := (x1 >= cap - tol if x > cap else x1 <= cap + tol):
                x, r, served, abandoned, retried = x1, r1, served + ds, abandoned + da, retried + dr
        if not done:
            x, r, ds, da, dr = _one_step(flow, edges[k], edges[k + 1], x, r, rate, cap, emptied)
            served, abandoned, retried = served + ds, abandoned + da, retried + dr
        xs[k + 1], rs[k + 1] = x, r
        totals[0][k + 1], totals[1][k + 1], totals[2][k + 1] = served, abandoned, retried
    counted = (np.array(totals[0]), np.array(totals[1]), np.array(totals[2]))
    return np.array(xs), np.array(rs), counted, emptied


def _one_step(  # noqa: PLR0917 (private helper)
    flow: _Flow,
    start: float,
    end: float,
    x: float,
    r: float,
    lam: float,
    c: float,
    emptied: list[float],
) -> Step:
    """One step, split where the fluid crosses ``x = c`` (``emptied`` gets when it empties)."""
    busy = x > c or (x == c and lam + flow.nu * r > flow.mu * c)
    left, done = end - start, [0.0, 0.0, 0.0]
    tol = 1e-12 * max(1.0, c)
    for _ in range(_MAX_SWITCHES):
        x1, r1, *counts = flow.step(busy, left, x, r, lam, c)
        if not (x1 < c - tol if busy else x1 > c + tol):
            break
        tau = _crossing(flow, busy, left, x, r, lam, c)
        x, r, *counts = flow.step(busy, tau, x, r, lam, c)
        done = [a + b for a, b in zip(done, counts, strict=True)]
        left -= tau
        if busy:
            emptied.append(end - left)
        busy = not busy
    else:
        x1, r1, *counts = flow.step(busy, left, x, r, lam, c)
    served, abandoned, retried = (a + b for a, b in zip(done, counts, strict=True))
    return x1, r1, served, abandoned, retried


def _crossing(  # noqa: PLR0917 (private helper)
    flow: _Flow, busy: bool, left: float, x: float, r: float, lam: float, c: float
) -> float:
    """When, within ``left`` s, the fluid reaches ``x = c`` (to 1e-12 s)."""

    def above(tau: float) -> float:
        return flow.step(busy, tau, x, r, lam, c)[0] - c

    if above(0.0) == 0.0:
        return 0.0
    return float(optimize.brentq(above, 0.0, left, xtol=1e-12))


def _with_drain(path: FluidPath, emptied: list[float]) -> FluidPath:
    """``path`` with ``drained_at_s``: the first time after the largest backlog with none."""
    if path.max_backlog == 0:
        return dataclasses.replace(path, drained_at_s=float(path.times_s[0]))
    peak = int(np.argmax(path._backlog_either_side()))
    at_grid = peak + np.flatnonzero(path.backlog[peak:] == 0)
    times = [float(path.times_s[at_grid[0]])] if at_grid.size else []
    times += [s for s in emptied if s >= path.times_s[peak]][:1]
    return dataclasses.replace(path, drained_at_s=min(times) if times else None)


# -- checks -----------------------------------------------------------------------------------
def _check_grid(
    times_s: ArrayLike, arrival_rate_per_s: ArrayLike, servers: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or not (np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)):
        raise ModelError(f"times_s must be at least two finite increasing times (s), got {t!r}")
    out = []
    for name, value in (("arrival_rate_per_s", arrival_rate_per_s), ("servers", servers)):
        a = np.asarray(value, dtype=np.float64)
        try:
            a = np.broadcast_to(a, (t.size - 1,)).copy()
        except ValueError:
            raise ModelError(
                f"{name} must have one value per step ({t.size - 1}) or one for all,"
                f" got shape {a.shape!r}"
            ) from None
        bad = ~(np.isfinite(a) & (a >= 0))
        if bad.any():
            raise ModelError(f"{name} must be finite and >= 0, got {float(a[bad][0])!r}")
        out.append(a)
    return t, out[0], out[1]


def _check_params(
    service_time_s: float,
    patience_s: float | None,
    retry_fraction: float,
    retry_delay_s: float | None,
    initial_in_system: float,
) -> None:
    def positive(value: float | None) -> bool:
        return value is not None and math.isfinite(value) and value > 0

    if not positive(service_time_s):
        raise ModelError(f"service_time_s must be a finite number > 0, got {service_time_s!r}")
    if patience_s is not None and not positive(patience_s):
        raise ModelError(f"patience_s must be a finite number > 0 or None, got {patience_s!r}")
    if not 0 <= retry_fraction < 1:
        raise ModelError(f"retry_fraction must be in [0, 1), got {retry_fraction!r}")
    if retry_fraction > 0 and (patience_s is None or not positive(retry_delay_s)):
        raise ModelError(
            f"retry_fraction {retry_fraction!r} needs patience_s and a retry_delay_s > 0,"
            f" got {patience_s!r} and {retry_delay_s!r}"
        )
    if not (math.isfinite(initial_in_system) and initial_in_system >= 0):
        raise ModelError(f"initial_in_system must be finite and >= 0, got {initial_in_system!r}")
