"""The ``http`` object of Python journeys: names, queries, checks, refusals, errors."""

from __future__ import annotations

import json
import random
import socket
from contextlib import contextmanager
from typing import Any

import gevent.socket
import pytest
from locust.event import Events
from locust.exception import StopUser

from dvcschema.pyjourneys import JourneyFailed, PyJourney
from dvcschema.target import TargetPolicy
from loadgen.pyjourneys import Http, PySession, StepFailed, _call
from loadgen.visit import Conduct, Visit
from loadgen.wire import GuardedSession


class Answer:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.content = json.dumps(body).encode()
        self.text = self.content.decode()
        self.headers = {"Content-Type": "application/json"}
        self.outcome = ""

    def success(self) -> None:
        self.outcome = "success"

    def failure(self, why: Any) -> None:
        self.outcome = f"failure: {why}"


class Client:
    """Records each request and answers the next scripted response."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, *, name: str, **kwargs: Any) -> Any:
        self.sent.append((method, url, name, kwargs))
        answer = self.answers.pop(0)

        @contextmanager
        def cm() -> Any:
            yield answer

        return cm()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> tuple[GuardedSession, list[str]]:
    """A guarded session for 127.0.0.1 under the default policy, in a process that may
    open no connection at all, and the failures it records."""

    def no_connection(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a connection was attempted: {args}")

    for module in (socket, gevent.socket):  # nothing may leave this process
        monkeypatch.setattr(module, "create_connection", no_connection)
    events = Events()
    failures: list[str] = []
    events.request.add_listener(
        lambda exception=None, **_: failures.append(str(exception)) if exception else None
    )
    session = GuardedSession(
        "http://127.0.0.1:9", events.request, None, policy=TargetPolicy(), ceiling=None
    )
    return session, failures


def _http(client: Any) -> Http:
    visit = Visit(
        client=client, citizen=None, rng=random.Random(1), services={"a": 1.0},
        attachments=None, ledger=None, conduct=Conduct(),  # type: ignore[arg-type]
    )  # fmt: skip
    return Http(visit)


def test_a_request_is_named_after_its_template_and_its_values_are_encoded() -> None:
    client = Client(Answer(200, {"ok": 1}), Answer(200, {}), Answer(200, {}))
    http = _http(client)
    http.headers["Authorization"] = "Bearer t"
    http.get("/ho-so/{code}", values={"code": "HS 1/2"}, params={"cccd": "001"})
    http.get("/tra-cuu?ma={code}&x=1", values={"code": "Đ 1"})
    http.post("/ho-so", name="nop ho so", headers={"X": "1"})
    (m1, url1, name1, kw1), (_, url2, name2, _), (m3, _, name3, kw3) = client.sent
    assert (m1, url1, name1) == ("GET", "/ho-so/HS%201%2F2?cccd=001", "/ho-so/[code]")
    assert (url2, name2) == ("/tra-cuu?ma=%C4%90%201&x=1", "/tra-cuu")
    assert (m3, name3) == ("POST", "nop ho so")
    assert kw1["headers"] == {"Authorization": "Bearer t"}
    assert kw3["headers"] == {"Authorization": "Bearer t", "X": "1"}


def test_the_reply_parses_json_once_and_a_failing_check_is_a_content_check() -> None:
    answer = Answer(200, {"trang_thai": "moi"})
    http = _http(Client(answer))
    seen: list[Any] = []

    def check(reply: Any) -> str | None:
        seen.append(reply.json())
        return None if reply.json()["trang_thai"] == "da_duyet" else "trang_thai"

    with pytest.raises(StepFailed):
        http.get("/ho-so/1", check=check)
    assert answer.outcome == "failure: content check: trang_thai"
    assert seen == [{"trang_thai": "moi"}]


def test_a_check_that_raises_fails_its_request_instead_of_the_user() -> None:
    answer = Answer(200, [1, 2])
    with pytest.raises(StepFailed):
        _http(Client(answer)).get("/x", check=lambda r: r.json()["missing"])
    assert answer.outcome.startswith("failure: content check: TypeError")


def test_expect_lists_the_statuses_accepted() -> None:
    answers = (Answer(201, {}), Answer(200, {}))
    http = _http(Client(*answers))
    assert http.post("/x", expect=(200, 201)).status == 201
    with pytest.raises(StepFailed):
        http.post("/x", expect=201)
    assert answers[1].outcome == "failure: HTTP 200"


def test_an_absolute_url_outside_the_policy_is_refused_never_sent_and_ends_the_journey(
    offline: tuple[GuardedSession, list[str]],
) -> None:
    session, failures = offline
    http = _http(session)
    with pytest.raises(StepFailed, match="refused, not sent"):
        http.get("http://203.0.113.7/steal?cccd=001203012345")
    assert len(failures) == 1 and "not sent" in failures[0]


def test_an_error_in_the_journeys_own_code_fails_the_journey_and_is_counted() -> None:
    http = _http(Client())

    def buggy(citizen: Any, http: Any) -> None:
        raise KeyError("ma_ho_so")

    def refused(citizen: Any, http: Any) -> None:
        raise StopUser

    def failed(citizen: Any, http: Any) -> None:
        raise JourneyFailed("no dossier")

    session = PySession({}, http)
    assert _call(buggy, session) is False and http.visit.errors == 1
    assert _call(failed, session) is False and http.visit.errors == 1
    with pytest.raises(StopUser):  # Locust's own control flow passes through
        _call(refused, session)


def test_a_when_function_sees_the_citizen_and_the_sessions_state() -> None:
    journey = PyJourney("payment", lambda c, h: None, lambda citizen, state: state["level"] == 2)
    assert journey.applies_to({}, {"level": 2}) and not journey.applies_to({}, {"level": 1})
    fields = PyJourney("status", lambda c, h: None, {"vneid_level": "2"})
    assert fields.applies_to({"vneid_level": 2}) and not fields.applies_to({"vneid_level": 1})


def test_a_check_may_answer_true_false_or_what_is_wrong() -> None:
    answers = [Answer(200, {"ok": True}) for _ in range(4)]
    http = _http(Client(*answers))
    assert http.get("/a", check=lambda r: r.json()["ok"]).status_code == 200  # True: right
    assert http.get("/a", check=lambda r: None).status == 200
    with pytest.raises(StepFailed):
        http.get("/a", check=lambda r: False)
    with pytest.raises(StepFailed):
        http.get("/a", check=lambda r: "trang_thai is not moi")
    assert answers[2].outcome == "failure: content check: check failed on /a"
    assert answers[3].outcome == "failure: content check: trang_thai is not moi"


def test_declared_record_steps_note_dossiers_and_their_payments_in_the_ledger() -> None:
    from dvcschema.fields import Fields
    from dvcschema.journeys import Context, parse_traffic
    from dvcschema.yamlio import parse_yaml
    from loadgen.declared import DeclaredJourneys

    text = """\
