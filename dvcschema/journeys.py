"""Declared journeys: a scenario's ``session:`` and ``journeys:`` sections, checked.

What a citizen does against a target is data (DESIGN.md, "Traffic is data")::

    session:                      # once, when a citizen's session starts (the login)
      steps:
        - post: /api/v1/auth/token
          form: {username: "{citizen.cccd}", password: "{env.DVCLOAD_PASSCODE}"}
          expect: 200
          capture: {token: "json:$.access_token", csrf: "cookie:csrftoken"}
      headers: {Authorization: "Bearer {token}"}     # on every later request
    journeys:
      filing:
        when: {vneid_level: 2}    # only these citizens
        steps:
          - get: /api/v1/thu-tuc
            capture: {service: {json: "$[*].ma", pick: random}}
          - think: {min: 1s, max: 3s}
          - post: /api/v1/ho-so
            json: {ma_thu_tuc: "{service}", cccd: "{citizen.cccd}"}
            expect: 201
            capture: {code: "json:$.ma_ho_so"}
            check: {"json:$.trang_thai": "moi"}
            record: dossier
            tags: [write]

Everything is checked here, before any load, with one located line per problem:
unknown keys, a step with no or two methods, a bad path or regex, an environment
variable that is not set, a citizen field the population does not export, and a
variable used before any step of the session (or of the journey, before it) captures
it. The load generator (:mod:`loadgen`) runs what this module returns; it knows no
portal's paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dvcschema.errors import ScenarioError, shown
from dvcschema.fields import Fields, sub_fields, text
from dvcschema.templates import PICKS, Capture, Extractor, Template, Var
from dvcschema.units import parse_duration_s

# The population export's columns (loadgen.citizen.Citizen; a test keeps them equal).
CITIZEN_FIELDS = (
    "cccd", "full_name", "family_name", "middle_name", "given_name", "gender",
    "date_of_birth", "birth_province_code", "residence_province", "commune", "ward_code",
    "address", "phone", "email", "vneid_level", "payment_channel", "literacy",
)  # fmt: skip
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
BODY_KINDS = ("json", "form", "body", "files")
RECORDS = ("dossier", "payment")
MAX_STEPS = 200
NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


@dataclass(frozen=True)
class Think:
    """A pause between steps, uniform in ``[min_s, max_s]``."""

    min_s: float
    max_s: float


@dataclass(frozen=True)
class Check:
    """``extractor`` must find a value equal to ``expected`` (a template)."""

    extractor: Extractor
    expected: Template


@dataclass(frozen=True)
class Request:
    """One request step."""

    method: str
    path: Template
    name: str
    headers: Mapping[str, Template] = field(default_factory=dict)
    body_kind: str | None = None
    body: Any = None  # templates inside (see render_body)
    expect: tuple[int, ...] = ()  # empty: any 2xx
    captures: tuple[Capture, ...] = ()
    checks: tuple[Check, ...] = ()
    record: str | None = None
    tags: tuple[str, ...] = ()

    def accepts(self, status: int) -> bool:
        return status in self.expect if self.expect else 200 <= status < 300

    @cached_property
    def label(self) -> str:
        """The request's name without its method (Locust prefixes the method itself)."""
        return self.name.split(" ", 1)[1]

    @cached_property
    def reads(self) -> frozenset[str]:
        """The kinds of extractor its captures and checks use (``json``, ``cookie``...),
        known once so that a response is only parsed for what is read."""
        return frozenset(
            [c.extractor.kind for c in self.captures] + [c.extractor.kind for c in self.checks]
        )


Step = Request | Think


@dataclass(frozen=True)
class Journey:
    name: str
    steps: tuple[Step, ...]
    when: Mapping[str, str] = field(default_factory=dict)

    def applies_to(
        self, citizen: Mapping[str, Any], state: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether the citizen's fields have the ``when`` values (``state`` unused)."""
        return all(str(citizen.get(k)) == v for k, v in self.when.items())


@dataclass(frozen=True)
class Session:
    """What runs once when a citizen's session starts, and the headers it sets."""

    steps: tuple[Step, ...] = ()
    headers: Mapping[str, Template] = field(default_factory=dict)


@dataclass(frozen=True)
class DeclaredTraffic:
    session: Session
    journeys: Mapping[str, Journey]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.journeys)

    def request_names(self) -> list[str]:
        steps = [*self.session.steps, *(s for j in self.journeys.values() for s in j.steps)]
        return list(dict.fromkeys(s.name for s in steps if isinstance(s, Request)))

    def tags(self) -> dict[str, tuple[str, ...]]:
        """``{request name: tags}`` for ``tag:NAME`` budgets and reports."""
        out: dict[str, tuple[str, ...]] = {}
        steps = [*self.session.steps, *(s for j in self.journeys.values() for s in j.steps)]
        for step in steps:
            if isinstance(step, Request) and step.tags:
                out[step.name] = tuple(dict.fromkeys((*out.get(step.name, ()), *step.tags)))
        return out


@dataclass(frozen=True)
class Context:
    """What templates may name: the population's columns and the environment."""

    citizen_fields: frozenset[str]
    env: Mapping[str, str]


