"""A citizen's visit, and how each of its requests is sent, retried and checked.

Whoever wrote the journeys (declared steps, a Python module, the reference portal's
own :mod:`portal.journeys`), every request goes through :func:`send`: the request is
named (``GET /dossiers/[code]``, so that Locust groups by endpoint), its response
inspected for content, not only status (a 200 with a wrong body is a failure,
"content check"), and retried the way a citizen retries.

Citizens retry after a 503, a 429 or a timeout (exponential backoff with full jitter,
never sooner than ``Retry-After``; a retry re-sends the same request, its
``Idempotency-Key`` included), and give up on a page that takes longer than their
patience: the request is recorded as a failure of kind "abandoned" and the journey
ends.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from dvcschema.load import RetryPolicy
from loadgen import multipart

RETRIED_STATUSES = (503, 429)  # unavailable, too many requests: both say when to come back


class Response(Protocol):
    status_code: int

    def json(self) -> Any: ...

    def failure(self, exc: Any) -> None: ...

    def success(self) -> None: ...


class Client(Protocol):
    """The part of Locust's ``FastHttpSession`` the journeys use."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


class Ledger(Protocol):
    """Where acknowledged dossiers and confirmed payments are noted (for the audit)."""

    def dossier_acknowledged(self, code: str, cccd: str) -> None: ...

    def payment_confirmed(self, payment_id: str, dossier_code: str) -> None: ...


class Abandoned(Exception):  # noqa: N818 - a citizen's act, not a program error
    """The citizen gave up waiting for a page (raised by the patience guard)."""


@dataclass
class Conduct:
    """How this citizen behaves when the portal is slow or overloaded."""

    retries: RetryPolicy = field(default_factory=RetryPolicy)
    patience_s: float | None = None
    sleep: Callable[[float], None] = time.sleep
    # guard(seconds) raises Abandoned inside the block after ``seconds``
    guard: Callable[[float], AbstractContextManager[Any]] = lambda _s: nullcontext()
    # report_abandoned(method, name, waited_ms): record the abandoned request
    report_abandoned: Callable[[str, str, float], None] = lambda _m, _n, _ms: None
    # pace(): wait for the run's ceiling before the patience clock starts (the wait is
    # the generator's, not the portal's: a citizen does not give up on it)
    pace: Callable[[], None] = lambda: None


@dataclass
class Visit:
    """One citizen's session: the client, the citizen, and the session's state."""

    client: Client
    citizen: Any  # loadgen.citizen.Citizen
    rng: random.Random
    services: Mapping[str, float]
    attachments: Any  # loadgen.attachments.AttachmentFactory
    ledger: Ledger
    service_code: str | None = None  # the service the current journey used
    conduct: Conduct = field(default_factory=Conduct)
    abandoned: bool = False
    retries: int = 0
    errors: int = 0  # journeys that ended on an error in the journeys' own code
    session: Any = None  # the session's state (declared or Python journeys')
    headers: dict[str, str] = field(default_factory=dict)  # http.headers, this citizen's


Inspect = Callable[[Any], tuple[str | None, Any]]


def send(
    visit: Visit, method: str, path: str, name: str, *, inspect: Inspect, **kwargs: Any
) -> Any | None:
    """Make a request with the citizen's retries; what ``inspect`` made of the response,
    or ``None`` when it failed.

    ``inspect(response)`` returns ``(None, result)`` when the response is right, else
    ``(what is wrong, None)``; the wrong ones are recorded as failures with that text.
    A response that never came (timeout, connection error) is a failure of its own
    kind before ``inspect`` sees it. 503 and 429 are retried, never sooner than their
    ``Retry-After``, with full-jitter backoff."""
    if visit.headers:  # the scenario's http.headers; a request's own win
        kwargs["headers"] = {**visit.headers, **(kwargs.get("headers") or {})}
    if "files" in kwargs:  # Locust's fast client has no files=: one multipart body
        fields = kwargs.pop("data", None)
        if fields is not None and not isinstance(fields, Mapping):
            raise TypeError("files= goes with data={field: value} (form fields), not a raw body")
        upload, content_type = multipart.encode(fields, kwargs.pop("files"))
        kwargs["data"] = upload
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Content-Type": content_type}
    request = _Request(method, path, name, inspect, kwargs)
    policy = visit.conduct.retries
    for attempt in range(policy.max_retries + 1):
        if visit.abandoned:
            return None
        body, retry_after_s = _attempt(visit, request)
        if body is not None:
            return body
        if retry_after_s is None or attempt == policy.max_retries:
            return None
        visit.retries += 1
        visit.conduct.sleep(max(retry_after_s, backoff_s(policy, attempt + 1, visit.rng)))
    return None


def backoff_s(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Full-jitter backoff before retry ``retry`` (1-based): U(0, min(cap, base·2^(k-1)))."""
    return rng.uniform(0.0, min(policy.backoff_max_s, policy.backoff_s * 2 ** (retry - 1)))


class _Request:
    """One request to (re)send: a plain class, made once per request on the hot path."""

    __slots__ = ("inspect", "kwargs", "method", "name", "path")

    def __init__(
        self, method: str, path: str, name: str, inspect: Inspect, kwargs: dict[str, Any]
    ) -> None:
        self.method, self.path, self.name, self.inspect, self.kwargs = (
            method, path, name, inspect, kwargs,
        )  # fmt: skip


def _attempt(visit: Visit, r: _Request) -> tuple[Any | None, float | None]:
    """One request: ``(body, None)`` on success, ``(None, retry_after_s)`` when worth a
    retry (503 or timeout/connection error), ``(None, None)`` otherwise."""
    visit.conduct.pace()
    patience_s = visit.conduct.patience_s
    started = time.perf_counter()
    try:
        with visit.conduct.guard(patience_s) if patience_s else nullcontext():
            resp_cm = visit.client.request(
                r.method, r.path, name=r.name, catch_response=True, **r.kwargs
            )
            with resp_cm as resp:
                problem: str | None
                if resp.status_code == 0:  # no response: timeout or connection error
                    problem, body = failure_kind(getattr(resp, "error", None)), None
                else:
                    problem, body = r.inspect(resp)
                if problem is None:
                    resp.success()
                    return body, None
                resp.failure(problem)
                return None, _retry_after(resp)
    except Abandoned:
        visit.abandoned = True
        waited_ms = (time.perf_counter() - started) * 1000.0
        visit.conduct.report_abandoned(r.method, r.name, waited_ms)
        return None, None


def _retry_after(resp: Any) -> float | None:
    """Seconds to wait before a retry, or ``None`` when the failure is not retryable."""
    if resp.status_code == 0:  # no HTTP response: timeout or connection error
        return 0.0
    if resp.status_code not in RETRIED_STATUSES:
        return None
    try:
        return max(float(resp.headers.get("Retry-After", 0) or 0), 0.0)
    except (TypeError, ValueError):
        return 0.0


def failure_kind(error: BaseException | None) -> str:
    """``timeout: ...`` or ``connection error: ...`` for a request without a response."""
    if isinstance(error, socket.timeout | TimeoutError) or "timed out" in str(error).lower():
        return f"timeout: {type(error).__name__}"
    return f"connection error: {type(error).__name__}: {error}"


# Tags group request names for budgets (``tag:write``) and reports.
def tag_index(endpoints: list[str], tags: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """``{tag: [request names]}`` for the request names seen in a run, from ``tags``
    (``{request name: its tags}``, as the journeys declare them)."""
    index: dict[str, list[str]] = {}
    for key in endpoints:
        for tag in tags.get(key, ()):
            index.setdefault(tag, []).append(key)
    return index
