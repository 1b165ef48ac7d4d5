"""Templates and extractors of declared journeys: what a step sends and what it reads back.

A **template** is text with placeholders: ``{citizen.FIELD}`` (a column of the
population export), ``{env.NAME}`` (an environment variable, read when the scenario is
checked, before any load) and ``{name}`` (a value captured earlier in the same
session). ``{{`` and ``}}`` are literal braces. A template is parsed once, when the
scenario is read, into literal parts and :class:`Var` parts; rendering joins them.

An **extractor** reads one thing from a response: ``json:PATH`` (``$``, ``.key``,
``[N]``, ``[*]``, ``["key"]``), ``header:NAME``, ``cookie:NAME`` or ``regex:PATTERN``
(one group). It returns a list of values (several for ``[*]`` or a repeated regex
match, none when nothing matched); a capture reduces the list with ``pick: first``
(the default) or ``pick: random``.

Everything here is pure (no I/O, no HTTP client), so that the same code checks a
scenario before any load and runs in the load generator's hot loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import msgspec

from dvcschema.errors import shown

SCOPES = ("citizen", "env")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_VAR = re.compile(rf"(?:(citizen|env)\.)?({_NAME})")


@dataclass(frozen=True)
class Var:
    """One placeholder: ``scope`` is ``citizen``, ``env`` or ``""`` (a captured value)."""

    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(frozen=True)
class Template:
    """Literal text and placeholders, in order.

    Examples
    --------
    >>> t = Template.parse("/ho-so/{code}?cccd={citizen.cccd}")
    >>> [str(v) for v in t.variables]
    ['code', 'citizen.cccd']
    >>> t.render({"code": "H01-1"}, {"cccd": "001204000123"}, {})
    '/ho-so/H01-1?cccd=001204000123'
    >>> t.name_form()
    '/ho-so/[code]?cccd=[citizen.cccd]'
    """

    parts: tuple[str | Var, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Parse ``text``; a ``ValueError`` names an unclosed brace or a bad placeholder."""
        if not isinstance(text, str):
            raise ValueError(f"{shown(text)} is not a text")
        parts: list[str | Var] = []
        literal: list[str] = []
        position = 0
        for match in _PLACEHOLDER.finditer(text):
            literal.append(text[position : match.start()])
            position = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            if match.group(1) is None:
                raise ValueError(f"{shown(text)}: a lone {token!r} (write {token * 2} for a brace)")
            var = _VAR.fullmatch(match.group(1).strip())
            if var is None:
                raise ValueError(
                    f"{shown(text)}: {{{match.group(1)}}} is not a placeholder; allowed: "
                    "{citizen.FIELD}, {env.NAME}, {captured_name}"
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Var(var.group(1) or "", var.group(2)))
        literal.append(text[position:])
        if "".join(literal):
            parts.append("".join(literal))
        return cls(tuple(parts))

    @property
    def variables(self) -> tuple[Var, ...]:
        return tuple(p for p in self.parts if isinstance(p, Var))

    @property
    def is_literal(self) -> bool:
        return not self.variables

    @cached_property
    def static(self) -> str | None:
        """The text when it has no placeholder (rendered once), else ``None``."""
        return None if self.variables else "".join(p for p in self.parts if isinstance(p, str))

    def render(
        self, captured: Mapping[str, Any], citizen: Mapping[str, Any], env: Mapping[str, str]
    ) -> str:
        """The text with every placeholder replaced (``KeyError`` names a missing one)."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            source = {"citizen": citizen, "env": env}.get(part.scope, captured)
            try:
                value = source[part.name]
            except KeyError:
                raise KeyError(f"{{{part}}} has no value") from None
            out.append(as_text(value))
        return "".join(out)

    def name_form(self) -> str:
        """The template with each placeholder in brackets, for request names."""
        return "".join(p if isinstance(p, str) else f"[{p}]" for p in self.parts)


def as_text(value: Any) -> str:
    """A captured value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- extractors ---------------------------------------------------------------------------
