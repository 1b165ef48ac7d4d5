"""Journeys written in Python: ``journeys: {module: ops/my_portal.py}``.

The module marks its journeys (their function names are the ``mix`` keys) and,
optionally, the start of a session (the login)::

    from dvcload.journeys import journey, session_start, JourneyFailed

    @session_start
    def login(citizen, http):
        reply = http.post("/api/v1/auth/token", data={"username": citizen["cccd"]}, expect=200)
        http.headers["Authorization"] = "Bearer " + reply.json()["access_token"]

    @journey(when={"vneid_level": 2})
    def filing(citizen, http):
        code = http.post("/api/v1/ho-so", json={...}, expect=201).json()["ma_ho_so"]
        http.record_dossier(code)                                   # the audit ledger
        http.get("/api/v1/ho-so/{code}", values={"code": code})   # GET /api/v1/ho-so/[code]

Each function receives the citizen (the population export's fields) and an HTTP
interface (:class:`loadgen.pyjourneys.Http`) whose requests are measured, named,
retried and content-checked like declared steps. This module only finds the marked
functions and checks the module loads, before any load; it marks functions with an
attribute, so that finding them needs no import of the load generator. The file's
SHA-256 goes into the manifest, and a worker refuses a module that changed since.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dvcschema import files
from dvcschema.errors import one_line, shown

MARK = "__dvcload__"
F = TypeVar("F", bound=Callable[..., Any])


class JourneyFailed(Exception):  # noqa: N818 - the user's word for it
    """Raised by a journey to fail it (the step that found the problem is recorded)."""


def journey(function: F | None = None, *, when: Mapping[str, Any] | None = None) -> Any:
    """Mark ``function(citizen, http)`` as a journey named after it (``when``: only for
    the citizens whose fields have these values)."""

    def mark(fn: F) -> F:
        setattr(fn, MARK, {"kind": "journey", "when": dict(when or {})})
        return fn

    return mark(function) if function is not None else mark


def session_start(function: F) -> F:
    """Mark ``function(citizen, http)`` as what runs once when a session starts."""
    setattr(function, MARK, {"kind": "session"})
    return function


@dataclass(frozen=True)
class PyJourney:
    name: str
    function: Callable[..., Any]
    when: Mapping[str, str] = field(default_factory=dict)

    def applies_to(self, citizen: Mapping[str, Any]) -> bool:
        return all(str(citizen.get(k)) == v for k, v in self.when.items())


@dataclass(frozen=True)
class PythonTraffic:
    """The journeys of one module, found and checked."""

    module: str
    sha256: str
    journeys: Mapping[str, PyJourney]
    session: Callable[..., Any] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.journeys)

    def tags(self) -> dict[str, tuple[str, ...]]:
        return {}  # not yet: tags of requests made by Python journeys

    def request_names(self) -> list[str]:
        return []  # known once the journeys run

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "sha256": self.sha256}


def load_journeys(value: Mapping[str, Any], base_dir: Path) -> PythonTraffic:
    """``journeys: {module: PATH[, sha256: HEX]}`` (relative to ``base_dir``); raises
    ``ValueError`` with one line for a missing file, a module that does not load, a
    changed file (``sha256`` given) or a module without journeys."""
    unknown = set(value) - {"module", "sha256"}
    if unknown:
        raise ValueError(f"unknown key {shown(sorted(unknown)[0])}; allowed: module, sha256")
    raw = value.get("module")
    if not isinstance(raw, str) or not raw.endswith(".py"):
        raise ValueError(f"module {shown(raw)} is not a path to a .py file")
    path = (base_dir / raw).resolve()
    if not files.exists(path):
        raise ValueError(f"module {shown(raw)}: no such file")
    code = files.read_bytes(path, limit=16 * 1024 * 1024)
    digest = hashlib.sha256(code).hexdigest()
    expected = value.get("sha256")
    if expected is not None and expected != digest:
        raise ValueError(f"module {shown(raw)} changed since the run started (SHA-256 differs)")
    module = _import(path, digest)
    found = _marked(module)
    sessions = [fn for kind, fn in found if kind["kind"] == "session"]
    if len(sessions) > 1:
        raise ValueError(f"module {shown(raw)} marks {len(sessions)} session starts; one at most")
    journeys = {
        fn.__name__: PyJourney(fn.__name__, fn, {str(k): str(v) for k, v in kind["when"].items()})
        for kind, fn in found
        if kind["kind"] == "journey"
    }  # fmt: skip
    if not journeys:
        raise ValueError(f"module {shown(raw)} marks no journey (use @journey)")
    return PythonTraffic(str(path), digest, journeys, sessions[0] if sessions else None)


def _import(path: Path, digest: str) -> Any:
    name = f"dvcload_journeys_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is bad input, in one line
        why = f"{type(exc).__name__}: {one_line(str(exc))}"
        raise ValueError(f"{path.name} does not load: {why}") from None
    sys.modules[name] = module
    return module


def _marked(module: Any) -> list[tuple[dict[str, Any], Callable[..., Any]]]:
    out = []
    for value in vars(module).values():
        kind = getattr(value, MARK, None)
        if callable(value) and isinstance(kind, dict):
            out.append((kind, value))
    return out
