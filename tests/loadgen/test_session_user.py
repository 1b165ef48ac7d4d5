"""The open model's session user: what it does with what the dispatcher hands it."""

from __future__ import annotations

import time
from http.cookiejar import Cookie, CookieJar
from types import SimpleNamespace
from typing import Any

import pytest
from locust.exception import StopUser

from loadgen import users
from loadgen.arrivals import Ticket
from loadgen.users import SessionUser


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", False,
                  False, None, False, None, None, {})  # fmt: skip


def _fake_user(ticket: Ticket | None) -> tuple[Any, list[dict[str, Any]]]:
    """A user whose ticket arrives after the stop has begun (the workload drains); its
    session opens with ``users.login`` (patched by each test)."""
    sessions: list[dict[str, Any]] = []
    workload = SimpleNamespace(
        draining=True,
        recorder=SimpleNamespace(record_session=lambda **kw: sessions.append(kw)),
    )
    user = SimpleNamespace(
        tickets=SimpleNamespace(get=lambda: ticket),
        _workload=lambda: workload,
        new_visit=lambda: "visit",
        open_session=lambda visit: users.login(visit),  # noqa: PLW0108 - read when called
        run_journey=lambda visit: visit == "visit",
        client=SimpleNamespace(cookiejar=CookieJar()),
    )
    return user, sessions


def test_a_ticket_handed_over_before_the_stop_runs_even_when_the_stop_came_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dispatcher counted it as started; dropping it would lose a session in the count."""
    monkeypatch.setattr(users, "login", lambda visit: True)
    user, sessions = _fake_user(Ticket(1, time.time() - 0.01))
    user.client.cookiejar.set_cookie(_cookie("csrftoken", "of-the-last-citizen"))
    SessionUser.session(user)
    assert list(user.client.cookiejar) == []  # each session starts with no cookie
    assert len(sessions) == 1
    assert sessions[0]["ok"] is True
    assert sessions[0]["corrected_ms"] >= sessions[0]["raw_ms"]
    assert sessions[0]["start_delay_ms"] >= 10.0


def test_the_wake_up_at_the_stop_ends_the_user_without_a_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(users, "login", lambda visit: pytest.fail("no session may start"))
    user, sessions = _fake_user(None)
    with pytest.raises(StopUser):
        SessionUser.session(user)
    assert sessions == []