def parse_traffic(session: Fields | None, journeys: Fields, context: Context) -> DeclaredTraffic:
    """Parse ``session:`` and ``journeys:`` (``journeys`` maps a name to a journey)."""
    parsed_session = _session(session, context)
    known = _session_captures(parsed_session)
    out: dict[str, Journey] = {}
    for name in journeys.remaining():
        if not isinstance(name, str) or not _valid_name(name):
            raise journeys.error_at(str(name), f"journey name {shown(name)} is not allowed")
        section = journeys.section(name)
        assert section is not None
        out[name] = _journey(name, section, context, known)
    journeys.close()
    if not out:
        raise ScenarioError("declares no journey", source=journeys.source, field=journeys.path)
    return DeclaredTraffic(parsed_session, out)


def _valid_name(name: str) -> bool:
    import re

    return re.fullmatch(NAME_PATTERN, name) is not None and len(name) <= 64


def _session(section: Fields | None, context: Context) -> Session:
    if section is None:
        return Session()
    steps = _steps(section, context, set())
    known = {c.name for s in steps if isinstance(s, Request) for c in s.captures}
    headers: dict[str, Template] = section.take("headers", _headers_of(context, known), {})
    section.close()
    return Session(steps, headers)


def _session_captures(session: Session) -> set[str]:
    return {c.name for s in session.steps if isinstance(s, Request) for c in s.captures}


def _journey(name: str, section: Fields, context: Context, known: set[str]) -> Journey:
    steps = _steps(section, context, set(known))
    when: dict[str, str] = section.take("when", _when(context), {})
    section.close()
    if not steps:
        raise section.error_at("steps", f"journey {shown(name)} has no steps")
    return Journey(name, steps, when)


