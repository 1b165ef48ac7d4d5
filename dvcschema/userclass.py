"""An existing Locust ``User`` class: ``journeys: {user_class: ops/locustfile.py:PortalUser}``.

The shorthand ``user_class: ops/locustfile.py:PortalUser`` at the top of a scenario
means the same. The path is relative to the scenario file, as for ``module:``;
``sha256:`` (optional) pins the file's content. The class (an ``HttpUser`` or a
``FastHttpUser``) runs as Locust would run it, its requests on dvcload's guarded
client (:mod:`loadgen.userclass`); each task it runs is a journey named after the
task's function (``journey:NAME`` budgets).

This module finds the class and checks it before any load: a missing file, a file that
does not import, no such class, a class that is not a concrete HTTP ``User`` with
tasks are one-line errors. The file's SHA-256 goes into the manifest, and a worker
refuses a file that changed since. The class weights its own tasks (``@task(3)``), so
a scenario's ``mix.journeys`` is refused (and a run's ``scenario.json`` has none).

Importing the file imports Locust (which patches the process with gevent); the file's
folder is appended to ``sys.path`` (as Locust does, but last), so that it can import
its neighbours.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvcschema import files
from dvcschema.errors import shown
from dvcschema.fields import Fields
from dvcschema.pyjourneys import import_file

SPEC_EXAMPLE = "'ops/locustfile.py:PortalUser'"
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class UserClassTraffic:
    """A Locust ``User`` class, found and checked.

    ``tasks`` are the journey names (the task functions' names, in the class's order);
    ``weights`` how many times each appears among the class's tasks (Locust picks a
    task uniformly from that list).
    """

    path: str
    class_name: str
    sha256: str
    user_class: type[Any]
    weights: Mapping[str, int]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def tags(self) -> dict[str, tuple[str, ...]]:
        return {}  # a Locust class does not tag its requests

    def request_names(self) -> list[str]:
        return []  # known once the tasks run

    def as_dict(self) -> dict[str, Any]:
        return {"user_class": f"{self.path}:{self.class_name}", "sha256": self.sha256}


def parse_user_class(
    top: Fields, session: Fields | None, journeys: Fields | None, base_dir: Path
) -> UserClassTraffic:
    """The scenario's user class, from ``journeys: {user_class: ..., sha256: ...}`` or
    the top-level ``user_class:``; raises the scenario's error (located) for a bad one,
    for a ``session:`` beside it, and for a ``mix.journeys`` of the operator's."""
    if session is not None:
        raise top.error_at("session", "a user class starts its sessions itself (on_start)")
    if journeys is not None and top.has("user_class"):
        raise top.error_at(
            "user_class", "give either 'user_class' or 'journeys: {user_class: ...}', not both"
        )
    where = top if journeys is None else journeys
    if journeys is None:
        spec, expected = top.take_raw("user_class"), None
    else:
        value = {key: journeys.take_raw(key) for key in journeys.remaining()}
        unknown = sorted(set(value) - {"user_class", "sha256"})
        if unknown:
            raise journeys.error_at(
                unknown[0], f"unknown key {shown(unknown[0])}; allowed: user_class, sha256"
            )
        spec, expected = value.get("user_class"), value.get("sha256")
    try:
        traffic = load_user_class(spec, base_dir, sha256=expected)
    except ValueError as exc:
        raise where.error_at("user_class", str(exc)) from None
    _refuse_mix(top, traffic)
    return traffic


def load_user_class(spec: Any, base_dir: Path, *, sha256: Any = None) -> UserClassTraffic:
    """``PATH.py:ClassName`` (``PATH`` relative to ``base_dir``) found and checked;
    raises ``ValueError`` with one line."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"{shown(spec)} is not PATH.py:ClassName (e.g. {SPEC_EXAMPLE})")
    raw, _, class_name = spec.rpartition(":")
    if not raw.endswith(".py") or not _CLASS_NAME.fullmatch(class_name):
        raise ValueError(f"{shown(spec)} is not PATH.py:ClassName (e.g. {SPEC_EXAMPLE})")
    path = (base_dir / raw).resolve()
    if not files.exists(path):
        raise ValueError(f"{shown(raw)}: no such file")
    digest = hashlib.sha256(files.read_bytes(path, limit=MAX_FILE_BYTES)).hexdigest()
    if sha256 is not None and sha256 != digest:
        raise ValueError(f"{shown(raw)} changed since the run started (SHA-256 differs)")
    module = import_file(path, digest, "userclass")
    user_class = _user_class(module, class_name, path.name)
    return UserClassTraffic(str(path), class_name, digest, user_class, task_weights(user_class))


def task_weights(user_class: type[Any]) -> dict[str, int]:
    """``{task name: weight}`` of a Locust class (a task's weight is how often it
    appears in ``tasks``; a ``TaskSet`` is named after its class)."""
    return dict(Counter(getattr(task, "__name__", repr(task)) for task in user_class.tasks))


def _user_class(module: Any, class_name: str, file_name: str) -> type[Any]:
    """The class ``class_name`` of ``module``, if it is a concrete HTTP user with tasks."""
    from locust import FastHttpUser, HttpUser, User  # the user's file imported Locust already

    found = getattr(module, class_name, None)
    if found is None:
        users = sorted(
            name for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, User) and not value.abstract
        )  # fmt: skip
        has = f"its User classes: {', '.join(users)}" if users else "it defines no User class"
        raise ValueError(f"{file_name} has no {shown(class_name)}; {has}")
    if not isinstance(found, type) or not issubclass(found, User):
        raise ValueError(f"{file_name}: {shown(class_name)} is not a Locust User class")
    if not issubclass(found, HttpUser | FastHttpUser):
        raise ValueError(
            f"{file_name}: {shown(class_name)} is neither an HttpUser nor a FastHttpUser "
            "(dvcload guards only HTTP clients)"
        )
    if found.abstract:
        raise ValueError(
            f"{file_name}: {shown(class_name)} is abstract (abstract = True); "
            "name a concrete subclass"
        )
    if not found.tasks:
        raise ValueError(f"{file_name}: {shown(class_name)} has no task (use @task or set 'tasks')")
    return found


def _refuse_mix(top: Fields, traffic: UserClassTraffic) -> None:
    """A user class weights its own tasks: ``mix.journeys`` is refused (a run's
    ``scenario.json`` leaves it out, see :meth:`Scenario.as_dict`)."""
    mix = top.section("mix")
    if mix is None or not mix.has("journeys"):
        return
    weights = ", ".join(f"{k}: {w}" for k, w in traffic.weights.items())
    raise mix.error_at(
        "journeys",
        f"a user class weights its own tasks ({weights}, from @task); remove mix.journeys",
    )
