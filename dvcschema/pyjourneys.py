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
DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+"  # a module name, not a file
REFERENCE_JOURNEYS = "portal.journeys"  # what a scenario that declares no journeys runs
F = TypeVar("F", bound=Callable[..., Any])


class JourneyFailed(Exception):  # noqa: N818 - the user's word for it
    """Raised by a journey to fail it (the step that found the problem is recorded)."""


When = Mapping[str, Any] | Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


def journey(function: F | None = None, *, when: When | None = None) -> Any:
    """Mark ``function(citizen, http)`` as a journey named after it.

    ``when`` limits it to some citizens: a mapping of citizen fields to values
    (``{"vneid_level": 2}``), or a function ``when(citizen, state)`` that also sees
    what the session holds (``http.state``, e.g. what the login answered)."""

    def mark(fn: F) -> F:
        setattr(fn, MARK, {"kind": "journey", "when": when if callable(when) else dict(when or {})})
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
    when: Mapping[str, str] | Callable[..., bool] = field(default_factory=dict)

    def applies_to(
        self, citizen: Mapping[str, Any], state: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether ``when`` admits the citizen (a function also sees ``state``)."""
        if callable(self.when):
            return bool(self.when(citizen, state or {}))
        return all(str(citizen.get(k)) == v for k, v in self.when.items())


@dataclass(frozen=True)
class PythonTraffic:
    """The journeys of one module, found and checked."""

    module: str
    sha256: str
    journeys: Mapping[str, PyJourney]
    session: Callable[..., Any] | None = None
    request_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # module's TAGS

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.journeys)

    def tags(self) -> dict[str, tuple[str, ...]]:
        """``{request name: tags}`` from the module's ``TAGS`` (for ``tag:NAME``)."""
        return dict(self.request_tags)

    def request_names(self) -> list[str]:
        """The request names the module declares in ``TAGS`` (the rest are known once
        the journeys run)."""
        return list(self.request_tags)

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
    path = _module_path(raw, base_dir)
    code = files.read_bytes(path, limit=16 * 1024 * 1024)
    digest = hashlib.sha256(code).hexdigest()
    expected = value.get("sha256")
    if expected is not None and expected != digest:
        raise ValueError(f"module {shown(raw)} changed since the run started (SHA-256 differs)")
    module = import_file(path, digest)
    found = _marked(module)
    sessions = [fn for kind, fn in found if kind["kind"] == "session"]
    if len(sessions) > 1:
        raise ValueError(f"module {shown(raw)} marks {len(sessions)} session starts; one at most")
    journeys = {
        fn.__name__: PyJourney(fn.__name__, fn, _when(kind["when"]))
        for kind, fn in found
        if kind["kind"] == "journey"
    }
    if not journeys:
        raise ValueError(f"module {shown(raw)} marks no journey (use @journey)")
    tags = _tags(getattr(module, "TAGS", {}), str(raw))
    return PythonTraffic(str(path), digest, journeys, sessions[0] if sessions else None, tags)


def _module_path(raw: Any, base_dir: Path) -> Path:
    """The file of ``module:``: a path to a ``.py`` file (relative to the scenario), or
    the dotted name of an installed module (``portal.journeys``)."""
    if isinstance(raw, str) and not raw.endswith(".py") and re.fullmatch(DOTTED, raw):
        try:
            spec = importlib.util.find_spec(raw)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise ValueError(f"module {shown(raw)}: no such module installed")
        return Path(spec.origin).resolve()
    if not isinstance(raw, str) or not raw.endswith(".py"):
        raise ValueError(f"module {shown(raw)} is not a path to a .py file nor a module name")
    path = (base_dir / raw).resolve()
    if not files.exists(path):
        raise ValueError(f"module {shown(raw)}: no such file")
    return path


def _tags(value: Any, raw: str) -> dict[str, tuple[str, ...]]:
    """A module's ``TAGS = {"POST /ho-so": ("write",), ...}``, checked."""
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, list | tuple) and all(isinstance(t, str) for t in v)
        for k, v in value.items()
    ):
        raise ValueError(f"module {shown(raw)}: TAGS is not {{request name: [tag, ...]}}")
    return {k: tuple(v) for k, v in value.items()}


def _when(when: Any) -> Mapping[str, str] | Callable[..., bool]:
    return when if callable(when) else {str(k): str(v) for k, v in when.items()}


def import_file(path: Path, digest: str, kind: str = "journeys") -> Any:
    """Import the user's file ``path`` once per content (``digest``), as a module
    named after it; unless it is part of a package, its folder is appended to
    ``sys.path`` (after everything else) so that it can import its neighbours. Any
    error in it is a one-line ``ValueError``."""
    name = f"dvcload_{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path.name}: not a Python module")
    in_package = (path.parent / "__init__.py").exists()
    if not in_package and str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a class's module up
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is bad input, in one line
        del sys.modules[name]
        why = f"{type(exc).__name__}: {one_line(str(exc))}"
        raise ValueError(f"{path.name} does not load: {why}") from None
    return module


def _marked(module: Any) -> list[tuple[dict[str, Any], Callable[..., Any]]]:
    out = []
    for value in vars(module).values():
        kind = getattr(value, MARK, None)
        if callable(value) and isinstance(kind, dict):
            out.append((kind, value))
    return out
