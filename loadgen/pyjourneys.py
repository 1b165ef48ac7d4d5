"""Running journeys written in Python (:mod:`dvcschema.pyjourneys`).

Each session gets an :class:`Http` bound to the citizen's visit: its requests go
through the same :func:`loadgen.journeys.send` as declared steps and the built-in
journeys (target policy, ceiling, retries after 503/429, patience), are named after
their path template (``GET /ho-so/[code]``, or ``name=``), and fail as content checks
when ``expect`` or ``check`` says so. A failed request ends the journey (the function
is left by an exception), as a citizen stops at an error page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from dvcschema.pyjourneys import JourneyFailed, PythonTraffic
from dvcschema.routes import Route
from loadgen.journeys import Visit, send


class StepFailed(Exception):  # noqa: N818 - ends the journey; the failure is recorded
    """A request of a Python journey failed (already recorded as a failure)."""


@dataclass(frozen=True)
class Reply:
    """What a request answered: ``status``, ``headers``, ``text`` and :meth:`json`."""

    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


Check = Callable[[Reply], str | None]


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
        recorded."""
        route = Route(method.upper(), path)
        target = route.path(**(values or {}))
        params = kwargs.pop("params", None)
        if params:
            target += "?" + urlencode(params, doseq=True)
        expected = (expect,) if isinstance(expect, int) else expect
        if self.headers:
            kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}

        def inspect(resp: Any) -> tuple[str | None, Any]:
            status = int(resp.status_code)
            if (status not in expected) if expected else not 200 <= status < 300:
                return f"HTTP {status}", None
            reply = Reply(status, _headers(resp.headers), resp.text or "")
            problem = check(reply) if check is not None else None
            return (f"content check: {problem}", None) if problem else (None, reply)

        reply = send(
            self.visit,
            route.method,
            target,
            name or route.path_name,
            inspect=inspect,
            **kwargs,
        )
        if reply is None:
            raise StepFailed(f"{route.method} {name or route.path_name}")
        return reply

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


def _call(function: Callable[..., Any], session: PySession) -> bool:
    try:
        return function(session.citizen, session.http) is not False
    except (StepFailed, JourneyFailed):
        return False