def _when(context: Context) -> Any:
    def parse(value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not value:
            raise ValueError(
                f"expected a mapping of citizen fields to values, found {shown(value)}"
            )
        for key in value:
            if key not in context.citizen_fields:
                raise ValueError(_unknown_field(str(key), context))
        return {str(k): str(v) for k, v in value.items()}

    return parse


def _steps(section: Fields, context: Context, known: set[str]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for index, item, line, path in section.items("steps"):
        if index >= MAX_STEPS:
            raise section.error_at("steps", f"more than {MAX_STEPS} steps")
        fields = sub_fields(section, item, line, path)
        steps.append(_step(fields, context, known))
    return tuple(steps)


def _step(fields: Fields, context: Context, known: set[str]) -> Step:
    if fields.has("think"):
        think = fields.take("think", _think)
        fields.close()
        return think
    methods = [m for m in METHODS if fields.has(m)]
    if len(methods) != 1:
        found = ", ".join(methods) or "none"
        raise fields.error_at(
            methods[1] if len(methods) > 1 else "steps",
            f"a step has exactly one of {', '.join(METHODS)} (or think); found {found}",
        )
    method = methods[0]
    path = fields.take(method, _template_checked(context, known, path=True))
    name = fields.take("name", text(max_length=200), _request_name(method, path))
    headers: dict[str, Template] = fields.take("headers", _headers_of(context, known), {})
    body_kind, body = _body(fields, context, known)
    none: tuple[Any, ...] = ()
    expect: tuple[int, ...] = fields.take("expect", _expect, none)
    captures: tuple[Capture, ...] = fields.take("capture", _captures, none)
    checks: tuple[Check, ...] = fields.take("check", _checks(context, known), none)
    record = fields.take("record", _one_of(RECORDS), None)
    tags: tuple[str, ...] = fields.take("tags", _tags, none)
    fields.close()
    known.update(c.name for c in captures)  # later steps may use them
    return Request(
        method.upper(), path, name, headers, body_kind, body, expect, captures, checks,
        record, tags,
    )  # fmt: skip


def _request_name(method: str, path: Template) -> str:
    """``GET /ho-so/[code]``: the path template, query string dropped."""
    return f"{method.upper()} {path.name_form().split('?', 1)[0]}"


def _think(value: Any) -> Think:
    if isinstance(value, dict):
        unknown = set(value) - {"min", "max"}
        if unknown or "min" not in value:
            raise ValueError(f"think is {{min: D, max: D}} or a duration, found {shown(value)}")
        low = parse_duration_s(value["min"])
        high = parse_duration_s(value.get("max", value["min"]))
    else:
        low = high = parse_duration_s(value)
    if high < low:
        raise ValueError(f"think max {high:g}s is below its min {low:g}s")
    return Think(low, high)


def _template_checked(context: Context, known: set[str], *, path: bool = False) -> Any:
    def parse(value: Any) -> Template:
        template = Template.parse(value)
        if path and not (value.startswith("/") or value.startswith("{")):
            raise ValueError(f"{shown(value)}: a path starts with '/'")
        check_variables(template.variables, context, known)
        return template

    return parse


def check_variables(variables: Iterable[Var], context: Context, known: set[str]) -> None:
    """Every placeholder must have a value: a set variable, a citizen field, or a value
    captured by an earlier step."""
    for var in variables:
        if var.scope == "env" and var.name not in context.env:
            raise ValueError(f"{{env.{var.name}}}: the environment variable is not set")
        if var.scope == "citizen" and var.name not in context.citizen_fields:
            raise ValueError(_unknown_field(var.name, context))
        if not var.scope and var.name not in known:
            raise ValueError(
                f"{{{var.name}}} is used before any step captures it"
                + (f" (captured so far: {', '.join(sorted(known))})" if known else "")
            )


def _unknown_field(name: str, context: Context) -> str:
    return f"citizen field {shown(name)} is not in the population; allowed: " + ", ".join(
        sorted(context.citizen_fields)
    )


def session_headers(context: Context) -> Any:
    """A parser of ``http.headers``: header names to template texts, checked (no
    captured values: they are sent from the session's first request)."""
    parse = _headers_of(context, set())

    def texts(value: Any) -> dict[str, str]:
        parse(value)
        return {str(k): str(v) for k, v in value.items()}

    return texts


def _headers_of(context: Context, known: set[str]) -> Any:
    def parse(value: Any) -> dict[str, Template]:
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of header names to values, found {shown(value)}")
        out = {}
        for name, raw in value.items():
            if not isinstance(name, str) or not name.strip() or any(c in name for c in ":\r\n "):
                raise ValueError(f"{shown(name)} is not a header name")
            out[name] = _template_checked(context, known)(str(raw) if isinstance(raw, int) else raw)
        return out

    return parse


def _body(fields: Fields, context: Context, known: set[str]) -> tuple[str | None, Any]:
    kinds = [k for k in BODY_KINDS if fields.has(k)]
    if len(kinds) > 1:
        raise fields.error_at(kinds[1], f"a step has one body; found {', '.join(kinds)}")
    if not kinds:
        return None, None
    kind = kinds[0]
    return kind, fields.take(kind, lambda v: _body_templates(v, context, known, kind))


def _body_templates(value: Any, context: Context, known: set[str], kind: str) -> Any:
    """The body with every string parsed as a template (and checked)."""
    if kind == "body":
        if not isinstance(value, str):
            raise ValueError(f"body is a text, found {shown(value)}")
        return _template_checked(context, known)(value)
    if kind == "files":
        return _files(value)
    if kind == "form" and not isinstance(value, dict):
        raise ValueError(f"form is a mapping of fields to values, found {shown(value)}")
    return _walk(value, context, known)


def _walk(value: Any, context: Context, known: set[str]) -> Any:
    if isinstance(value, str):
        return _template_checked(context, known)(value)
    if isinstance(value, dict):
        return {str(k): _walk(v, context, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, context, known) for v in value]
    return value


def _files(value: Any) -> dict[str, str]:
    """``files: {field: kind}``: generated attachments of a kind (``pdf``, ``jpeg``...)."""
    if not isinstance(value, dict) or not value:
        raise ValueError(
            f"files is a mapping of form fields to attachment kinds, found {shown(value)}"
        )
    return {str(k): str(v) for k, v in value.items()}


def _expect(value: Any) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 100 <= v <= 599:
            raise ValueError(f"{shown(v)} is not an HTTP status (100-599)")
        out.append(v)
    if not out:
        raise ValueError("expect lists no status")
    return tuple(out)


def _captures(value: Any) -> tuple[Capture, ...]:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"capture is a mapping of names to extractors, found {shown(value)}")
    out = []
    for name, spec in value.items():
        if not isinstance(name, str) or not _valid_name(name) or "." in name or "-" in name:
            raise ValueError(f"{shown(name)} is not a variable name (letters, digits, _)")
        if isinstance(spec, dict):
            kinds = [k for k in spec if k != "pick"]
            if len(kinds) != 1:
                raise ValueError(
                    f"capture {name}: one of json, header, cookie, regex (and pick), "
                    f"found {shown(sorted(spec))}"
                )
            extractor = Extractor.of(kinds[0], spec[kinds[0]])
            pick = spec.get("pick", "first")
            if pick not in PICKS:
                raise ValueError(f"capture {name}: pick {shown(pick)}; allowed: {', '.join(PICKS)}")
            out.append(Capture(name, extractor, pick))
        else:
            out.append(Capture(name, Extractor.parse(spec)))
    return tuple(out)


def _checks(context: Context, known: set[str]) -> Any:
    def parse(value: Any) -> tuple[Check, ...]:
        if not isinstance(value, dict) or not value:
            raise ValueError(f"check is a mapping of extractors to values, found {shown(value)}")
        out = []
        for key, expected in value.items():
            raw = expected if isinstance(expected, str) else _json_text(expected)
            out.append(Check(Extractor.parse(key), _template_checked(context, known)(raw)))
        return tuple(out)

    return parse


def _json_text(value: Any) -> str:
    import json

    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        .replace("{", "{{")
        .replace("}", "}}")
    )


def _one_of(choices: tuple[str, ...]) -> Any:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{shown(value)} is not allowed; options are {', '.join(choices)}")
        return str(value)

    return parse


def _tags(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str) or not _valid_name(v):
            raise ValueError(f"{shown(v)} is not a tag (letters, digits, _ . -)")
    return tuple(values)