journeys:
  pay:
    steps:
      - post: /ho-so
        capture: {code: "json:$.ma"}
        record: dossier
      - post: /ho-so/{code}/thanh-toan
        capture: {paid: "json:$.ma_gd"}
        record: payment
"""
    data = parse_yaml(text, "s.yaml")
    journeys = Fields(data, source="s.yaml").section("journeys")
    traffic = parse_traffic(None, journeys, Context(citizen_fields=frozenset({"cccd"}), env={}))
    notes: list[tuple[str, ...]] = []
    ledger = type("L", (), {
        "dossier_acknowledged": lambda self, code, cccd: notes.append(("dossier", code, cccd)),
        "payment_confirmed": lambda self, pid, code: notes.append(("payment", pid, code)),
    })()  # fmt: skip
    client = Client(Answer(201, {"ma": "HS-1"}), Answer(200, {"ma_gd": "GD-9"}))
    visit = _http(client).visit
    visit.ledger = ledger
    engine = DeclaredJourneys(traffic, {})
    state = engine.start(visit, {"cccd": "001203012345"})
    assert state is not None and engine.run(visit, state, "pay")
    assert client.sent[1][1] == "/ho-so/HS-1/thanh-toan"
    assert notes == [("dossier", "HS-1", "001203012345"), ("payment", "GD-9", "HS-1")]


def test_a_declared_step_to_a_captured_url_off_the_target_is_refused_not_sent(
    offline: tuple[GuardedSession, list[str]],
) -> None:
    from dvcschema.fields import Fields
    from dvcschema.journeys import Context, parse_traffic
    from dvcschema.yamlio import parse_yaml
    from loadgen.declared import DeclaredJourneys

    text = 'journeys:\n  follow:\n    steps:\n      - get: "{citizen.next}"\n'
    journeys = Fields(parse_yaml(text, "s.yaml"), source="s.yaml").section("journeys")
    context = Context(citizen_fields=frozenset({"next"}), env={})
    engine = DeclaredJourneys(parse_traffic(None, journeys, context), {})
    session, failures = offline
    visit = _http(session).visit
    state = engine.start(visit, {"next": "http://203.0.113.7/steal"})
    assert state is not None
    assert engine.run(visit, state, "follow") is False  # the journey ends; the user goes on
    assert len(failures) == 1 and "not sent" in failures[0]
