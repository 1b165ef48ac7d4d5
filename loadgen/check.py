"""One slow session of each journey, every step printed: what an operator runs first
against a new portal (``dvcload check``).

The requests are the load's own: the same user class, client, target policy, ceiling,
retries and content checks, through Locust's request event, so that what ``check``
shows is what a run will do. Each journey gets a fresh citizen (one its ``when``
admits, for declared journeys), logs in, and runs once; each request prints its name,
status and time, each declared step what it captured, and a failing step an excerpt of
the response. Nothing is measured into histograms or written to results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import gevent
from locust.env import Environment

from loadgen import eventloop
from loadgen.users import CitizenUser
from loadgen.visit import Visit
from loadgen.workload import Workload

EXCERPT_CHARS = 400
MAX_CITIZENS_TRIED = 200  # for a journey whose `when` admits few citizens


def check_journeys(
    workload: Workload, host: str, *, say: Callable[[str], None], pause_s: float = 0.3
) -> bool:
    """Run each journey of ``workload`` once against ``host``; ``True`` when all pass."""
    eventloop.prepare(workload.policy)
    env = Environment(host=host)
    env.events.request.add_listener(_printer(say))
    engine = workload.traffic
    if engine is not None:
        workload.traffic = dataclasses.replace(
            engine, trace=lambda step, found: say(_captured(found))
        )
    user_class = CitizenUser.configure(workload)
    user_class.host = host
    user = user_class(env)
    passed = [_check_one(user, workload, name, say, pause_s) for name in workload.journeys]
    return all(passed)


def _check_one(
    user: Any, workload: Workload, name: str, say: Callable[[str], None], pause_s: float
) -> bool:
    """One session of journey ``name``, with a citizen its ``when`` admits (asked
    before the login on the citizen's fields, and after it on what the session holds)."""
    assert workload.traffic is not None
    journey = workload.traffic.traffic.journeys[name]
    say(f"journey {name}")
    static = not callable(getattr(journey, "when", None))  # else asked after the login
    for _ in range(MAX_CITIZENS_TRIED):
        visit: Visit = user.new_visit()
        if static and not journey.applies_to(visit.citizen.as_dict()):
            continue
        _slow(visit, pause_s)
        if not user.open_session(visit):
            say(f"  ✘ {name} failed: the session did not start")
            return False
        if not journey.applies_to(visit.session.citizen, visit.session.state):
            continue  # logged in, but not admitted (e.g. the login said level 1)
        ok = _run(workload, visit, name)
        say(f"  {'✔' if ok else '✘'} {name} {'completed' if ok else 'failed'}")
        return ok
    say(f"  ✘ no citizen among the first {MAX_CITIZENS_TRIED} is admitted by its 'when'")
    return False


def _slow(visit: Visit, pause_s: float) -> None:
    """A pause before each request (after the ceiling's), so that a check is gentle."""
    pace = visit.conduct.pace

    def paced() -> None:
        pace()
        gevent.sleep(pause_s)

    visit.conduct.pace = paced


def _run(workload: Workload, visit: Visit, name: str) -> bool:
    assert workload.traffic is not None
    return workload.traffic.run(visit, visit.session, name)


def _printer(say: Callable[[str], None]) -> Callable[..., None]:
    def on_request(**event: Any) -> None:
        request_type, name = event.get("request_type", ""), event.get("name", "")
        response_time, response = event.get("response_time") or 0.0, event.get("response")
        exception, url = event.get("exception"), event.get("url")
        status = getattr(response, "status_code", None)
        shown = f"{request_type} {url or name}"
        line = f"  {'✘' if exception else '→'} {shown} · {status or '-'} · {response_time:.0f} ms"
        say(line if exception is None else f"{line} · {exception}")
        if exception is not None and response is not None:
            text = (getattr(response, "text", None) or "")[:EXCERPT_CHARS]
            if text:
                say("    response: " + " ".join(text.split()))

    return on_request


def _captured(found: dict[str, Any]) -> str:
    if not found:
        return "    (nothing captured)"
    shown = ", ".join(f"{k}={str(v)[:60]!r}" for k, v in found.items())
    return f"    captured {shown}"
