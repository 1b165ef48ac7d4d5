"""The Locust users: citizens in the closed model, sessions in the open model,
recorded requests in a replay.

- :class:`CitizenUser` (closed): one citizen per user, logging in once and then
  running journeys back to back with think times, as Locust users normally do.
- :class:`SessionUser` (open): a pool of ``max_concurrency`` users waiting for
  arrivals; each arrival is one session (a new citizen logs in, thinks for
  ``load.think_time``, and runs one journey).
- :class:`ReplayUser` (replay): a pool of ``max_concurrency`` users waiting for the
  replay plan's send times; each is one recorded request (:mod:`loadgen.replay`).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import gevent
from gevent.queue import Channel
from locust import task
from locust.exception import StopUser

from loadgen.arrivals import Ticket
from loadgen.declared import pick_journey
from loadgen.visit import Abandoned, Conduct, Visit, failure_kind
from loadgen.wire import GuardedHttpUser, tls_settings
from loadgen.workload import Workload


def patience_guard(seconds: float) -> gevent.Timeout:
    """A block that raises :class:`Abandoned` after ``seconds`` (the citizen gives up)."""
    return gevent.Timeout(seconds, Abandoned(f"gave up after {seconds:g} s"))


class _Citizens(GuardedHttpUser):
    """What both users share: making a visit, running and recording a journey.

    Every request goes through the run's target policy and ceiling (the guarded
    client of :class:`~loadgen.wire.GuardedHttpUser`), bound with :meth:`attach`.
    """

    abstract = True
    workload: ClassVar[Workload | None] = None
    connection_timeout = 10.0
    network_timeout = 30.0

    @classmethod
    def attach(cls, workload: Workload) -> None:
        """Bind this class to ``workload``: its citizens, policy and ceiling."""
        cls.workload, cls.policy, cls.ceiling = workload, workload.policy, workload.ceiling
        insecure, context = tls_settings(workload.tls)
        cls.insecure = insecure
        cls.ssl_context_factory = None if context is None else staticmethod(context)

    def _workload(self) -> Workload:
        if self.workload is None:
            raise RuntimeError(f"{type(self).__name__}.configure(workload) was not called")
        return self.workload

    def new_visit(self) -> Visit:
        workload = self._workload()
        citizen = workload.next_citizen()
        behaviour = workload.behaviour
        conduct = Conduct(
            retries=behaviour.retries,
            patience_s=behaviour.patience_s.get(citizen.literacy),
            sleep=gevent.sleep,
            guard=patience_guard,
            report_abandoned=self._report_abandoned,
            pace=self.client.prepay,
        )
        return Visit(
            client=self.client,
            citizen=citizen,
            rng=workload.new_user_rng(),
            services=workload.services,
            attachments=workload.attachments,
            ledger=workload.ledger,
            conduct=conduct,
        )

    def open_session(self, visit: Visit) -> bool:
        """The session's start (the login): ``True`` when the session is open."""
        workload = self._workload()
        fields = visit.citizen.as_dict()
        if workload.headers:
            visit.headers = workload.headers_for(fields)
        visit.session = workload.engine.start(visit, fields)
        return visit.session is not None

    def session_open(self, visit: Visit) -> bool:
        return visit.session is not None

    def run_journey(self, visit: Visit) -> bool:
        """Choose a journey by the mix among those for this citizen, run it, record
        it whole; ``False`` when none applies or it failed."""
        workload = self._workload()
        engine = workload.engine
        name = pick_journey(engine.traffic, workload.journeys, visit.session, visit.rng)
        if name is None:  # no journey applies to this citizen
            return False
        visit.service_code = None
        errors = visit.errors
        started = time.perf_counter()
        ok = engine.run(visit, visit.session, name)
        workload.recorder.record_journey(
            name,
            visit.service_code,
            visit.citizen.residence_province,
            (time.perf_counter() - started) * 1000.0,
            ok=ok,
        )
        if visit.abandoned:
            workload.count("abandoned")
        if visit.errors > errors:
            workload.count("journey_errors")
        return ok

    def _report_abandoned(self, method: str, name: str, waited_ms: float) -> None:
        self.environment.events.request.fire(
            request_type=method,
            name=name,
            response_time=waited_ms,
            response_length=0,
            exception=Abandoned(f"abandoned: no answer within patience ({waited_ms:.0f} ms)"),
            context={},
            url=name,
            start_time=time.time() - waited_ms / 1000.0,
            response=None,
        )


class CitizenUser(_Citizens):
    """Closed model: one citizen, journeys back to back. Bind with :meth:`configure`."""

    abstract = True

    @classmethod
    def configure(cls, workload: Workload) -> type[CitizenUser]:
        """A concrete subclass bound to ``workload`` (one per run, no global state)."""
        user_class: type[CitizenUser] = type("CitizenUser", (cls,), {"abstract": False})
        user_class.attach(workload)
        return user_class

    def on_start(self) -> None:
        self.visit = self.new_visit()
        self.open_session(self.visit)

    def wait_time(self) -> float:
        return self._workload().think_s(self.visit.rng, self.visit.citizen.literacy)

    @task
    def journey(self) -> None:
        self.visit.abandoned = False
        if not self.session_open(self.visit):
            self.open_session(self.visit)
            return
        self.run_journey(self.visit)


