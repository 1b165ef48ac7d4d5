"""Running an existing Locust ``User`` class (:mod:`dvcschema.userclass`).

The operator's class runs with dvcload's guarded client: :func:`guarded_class` derives
a class from it whose client passes the target policy and the ceiling (a
:class:`~loadgen.wire.GuardedSession` for a ``FastHttpUser``, a
:class:`GuardedRequestsSession` for a requests-based ``HttpUser``), verifies https as
``http.tls`` says and sends ``http.headers``. Its host is the scenario's target (the
class's own ``host`` is ignored). Each instance takes the next citizen of the
population (``self.dvcload_citizen``, its fields; ``{citizen.X}`` in ``http.headers``).

- Closed model: ``load.users`` instances run as Locust runs them (``on_start``, tasks
  by their weights with the class's ``wait_time``, ``on_stop``).
- Open model: each arrival is one session of a fresh instance (a new client, so no
  cookie or connection of another session): ``on_start``, one task chosen as Locust
  chooses (uniformly among ``tasks``, where a task of weight 3 appears 3 times), then
  ``on_stop``; its start delay and raw and corrected lengths are recorded as
  :class:`~loadgen.users.SessionUser` records its sessions.

Every task run is a journey named after the task's function (``journey:NAME``
budgets): it fails when the task raises or when one of its requests failed.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from gevent.queue import Channel
from locust import FastHttpUser, HttpUser, User, constant, task
from locust.clients import HttpSession, LocustHttpAdapter
from locust.exception import RescheduleTask, RescheduleTaskImmediately, StopTest, StopUser
from locust.user.task import LOCUST_STATE_RUNNING, DefaultTaskSet, TaskSet
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.utils import select_proxy

from dvcschema.target import TargetPolicy
from dvcschema.userclass import UserClassTraffic
from loadgen.arrivals import Ticket
from loadgen.pacing import RateCeiling
from loadgen.wire import GuardedHttpUser, RefusingSession, TargetRefusedError, tls_settings
from loadgen.workload import Workload

log = logging.getLogger(__name__)
_TASKSET_ENDS = (RescheduleTask, RescheduleTaskImmediately)  # a TaskSet task was interrupted


def locust_user_class(
    workload: Workload, traffic: UserClassTraffic, tickets: Channel | None = None
) -> type[User]:
    """The class Locust runs: the operator's class, guarded (closed model), or, given
    the open model's ``tickets``, a pool of users that each run one session of a fresh
    guarded instance per arrival."""
    guarded = guarded_class(workload, traffic)
    if tickets is None:
        return guarded
    attrs = {"abstract": False, "tickets": tickets, "session_class": guarded, "workload": workload}
    sessions: type[User] = type(f"{guarded.__name__}Sessions", (UserClassSessions,), attrs)
    return sessions


def guarded_class(workload: Workload, traffic: UserClassTraffic) -> type[User]:
    """The operator's class with dvcload's client, TLS settings and journey records.

    The class comes first in the new class's bases, so that its own attributes
    (``wait_time``, ``on_start``, timeouts) hold; the policy, the ceiling and the TLS
    settings are set on the new class, above anything the class says.
    """
    base = traffic.user_class
    adapter = _GuardedFast if issubclass(base, FastHttpUser) else _GuardedRequests
    insecure, context = tls_settings(workload.tls)
    attrs: dict[str, Any] = {
        "abstract": False,
        "__module__": base.__module__,
        "workload": workload,
        "policy": workload.policy,
        "ceiling": workload.ceiling,
        "insecure": insecure,
        "ssl_context_factory": None if context is None else staticmethod(context),
        "fixed_count": 0,  # load.users decides how many
    }
    if adapter is _GuardedRequests:
        attrs["verify"] = workload.tls.ca_file or workload.tls.verify
    guarded: type[User] = type(base.__name__, (base, adapter), attrs)
    guarded.tasks = [_journey(t, workload) for t in base.tasks]  # after the metaclass's list
    return guarded


class RequestCount:
    """A user's request event: counts the failed requests, passes every event on."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.failures = 0

    def fire(self, *, reverse: bool = False, **kwargs: Any) -> None:
        if kwargs.get("exception") is not None:
            self.failures += 1
        self.hook.fire(reverse=reverse, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hook, name)


