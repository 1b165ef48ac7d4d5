"""The open model's session user: what it does with what the dispatcher hands it."""

from __future__ import annotations

import time
from http.cookiejar import Cookie, CookieJar
from types import SimpleNamespace
from typing import Any

import pytest
from locust.exception import StopUser

from loadgen.arrivals import Ticket
from loadgen.users import SessionUser


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", False,
                  False, None, False, None, None, {})  # fmt: skip


def _fake_user(
    ticket: Ticket | None, open_session: Any, think_s: float = 0.0
) -> tuple[Any, list[dict[str, Any]]]:
    """A user whose ticket arrives after the stop has begun (the workload drains); its
    session opens with ``open_session`` and its citizen thinks ``think_s``."""
    sessions: list[dict[str, Any]] = []
    workload = SimpleNamespace(
        draining=True,
        recorder=SimpleNamespace(record_session=lambda **kw: sessions.append(kw)),
        think_s=lambda rng, literacy: think_s,
    )
    visit = SimpleNamespace(rng=None, citizen=SimpleNamespace(literacy="medium"))
    user = SimpleNamespace(
        tickets=SimpleNamespace(get=lambda: ticket),
        _workload=lambda: workload,
        new_visit=lambda: visit,
        open_session=open_session,
        run_journey=lambda v: v is visit,
        client=SimpleNamespace(cookiejar=CookieJar()),
    )
    user.think = lambda v: SessionUser.think(user, v)
    return user, sessions


def test_a_ticket_handed_over_before_the_stop_runs_even_when_the_stop_came_first() -> None:
    """The dispatcher counted it as started; dropping it would lose a session in the count."""
    user, sessions = _fake_user(Ticket(1, time.time() - 0.01), lambda visit: True)
    user.client.cookiejar.set_cookie(_cookie("csrftoken", "of-the-last-citizen"))
    SessionUser.session(user)
    assert list(user.client.cookiejar) == []  # each session starts with no cookie
    assert len(sessions) == 1
    assert sessions[0]["ok"] is True
    assert sessions[0]["corrected_ms"] >= sessions[0]["raw_ms"]
    assert sessions[0]["start_delay_ms"] >= 10.0


def test_the_wake_up_at_the_stop_ends_the_user_without_a_session() -> None:
    user, sessions = _fake_user(None, lambda visit: pytest.fail("no session may start"))
    with pytest.raises(StopUser):
        SessionUser.session(user)
    assert sessions == []


def test_the_open_model_honours_think_time_inside_the_session() -> None:
    """After the login the citizen reads the page for ``load.think_time``, as between
    journeys in the closed model: the session lasts at least that long."""
    order: list[str] = []

    def login(visit: Any) -> bool:
        order.append(f"login {time.perf_counter():.6f}")
        return True

    user, sessions = _fake_user(Ticket(1, time.time()), login, think_s=0.2)
    journey = user.run_journey
    user.run_journey = lambda v: order.append(f"journey {time.perf_counter():.6f}") or journey(v)
    SessionUser.session(user)
    (_, logged_in), (_, journeyed) = (entry.split() for entry in order)
    assert float(journeyed) - float(logged_in) >= 0.19
    assert sessions[0]["ok"] is True and sessions[0]["raw_ms"] >= 190.0
