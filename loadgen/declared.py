"""Running declared journeys (:mod:`dvcschema.journeys`) for one citizen's session.

Each request step is rendered from the session's captured values, the citizen's
exported fields and the environment; sent through the visit's client (the target
policy, the ceiling, retries and patience all apply, as for any request,
:func:`loadgen.visit.send`); and inspected: its status against ``expect``, then its
captures (each must find a value) and its checks (each must match). A step that fails
any of them is recorded as a failure ("HTTP 404", "content check: ...") and ends the
journey, as a citizen stops at an error page.

The session's captures (the login's token, a CSRF cookie) stay for every journey of
the session; a journey's own captures last for that journey.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from locust.exception import StopUser

from dvcschema.journeys import DeclaredTraffic, Journey, Request, Step, Think
from dvcschema.pyjourneys import PythonTraffic
from dvcschema.templates import Template, as_text, is_json, parse_json
from loadgen.visit import Visit, send
from loadgen.wire import is_absolute


@dataclass
class SessionState:
    """What one citizen's session holds between steps."""

    citizen: Mapping[str, Any]
    captured: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    last_dossier: str = ""  # the last dossier a `record: dossier` step noted

    @property
    def state(self) -> Mapping[str, Any]:
        """What the session's steps captured (what a journey's ``when`` may read)."""
        return self.captured


@dataclass(frozen=True)
class DeclaredJourneys:
    """A scenario's declared traffic, runnable: ``start`` a session, ``run`` journeys."""

    traffic: DeclaredTraffic
    env: Mapping[str, str]
    trace: Callable[[Request, dict[str, Any]], None] | None = None  # after each step

    def start(self, visit: Visit, citizen: Mapping[str, Any]) -> SessionState | None:
        """Run the session's steps (the login); the state, or ``None`` when one failed."""
        state = SessionState(citizen)
        if not self._steps(visit, state, self.traffic.session.steps, state.captured):
            return None
        state.headers = {
            name: template.render(state.captured, citizen, self.env)
            for name, template in self.traffic.session.headers.items()
        }
        return state

    def run(self, visit: Visit, state: SessionState, name: str) -> bool:
        """Run journey ``name``; ``True`` when every step succeeded."""
        journey: Journey = self.traffic.journeys[name]
        captured = dict(state.captured)  # the journey's captures end with it
        return self._steps(visit, state, journey.steps, captured)

    def _steps(
        self, visit: Visit, state: SessionState, steps: tuple[Step, ...], captured: dict[str, Any]
    ) -> bool:
        for step in steps:
            if isinstance(step, Think):
                pause = (
                    step.min_s
                    if step.max_s <= step.min_s
                    else visit.rng.uniform(step.min_s, step.max_s)
                )
                visit.conduct.sleep(pause)
                continue
            result = self._request(visit, state, step, captured)
            if result is None:
                return False
            captured.update(result)
            self._record(visit, state, step, result)
            if self.trace is not None:
                self.trace(step, result)
        return True

    def _request(
        self, visit: Visit, state: SessionState, step: Request, captured: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        render = _Renderer(captured, state.citizen, self.env)
        if step.headers:
            headers = {**state.headers, **{k: render(v) for k, v in step.headers.items()}}
        else:
            headers = state.headers
        kwargs: dict[str, Any] = {"headers": headers} if headers else {}
        if step.body_kind is not None:
            kwargs.update(_body(step, render, visit))
        target = render(step.path)
        try:
            return send(
                visit,
                step.method,
                target,
                step.label,
                inspect=lambda resp: self._inspect(resp, step, render, visit),
                **kwargs,
            )
        except StopUser:
            if is_absolute(target):
                return None  # a captured URL off the target: refused, not sent; the journey ends
            raise  # the target itself is refused: this user stops (loadgen.wire)

    def _inspect(
        self, resp: Any, step: Request, render: _Renderer, visit: Visit
    ) -> tuple[str | None, Any]:
        if not step.accepts(resp.status_code):
            return f"HTTP {resp.status_code}", None
        reads = step.reads
        if not reads:
            return None, {}
        body = None
        if "json" in reads:
            body = parse_json(resp.content)  # bytes: no text decoding on the way
            if not is_json(body):
                return "content check: body is not JSON", None
        cookies = _cookies(visit.client, resp) if "cookie" in reads else {}
        found: dict[str, Any] = {}
        for capture in step.captures:
            values = capture.extractor.find(resp, body, cookies)
            if not values:
                return (
                    f"content check: capture {capture.name} ({capture.extractor}) found nothing",
                    None,
                )
            found[capture.name] = capture.choose(values, visit.rng)
        render = render.with_values(found)
        for check in step.checks:
            expected = render(check.expected)
            values = check.extractor.find(resp, body, cookies)
            if not any(as_text(v) == expected for v in values):
                seen = as_text(values[0])[:80] if values else "nothing"
                return f"content check: {check.extractor} is {seen!r}, expected {expected!r}", None
        return None, found

    def _record(
        self, visit: Visit, state: SessionState, step: Request, found: dict[str, Any]
    ) -> None:
        """``record: dossier`` notes the step's first capture as a dossier the target
        acknowledged; ``record: payment`` notes it as a payment the target confirmed,
        for the last dossier this session noted."""
        if step.record is None or not found:
            return
        value = as_text(next(iter(found.values())))
        if step.record == "dossier":
            visit.ledger.dossier_acknowledged(value, str(state.citizen.get("cccd", "")))
            state.last_dossier = value
        elif step.record == "payment":
            visit.ledger.payment_confirmed(value, state.last_dossier)


class _Renderer:
    """Templates rendered from one step's values (a plain class: one per request)."""

    __slots__ = ("captured", "citizen", "env")

    def __init__(
        self, captured: Mapping[str, Any], citizen: Mapping[str, Any], env: Mapping[str, str]
    ) -> None:
        self.captured, self.citizen, self.env = captured, citizen, env

    def __call__(self, template: Template) -> str:
        if template.static is not None:  # no placeholder: the text itself
            return template.static
        return template.render(self.captured, self.citizen, self.env)

    def with_values(self, found: Mapping[str, Any]) -> _Renderer:
        return _Renderer({**self.captured, **found}, self.citizen, self.env)


def _body(step: Request, render: _Renderer, visit: Visit) -> dict[str, Any]:
    if step.body_kind is None:
        return {}
    if step.body_kind == "body":
        return {"data": render(step.body).encode("utf-8")}
    if step.body_kind == "form":
        return {"data": {k: _rendered(v, render) for k, v in step.body.items()}}
    if step.body_kind == "json":
        return {"json": _rendered(step.body, render)}
    files = {}
    for form_field, kind in step.body.items():
        data, content_type = visit.attachments.body(kind, 5_000_000, visit.rng)
        files[form_field] = (f"{form_field}.{kind}", data, content_type)
    return {"files": files}  # encoded as multipart by send()


def _rendered(value: Any, render: _Renderer) -> Any:
    if isinstance(value, Template):
        return render(value)
    if isinstance(value, dict):
        return {k: _rendered(v, render) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v, render) for v in value]
    return value