def _journey(task_: Any, workload: Workload) -> Callable[[User], None]:
    """``task_`` (a function or a ``TaskSet`` class) recorded as a journey named after it."""
    name = str(getattr(task_, "__name__", repr(task_)))
    nested = isinstance(task_, type) and issubclass(task_, TaskSet)

    def run(user: Any) -> None:
        count: RequestCount = user.dvcload_requests
        failures, started = count.failures, time.perf_counter()

        def record(ok: bool) -> None:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            ok = ok and count.failures == failures
            province = user.dvcload_province
            workload.recorder.record_journey(name, None, province, elapsed_ms, ok=ok)

        try:
            task_(user).run() if nested else task_(user)
        except _TASKSET_ENDS:
            record(True)
            raise
        except Exception:
            record(False)
            raise
        record(True)

    run.__name__ = run.__qualname__ = name
    return run


class _Dvcload:
    """What both guarded clients share: the workload, the citizen, the request count."""

    workload: ClassVar[Workload]
    dvcload_citizen: dict[str, Any]
    dvcload_province: str
    dvcload_requests: RequestCount

    def _dvcload_citizen(self) -> dict[str, str]:
        """Take the next citizen; ``http.headers`` rendered for them."""
        citizen = self.workload.next_citizen()
        self.dvcload_citizen = citizen.as_dict()
        self.dvcload_province = citizen.residence_province
        return self.workload.headers_for(self.dvcload_citizen) if self.workload.headers else {}

    def _dvcload_count(self, client: Any) -> None:
        self.dvcload_requests = client.request_event = RequestCount(client.request_event)


class _GuardedFast(_Dvcload, GuardedHttpUser):
    """A ``FastHttpUser`` on :class:`~loadgen.wire.GuardedSession`."""

    abstract = True

    def __init__(self, environment: Any) -> None:
        headers = self._dvcload_citizen()
        if headers:  # the class's own default headers win, as a request's own do
            self.default_headers = {**headers, **(self.default_headers or {})}
        super().__init__(environment)
        self._dvcload_count(self.client)

    def dvcload_close(self) -> None:
        self.client.client.close()


class _GuardedRequests(_Dvcload, HttpUser):
    """A requests-based ``HttpUser`` on :class:`GuardedRequestsSession`."""

    abstract = True
    policy: ClassVar[TargetPolicy] = TargetPolicy()
    ceiling: ClassVar[RateCeiling | None] = None
    verify: ClassVar[bool | str] = True
    client: GuardedRequestsSession

    def __init__(self, environment: Any) -> None:
        User.__init__(self, environment)  # not HttpUser's: it builds an unguarded client
        headers = self._dvcload_citizen()
        self.client = GuardedRequestsSession(
            self.host, environment.events.request, self,
            policy=self.policy, ceiling=self.ceiling, pool_manager=self.pool_manager,
        )  # fmt: skip
        self.client.trust_env = False  # no proxy from the environment
        self.client.verify = self.verify
        self.client.headers.update(headers)
        self._dvcload_count(self.client)

    def start(self, group: Any) -> Any:
        """As :meth:`loadgen.wire.GuardedHttpUser.start`: a refused host ends the user
        at once, one failure recorded, nothing sent."""
        if self.client.refusal is None:
            return super().start(group)
        self.client.refuse_start()
        self._greenlet = group.spawn(lambda user: None, self)  # Locust reads args[0]
        self._group = group
        return self._greenlet

    def dvcload_close(self) -> None:
        self.client.close()


class RefusedRequestError(TargetRefusedError, RequestsConnectionError):
    """A requests-based request refused by the target policy (never sent); a requests
    ``ConnectionError``, so that Locust records it as a failed request."""


