"""The workload one process runs: who the citizens are and what they do.

Built once per process from a validated scenario and a generated population, before
any user starts; users only read it. The request loop draws from ``random.Random``
(seeded from the scenario's seed and the user's number) because a NumPy scalar draw
costs ~1 µs more per call, which matters at thousands of requests per second.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dvcschema.load import Behaviour, ReplayLoad
from dvcschema.pyjourneys import PythonTraffic
from dvcschema.scenario import Scenario, target_policy
from dvcschema.target import TargetPolicy, TlsOptions
from dvcschema.templates import Template
from dvcschema.userclass import UserClassTraffic
from loadgen.attachments import AttachmentFactory
from loadgen.declared import DeclaredJourneys
from loadgen.histograms import LatencyRecorder
from loadgen.ledger import AuditLedger
from loadgen.pacing import RateCeiling
from loadgen.pyjourneys import PythonJourneys

if TYPE_CHECKING:
    from loadgen.replay import ReplayPlan


@dataclass
class Workload:
    """Everything a citizen user needs, shared by the users of one process."""

    journeys: Mapping[str, float]
    services: Mapping[str, float]
    behaviour: Behaviour
    population: Any  # loadgen.population.Population
    attachments: AttachmentFactory
    seed: int
    partition: tuple[int, int] = (0, 1)
    recorder: LatencyRecorder = field(default_factory=LatencyRecorder)
    ledger: AuditLedger = field(default_factory=AuditLedger)
    ceiling: RateCeiling | None = None
    policy: TargetPolicy = field(default_factory=TargetPolicy)
    counters: dict[str, int] = field(default_factory=dict)
    traffic: DeclaredJourneys | PythonJourneys | None = None  # what citizens do (required)
    user_class: UserClassTraffic | None = None  # a Locust User class runs, not citizens
    tls: TlsOptions = field(default_factory=TlsOptions)  # how https is verified
    headers: Mapping[str, Template] = field(default_factory=dict)  # http.headers
    draining: bool = False  # the run is ending: in-flight journeys finish, none start
    replay: ReplayPlan | None = None  # a replay's plan: the requests this process sends
    _next_citizen: itertools.count[int] = field(default_factory=itertools.count)
    _next_user: itertools.count[int] = field(default_factory=itertools.count)

    def new_user_rng(self) -> random.Random:
        """An independent, reproducible stream for the next user started."""
        k, n = self.partition
        return random.Random(f"{self.seed}:{k}/{n}:{next(self._next_user)}")

    def next_citizen(self) -> Any:
        """Citizens in population order; with more users than citizens, they repeat."""
        return self.population.citizen(next(self._next_citizen) % len(self.population))

    @property
    def engine(self) -> DeclaredJourneys | PythonJourneys:
        """What runs the journeys (declared steps or a module's functions)."""
        if self.traffic is None:
            raise RuntimeError("this workload has no journeys (build it with build_workload)")
        return self.traffic

    def headers_for(self, citizen: Mapping[str, Any]) -> dict[str, str]:
        """``http.headers`` rendered for one citizen (once per session)."""
        return {k: t.render({}, citizen, os.environ) for k, t in self.headers.items()}

    def endpoint_tags(self) -> Mapping[str, tuple[str, ...]]:
        """``{request name: tags}`` of the journeys this workload runs."""
        return {} if self.traffic is None else self.traffic.traffic.tags()

    def think_s(self, rng: random.Random, literacy: str) -> float:
        """Pause before the next journey, from the citizen's digital-literacy segment."""
        think = self.behaviour.think_time.get(literacy) or self.behaviour.think_time["medium"]
        return think.min_s if think.max_s <= think.min_s else rng.uniform(think.min_s, think.max_s)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def behaviour_counters(self) -> dict[str, int]:
        """Abandoned journeys, retries, throttled requests, and the wire requests that
        took a token (redirect hops and client retries included) for summary.json."""
        out = dict(self.counters)
        if self.ceiling is not None and self.ceiling.throttled:
            out["throttled"] = out.get("throttled", 0) + self.ceiling.throttled
        if self.ceiling is not None and self.ceiling.acquired:
            out["wire_requests"] = out.get("wire_requests", 0) + self.ceiling.acquired
        return dict(sorted(out.items()))


def build_workload(
    scenario: Scenario,
    population: Any,
    partition: tuple[int, int] = (0, 1),
    *,
    policy: TargetPolicy | None = None,
) -> Workload:
    """The workload of one process, with its share of the ceiling and the target
    policy (allowed names resolved now, once, before any load, unless given)."""
    if scenario.load is None:
        raise ValueError(f"{scenario.source}: no 'load' section to run")
    replay = isinstance(scenario.load, ReplayLoad)
    return Workload(
        journeys=dict(scenario.mix.journeys),
        services=dict(scenario.mix.services),
        behaviour=scenario.load.behaviour,
        population=population,
        attachments=AttachmentFactory(rng=scenario.seed),
        seed=scenario.seed,
        partition=partition,
        ceiling=RateCeiling(scenario.load.max_request_rate / partition[1], sleep=_sleep),
        policy=target_policy(scenario) if policy is None else policy,
        traffic=None if replay else _engine(scenario),
        user_class=scenario.traffic if isinstance(scenario.traffic, UserClassTraffic) else None,
        tls=scenario.http.tls,
        headers={k: Template.parse(v) for k, v in scenario.http.headers.items()},
        replay=_replay_plan(scenario, population, partition) if replay else None,
    )


def _replay_plan(scenario: Scenario, population: Any, partition: tuple[int, int]) -> ReplayPlan:
    """The requests this process replays (the whole log is read now, once)."""
    from loadgen.replay import build_plan, citizen_numbers

    assert isinstance(scenario.load, ReplayLoad)
    size, seed = scenario.population.size, scenario.seed
    return build_plan(
        scenario.load,
        seed=seed,
        duration_s=scenario.duration_s,
        numbers=lambda needed: citizen_numbers(population, size, seed, needed),
        partition=partition,
        source=scenario.source,
    )


def _engine(scenario: Scenario) -> DeclaredJourneys | PythonJourneys | None:
    """What runs the scenario's journeys (declared steps, or a Python module's);
    ``None`` for a Locust User class (``Workload.user_class``, loadgen.userclass)."""
    if isinstance(scenario.traffic, UserClassTraffic):
        return None
    if isinstance(scenario.traffic, PythonTraffic):
        return PythonJourneys(scenario.traffic)
    if scenario.traffic is None:
        raise ValueError(f"{scenario.source}: no journeys to run")
    return DeclaredJourneys(scenario.traffic, os.environ)


def _sleep(seconds: float) -> None:
    """Cooperative under gevent (time.sleep is patched when Locust is loaded)."""
    time.sleep(seconds)
