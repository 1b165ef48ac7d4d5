"""Running journeys written in Python (:mod:`dvcschema.pyjourneys`).

Each session gets an :class:`Http` bound to the citizen's visit: its requests go
through the same :func:`loadgen.visit.send` as declared steps (target policy, ceiling,
retries after 503/429, patience), are named after their path template
(``GET /ho-so/[code]``, or ``name=``), and fail as content checks when ``expect`` or
``check`` says so. A failed request ends the journey (the function is left by an
exception), as a citizen stops at an error page. The reference portal's own journeys
(:mod:`portal.journeys`) run through this module like any operator's.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from locust.exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

from dvcschema.pyjourneys import JourneyFailed, PythonTraffic
from dvcschema.routes import Route
from dvcschema.templates import decode_json
from loadgen.visit import Visit, send


class StepFailed(Exception):  # noqa: N818 - ends the journey; the failure is recorded
    """A request of a Python journey failed (already recorded as a failure)."""


class Reply:
    """What a request answered: ``status``, ``headers``, ``text`` and :meth:`json`.

    Read lazily from the client's response, and the JSON parsed once however often
    a check and the journey ask for it (parsing is most of a small request's cost)."""

    __slots__ = ("_headers", "_json", "_response", "_text", "status")

    def __init__(self, response: Any) -> None:
        self.status = int(response.status_code)
        self._response = response
        self._headers: dict[str, str] | None = None
        self._text: str | None = None
        self._json: Any = _UNPARSED

    @property
    def headers(self) -> Mapping[str, str]:
        if self._headers is None:
            self._headers = _headers(self._response.headers)
        return self._headers

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._response.text or ""
        return self._text

    @property
    def content(self) -> bytes:
        return bytes(self._response.content or b"")

    @property
    def status_code(self) -> int:
        """``status``, by the name Locust's and requests' responses use."""
        return self.status

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not JSON)."""
        if self._json is _UNPARSED:
            self._json = decode_json(self._response.content or b"")
        return self._json


_UNPARSED = object()
log = logging.getLogger(__name__)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


Check = Callable[[Reply], str | bool | None]


def _verdict(check: Check, reply: Reply, label: str) -> str | None:
    """What is wrong with ``reply`` by ``check``: it returns ``None`` or ``True`` when
    the reply is right, the problem as text or ``False`` when it is not; an exception
    in it (a missing key, a body that is not JSON) is a problem too."""
    try:
        verdict = check(reply)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if verdict is None or verdict is True:
        return None
    return f"check failed on {label}" if verdict is False else str(verdict)


@dataclass
class Http:
    """A session's HTTP interface: ``get``, ``post``, ``put``, ``patch``, ``delete``,
    ``head`` and :meth:`request`; ``headers`` go with every later request; ``state``
    keeps what the session's journeys share (a token, a dossier code)."""

    visit: Visit
    headers: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        values: Mapping[str, Any] | None = None,
        name: str | None = None,
        expect: int | tuple[int, ...] | None = None,
        check: Check | None = None,
        **kwargs: Any,
    ) -> Reply:
        """Send ``method path`` (``{x}`` in ``path`` filled from ``values``, ``params``
        as the query string); the reply, or :class:`StepFailed` once the failure is
        recorded.

        ``path`` is relative to the target; an absolute URL is sent only if the
        target policy allows its host (else it is recorded as refused, never sent)."""
        origin, route, query = _route(method, path)
        target = origin + (route.path(**values) if values else route.path())
        params = kwargs.pop("params", None)
        if params:
            query = f"{query}&{urlencode(params, doseq=True)}" if query else urlencode(params, True)
        if query:
            target += "?" + (_fill(query, values) if values and "{" in query else query)
        expected = (expect,) if isinstance(expect, int) else expect
        if self.headers:
            kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
        label = name or route.path_name

        def inspect(resp: Any) -> tuple[str | None, Any]:
            status = int(resp.status_code)
            if (status not in expected) if expected else not 200 <= status < 300:
                return f"HTTP {status}", None
            reply = Reply(resp)
            problem = _verdict(check, reply, label) if check is not None else None
            return (f"content check: {problem}", None) if problem else (None, reply)

        try:
            reply = send(self.visit, route.method, target, label, inspect=inspect, **kwargs)
        except StopUser:
            if not origin:
                raise  # the target itself is refused: this user stops (loadgen.wire)
            raise StepFailed(f"{route.method} {label}: refused, not sent") from None
        if reply is None:
            raise StepFailed(f"{route.method} {label}")
        return reply

    @property
    def rng(self) -> random.Random:
        """The session's random stream (seeded from the scenario: runs repeat)."""
        return self.visit.rng

    @property
    def services(self) -> Mapping[str, float]:
        """The scenario's ``mix.services`` weights (empty when it gives none)."""
        return self.visit.services

    @property
    def service(self) -> str | None:
        """What the journey is about (a service code), for the per-service figures."""
        return self.visit.service_code

    @service.setter
    def service(self, code: str | None) -> None:
        self.visit.service_code = code

    def attachment(self, kind: str, max_bytes: int = 5_000_000) -> tuple[bytes, str]:
        """A generated file of ``kind`` (``photo``, ``scan``...) and its content type,
        its size drawn from the attachment size distributions, at most ``max_bytes``."""
        data, content_type = self.visit.attachments.body(kind, max_bytes, self.visit.rng)
        return data, content_type

    @property
    def cookies(self) -> dict[str, str]:
        """The session's cookies (the client's jar)."""
        jar = getattr(self.visit.client, "cookiejar", None)
        return {c.name: c.value or "" for c in jar} if jar is not None else {}

    def record_dossier(self, code: str) -> None:
        """Note a dossier the target acknowledged (``acknowledged_dossiers.csv``)."""
        self.visit.ledger.dossier_acknowledged(code, self.visit.citizen.cccd)

    def record_payment(self, payment_id: str, dossier_code: str) -> None:
        """Note a payment the target confirmed (``confirmed_payments.csv``)."""
        self.visit.ledger.payment_confirmed(payment_id, dossier_code)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Reply:
        return self.request("HEAD", path, **kwargs)