class GuardedRequestsSession(RefusingSession, HttpSession):
    """Locust's requests-based ``HttpSession``, its requests through the policy and the
    ceiling: checked before Locust's clock starts (a wait for the ceiling is not
    response time), and every wire request (redirect hops) checked again by its
    adapter. Redirects are followed only if the policy says so."""

    def __init__(
        self,
        base_url: str | None,
        request_event: Any,
        user: User | None,
        *,
        policy: TargetPolicy,
        ceiling: RateCeiling | None,
        pool_manager: Any = None,
    ) -> None:
        super().__init__(base_url, request_event, user, pool_manager=pool_manager)
        self.ceiling, self.paid = ceiling, 0
        self.guard(policy)
        adapter = _GuardedAdapter(self, pool_manager=pool_manager)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.max_redirects = policy.max_redirects  # followed only if the policy says so

    def request(  # type: ignore[override]  # the same call, its keywords passed on
        self,
        method: str | bytes,
        url: str | bytes,
        name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        text = url.decode("utf-8", "replace") if isinstance(url, bytes) else str(url)
        self.check_before_sending(str(method), name or self.request_name, text)
        if not self.policy.follow_redirects:
            kwargs["allow_redirects"] = False  # a 3xx is recorded as what it is
        if self.ceiling is not None:
            self.ceiling.acquire()  # before the clock: waiting is not response time
            self.paid = 1
        try:
            response = super().request(method, url, name, *args, **kwargs)
        finally:
            self.paid = 0
        self.note_refused_hop(response)
        return response


class _GuardedAdapter(LocustHttpAdapter):
    """Every wire request of a :class:`GuardedRequestsSession`: policy, then ceiling."""

    def __init__(self, session: GuardedRequestsSession, pool_manager: Any = None) -> None:
        super().__init__(pool_manager=pool_manager)
        self.session = session

    def send(  # noqa: PLR0917 - requests' adapter signature
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        session, url = self.session, str(request.url)
        reason = session.policy.url_refusal(url)
        if reason is None and proxies and select_proxy(url, proxies):
            reason = "requests through a proxy are not allowed"
        if reason is not None:
            raise RefusedRequestError(f"refused {url[:120]!r}: {reason}")
        if session.paid:
            session.paid -= 1
        elif session.ceiling is not None:
            session.ceiling.acquire()
        return super().send(request, stream, timeout, verify, cert, proxies)


class UserClassSessions(User):
    """Open model: wait for an arrival, run one session of a fresh instance of the
    guarded class (``session_class``), record it, wait again."""

    abstract = True
    tickets: ClassVar[Channel | None] = None
    session_class: ClassVar[type[User]]
    workload: ClassVar[Workload]
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = self.workload.new_user_rng()

    @task
    def session(self) -> None:
        assert self.tickets is not None
        # The instance (client, citizen) is made while waiting, not once the arrival is
        # due, as SessionUser makes its visit.
        self.session_class.host = self.host  # the run's host, as Locust set it on this class
        user: Any = self.session_class(self.environment)
        ticket: Ticket | None = self.tickets.get()
        if ticket is None:  # the run is ending (see loadgen.runner._drain)
            user.dvcload_close()
            raise StopUser
        began = time.time()
        ok = run_session(user, self.rng)
        ended = time.time()
        self.workload.recorder.record_session(
            start_delay_ms=(began - ticket.intended_at) * 1000.0,
            raw_ms=(ended - began) * 1000.0,
            corrected_ms=(ended - ticket.intended_at) * 1000.0,
            ok=ok,
        )


def run_session(user: Any, rng: random.Random) -> bool:
    """One session of ``user`` (a fresh guarded instance): ``on_start``, one task chosen
    as Locust chooses, ``on_stop``; ``True`` when nothing raised and no request failed."""
    if user.client.refusal is not None:  # its host is refused: nothing is sent
        user.client.refuse_start()
        user.dvcload_close()
        return False
    user._state = LOCUST_STATE_RUNNING
    user._taskset_instance = DefaultTaskSet(user)  # for self.wait() and TaskSet tasks
    completed = False
    try:
        user.on_start()
        user._taskset_instance.execute_task(rng.choice(user.tasks))
        completed = True
    except _TASKSET_ENDS:
        completed = True
    except StopTest:
        raise
    except StopUser:
        pass  # e.g. a refused request (already recorded)
    except Exception as exc:  # the user's code: reported as Locust reports it
        events = user.environment.events
        events.user_error.fire(user_instance=user, exception=exc, tb=exc.__traceback__)
        log.error("%s\n%s", exc, traceback.format_exc())
    finally:
        _stop(user)
    return completed and user.dvcload_requests.failures == 0


def _stop(user: Any) -> None:
    try:
        user.on_stop()
    except Exception:
        log.exception("uncaught exception in on_stop")
    finally:
        user.dvcload_close()