class SessionUser(_Citizens):
    """Open model: wait for an arrival, run one session, wait again."""

    abstract = True
    tickets: ClassVar[Channel | None] = None

    @classmethod
    def configure(cls, workload: Workload, tickets: Channel) -> type[SessionUser]:
        attrs: dict[str, Any] = {"abstract": False, "tickets": tickets}
        user_class: type[SessionUser] = type("SessionUser", (cls,), attrs)
        user_class.attach(workload)
        return user_class

    def wait_time(self) -> float:
        return 0.0  # the next arrival's ticket is the wait; think time is inside a session

    def think(self, visit: Visit) -> bool:
        """The citizen reads the page after logging in (``load.think_time``, by digital
        literacy), as between journeys in the closed model; part of the session."""
        gevent.sleep(self._workload().think_s(visit.rng, visit.citizen.literacy))
        return True

    @task
    def session(self) -> None:
        assert self.tickets is not None
        # The visit (citizen, random stream) is made while waiting, not once the arrival
        # is due: that work would delay this login and any arrival due just after it.
        visit = self.new_visit()
        ticket: Ticket | None = self.tickets.get()
        # None wakes the users still waiting when the run ends. A real ticket was handed
        # over before the stop (the dispatcher checks after every wait), so it counts as
        # started and runs like any session in flight, even if the stop came before this
        # greenlet did.
        if ticket is None:
            raise StopUser
        began = time.time()
        self.client.cookiejar.clear()  # a new citizen: no cookie of the last session's
        ok = self.open_session(visit) and self.think(visit) and self.run_journey(visit)
        ended = time.time()
        self._workload().recorder.record_session(
            start_delay_ms=(began - ticket.intended_at) * 1000.0,
            raw_ms=(ended - began) * 1000.0,
            corrected_ms=(ended - ticket.intended_at) * 1000.0,
            ok=ok,
        )


class ReplayUser(GuardedHttpUser):
    """Replay: wait for a send time, send the one recorded request it names, wait again.

    The request goes through the guarded client (target policy, ceiling) with no
    cookie of an earlier one. It fails when the target does not answer or answers
    5xx; a 4xx is what a replayed request without its session or with a synthetic
    citizen's number often gets, so it is counted (``replay_4xx``), not failed. Its
    start delay is recorded as a session's is in the open model.
    """

    abstract = True
    tickets: ClassVar[Channel | None] = None
    workload: ClassVar[Workload | None] = None
    connection_timeout = 10.0
    network_timeout = 30.0

    @classmethod
    def configure(cls, workload: Workload, tickets: Channel) -> type[ReplayUser]:
        """A concrete subclass bound to ``workload`` (its plan, policy and ceiling)."""
        if workload.replay is None:
            raise RuntimeError("this workload has no replay plan (build it with build_workload)")
        insecure, context = tls_settings(workload.tls)
        attrs: dict[str, Any] = {
            "abstract": False, "tickets": tickets, "workload": workload,
            "policy": workload.policy, "ceiling": workload.ceiling, "insecure": insecure,
            "ssl_context_factory": None if context is None else staticmethod(context),
        }  # fmt: skip
        user_class: type[ReplayUser] = type("ReplayUser", (cls,), attrs)
        return user_class

    def __init__(self, environment: Any) -> None:
        workload = self._workload()
        if workload.headers:  # http.headers, rendered for one citizen per user
            headers = workload.headers_for(workload.next_citizen().as_dict())
            self.default_headers = {**headers, **(self.default_headers or {})}
        super().__init__(environment)

    def _workload(self) -> Workload:
        if self.workload is None:
            raise RuntimeError(f"{type(self).__name__}.configure(workload) was not called")
        return self.workload

    def wait_time(self) -> float:
        return 0.0  # the next send time's ticket is the wait

    @task
    def replay(self) -> None:
        assert self.tickets is not None
        ticket: Ticket | None = self.tickets.get()
        if ticket is None:  # the run is ending (see loadgen.runner._drain)
            raise StopUser
        workload = self._workload()
        assert workload.replay is not None  # configure() checked it
        method, target, name = workload.replay.request(ticket.index - 1)
        began = time.time()
        self.client.cookiejar.clear()
        ok = self.send(method, target, name)
        ended = time.time()
        workload.recorder.record_session(
            start_delay_ms=(began - ticket.intended_at) * 1000.0,
            raw_ms=(ended - began) * 1000.0,
            corrected_ms=(ended - ticket.intended_at) * 1000.0,
            ok=ok,
        )

    def send(self, method: str, target: str, name: str) -> bool:
        """One recorded request; ``True`` unless it got no answer or a 5xx."""
        with self.client.request(method, target, name=name, catch_response=True) as response:
            status = response.status_code or 0
            if status == 0:
                response.failure(failure_kind(getattr(response, "error", None)))
                return False
            if status >= 500:
                response.failure(f"HTTP {status} from the target")
                return False
            response.success()
            if status >= 400:
                self._workload().count("replay_4xx")
            return True
