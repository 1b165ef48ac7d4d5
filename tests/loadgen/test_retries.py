"""Backoff with full jitter, and the retry loop's decisions."""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Any

import pytest

from dvcschema.load import RetryPolicy
from dvcschema.routes import Route
from loadgen.visit import Conduct, Visit, backoff_s, send

GET_X, POST_X = Route("GET", "/x"), Route("POST", "/x")


def call(
    visit: Visit, route: Route, *, expect: int = 200, keys: tuple[str, ...] = (), **kwargs: Any
) -> Any:
    """``route`` sent through :func:`send`, its JSON body checked for ``keys``."""

    def inspect(resp: Any) -> tuple[str | None, Any]:
        if resp.status_code != expect:
            return f"HTTP {resp.status_code}", None
        body = resp.json()
        missing = [k for k in keys if k not in body]
        return (
            (f"content check: body lacks {', '.join(missing)}", None) if missing else (None, body)
        )

    return send(visit, route.method, route.path(), route.path_name, inspect=inspect, **kwargs)


def test_full_jitter_backoff_stays_within_its_cap() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=0.5, backoff_max_s=4.0)
    rng = random.Random(1)
    for retry, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0)]:
        values = [backoff_s(policy, retry, rng) for _ in range(2000)]
        assert min(values) >= 0.0 and max(values) <= cap
        assert sum(values) / len(values) == pytest.approx(cap / 2, rel=0.08)


class ScriptedResponse:
    def __init__(self, status: int, body: Any = None, retry_after: str | None = None) -> None:
        self.status_code = status
        self._body = body
        self.headers = {"Retry-After": retry_after} if retry_after else {}
        self.error = TimeoutError("timed out") if status == 0 else None
        self.outcome: str | None = None

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no body")
        return self._body

    def success(self) -> None:
        self.outcome = "success"

    def failure(self, why: Any) -> None:
        self.outcome = f"failure: {why}"


class ScriptedClient:
    """Answers each request with the next scripted response (the retry loop's input)."""

    def __init__(self, responses: list[ScriptedResponse]) -> None:
        self.responses = responses
        self.sent = 0

    @contextmanager
    def _cm(self, resp: ScriptedResponse) -> Any:
        yield resp

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        resp = self.responses[self.sent]
        self.sent += 1
        return self._cm(resp)


def _visit(client: ScriptedClient, retries: int, sleeps: list[float]) -> Visit:
    conduct = Conduct(
        retries=RetryPolicy(max_retries=retries, backoff_s=0.1, backoff_max_s=1),
        sleep=sleeps.append,
    )
    return Visit(
        client=client,
        citizen=None,
        rng=random.Random(0),
        services={},  # type: ignore[arg-type]
        attachments=None,
        ledger=None,
        conduct=conduct,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [503, 429])
def test_503_and_429_are_retried_honouring_retry_after(status: int) -> None:
    client = ScriptedClient(
        [ScriptedResponse(status, retry_after="2"), ScriptedResponse(200, {"a": 1})]
    )
    sleeps: list[float] = []
    visit = _visit(client, retries=2, sleeps=sleeps)
    assert call(visit, GET_X, keys=("a",)) == {"a": 1}
    assert client.sent == 2 and sleeps == [2.0] and visit.retries == 1
    assert client.responses[0].outcome == f"failure: HTTP {status}"


def test_timeouts_are_retried_and_classified() -> None:
    client = ScriptedClient([ScriptedResponse(0), ScriptedResponse(0), ScriptedResponse(0)])
    visit = _visit(client, retries=2, sleeps=[])
    assert call(visit, GET_X) is None
    assert client.sent == 3
    assert client.responses[0].outcome is not None
    assert client.responses[0].outcome.startswith("failure: timeout")


def test_client_errors_and_content_failures_are_not_retried() -> None:
    client = ScriptedClient([ScriptedResponse(422, {"error": "bad"})])
    assert call(_visit(client, retries=3, sleeps=[]), POST_X, expect=201) is None
    assert client.sent == 1
    client = ScriptedClient([ScriptedResponse(200, {"wrong": 1})])
    assert call(_visit(client, retries=3, sleeps=[]), GET_X, keys=("a",)) is None
    assert client.sent == 1
    assert client.responses[0].outcome == "failure: content check: body lacks a"


def test_the_scenarios_http_headers_go_with_every_request_a_requests_own_win() -> None:
    sent: list[dict[str, Any]] = []

    class Recording(ScriptedClient):
        def request(self, method: str, url: str, **kwargs: Any) -> Any:
            sent.append(kwargs.get("headers") or {})
            return super().request(method, url, **kwargs)

    client = Recording([ScriptedResponse(200, {"a": 1}), ScriptedResponse(200, {"a": 1})])
    visit = _visit(client, retries=0, sleeps=[])
    visit.headers = {"X-Api-Key": "k", "Accept-Language": "vi"}
    call(visit, GET_X, keys=("a",))
    call(visit, GET_X, keys=("a",), headers={"Accept-Language": "en"})
    assert sent == [
        {"X-Api-Key": "k", "Accept-Language": "vi"},
        {"X-Api-Key": "k", "Accept-Language": "en"},
    ]
