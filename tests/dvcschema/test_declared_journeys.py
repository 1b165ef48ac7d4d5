"""Declared journeys are checked before any load (:mod:`dvcschema.journeys`), and their
templates and extractors read what a response holds (:mod:`dvcschema.templates`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from dvcschema.errors import ConfigError
from dvcschema.fields import Fields
from dvcschema.journeys import Context, Request, Think, parse_traffic
from dvcschema.templates import Extractor, JsonPath, Template
from dvcschema.yamlio import parse_yaml

CONTEXT = Context(
    citizen_fields=frozenset({"cccd", "full_name", "vneid_level", "phone"}),
    env={"DVCLOAD_PASSCODE": "123456", "RELEASE": "r1"},
)
ISSUE_EXAMPLE = """\
session:
  steps:
    - post: /api/v1/auth/token
      form: {username: "{citizen.cccd}", password: "{env.DVCLOAD_PASSCODE}"}
      expect: 200
      capture: {token: "json:$.access_token", csrf: "cookie:csrftoken"}
  headers: {Authorization: "Bearer {token}", X-CSRF-Token: "{csrf}"}
journeys:
  filing:
    steps:
      - get: /api/v1/thu-tuc
        capture: {service: {json: "$[*].ma", pick: random}}
      - think: {min: 1s, max: 3s}
      - post: /api/v1/ho-so
        json: {ma_thu_tuc: "{service}", cccd: "{citizen.cccd}", ho_ten: "{citizen.full_name}"}
        expect: 201
        capture: {code: "json:$.ma_ho_so"}
        check: {"json:$.trang_thai": "moi"}
        record: dossier
        tags: [write]
      - get: "/api/v1/ho-so/{code}?cccd={citizen.cccd}"
      - get: /bien-nhan/{code}
        check: {"regex:id=\\"ma\\">([^<]+)<": "{code}"}
  status:
    when: {vneid_level: 2}
    steps:
      - get: /api/v1/thu-tuc
