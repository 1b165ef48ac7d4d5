"""The tandem queueing network: a request visits its endpoint's tiers in order.

At each tier the request waits for a free server (FIFO), holds it for the tier's
work plus a service time drawn from the endpoint's configured distribution, and
releases it before moving on. The work is:

* ``web``: the request's :meth:`Job.prepare` (parse, authenticate, validate);
* ``db``: the request's :meth:`Job.execute`, the real SQLite transaction;
* ``payment``: nothing but the drawn time (the gateway is outside the portal).

An endpoint without a ``db`` tier runs its SQL while holding its ``web`` server (all
of a request's work happens at some station). Injected delays (:mod:`portal.injector`)
are held where their cause is: a latency spike at ``web``, a PayGov hang at ``payment``
(``web`` when the route has no payment tier), a slow database just before the SQL.

A request refused at a full tier gets 503 with ``Retry-After`` at once; a request
whose work fails (4xx) holds its server for the drawn time, then leaves without
visiting the remaining tiers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from portal.access_log import AccessRecord
from portal.config import EndpointProfile, PortalConfig
from portal.endpoints import ENDPOINTS, UNMATCHED
from portal.injector import FaultPlan
from portal.replies import ApiError, Reply, error_reply
from portal.sampling import ServiceSampler, spawn_generators
from portal.station import Station, StationFullError


class Job(Protocol):
    """One request's work, split between the tiers."""

    def prepare(self) -> None:
        """Parse, authenticate, validate (web tier); raise ApiError to refuse."""

    async def execute(self) -> Reply:
        """Do the storage work (db tier) and build the reply; raise ApiError to refuse."""
        ...


Visit = tuple[Station, ServiceSampler]


class TierNetwork:
    """The stations of a configuration and each endpoint's route through them.

    Parameters
    ----------
    config
        The validated configuration: tiers, per-endpoint service times, seed.
    """

    def __init__(self, config: PortalConfig) -> None:
        self.config = config
        self.stations = {
            name: Station(name, tier.servers, tier.queue_limit)
            for name, tier in config.tiers.items()
        }
        keys = (*ENDPOINTS, UNMATCHED)
        profiles = [config.profile_for(key) for key in keys]
        generators = iter(spawn_generators(config.seed, sum(len(p.visits) for p in profiles)))
        self._routes: dict[str, list[Visit]] = {
            key: self._route(profile, generators)
            for key, profile in zip(keys, profiles, strict=True)
        }

    def __repr__(self) -> str:
        return f"TierNetwork(stations={list(self.stations.values())!r})"

    async def visit(
        self, key: str, job: Job, record: AccessRecord, plan: FaultPlan | None = None
    ) -> Reply:
        """Take one request through its tiers; return its reply (503 when refused)."""
        route = self._routes.get(key, self._routes[UNMATCHED])
        plan = plan or FaultPlan()
        tiers = [station.name for station, _ in route]
        sql_at_db = "db" in tiers
        extra = _extra_holds(tiers, plan)
        outcome = _Outcome()
        for station, sampler in route:
            step = _step(station.name, job, outcome, sql_at_db, plan)
            try:
                await _serve(
                    station, sampler, step, record, plan=plan, holds=extra.get(station.name, [])
                )
            except StationFullError as full:
                record.rejected_at = station.name
                return self._overloaded(full)
            if outcome.reply is not None and outcome.reply.status >= 400:
                return outcome.reply
        assert outcome.reply is not None  # every route runs execute exactly once
        return outcome.reply

    # -- internals ---------------------------------------------------------------------
    def _route(
        self, profile: EndpointProfile, generators: Iterator[np.random.Generator]
    ) -> list[Visit]:
        return [
            (self.stations[name], ServiceSampler(service.distribution_s(), next(generators)))
            for name, service in profile.visits
        ]

    def _overloaded(self, full: StationFullError) -> Reply:
        retry_after_s = self.config.retry_after_s
        return error_reply(
            503,
            f"{full}; retry after {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


@dataclass
class _Outcome:
    """The reply of a request in progress (``None`` until execute or an error)."""

    reply: Reply | None = None


Step = Callable[[], Awaitable[None]]


Hold = tuple[str, float]  # an injected delay: (fault kind, seconds)


def _extra_holds(tiers: list[str], plan: FaultPlan) -> dict[str, list[Hold]]:
    """The injected delays held at each tier, after its work and drawn time."""
    extra: dict[str, list[Hold]] = {}
    if plan.spike_s > 0:
        extra.setdefault("web", []).append(("spike", plan.spike_s))
    if plan.gateway_hang_s > 0:
        tier = "payment" if "payment" in tiers else "web"
        extra.setdefault(tier, []).append(("gateway_timeout", plan.gateway_hang_s))
    return extra


def _step(tier: str, job: Job, outcome: _Outcome, sql_at_db: bool, plan: FaultPlan) -> Step | None:
    """The work done while holding a server of ``tier`` (``None``: only the drawn time)."""

    async def at_web() -> None:
        try:
            job.prepare()
            if not sql_at_db:
                await plan.hold("slow_db", plan.slow_db_s)
                outcome.reply = await job.execute()
        except ApiError as error:
            outcome.reply = error.reply()

    async def at_db() -> None:
        try:
            await plan.hold("slow_db", plan.slow_db_s)
            outcome.reply = await job.execute()
        except ApiError as error:
            outcome.reply = error.reply()

    return {"web": at_web, "db": at_db}.get(tier)


async def _serve(
    station: Station,
    sampler: ServiceSampler,
    step: Step | None,
    record: AccessRecord,
    *,
    plan: FaultPlan,
    holds: list[Hold],
) -> None:
    """Wait for a server, hold it for ``step``, a drawn service time and any injected
    delay, release it."""
    wait_s = await station.acquire()
    started = time.perf_counter()
    try:
        if step is not None:
            await step()
        service_s = sampler.next_s()
        if service_s > 0:
            await asyncio.sleep(service_s)
        for kind, seconds in holds:
            await plan.hold(kind, seconds)
    finally:
        station.release()
        record.add_tier(station.name, wait_s, time.perf_counter() - started)
