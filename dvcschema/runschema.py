"""What a results folder's JSON files must look like, checked when they are read.

``dvcload gate``, ``report`` and ``calibrate`` read folders that may come from another
machine, an older version, or a disk that lost a sector. Everything they read is
parsed strictly (:func:`loads`: no ``NaN``, no ``Infinity``, no nesting deeper than
Python's recursion limit) and checked against the shapes below, so that a damaged
file is one :class:`~dvcschema.errors.ConfigError` naming the file and the field
(exit code 2), never a ``KeyError`` or a ``TypeError`` deep in the analysis (exit
code 3). Keys the shapes do not list are allowed (newer writers may add some); the
keys they list must have the listed type when present, and ``required`` ones must
be present.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dvcschema.errors import ConfigError, shown


@dataclass(frozen=True)
class Value:
    """A leaf: ``test`` says whether a value fits; ``what`` says what fits, for messages."""

    what: str
    test: Callable[[Any], bool]


@dataclass(frozen=True)
class Record:
    """A JSON object with known keys (others are ignored)."""

    keys: Mapping[str, Shape]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Each:
    """A JSON object whose every value has one shape (a section keyed by request name)."""

    shape: Shape


@dataclass(frozen=True)
class ListOf:
    shape: Shape


@dataclass(frozen=True)
class AnyObject:
    """A JSON object whose contents are only displayed, never computed with."""

    what: str = field(default="an object")


Shape = Value | Record | Each | ListOf | AnyObject


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


NUMBER = Value("a number", _is_number)
NON_NEGATIVE = Value("a number >= 0", lambda v: _is_number(v) and v >= 0)
COUNT = Value(
    "a whole number >= 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0
)
TEXT = Value("a text", lambda v: isinstance(v, str))
FLAG = Value("true or false", lambda v: isinstance(v, bool))


def nullable(value: Value) -> Value:
    return Value(f"{value.what} or null", lambda v: v is None or value.test(v))


FIGURES = Record(
    {
        "count": COUNT,
        "failures": COUNT,
        "failure_ratio": NON_NEGATIVE,
        "rps": NON_NEGATIVE,
        **{k: nullable(NUMBER) for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms")},
        "max_ms": nullable(NUMBER),
        "mean_ms": nullable(NUMBER),
    }
)
AUDIT_COUNTS = (
    "dossiers_missing",
    "payments_missing",
    "double_charges",
    "orphan_payments",
    "dossiers_acknowledged",
    "payments_confirmed",
)
GATE_ENTRY = Record({k: TEXT for k in ("status", "target", "expression", "scope", "message")})
SUMMARY = Record(
    {
        "duration_s": NON_NEGATIVE,
        "endpoints": Each(FIGURES),
        "total": FIGURES,
        "journeys": Each(FIGURES),
        "sessions": Each(FIGURES),
        "breakdown": Each(Each(FIGURES)),
        "requests": COUNT,
        "failures": COUNT,
        "failure_ratio": NON_NEGATIVE,
        "rps": NON_NEGATIVE,
        "partial": FLAG,
        "complete": FLAG,
        **{k: TEXT for k in ("scenario", "target", "started_at", "ended_at", "percentile_source")},
        "tags": Each(ListOf(TEXT)),
        "users": Record({"max": nullable(NUMBER)}),
        "arrivals": Record(
            {
                k: nullable(NON_NEGATIVE)
                for k in ("target_rate", "achieved_rate", "started", "dropped", "scheduled")
            }
        ),
        "audit": Record({**{k: COUNT for k in AUDIT_COUNTS}, "passed": FLAG}),
        "gate": Record(
            {
                "passed": FLAG,
                "partial": FLAG,
                "headline": TEXT,
                "baseline": nullable(TEXT),
                "budgets": ListOf(GATE_ENTRY),
            }
        ),
        "generator": AnyObject(),
        "ledger": AnyObject(),
    },
    required=("endpoints", "duration_s"),
)
MANIFEST = Record(
    {
        "scenario": Record({"load": AnyObject(), "source": TEXT, "budgets": AnyObject()}),
        "versions": AnyObject(),
        "host": AnyObject(),
    }
)
HISTOGRAM_ENTRY = Record({"histogram": TEXT, "failures": COUNT}, required=("histogram",))
HISTOGRAM_SECTIONS = ("endpoints", "journeys", "services", "provinces", "sessions")
HISTOGRAMS = Record({name: Each(HISTOGRAM_ENTRY) for name in HISTOGRAM_SECTIONS})
INTERVAL_ROW = Record(
    {"t_start": NUMBER, "t_end": NUMBER, "endpoints": Each(HISTOGRAM_ENTRY)},
    required=("t_start", "t_end"),
)


# -- parsing and checking -------------------------------------------------------------------
def loads(text: str, *, source: str, line: int | None = None) -> Any:
    """Strict JSON: ``NaN``, ``Infinity`` and numbers beyond a float are refused, and
    so is nesting too deep to read; every refusal is a :class:`ConfigError`."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ConfigError("not valid JSON: nested too deeply", source=source, line=line) from None
    except ValueError as exc:  # JSONDecodeError, and the refusals above
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ConfigError(f"not valid JSON: {message}", source=source, line=line) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{shown(text)} is beyond the range of a number")
    return value


def check(
    value: Any, shape: Shape, *, source: str, path: str = "", line: int | None = None
) -> None:
    """Raise :class:`ConfigError` at the first part of ``value`` that does not fit ``shape``."""

    def fail(what: str, found: Any, where: str) -> ConfigError:
        return ConfigError(f"{shown(found)} is not {what}", source=source, line=line, field=where)

    if isinstance(shape, Value):
        if not shape.test(value):
            raise fail(shape.what, value, path or "(top)")
        return
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            raise fail("a list", value, path or "(top)")
        for i, item in enumerate(value):
            check(item, shape.shape, source=source, path=f"{path}[{i}]", line=line)
        return
    if not isinstance(value, dict):
        raise fail("an object", value, path or "(top)")
    if isinstance(shape, Each):
        for key, item in value.items():
            check(item, shape.shape, source=source, path=joined(path, key), line=line)
    elif isinstance(shape, Record):
        _check_record(value, shape, source=source, path=path, line=line)


def _check_record(
    value: dict[str, Any], shape: Record, *, source: str, path: str, line: int | None
) -> None:
    for key in shape.required:
        if key not in value:
            where = path or None
            raise ConfigError(f"no {key!r}", source=source, line=line, field=where)
    for key, sub in shape.keys.items():
        if key in value:
            check(value[key], sub, source=source, path=joined(path, key), line=line)


def joined(path: str, key: str) -> str:
    """``path.key``, the key shortened when it is long or unprintable."""
    name = key if len(key) <= 60 and key.isprintable() else shown(key, 60)
    return f"{path}.{name}" if path else name