class Response(Protocol):
    """What an extractor reads (Locust's and httpx's responses both have it)."""

    @property
    def text(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


EXTRACTOR_KINDS = ("json", "header", "cookie", "regex")
_STEP = re.compile(r"\.(" + _NAME + r"|\*)|\[(\d+|\*|\"[^\"]*\"|'[^']*')\]")


@dataclass(frozen=True)
class JsonPath:
    """The JSON path subset of declared journeys: ``$``, ``.key``, ``[N]``, ``[*]``,
    ``["key"]``.

    Examples
    --------
    >>> JsonPath.parse("$[*].ma").find([{"ma": "1.1"}, {"ma": "1.2"}, {"x": 0}])
    ['1.1', '1.2']
    >>> JsonPath.parse("$.data.items[0]").find({"data": {"items": [7, 8]}})
    [7]
    """

    text: str
    steps: tuple[str | int | None, ...]  # key, index, or None for [*]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        text = text.strip()
        if not text.startswith("$"):
            raise ValueError(f"JSON path {shown(text)} must start with '$'")
        steps: list[str | int | None] = []
        position = 1
        while position < len(text):
            match = _STEP.match(text, position)
            if match is None:
                raise ValueError(
                    f"JSON path {shown(text)}: cannot read {shown(text[position:])}; "
                    'allowed: .key, [N], [*], ["key"]'
                )
            key, index = match.group(1), match.group(2)
            if key is not None:
                steps.append(None if key == "*" else key)
            elif index == "*":
                steps.append(None)
            elif index.isdigit():
                steps.append(int(index))
            else:
                steps.append(index[1:-1])
            position = match.end()
        return cls(text, tuple(steps))

    def find(self, document: Any) -> list[Any]:
        values = [document]
        for step in self.steps:
            found: list[Any] = []
            for value in values:
                if step is None:
                    if isinstance(value, list):
                        found.extend(value)
                    elif isinstance(value, dict):
                        found.extend(value.values())
                elif isinstance(step, int):
                    if isinstance(value, list) and step < len(value):
                        found.append(value[step])
                elif isinstance(value, dict) and step in value:
                    found.append(value[step])
            values = found
        return values


@dataclass(frozen=True)
class Extractor:
    """``kind:argument``: what to read from a response (see the module's docstring)."""

    kind: str
    argument: str
    path: JsonPath | None = None
    pattern: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: Any) -> Extractor:
        if not isinstance(text, str) or ":" not in text:
            raise ValueError(
                f"{shown(text)} is not an extractor; allowed: json:PATH, header:NAME, "
                "cookie:NAME, regex:PATTERN"
            )
        kind, _, argument = text.partition(":")
        return cls.of(kind.strip(), argument)

    @classmethod
    def of(cls, kind: str, argument: Any) -> Extractor:
        if kind not in EXTRACTOR_KINDS:
            raise ValueError(
                f"{shown(kind)} is not an extractor; allowed: {', '.join(EXTRACTOR_KINDS)}"
            )
        if not isinstance(argument, str) or not argument.strip():
            raise ValueError(f"{kind}: needs a non-empty text, found {shown(argument)}")
        if kind == "json":
            return cls(kind, argument, path=JsonPath.parse(argument))
        if kind == "regex":
            try:
                pattern = re.compile(argument)
            except re.error as exc:
                raise ValueError(f"regex {shown(argument)}: {exc}") from None
            if pattern.groups != 1:
                raise ValueError(
                    f"regex {shown(argument)} has {pattern.groups} groups; exactly one is read"
                )
            return cls(kind, argument, pattern=pattern)
        return cls(kind, argument.strip())

    def __str__(self) -> str:
        return f"{self.kind}:{self.argument}"

    def find(
        self, response: Response, body: Any = None, cookies: Mapping[str, str] | None = None
    ) -> list[Any]:
        """The values this extractor reads; ``body`` is the parsed JSON when already
        parsed (``None``: parse the response's text here), ``cookies`` the session's jar."""
        if self.kind == "json":
            assert self.path is not None
            if body is None:
                body = parse_json(response.text)
                if body is _NOT_JSON:
                    return []
            return self.path.find(body)
        if self.kind == "header":
            value = _header(response.headers, self.argument)
            return [] if value is None else [value]
        if self.kind == "cookie":
            jar = cookies or {}
            return [jar[self.argument]] if self.argument in jar else []
        assert self.pattern is not None
        return [m.group(1) for m in self.pattern.finditer(response.text or "")]


_NOT_JSON: Any = object()


_DECODER = msgspec.json.Decoder()


def decode_json(body: str | bytes) -> Any:
    """``json.loads(body)``, its value and its ``ValueError``, in less than half its time.

    msgspec decodes what RFC 8259 allows in UTF-8 (integers of any size exactly, as
    ``json`` does; 8 us against 19 us for a portal's 900-byte reply); what it refuses
    goes to ``json.loads``, which accepts the rest of what it always accepted (``NaN``,
    ``1e400``, a byte-order mark, UTF-16 and -32, a lone surrogate) or raises."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError:
        return json.loads(body)


def parse_json(text: str | bytes | None) -> Any:
    """The JSON document of a body (text, or bytes in UTF-8, -16 or -32 as RFC 8259
    allows), or a marker object when it is not JSON."""
    if not text:
        return _NOT_JSON
    try:
        return decode_json(text)
    except ValueError:
        return _NOT_JSON


def is_json(value: Any) -> bool:
    return value is not _NOT_JSON


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


PICKS = ("first", "random")


@dataclass(frozen=True)
class Capture:
    """One captured variable: an extractor and how a list is reduced."""

    name: str
    extractor: Extractor
    pick: str = "first"

    def choose(self, values: Sequence[Any], rng: Any) -> Any:
        return values[0] if self.pick == "first" else rng.choice(values)
