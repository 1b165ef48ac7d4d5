"""The wire: every request a user sends passes one target policy and one ceiling.

Whoever wrote the traffic (dvcload's journeys, a user's module, a Locust ``User``
class built on :class:`GuardedHttpUser`), and whatever set the host (``dvcload
run``, ``--host``, ``LOCUST_HOST``, the web UI, a master's spawn message), requests
leave through the HTTP client's ``_urlopen``, once per wire request, redirect hops
and client retries included. :class:`GuardedAgent` checks each one there against
the process's :class:`~dvcschema.target.TargetPolicy` and takes a token from the
process's :class:`~loadgen.pacing.RateCeiling` before it is sent. A refused request
is never sent: it fails with :class:`TargetRefusedError`, the user that made it stops, and
the failure is recorded under the request's name.

Redirects are not followed unless the scenario says ``http: {follow_redirects:
true}``; a 3xx is then recorded as what it is. Names connect only to the addresses
they were pinned to before the load (:class:`PinnedResolver`): no DNS during a run.

The session's own check happens before Locust starts the request's clock, so a wait
for the ceiling is not counted as response time (in the open model it shows as the
session's start delay, as it always did); the agent's check covers what the session
cannot see (hops and retries inside the client).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from gevent.resolver.blocking import Resolver
from locust import FastHttpUser, User
from locust.contrib.fasthttp import FastHttpSession, LocustUserAgent
from locust.exception import StopUser

from dvcschema.target import TargetPolicy, TlsOptions
from loadgen.pacing import RateCeiling

log = logging.getLogger(__name__)


class TargetRefusedError(ConnectionError):
    """A request to a host outside the target policy (never sent).

    A ``ConnectionError``, so that Locust records the request as failed wherever it
    is raised, like any connection that could not be made.
    """


class GuardedAgent(LocustUserAgent):
    """Locust's user agent with the policy and the ceiling at its one exit."""

    policy: TargetPolicy
    ceiling: RateCeiling | None
    paid: int  # tokens the session took before the request's clock started

    def urlopen(self, url: Any, method: str = "GET", **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["max_redirects"] = self.policy.max_redirects  # a caller cannot raise it
        return super().urlopen(url, method, **kwargs)

    def _urlopen(self, request: Any) -> Any:
        where = request.url_split
        reason = self.policy.refusal(where.scheme, where.host, where.port)
        if reason is not None:
            raise TargetRefusedError(f"refused {str(where)[:120]!r}: {reason}")
        if self.paid:
            self.paid -= 1
        elif self.ceiling is not None:
            self.ceiling.acquire()
        return super()._urlopen(request)


def guard_agent(
    agent: LocustUserAgent, policy: TargetPolicy, ceiling: RateCeiling | None
) -> GuardedAgent:
    """Turn the agent a ``FastHttpSession`` built into a :class:`GuardedAgent` in place.

    The session builds its agent itself (cookie jar, TLS context, pool); re-classing
    that instance keeps all of it and adds the three attributes above.
    """
    agent.__class__ = GuardedAgent
    guarded: GuardedAgent = agent  # type: ignore[assignment]
    guarded.policy, guarded.ceiling, guarded.paid = policy, ceiling, 0
    return guarded


def is_absolute(url: str) -> bool:
    """Whether ``url`` names its own host (``http://...``, ``HTTPS://...``): the client
    sends it there, not to the session's base URL."""
    return url[:8].lower().startswith(("http://", "https://"))


class RefusingSession:
    """What both guarded sessions (Locust's fast and requests-based) do with the
    policy: refuse before sending, note a refused redirect hop, record refusals.

    Needs ``policy``, ``refusal`` (why this session's own host is refused, or
    ``None``), ``base_url`` and ``request_event``.
    """

    policy: TargetPolicy
    refusal: str | None
    base_url: str | None
    request_event: Any

    def guard(self, policy: TargetPolicy) -> None:
        """Bind ``policy``; this session's own host is judged once, now."""
        self.policy = policy
        self.refusal = (
            policy.url_refusal(self.base_url) if self.base_url else "no target host was given"
        )

    def check_before_sending(self, method: str, name: str | None, url: str) -> None:
        """Raise ``StopUser`` (the refusal recorded) when ``url`` may not be sent."""
        refusal = self.policy.url_refusal(url) if is_absolute(url) else self.refusal
        if refusal is not None:
            self._record_refusal(method, name or url, url, refusal)
            raise StopUser

    def note_refused_hop(self, response: Any) -> None:
        """A redirect hop was refused at the wire: this user stops at its next request."""
        error = getattr(response, "error", None)
        if isinstance(error, TargetRefusedError):
            self.refusal = str(error)
            if self.policy.note_refusal(self.refusal):
                log.error("dvcload: %s", self.refusal)

    def refuse_start(self) -> None:
        """The user's host is refused: record one failed request (named after the
        host, as nothing else was asked yet) and say why, once per reason."""
        self._record_refusal("CONNECT", "refused target", self.base_url or "", self.refusal or "")

    def _record_refusal(self, method: str, name: str, url: str, reason: str) -> None:
        """Record the request as failed (never sent) and say why, once per reason."""
        error = TargetRefusedError(f"not sent: {reason}")
        self.request_event.fire(
            request_type=method, name=name, response_time=0.0, response_length=0,
            response=None, context={}, exception=error, url=url[:200], start_time=time.time(),
        )  # fmt: skip
        if self.policy.note_refusal(reason):
            log.error("dvcload: refused to send to %s: %s", url[:120], reason)


class GuardedSession(RefusingSession, FastHttpSession):
    """``FastHttpSession`` whose requests pass the policy and the ceiling first."""

    client: GuardedAgent

    def __init__(
        self,
        base_url: str | None,
        request_event: Any,
        user: User | None,
        *,
        policy: TargetPolicy,
        ceiling: RateCeiling | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, request_event, user, **kwargs)
        self.client = guard_agent(self.client, policy, ceiling)
        self.guard(policy)
        self._prepaid = False

    def prepay(self) -> None:
        """Take the next request's token now (a caller that times the request itself,
        such as a citizen's patience, keeps a wait for the ceiling out of that time)."""
        if self.client.ceiling is not None and not self._prepaid:
            self.client.ceiling.acquire()
            self._prepaid = True

    def request(  # type: ignore[override]  # the same call, its keywords passed on
        self, method: str, url: str, name: str | None = None, **kwargs: Any
    ) -> Any:
        self.check_before_sending(method, name, url)
        self.prepay()  # before the clock: waiting is not response time
        self._prepaid = False
        self.client.paid = 1 if self.client.ceiling is not None else 0
        try:
            response = super().request(method, url, name=name, **kwargs)
        finally:
            self.client.paid = 0
        self.note_refused_hop(response)
        return response


def tls_settings(tls: TlsOptions) -> tuple[bool, Callable[[], Any] | None]:
    """``(insecure, ssl_context_factory)`` for Locust's client from ``http.tls``.

    Locust's ``FastHttpUser`` does not verify certificates unless told; dvcload does,
    against the system's authorities, or ``ca_file``'s when given."""
    if not tls.verify:
        return True, None
    if tls.ca_file is None:
        return False, None  # Locust's default context: verified, system authorities
    ca_file = tls.ca_file

    def context() -> Any:
        import gevent.ssl

        return gevent.ssl.create_default_context(cafile=ca_file)

    return False, context


class GuardedHttpUser(FastHttpUser):
    """A Locust ``FastHttpUser`` that can only reach what the target policy allows.

    Bind ``policy`` and ``ceiling`` on a subclass (:meth:`bind`). The client is built
    as ``FastHttpUser`` builds it, with its agent guarded; redirects follow the
    policy (not followed by default).
    """

    abstract = True
    policy: ClassVar[TargetPolicy] = TargetPolicy()
    ceiling: ClassVar[RateCeiling | None] = None
    client: GuardedSession

    def __init__(self, environment: Any) -> None:
        User.__init__(self, environment)  # not FastHttpUser's: it builds an unguarded client
        self.max_redirects = self.policy.max_redirects
        self.client = GuardedSession(
            base_url=self.host,
            request_event=environment.events.request,
            user=self,
            policy=self.policy,
            ceiling=self.ceiling,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            max_redirects=self.max_redirects,
            max_retries=self.max_retries,
            insecure=self.insecure,
            concurrency=self.concurrency,
            client_pool=self.client_pool,
            ssl_context_factory=self.ssl_context_factory,
            headers=self.default_headers,
            proxy_host=self.proxy_host,
            proxy_port=self.proxy_port,
        )
        if self.proxy_host is not None and self.client.refusal is None:
            self.client.refusal = self.policy.refusal("http", self.proxy_host, self.proxy_port)

    def start(self, group: Any) -> Any:
        """End at once, having sent nothing, when this user's host is refused (a
        ``--host``, a UI's host field or a master's spawn message outside the policy):
        one failure is recorded, and the user's greenlet returns without running
        ``on_start`` or a task (Locust logs a traceback for a ``StopUser`` there)."""
        if self.client.refusal is None:
            return super().start(group)
        self.client.refuse_start()
        self._greenlet = group.spawn(lambda user: None, self)  # Locust reads args[0]
        self._group = group
        return self._greenlet


class PinnedResolver(Resolver):
    """A resolver that answers only from the policy's pins and from IP literals.

    Installed on the gevent hub of a process that loads a target, so that no name is
    resolved by DNS or ``/etc/hosts`` during a run, and a name that was not pinned
    cannot be connected to at all.
    """

    def __init__(self, hub: Any = None, *, pins: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(hub)
        self.pins = {k.lower(): tuple(v) for k, v in (pins or {}).items()}

    def getaddrinfo(  # noqa: PLR0917 - gevent's resolver signature
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[Any]:
        numeric = flags | socket.AI_NUMERICHOST
        if host is None:
            return list(super().getaddrinfo(host, port, family, type, proto, flags))
        answers: list[Any] = []
        for address in self._addresses(host):
            try:
                answers += super().getaddrinfo(address, port, family, type, proto, numeric)
            except socket.gaierror:
                continue  # e.g. an IPv6 pin asked for AF_INET
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: no pinned address of that family")
        return answers

    def gethostbyname(self, hostname: Any, family: int = socket.AF_INET) -> str:
        return str(self.getaddrinfo(hostname, 0, family, socket.SOCK_STREAM)[0][4][0])

    def gethostbyname_ex(self, hostname: Any, family: int = socket.AF_INET) -> Any:
        return (str(hostname), [], [self.gethostbyname(hostname, family)])

    def _addresses(self, host: Any) -> tuple[str, ...]:
        name = (host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)).lower()
        name = name.strip("[]")
        if name in self.pins:
            return self.pins[name]
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name.split("%")[0])
        except OSError:
            raise socket.gaierror(
                socket.EAI_NONAME,
                f"{name[:80]!r} was not pinned before the load; dvcload resolves no names "
                "during a run (allow the host with --allow-target to have it pinned)",
            ) from None
        return (name,)


def pin_process(policy: TargetPolicy) -> None:
    """Make this process's gevent hub resolve only what ``policy`` pinned (idempotent)."""
    import gevent

    hub = gevent.get_hub()
    pins = dict(policy.pins)
    if not (isinstance(hub.resolver, PinnedResolver) and hub.resolver.pins == pins):
        hub.resolver = PinnedResolver(hub, pins=pins)
