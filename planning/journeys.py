"""Journey-level latency: a whole journey's time across the tiers, at the plan's peak.

A tier's budgets bound one request at that tier; a citizen waits for all the requests
of a journey (``capacity.journeys``, :mod:`dvcschema.capacity_journeys`). At the peak
interval, with the central plan's servers, each tier is an M/G/c station fed at its
visits per session x the peak's sessions/s (the rate the plan staffed that row for,
at its busiest moment), with the tier's service distribution
(:func:`models.sizing.service_distribution`). A journey making ``k`` requests to a tier
is ``k`` stations of that tier in tandem (:mod:`models.tandem`):

* its mean time is the sum of the stations' mean response times (exact whatever the
  dependence: linearity of expectation);
* its percentiles come from the convolution of the stations' response-time
  distributions, which treats the requests' times as independent. That is exact for
  M/M/1 stations in tandem (Reich 1957) and an approximation otherwise: with several
  servers requests overtake one another and successive times are slightly dependent
  (Burke 1969); and visits of one journey to one tier that follow each other closely
  meet nearly the same queue, so their times are positively correlated and the p95 of
  the sum is somewhat understated when queues are long. At the planned utilisations
  (P(wait) small) the service times dominate and the effect is small.

Each tier's share of a journey's mean is ``k x`` its mean response over the journey's
mean. Think time, the network and the browser are not in it: a journey's time here is
the sum of its requests' times at the tiers (wait + service).

List each tier a request passes through as its own visits. When a tier's time already
includes the calls it makes while holding its worker (a web request waiting for the
database or the payment gateway: "held resources"), do not list the called tiers again
for those calls: their time is inside the caller's.

References
----------
.. [1] Reich, E. (1957). Waiting times when queues are in tandem. *Annals of
   Mathematical Statistics* 28(3), 768-773.
.. [2] Burke, P. J. (1969). The dependence of sojourn times in tandem M/M/s queues.
   *Operations Research* 17(4), 754-755.
.. [3] Whitt, W. (1993). Approximations for the GI/G/m queue. *Production and
   Operations Management* 2(2), 114-161 (each station's own distribution).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dvcschema.capacity_journeys import JourneySpec
from models.sizing import service_distribution
from models.tandem import QueueStation, tandem_mean_response, tandem_response_quantile
from planning.clock import clock
from planning.text import fill

if TYPE_CHECKING:  # planning.plan may import this module to fill PlanRun
    from planning.plan import PlanRun

P95 = 0.95


@dataclass(frozen=True)
class TierAtPeak:
    """One tier at the peak: requests/s, planned servers, one request's mean response (s)."""

    name: str
    arrival_rate_per_s: float
    servers: int
    mean_response_s: float

    @property
    def stable(self) -> bool:
        return math.isfinite(self.mean_response_s)


@dataclass(frozen=True)
class BudgetCheck:
    """A journey budget ``pNN < limit``: the predicted percentile and whether it holds."""

    expression: str
    quantile: float
    limit_s: float
    predicted_s: float

    @property
    def met(self) -> bool:
        return self.predicted_s <= self.limit_s


@dataclass(frozen=True)
class JourneyLatency:
    """One journey's predicted time: mean, p95 (s), budgets, and each tier's part of the mean.

    ``tier_mean_s`` is ``(tier, visits x mean response at the tier)`` in the journey's
    order; a journey through an unstable tier has infinite times.
    """

    name: str
    visits: tuple[tuple[str, int], ...]
    mean_s: float
    p95_s: float
    tier_mean_s: tuple[tuple[str, float], ...]
    budgets: tuple[BudgetCheck, ...] = ()

    @property
    def shares(self) -> dict[str, float]:
        """Each tier's share of the journey's mean time (fractions adding up to 1)."""
        if not (math.isfinite(self.mean_s) and self.mean_s > 0):
            return {tier: math.nan for tier, _ in self.tier_mean_s}
        return {tier: t / self.mean_s for tier, t in self.tier_mean_s}

    @property
    def met(self) -> bool | None:
        """Every budget met (``None`` without budgets)."""
        return all(b.met for b in self.budgets) if self.budgets else None


@dataclass(frozen=True)
class JourneyLatencies:
    """Every journey at the peak interval of a plan, and the tiers as they were there."""

    peak_start_s: float
    interval_s: float
    peak_sessions_per_s: float
    tiers: tuple[TierAtPeak, ...]
    journeys: tuple[JourneyLatency, ...]


def journey_latency(run: PlanRun, journeys: Sequence[JourneySpec]) -> JourneyLatencies:
    """Each journey's predicted mean and p95 at ``run``'s peak, with the central plan's servers.

    Parameters
    ----------
    run : PlanRun
        The plan: its peak interval, its arrival rate there (sessions/s) and servers.
    journeys : sequence of JourneySpec
        The ``capacity.journeys`` section; its tiers must be ``run``'s.

    Returns
    -------
    JourneyLatencies
    """
    i = run.peak
    peak_per_s = float(run.plan.peak_arrival_rate_per_s[i])
    stations = peak_stations(run)
    return JourneyLatencies(
        peak_start_s=float(run.plan.interval_starts_s[i]),
        interval_s=run.plan.interval_s,
        peak_sessions_per_s=peak_per_s,
        tiers=tuple(_at_peak(name, s) for name, s in stations.items()),
        journeys=tuple(journey_time(j, stations) for j in journeys),
    )


def peak_stations(run: PlanRun) -> dict[str, QueueStation]:
    """Each tier of ``run`` at its peak interval: arrival rate, service time, servers."""
    i = run.peak
    peak_per_s = float(run.plan.peak_arrival_rate_per_s[i])
    return {
        tier.name: QueueStation(
            tier.visits * peak_per_s,
            service_distribution(tier.service_time_s, tier.cv),
            int(run.plan.tier(tier.name).servers[i]),
        )
        for tier in run.spec.tiers
    }


