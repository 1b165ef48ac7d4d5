"""The wire guard: a real loopback HTTP server, a real Locust user with the guarded
client. Redirects are recorded, not followed (unless opted in, and then only to
allowed hosts, each hop paced); a refused host is never sent to, its request is
recorded as failed and the user stops. The one address outside loopback used here
(203.0.113.7, a documentation address) is refused before any socket is opened."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from locust.env import Environment
from locust.event import Events
from locust.exception import StopUser

from dvcschema.target import TargetPolicy
from loadgen.pacing import RateCeiling
from loadgen.wire import GuardedAgent, GuardedHttpUser, TargetRefusedError

OUTSIDE = "http://203.0.113.7/"


@dataclass
class Server:
    """A loopback server answering every request per ``location`` (3xx) or 200."""

    port: int = 0
    location: str | None = None
    status: int = 302
    paths: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            if state.location is None:
                self.send_response(200)
            else:
                self.send_response(state.status)
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET  # noqa: N815 - http.server's naming

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _user(host: str, policy: TargetPolicy, ceiling: RateCeiling | None = None) -> Any:
    events: list[dict[str, Any]] = []
    env = Environment(events=Events(), host=host)
    env.events.request.add_listener(lambda **kw: events.append(kw))
    attrs = {"abstract": False, "policy": policy, "ceiling": ceiling, "host": host}
    user_class = type("U", (GuardedHttpUser,), attrs)
    user = user_class(env)
    user.recorded = events
    return user


def test_a_redirect_off_box_is_recorded_as_a_3xx_and_not_followed(server: Server) -> None:
    server.location = OUTSIDE
    user = _user(server.url, TargetPolicy())
    response = user.client.get("/login", name="login")
    assert response.status_code == 302
    assert server.paths == ["/login"]
    assert isinstance(user.client.client, GuardedAgent)


@pytest.mark.parametrize("status", [302, 307])
def test_a_followed_redirect_to_a_refused_host_is_never_sent_and_stops_the_user(
    server: Server, status: int
) -> None:
    server.location, server.status = OUTSIDE, status
    user = _user(server.url, TargetPolicy(follow_redirects=True))
    response = user.client.post("/login", data="passcode=654321", name="login")
    assert isinstance(response.error, TargetRefusedError)
    assert "203.0.113.7" in str(response.error)
    assert user.recorded[-1]["exception"] is not None  # recorded as a failed request
    with pytest.raises(StopUser):
        user.client.get("/next")
    assert server.paths == ["/login"]


def test_a_caller_cannot_raise_max_redirects_past_the_policy(server: Server) -> None:
    server.location = "/again"
    user = _user(server.url, TargetPolicy())
    response = user.client.get("/start", max_redirects=30)
    assert response.status_code == 302 and server.paths == ["/start"]


def test_followed_hops_are_wire_requests_that_take_tokens(server: Server) -> None:
    server.location = "/again"
    ceiling = RateCeiling(1000.0, burst=1000.0)
    user = _user(server.url, TargetPolicy(follow_redirects=True), ceiling)
    user.client.get("/start")
    hops = len(server.paths)
    assert hops == 1 + TargetPolicy(follow_redirects=True).max_redirects
    assert ceiling.acquired == hops  # the first from the session, every hop from the agent


def test_one_token_per_plain_request(server: Server) -> None:
    ceiling = RateCeiling(1000.0, burst=1000.0)
    user = _user(server.url, TargetPolicy(), ceiling)
    for _ in range(5):
        assert user.client.get("/ok").status_code == 200
    assert ceiling.acquired == 5 == len(server.paths)


@pytest.mark.parametrize(
    "host", ["http://203.0.113.7", "http://localhost.localdomain:1", "http://localhost.:1"]
)
def test_a_refused_host_is_recorded_and_stops_the_user_without_a_socket(host: str) -> None:
    user = _user(host, TargetPolicy())
    with pytest.raises(StopUser):
        user.client.post("/auth/login", data="passcode=654321", name="POST /auth/login")
    [event] = user.recorded
    assert event["name"] == "POST /auth/login"
    assert isinstance(event["exception"], TargetRefusedError)
    assert user.client.client.clientpool.clients == {}  # no connection pool was made


def test_an_absolute_url_to_a_refused_host_is_refused(server: Server) -> None:
    user = _user(server.url, TargetPolicy())
    with pytest.raises(StopUser):
        user.client.get(OUTSIDE + "x")
    assert server.paths == []


def test_a_proxy_outside_the_policy_is_refused(server: Server) -> None:
    events = Environment(events=Events(), host=server.url)
    attrs = {"abstract": False, "proxy_host": "203.0.113.7", "proxy_port": 3128, "host": server.url}
    user = type("P", (GuardedHttpUser,), attrs)(events)
    with pytest.raises(StopUser):
        user.client.get("/x")
    assert server.paths == []


def test_a_user_whose_host_is_refused_ends_at_once_with_one_recorded_failure() -> None:
    user = _user("http://203.0.113.7:8080", TargetPolicy())
    import gevent.pool

    greenlet = user.start(gevent.pool.Group())  # returns at once: no on_start, no task
    greenlet.join(timeout=5)
    assert greenlet.dead
    [event] = user.recorded
    assert isinstance(event["exception"], TargetRefusedError)
    assert user.client.client.clientpool.clients == {}


def test_a_prepaid_token_is_the_next_requests_and_is_not_taken_twice(server: Server) -> None:
    ceiling = RateCeiling(1000.0, burst=1000.0)
    user = _user(server.url, TargetPolicy(), ceiling)
    user.client.prepay()
    user.client.prepay()  # idempotent until a request uses it
    assert ceiling.acquired == 1
    user.client.get("/ok")
    assert ceiling.acquired == 1 and len(server.paths) == 1
    user.client.get("/ok")
    assert ceiling.acquired == 2