"""


def _parse(text: str) -> Any:
    top = Fields(parse_yaml(text, "s.yaml"), source="s.yaml")
    journeys = top.section("journeys", required=True)
    assert journeys is not None
    return parse_traffic(top.section("session"), journeys, CONTEXT)


def test_the_issue_example_parses_into_steps_names_and_captures() -> None:
    traffic = _parse(ISSUE_EXAMPLE)
    assert traffic.names == ("filing", "status")
    login = traffic.session.steps[0]
    assert isinstance(login, Request) and login.method == "POST" and login.expect == (200,)
    assert [c.name for c in login.captures] == ["token", "csrf"]
    assert str(traffic.session.headers["Authorization"].variables[0]) == "token"
    filing = traffic.journeys["filing"].steps
    assert isinstance(filing[1], Think) and (filing[1].min_s, filing[1].max_s) == (1.0, 3.0)
    assert traffic.request_names() == [
        "POST /api/v1/auth/token",
        "GET /api/v1/thu-tuc",
        "POST /api/v1/ho-so",
        "GET /api/v1/ho-so/[code]",  # the query string dropped
        "GET /bien-nhan/[code]",
    ]
    submit = filing[2]
    assert isinstance(submit, Request) and submit.record == "dossier"
    assert traffic.tags() == {"POST /api/v1/ho-so": ("write",)}
    assert traffic.journeys["status"].applies_to({"vneid_level": 2})
    assert not traffic.journeys["status"].applies_to({"vneid_level": 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("{env.DVCLOAD_PASSCODE}", "{env.NOT_SET_ANYWHERE}"), "environment variable is not set"),
        (("{citizen.full_name}", "{citizen.shoe_size}"), "not in the population"),
        (("/bien-nhan/{code}", "/bien-nhan/{receipt}"), "{receipt} is used before any step"),
        (('"json:$.trang_thai"', '"json:trang_thai"'), "must start with '$'"),
        (("record: dossier", "record: invoice"), "options are dossier, payment"),
        (("expect: 201", "expect: 2001"), "not an HTTP status"),
        (("pick: random", "pick: last"), "allowed: first, random"),
        (("- think: {min: 1s, max: 3s}", "- think: {min: 3s, max: 1s}"), "below its min"),
        (("tags: [write]", "tags: [write]\n        colour: red"), "unknown key 'colour'"),
        (
            ("- get: /api/v1/thu-tuc\n        capture", "- get: api/v1\n        capture"),
            "starts with",
        ),
        (("([^<]+)<", "[^<]+<"), "has 0 groups"),
        (("when: {vneid_level: 2}", "when: {level: 2}"), "citizen field 'level'"),
    ],
)
def test_every_mistake_is_one_located_line_before_any_load(
    change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in ISSUE_EXAMPLE
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("$", r"\$")) as info:
        _parse(ISSUE_EXAMPLE.replace(old, new, 1))
    assert "\n" not in str(info.value) and "s.yaml:" in str(info.value)


def test_a_step_needs_exactly_one_method() -> None:
    with pytest.raises(ConfigError, match="exactly one of get, post"):
        _parse("journeys:\n  a:\n    steps:\n      - {get: /a, post: /b}\n")
    with pytest.raises(ConfigError, match="exactly one of get, post"):
        _parse("journeys:\n  a:\n    steps:\n      - {expect: 200}\n")


def test_a_capture_of_the_session_is_known_to_every_journey_but_not_the_reverse() -> None:
    text = (
        "session: {steps: [{get: /me, capture: {uid: 'json:$.id'}}]}\n"
        "journeys:\n  a: {steps: [{get: '/u/{uid}', capture: {x: 'json:$.x'}}]}\n"
        "  b: {steps: [{get: '/v/{x}'}]}\n"
    )
    with pytest.raises(ConfigError, match=r"\{x\} is used before"):
        _parse(text)
    assert _parse(text.replace("/v/{x}", "/v/{uid}")).names == ("a", "b")


# -- templates and extractors ----------------------------------------------------------------
def test_templates_render_escape_braces_and_refuse_strays() -> None:
    t = Template.parse('{{"a": "{code}"}}')
    assert t.render({"code": 7}, {}, {}) == '{"a": "7"}'
    for bad in ("{", "a}", "{1x}", "{citizen.}", "{a b}"):
        with pytest.raises(ValueError, match=r"brace|placeholder"):
            Template.parse(bad)
    with pytest.raises(KeyError, match="has no value"):
        Template.parse("{token}").render({}, {}, {})


@dataclass
class _Response:
    text: str | None
    headers: dict[str, str] = field(default_factory=dict)


def test_extractors_read_json_headers_cookies_and_regex() -> None:
    page = _Response('{"items": [{"ma": "a"}, {"ma": "b"}], "n": 2}', {"X-Trace": "t1"})
    assert Extractor.parse("json:$.items[*].ma").find(page) == ["a", "b"]
    assert Extractor.parse('json:$["items"][1].ma').find(page) == ["b"]
    assert Extractor.parse("json:$.missing").find(page) == []
    assert Extractor.parse("header:x-trace").find(page) == ["t1"]  # names are case-blind
    assert Extractor.parse("cookie:csrftoken").find(page, cookies={"csrftoken": "c"}) == ["c"]
    html = _Response('<td id="ma">H01-1</td><td id="ma">H01-2</td>')
    assert Extractor.parse('regex:id="ma">([^<]+)<').find(html) == ["H01-1", "H01-2"]
    assert Extractor.parse("json:$").find(html) == []  # not JSON: nothing found


def test_json_paths_refuse_what_they_cannot_read() -> None:
    for bad in ("items", "$.", "$[x]", "$..a", "$.a[-1]"):
        with pytest.raises(ValueError, match="JSON path"):
            JsonPath.parse(bad)


def test_pick_random_draws_from_the_rng() -> None:
    traffic = _parse(ISSUE_EXAMPLE)
    capture = traffic.journeys["filing"].steps[0].captures[0]
    rng = random.Random(3)
    picks = {capture.choose(["a", "b", "c"], rng) for _ in range(50)}
    assert picks == {"a", "b", "c"}


def test_a_scenario_with_journeys_mixes_only_those_it_declares(tmp_path: Any) -> None:
    from dvcschema.scenario import scenario_from_data

    text = (
        "name: s\ntarget: http://127.0.0.1:9\nduration: 5s\nload: {users: 1}\n"
        "journeys:\n  a: {steps: [{get: /a}]}\n  b: {steps: [{get: /b}]}\n"
    )
    scenario = scenario_from_data(parse_yaml(text, "s.yaml"), source="s.yaml")
    assert scenario.traffic is not None and dict(scenario.mix.journeys) == {"a": 1.0, "b": 1.0}
    data = scenario.as_dict()  # scenario.json, as workers load it
    again = scenario_from_data(data, source=data.pop("source"))
    assert again.traffic == scenario.traffic
    with pytest.raises(ConfigError, match="unknown journey 'filing'; options are a, b"):
        scenario_from_data(
            parse_yaml(text + "mix: {journeys: {filing: 1}}\n", "s.yaml"), source="s.yaml"
        )
    with pytest.raises(ConfigError, match="needs 'journeys'"):
        scenario_from_data(
            parse_yaml(text.split("journeys:", maxsplit=1)[0] + "session: {steps: []}\n", "s.yaml"),
            source="s.yaml",
        )


def test_citizen_fields_are_the_population_exports_columns() -> None:
    from dataclasses import fields

    from dvcschema.journeys import CITIZEN_FIELDS
    from loadgen.citizen import Citizen

    assert tuple(f.name for f in fields(Citizen)) == CITIZEN_FIELDS


def test_the_readme_example_is_a_valid_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from dvcschema.scenario import scenario_from_data

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Declared journeys, in full", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    for name, value in (("DVCLOAD_PASSCODE", "123456"), ("RELEASE", "r1"), ("PORTAL_API_KEY", "k")):
        monkeypatch.setenv(name, value)
    text = "name: readme\nduration: 5s\nload: {users: 2}\n" + example
    scenario = scenario_from_data(parse_yaml(text, "README.md"), source="README.md")
    assert scenario.traffic is not None and scenario.traffic.names == ("filing", "status")
    assert "GET /api/v1/ho-so/[code]" in scenario.traffic.request_names()


def test_http_tls_is_verified_by_default_and_its_ca_file_checked(tmp_path: Any) -> None:
    from dvcschema.scenario import scenario_from_data
    from dvcschema.target import TlsOptions

    base = "name: s\ntarget: https://127.0.0.1:9\nduration: 5s\nload: {users: 1}\n"
    source = str(tmp_path / "s.yaml")

    def parse(extra: str) -> Any:
        return scenario_from_data(parse_yaml(base + extra, source), source=source)

    assert parse("").http.tls == TlsOptions(verify=True, ca_file=None)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMII...\n")
    tls = parse("http: {tls: {ca_file: ca.pem}}").http.tls  # relative to the scenario
    assert tls.verify and tls.ca_file == str(tmp_path / "ca.pem")
    assert not parse("http: {tls: {verify: false}}").http.tls.verify
    for extra, message in [
        ("http: {tls: {ca_file: nowhere.pem}}", "no such file"),
        ("http: {tls: {ca_file: s.yaml}}", "no PEM certificate"),
        ("http: {tls: {verify: false, ca_file: ca.pem}}", "needs verify: true"),
        ("http: {tls: {verify: 'no'}}", "true or false"),
    ]:
        (tmp_path / "s.yaml").write_text(base)
        with pytest.raises(ConfigError, match=message):
            parse(extra)


def test_a_python_module_of_journeys_is_found_and_checked(tmp_path: Any) -> None:
    from dvcschema.scenario import scenario_from_data

    base = "name: s\ntarget: http://127.0.0.1:9\nduration: 5s\nload: {users: 1}\n"
    source = str(tmp_path / "s.yaml")

    def parse(extra: str) -> Any:
        return scenario_from_data(parse_yaml(base + extra, source), source=source)

    (tmp_path / "ok.py").write_text(
        "from dvcload.journeys import journey, session_start\n"
        "@session_start\ndef login(citizen, http): pass\n"
        "@journey\ndef filing(citizen, http): pass\n"
        "@journey(when={'vneid_level': 2})\ndef payment(citizen, http): pass\n"
        "def helper(): pass\n"
    )
    scenario = parse("journeys: {module: ok.py}\nmix: {journeys: {filing: 3, payment: 1}}\n")
    assert scenario.traffic is not None and scenario.traffic.names == ("filing", "payment")
    data = scenario.as_dict()
    assert data["journeys"]["module"] == str(tmp_path / "ok.py")
    again = scenario_from_data(data, source=data.pop("source"))  # as a worker loads it
    assert again.traffic is not None and again.traffic.names == scenario.traffic.names
    (tmp_path / "ok.py").write_text((tmp_path / "ok.py").read_text() + "# edited\n")
    with pytest.raises(ConfigError, match="changed since the run started"):
        scenario_from_data(data, source="x")  # a worker, after the file changed
    (tmp_path / "none.py").write_text("def filing(citizen, http): pass\n")
    (tmp_path / "broken.py").write_text("import no_such_module_here\n")
    for extra, message in [
        ("journeys: {module: missing.py}", "no such file"),
        ("journeys: {module: none.py}", "marks no journey"),
        ("journeys: {module: broken.py}", "does not load: ModuleNotFoundError"),
        ("journeys: {module: ok.py, extra: 1}", "unknown key 'extra'"),
        ("journeys: {module: ok.py}\nmix: {journeys: {browse: 1}}", "unknown journey 'browse'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse(extra)


def test_the_reference_portals_journeys_are_a_module_named_or_run_by_default(
    tmp_path: Any,
) -> None:
    from dvcschema.scenario import scenario_from_data

    base = "name: s\nduration: 5s\nload: {users: 1}\n"
    source = str(tmp_path / "s.yaml")

    def parse(extra: str) -> Any:
        return scenario_from_data(parse_yaml(base + extra, source), source=source)

    named = parse("journeys: {module: portal.journeys}\n")
    default = parse("")
    for scenario in (named, default):
        assert scenario.traffic is not None
        assert scenario.traffic.names == ("browse", "filing", "payment", "status")
        assert scenario.traffic.tags()["POST /dossiers"] == ("write", "filing")
        assert scenario.as_dict()["journeys"]["module"].endswith("portal/journeys.py")
    with pytest.raises(ConfigError, match="no such module installed"):
        parse("journeys: {module: portal.no_such_journeys}\n")
    with pytest.raises(ConfigError, match="unknown journey 'upload'"):
        parse("mix: {journeys: {upload: 1}}\n")


def test_a_modules_tags_name_its_requests_for_tag_budgets(tmp_path: Any) -> None:
    from dvcschema.scenario import scenario_from_data

    source = str(tmp_path / "s.yaml")
    text = "name: s\nduration: 5s\nload: {users: 1}\njourneys: {module: m.py}\n"
    head = "from dvcload.journeys import journey\n@journey\ndef a(citizen, http): pass\n"
    (tmp_path / "m.py").write_text(head + "TAGS = {'POST /ho-so': ['write', 'filing']}\n")
    traffic = scenario_from_data(parse_yaml(text, source), source=source).traffic
    assert traffic is not None and traffic.tags() == {"POST /ho-so": ("write", "filing")}
    assert traffic.request_names() == ["POST /ho-so"]
    (tmp_path / "m.py").write_text(head + "TAGS = {'POST /ho-so': 'write'}\n")
    with pytest.raises(ConfigError, match="TAGS is not"):
        scenario_from_data(parse_yaml(text, source), source=source)