def _cookies(client: Any, resp: Any) -> dict[str, str]:
    """The session's cookies after this response (the client's jar, if it keeps one)."""
    jar = getattr(client, "cookiejar", None)
    cookies = {c.name: c.value for c in jar} if jar is not None else {}
    for header in _set_cookie_headers(resp):
        name, _, rest = header.partition("=")
        if name.strip():
            cookies.setdefault(name.strip(), rest.split(";", 1)[0].strip())
    return cookies


def _set_cookie_headers(resp: Any) -> list[str]:
    headers = getattr(resp, "headers", None)
    if headers is None:
        return []
    get_all = getattr(headers, "get_all", None) or getattr(headers, "getlist", None)
    if get_all is not None:
        return list(get_all("Set-Cookie") or [])
    value = headers.get("Set-Cookie") if hasattr(headers, "get") else None
    return [value] if value else []


class Session(Protocol):
    """A running session, declared or Python: the citizen and what it holds."""

    @property
    def citizen(self) -> Mapping[str, Any]: ...

    @property
    def state(self) -> Mapping[str, Any]: ...


def pick_journey(
    traffic: DeclaredTraffic | PythonTraffic,
    weights: Mapping[str, float],
    session: Session,
    rng: random.Random,
) -> str | None:
    """A journey by the mix's weights among those whose ``when`` admits the session's
    citizen (and, for a Python journey's ``when`` function, what the session holds)."""
    names = [
        n
        for n, w in weights.items()
        if w > 0 and traffic.journeys[n].applies_to(session.citizen, session.state)
    ]
    if not names:
        return None
    return rng.choices(names, weights=[weights[n] for n in names])[0]