def journey_time(journey: JourneySpec, stations: Mapping[str, QueueStation]) -> JourneyLatency:
    """One journey through ``stations`` (by tier): each visit a station, in tandem.

    Parameters
    ----------
    journey : JourneySpec
        Its visits per tier and budgets.
    stations : mapping of str to QueueStation
        Each tier's station (arrival rate 1/s, service time s, servers).

    Returns
    -------
    JourneyLatency
        Mean (exact sum of means) and p95 (convolution, independent visits) in s.

    Examples
    --------
    Two M/M/1 stations at utilisation 1/2 and 1/4: sojourns Exp(1) and Exp(3), whose sum
    has ``P(T > t) = 1.5 exp(-t) - 0.5 exp(-3t)`` (Reich 1957); its p95 is 3.4008 s.

    >>> from models.distributions import Exponential
    >>> web = QueueStation(1.0, Exponential(mean=0.5), 1)
    >>> db = QueueStation(1.0, Exponential(mean=0.25), 1)
    >>> j = journey_time(JourneySpec("status", (("web", 1), ("db", 1))), {"web": web, "db": db})
    >>> round(j.mean_s, 4), round(j.p95_s, 3), round(j.shares["web"], 2)
    (1.3333, 3.401, 0.75)
    """
    chain = [stations[tier] for tier, k in journey.visits for _ in range(k)]
    if not all(_stable(s) for s in chain):
        inf = math.inf
        return JourneyLatency(
            journey.name,
            journey.visits,
            inf,
            inf,
            tuple((tier, inf) for tier, _ in journey.visits),
            tuple(BudgetCheck(b.expression, b.quantile, b.limit_s, inf) for b in journey.budgets),
        )
    budgets = tuple(
        BudgetCheck(
            b.expression, b.quantile, b.limit_s, tandem_response_quantile(b.quantile, chain)
        )
        for b in journey.budgets
    )
    p95 = next((b.predicted_s for b in budgets if b.quantile == P95), None)
    return JourneyLatency(
        journey.name,
        journey.visits,
        tandem_mean_response(chain),
        p95 if p95 is not None else tandem_response_quantile(P95, chain),
        tuple((tier, k * stations[tier].mean_response) for tier, k in journey.visits),
        budgets,
    )


def _stable(station: QueueStation) -> bool:
    return station.arrival_rate * station.service.mean < station.servers


def _at_peak(name: str, station: QueueStation) -> TierAtPeak:
    mean = station.mean_response if _stable(station) else math.inf
    return TierAtPeak(name, station.arrival_rate, station.servers, mean)


# -- text and JSON -------------------------------------------------------------------------
def lines(result: JourneyLatencies) -> list[str]:
    """The report's block: each journey's mean, p95, budgets and where its time goes."""
    start = result.peak_start_s
    out = [
        fill(
            f"Journeys at the peak ({clock(start)}-{clock(start + result.interval_s)},"
            f" {result.peak_sessions_per_s:,.1f} sessions/s, the central plan's servers): a"
            " journey's time is the sum of its requests' wait + service at the tiers they"
            " visit in turn; mean exact, percentiles treating the requests as independent"
            " (exact for M/M/1 tiers, else approximate; see planning/journeys.py)"
        ),
    ]
    out += [
        f"  {'tier' if k == 0 else '':<14} {t.name}: {t.arrival_rate_per_s:,.1f} requests/s on"
        f" {t.servers:,} servers, {_duration(t.mean_response_s)} per request"
        for k, t in enumerate(result.tiers)
    ]
    out.append(f"  {'journey':<14} {'mean':>10} {'p95':>10}  budgets")
    for j in result.journeys:
        budgets = "; ".join(
            f"{b.expression} {'met' if b.met else 'NOT MET'} ({_duration(b.predicted_s)})"
            for b in j.budgets
        )
        out.append(
            f"  {j.name:<14} {_duration(j.mean_s):>10} {_duration(j.p95_s):>10}  {budgets or '-'}"
        )
        shares = ", ".join(f"{tier} x{k} {_share(j.shares[tier])}" for tier, k in j.visits)
        out.append(f"  {'':<14} share of the mean: {shares}")
    if any(not t.stable for t in result.tiers):
        out.append("! a tier is unstable at the peak with the planned servers: infinite times")
    return out


def to_json(result: JourneyLatencies) -> dict[str, Any]:
    """The journeys as plain Python types (``json.dumps`` takes it; ``null`` for infinity)."""
    return {
        "peak_start_s": result.peak_start_s,
        "peak_sessions_per_s": result.peak_sessions_per_s,
        "tiers": {
            t.name: {
                "arrival_rate_per_s": t.arrival_rate_per_s,
                "servers": t.servers,
                "mean_response_s": _finite(t.mean_response_s),
            }
            for t in result.tiers
        },
        "journeys": {
            j.name: {
                "visits": dict(j.visits),
                "mean_s": _finite(j.mean_s),
                "p95_s": _finite(j.p95_s),
                "share_of_mean": {k: _finite(v) for k, v in j.shares.items()},
                "budgets": [
                    {"expression": b.expression, "predicted_s": _finite(b.predicted_s),
                     "met": b.met}
                    for b in j.budgets
                ],
                "met": j.met,
            }
            for j in result.journeys
        },
    }  # fmt: skip


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _share(x: float) -> str:
    return f"{x:.0%}" if math.isfinite(x) else "-"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unstable"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"
