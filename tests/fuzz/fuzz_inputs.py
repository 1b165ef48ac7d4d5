"""Malformed inputs for the fuzz tests: Hypothesis strategies, mutations of valid files,
and the one rule every case must obey.

The rule (:func:`loads_or_fails_cleanly`): reading an input either succeeds or raises
:class:`~dvcschema.errors.DvcloadError` (or :class:`~models.errors.ModelError`) whose
message is one non-empty line. Anything else (a ``KeyError``, a ``RecursionError``, a
warning turned into an error) is a bug.

Mutations start from the repository's own valid files, so that most cases get past
the first check and reach the deep parts of the schema: a key dropped, a value
replaced by something nasty (huge or negative numbers, NaN and infinities, unicode,
deep nesting, wrong types), a key renamed or added, a value moved elsewhere; then the
YAML text itself is cut, has lines dropped or doubled (duplicate keys), or gets
stray syntax.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from dvcschema.errors import DvcloadError
from models.errors import ModelError

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
PORTAL_CONFIGS = sorted((REPO / "portal" / "configs").glob("*.yaml")) + sorted(
    (REPO / "tests" / "integration" / "configs").glob("*.yaml")
)

# Inputs generated per test in one run; test_fuzz_budget checks they add up to 2,000+.
EXAMPLES = {
    "scenario_mutations": 450,
    "scenario_structures": 150,
    "capacity_mutations": 150,
    "budgets": 300,
    "portal_configs": 300,
    "fault_sections": 200,
    "random_bytes": 250,
    "population_files": 300,
    "run_arguments": 200,
}
MIN_TOTAL_EXAMPLES = 2000


def fuzz_settings(name: str) -> settings:
    """Settings for the fuzz test ``name``: its example count, no deadline, no database."""
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class Tally:
    """How many inputs a fuzz test really ran (asserted against its budget)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def check(self) -> None:
        assert self.count >= EXAMPLES[self.name], (self.name, self.count)


def loads_or_fails_cleanly(load: Callable[[], object]) -> bool:
    """Run ``load``; True if it loaded, False for a clean one-line error; else raise."""
    try:
        load()
    except (DvcloadError, ModelError) as exc:
        message = str(exc)
        assert message.strip(), f"empty message from {type(exc).__name__}"
        assert len(message.splitlines()) == 1, f"message of several lines: {message!r}"
        return False
    return True


# -- values -------------------------------------------------------------------------------
NASTY_NUMBERS = st.sampled_from(
    [0, -1, -(10**30), 10**30, 2**63, 2**64, 1e308, -1e-300, math.nan, math.inf, -math.inf, 0.5]
)
NASTY_TEXT = st.sampled_from(
    ["", " ", "45", "45 s", "-45s", "1e309s", "45sec", "∞", "NaN", "5%%", "150%", "-5%",
     "p95 <", "< 800ms", "null", "~", "yes", "2s2s", "1h-1m", "0x10", "١٢٣", "日本語",
     "Nguyễn", "a" * 5000, "\t", "{", "[", "&a", "*a", "!!str", "http://", "embedded\n",
     "127.0.0.1", "http://10.255.255.1:8080", "file:///etc/passwd"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    NASTY_NUMBERS,
    NASTY_TEXT,
)
KEYS = st.one_of(
    st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12),
    st.sampled_from(["name", "load", "users", "duration", "rate", "budgets", "tiers", "*"]),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


def deep(depth: int, leaf: Any = 1) -> Any:
    """A list nested ``depth`` times (YAML and our readers must not crash on it)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


NASTY_VALUES = st.one_of(
    SCALARS,
    STRUCTURES,
    st.integers(min_value=20, max_value=300).map(deep),
)


# -- mutating a parsed document -------------------------------------------------------------
def _containers(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every dict and list inside ``doc`` (the root is ``()``)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        found.append(path)
        for key, value in doc.items():
            found += _containers(value, (*path, key))
    elif isinstance(doc, list):
        found.append(path)
        for index, value in enumerate(doc):
            found += _containers(value, (*path, index))
    return found


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def mutate(draw: st.DrawFn, doc: Any) -> Any:
    """One random mutation of ``doc`` (a copy is changed in place and returned)."""
    paths = _containers(doc)
    if not paths:
        return draw(NASTY_VALUES)
    target = _at(doc, draw(st.sampled_from(paths)))
    slots = list(target) if isinstance(target, dict) else list(range(len(target)))
    if not slots:
        return doc
    slot = draw(st.sampled_from(slots))
    operation = draw(st.sampled_from(["drop", "replace", "replace", "add", "rename", "wrap"]))
    if operation == "drop":
        del target[slot]
    elif operation == "replace":
        target[slot] = draw(NASTY_VALUES)
    elif operation == "add" and isinstance(target, dict):
        target[draw(KEYS)] = draw(NASTY_VALUES)
    elif operation == "rename" and isinstance(target, dict):
        target[f"{slot}{draw(st.sampled_from(['s', '_', 'X', ' ']))}"] = target.pop(slot)
    else:
        target[slot] = draw(st.sampled_from([[target[slot]], {"value": target[slot]}]))
    return doc


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)


TEXT_NOISE = st.sampled_from(
    ["\t", ":", ": :", "{", "}", "[", "]", "- ", "&x ", "*x", "!!python/object:os.system ",
     "!custom ", "%YAML 1.1\n", "---\n", "...\n", "\x00", "\ufeff", "\r", "#", "|", ">",
     "? ", "<<: *x\n", "'", '"', "\\", "\u2028", "\x85", "@", "`"]
)  # fmt: skip


def mutate_text(draw: st.DrawFn, text: str) -> str:
    """Damage YAML text: cut it, drop or double a line, or insert stray syntax."""
    lines = text.splitlines(keepends=True)
    operation = draw(st.sampled_from(["cut", "drop", "double", "insert", "indent"]))
    if not lines or operation == "cut":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    if operation == "drop":
        del lines[index]
    elif operation == "double":
        lines.insert(index, lines[index])  # a duplicate key, mostly
    elif operation == "indent":
        lines[index] = draw(st.sampled_from(["  ", " ", "\t"])) + lines[index]
    else:
        at = draw(st.integers(min_value=0, max_value=len(lines[index])))
        lines[index] = lines[index][:at] + draw(TEXT_NOISE) + lines[index][at:]
    return "".join(lines)


def mutated_document(base: Any) -> st.SearchStrategy[str]:
    """YAML text of ``base`` after 1-4 structural mutations and maybe text damage."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        doc = copy.deepcopy(base)
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            doc = mutate(draw, doc)
        text = dump(doc)
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            text = mutate_text(draw, text)
        return text

    return build()


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def refused_by_argparse(argv: list[str]) -> Any:
    """``dvcload``'s argument parser on ``argv``; its refusals (one line on stderr, then
    ``SystemExit(2)``) become a :class:`DvcloadError` carrying what it printed."""
    from dvcload.cli import build_parser

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            return build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2, (exc.code, stderr.getvalue())
            raise DvcloadError(stderr.getvalue().strip()) from None


def resolve_run_arguments(argv: list[str]) -> object:
    """What ``dvcload run`` checks before it creates anything; raises on bad input."""
    from dvcload.commands import run as run_command

    args = refused_by_argparse(argv)
    run_command._distribution(args)
    return run_command._resolve(args)