@lru_cache(maxsize=4096)
def _route(method: str, path: str) -> tuple[str, Route, str]:
    """``(origin, route, query)`` for ``path``, built once per distinct path: origin
    empty for a path on the target, else an absolute URL's ``scheme://host[:port]``;
    the route names the request (the query string is not part of its name)."""
    url = urlsplit(path)
    origin = f"{url.scheme}://{url.netloc}" if url.scheme in ("http", "https") else ""
    if not origin and not path.startswith("/"):
        raise ValueError(f"a path starts with '/' (or is an http(s) URL): {path!r}")
    return origin, Route(method.upper(), url.path or "/"), url.query


def _fill(query: str, values: Mapping[str, Any]) -> str:
    """A query string's ``{x}`` filled from ``values``, each value encoded."""
    return _PLACEHOLDER.sub(lambda m: quote(str(values[m[1]]), safe=""), query)


def _headers(headers: Any) -> dict[str, str]:
    """Response headers as text, a repeated header's values joined with ``, ``."""
    out: dict[str, str] = {}
    for key, value in (headers or {}).items():
        text = value if isinstance(value, str) else ", ".join(map(str, value))
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


@dataclass
class PySession:
    citizen: Mapping[str, Any]
    http: Http

    @property
    def state(self) -> Mapping[str, Any]:
        return self.http.state


@dataclass(frozen=True)
class PythonJourneys:
    """A module's journeys, runnable like declared ones: ``start`` a session, ``run``."""

    traffic: PythonTraffic
    trace: Callable[[Any, dict[str, Any]], None] | None = None

    def start(self, visit: Visit, citizen: Mapping[str, Any]) -> PySession | None:
        session = PySession(citizen, Http(visit))
        if self.traffic.session is None:
            return session
        return session if _call(self.traffic.session, session) else None

    def run(self, visit: Visit, state: PySession, name: str) -> bool:
        return _call(self.traffic.journeys[name].function, state)


_LOCUST_CONTROL = (StopUser, StopTest, InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately)


def _call(function: Callable[..., Any], session: PySession) -> bool:
    """Run a journey function: ``False`` when a request failed, the journey raised
    :class:`JourneyFailed` or returned ``False``. Any other error of the user's code
    fails the journey too (counted as ``journey_errors``, logged once per kind), and
    the citizen goes on, as Locust goes on after an error in a task."""
    try:
        return function(session.citizen, session.http) is not False
    except (StepFailed, JourneyFailed):
        return False
    except _LOCUST_CONTROL:
        raise
    except Exception as exc:  # the user's code: a bug there is a failed journey, not a crash
        _note_error(function, exc)
        session.http.visit.errors += 1
        return False


_ERRORS_LOGGED: set[tuple[str, str]] = set()


def _note_error(function: Callable[..., Any], exc: Exception) -> None:
    key = (getattr(function, "__name__", "?"), type(exc).__name__)
    if key not in _ERRORS_LOGGED:
        _ERRORS_LOGGED.add(key)
        log.error("dvcload: journey %s raised %s: %s", key[0], key[1], str(exc)[:200])
