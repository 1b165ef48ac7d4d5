"""Uncertain inputs of a capacity plan: ranges, and the ``derivation:`` of the arrival peak.

A number in a ``capacity:`` section may be given three ways::

    service_time: 30ms                                         # one value
    service_time: {value: 30ms, source: "guess"}               # one value, with its source
    service_time: {low: 25ms, high: 40ms, source: "guess"}     # a range (uniform)
    visits: {low: 4, high: 16, dist: loguniform}               # known to a factor

A range is drawn uniformly between ``low`` and ``high`` (``dist: loguniform``: uniformly
in log scale); its central value is the median, ``(low + high) / 2`` or
``sqrt(low * high)``. A YAML list (``[25ms, 40ms]``) is refused: a range names its ends.

The ``derivation:`` block computes the arrival curve's peak from published figures.
Each entry of ``figures`` is a named input (a value or a range, with a ``source``) or a
named formula over the entries above it; ``peak`` names the figure that is the peak of
the arrival curve, in sessions per second::

    derivation:
      peak: peak_sessions_per_s
      figures:
        payments_per_half_year: {value: 6.8M, unit: payments, source: "domain.md: ..."}
        payment_growth: {low: 1.5, high: 3, source: "guess: ..."}
        payments_per_day: {formula: "payments_per_half_year / 181 * payment_growth"}
        ...
        peak_sessions_per_s: {formula: "sessions_per_day * peak_hour_share / 3600"}

Numbers are plain, or text with a suffix: ``7.7M``, ``6.8 M``, ``5k``, ``2.4bn``,
``51.5%`` (a fraction). Formulas use ``+ - * / **``, parentheses, numbers, ``min(...)``,
``max(...)`` and the names above them, plus ``peak_equivalent_hours``: the day's
sessions divided by the peak rate, in hours, from the shape in ``arrivals:``. With a
derivation, ``arrivals:`` gives only that shape: its own peak must be 1, and the curve
is multiplied by the derived peak.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dvcschema.capacity_expressions import FUNCTIONS, evaluate_formula, formula_names
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, text

FloatArray = NDArray[np.float64]
DISTS = ("uniform", "loguniform")
BUILTINS = ("peak_equivalent_hours",)
MAX_FIGURES = 64
MAX_FORMULA_CHARS = 500
MAX_AMOUNT = 1e15
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_AMOUNT = re.compile(r"\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(%|k|M|bn)?\s*", re.ASCII)
_SUFFIX = {None: 1.0, "%": 0.01, "k": 1e3, "M": 1e6, "bn": 1e9}


@dataclass(frozen=True)
class Quantity:
    """One input of a plan: ``low == high`` for one value, else a range drawn by ``dist``."""

    low: float
    high: float
    dist: str = "fixed"
    source: str | None = None
    unit: str | None = None

    @property
    def is_range(self) -> bool:
        return self.dist != "fixed"

    @property
    def central(self) -> float:
        """The median: the value itself, ``(low + high) / 2`` or ``sqrt(low * high)``."""
        if self.dist == "loguniform":
            return math.sqrt(self.low * self.high)
        return (self.low + self.high) / 2 if self.dist == "uniform" else self.low

    def as_dict(self, show: Callable[[float], Any]) -> dict[str, Any]:
        """The mapping form, values written by ``show`` (e.g. durations with units)."""
        out: dict[str, Any] = (
            {"low": show(self.low), "high": show(self.high)}
            if self.is_range
            else {"value": show(self.low)}
        )
        if self.dist == "loguniform":
            out["dist"] = self.dist
        out.update({k: v for k, v in (("source", self.source), ("unit", self.unit)) if v})
        return out

    def describe(self, show: Callable[[float], str]) -> str:
        """``'25ms-40ms (uniform)'`` or ``'30ms'``."""
        if not self.is_range:
            return show(self.low)
        return f"{show(self.low)}-{show(self.high)} ({self.dist})"


def take_quantity(
    fields: Fields,
    key: str,
    parse_one: Callable[[Any], float],
    default: float | None = None,
) -> tuple[float, Quantity | None]:
    """``(central value, Quantity or None)`` for a field that may be a range.

    ``None`` in second place when the field is one plain value (or absent: ``default``).
    """
    if fields.has(key) and isinstance(fields.take_raw(key), dict):
        sub = fields.section(key)
        assert sub is not None
        quantity = _quantity(sub, parse_one, source_required=False, with_unit=False)
        sub.close()
        return quantity.central, quantity
    if default is None:
        return fields.take(key, _scalar(parse_one)), None
    return fields.take(key, _scalar(parse_one), default), None


def one_value(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``parse``, refusing a range (a list or mapping) with a message that says so."""

    def one(value: Any) -> Any:
        if isinstance(value, list | dict):
            raise ValueError(f"{shown(value)} is a range or a mapping; give one value")
        return parse(value)

    return one


def _scalar(parse_one: Callable[[Any], float]) -> Callable[[Any], float]:
    def one(value: Any) -> float:
        if isinstance(value, list):
            raise ValueError(
                f"{shown(value)} is a list; give one value, or a range as {{low: ..., high: ...}}"
            )
        return parse_one(value)

    return one


def _quantity(
    fields: Fields, parse_one: Callable[[Any], float], *, source_required: bool, with_unit: bool
) -> Quantity:
    source = fields.take("source", text(max_length=300), None)
    if source_required and source is None:
        raise fields.error_at(
            "source", "an input needs its source, e.g. 'domain.md: ...' or 'guess: ...'"
        )
    unit = fields.take("unit", text(max_length=40), None) if with_unit else None
    has_range = fields.has("low") or fields.has("high")
    if fields.has("value") == has_range:
        raise fields.error_at(
            "value" if fields.has("value") else "low",
            "give either value, or low and high (a range)",
        )
    if not has_range:
        value = fields.take("value", _scalar(parse_one))
        return Quantity(value, value, "fixed", source, unit)
    low = fields.take("low", _scalar(parse_one))
    high = fields.take("high", _scalar(parse_one))
    dist = fields.take("dist", _dist, "uniform")
    if not low < high:
        raise fields.error_at(
            "high", f"high must be above low; for one value give 'value: {low:g}'"
        )
    if dist == "loguniform" and low <= 0:
        raise fields.error_at("low", "a loguniform range needs low > 0")
    return Quantity(low, high, dist, source, unit)


def _dist(value: Any) -> str:
    if value not in DISTS:
        raise ValueError(f"{shown(value)} is not allowed; options are {', '.join(DISTS)}")
    return str(value)


def parse_amount(value: Any) -> float:
    """A count or share: ``7700000``, ``"7.7M"``, ``"5k"``, ``"2.4bn"``, ``"51.5%"``.

    >>> parse_amount("6.8 M"), parse_amount("51.5%")
    (6800000.0, 0.515)
    """
    if isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not a number such as 5000, '7.7M' or '51.5%'")
    if isinstance(value, int) and abs(value) > MAX_AMOUNT:
        number = math.inf  # float() of a huge int overflows
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (match := _AMOUNT.fullmatch(value)):
        number = float(match[1]) * _SUFFIX[match[2]]
    else:
        raise ValueError(f"{shown(value)} is not a number such as 5000, '7.7M' or '51.5%'")
    if not (math.isfinite(number) and 0 <= number <= MAX_AMOUNT):
        raise ValueError(f"{shown(value)} is out of range; allowed: >= 0 and <= {MAX_AMOUNT:g}")
    return number


# -- the derivation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A named input (``quantity``) or formula (``formula``) of a derivation."""

    name: str
    quantity: Quantity | None = None
    formula: str | None = None
    unit: str | None = None
    note: str | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        return "formula" if self.formula is not None else "input"

    @property
    def source(self) -> str | None:
        return self.quantity.source if self.quantity is not None else self.note

    def as_dict(self) -> dict[str, Any]:
        if self.quantity is not None:
            return self.quantity.as_dict(_number)
        out: dict[str, Any] = {"formula": self.formula}
        out.update({k: v for k, v in (("unit", self.unit), ("note", self.note)) if v})
        return out


@dataclass(frozen=True)
class Derivation:
    """Named inputs and formulas, in order; ``peak`` is the arrival curve's peak (1/s).

    ``builtins`` are figures taken from the arrivals' shape (``peak_equivalent_hours``).
    """

    figures: tuple[Figure, ...]
    peak: str
    builtins: tuple[tuple[str, float], ...] = ()

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)

    @property
    def inputs(self) -> tuple[Figure, ...]:
        return tuple(f for f in self.figures if f.quantity is not None)

    def evaluate(self, values: Mapping[str, Any]) -> dict[str, FloatArray]:
        """Every figure, from ``values`` of the inputs (numbers or arrays of samples).

        Inputs missing from ``values`` take their central value.
        """
        env: dict[str, FloatArray] = {k: np.asarray(v, dtype=np.float64) for k, v in self.builtins}
        for fig in self.figures:
            if fig.quantity is not None:
                env[fig.name] = np.asarray(values.get(fig.name, fig.quantity.central), np.float64)
            else:
                assert fig.formula is not None
                env[fig.name] = evaluate_formula(fig.formula, env)
        return env

    def central(self) -> dict[str, float]:
        """Every figure with each input at its central value."""
        return {k: float(v) for k, v in self.evaluate({}).items()}

    def depends_on(self, name: str) -> frozenset[str]:
        """The figures (and built-ins) that ``name`` is computed from, itself included."""
        seen = {name}
        todo = [name]
        while todo:
            current = todo.pop()
            fig = next((f for f in self.figures if f.name == current), None)
            if fig is not None and fig.formula is not None:
                new = formula_names(fig.formula) - seen
                seen |= new
                todo.extend(new)
        return frozenset(seen)

    def as_dict(self) -> dict[str, Any]:
        return {"peak": self.peak, "figures": {f.name: f.as_dict() for f in self.figures}}


def derivation_section(
    capacity: Fields, shape_peak_per_s: float, shape_sessions: float
) -> Derivation | None:
    """The ``derivation`` of a capacity section, if any; the arrivals must be a shape (peak 1)."""
    fields = capacity.section("derivation")
    if fields is None:
        return None
    if not math.isclose(shape_peak_per_s, 1.0, rel_tol=1e-9):
        raise capacity.error_at(
            "arrivals",
            f"with a derivation, arrivals give the shape only: its peak must be 1, found"
            f" {shape_peak_per_s:g}",
        )
    # the shape's sessions over its peak of 1/s, in hours
    return parse_derivation(fields, {"peak_equivalent_hours": shape_sessions / 3600.0})


def parse_derivation(section: Fields, builtins: Mapping[str, float]) -> Derivation:
    """Validate a ``derivation:`` section; ``builtins`` come from the arrivals' shape."""
    peak = section.take("peak", text(max_length=64))
    figures_fields = section.section("figures", required=True)
    assert figures_fields is not None
    names = figures_fields.remaining()
    if not names:
        raise section.error_at("figures", "no figures; give inputs and a formula for the peak")
    if len(names) > MAX_FIGURES:
        raise section.error_at("figures", f"{len(names)} figures; at most {MAX_FIGURES} allowed")
    known: dict[str, None] = dict.fromkeys(builtins)
    figures = []
    for name in names:
        if not NAME.fullmatch(name) or name in FUNCTIONS or name in builtins:
            raise figures_fields.error_at(
                name,
                f"{shown(name)} is not a figure name like 'payments_per_day' (nor min, max,"
                f" {', '.join(BUILTINS)})",
            )
        fig_fields = figures_fields.section(name)
        assert fig_fields is not None
        figures.append(_figure(name, fig_fields, known, figures_fields.line_of(name)))
        known[name] = None
    figures_fields.close()
    section.close()
    if peak not in {f.name for f in figures}:
        raise section.error_at("peak", f"{shown(peak)} is not one of the figures; name the peak's")
    derivation = Derivation(tuple(figures), peak, tuple(builtins.items()))
    _check_values(derivation, section)
    return derivation


def _figure(name: str, fields: Fields, known: Mapping[str, None], line: int | None) -> Figure:
    if not fields.has("formula"):
        quantity = _quantity(fields, parse_amount, source_required=True, with_unit=True)
        fields.close()
        return Figure(name, quantity=quantity, unit=quantity.unit, line=line)
    formula = fields.take("formula", lambda v: _formula_text(v, known))
    unit = fields.take("unit", text(max_length=40), None)
    note = fields.take("note", text(max_length=300), None)
    fields.close()
    return Figure(name, formula=formula, unit=unit, note=note, line=line)


def _formula_text(value: Any, known: Mapping[str, None]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{shown(value)} is not a formula such as 'a / b * 3600'")
    if len(value) > MAX_FORMULA_CHARS:
        raise ValueError(f"a formula of {len(value)} characters; at most {MAX_FORMULA_CHARS}")
    unknown = sorted(formula_names(value) - set(known))
    if unknown:
        allowed = ", ".join(known) or "(none yet)"
        raise ValueError(
            f"{shown(value)} uses {shown(unknown[0])}, not a figure above it; known: {allowed}"
        )
    return value.strip()


def _check_values(derivation: Derivation, section: Fields) -> None:
    """Every figure finite, and the peak > 0, at the central values and at the range ends."""
    ends = {
        "central values": {},
        "lows of the ranges": {f.name: f.quantity.low for f in derivation.inputs if f.quantity},
        "highs of the ranges": {f.name: f.quantity.high for f in derivation.inputs if f.quantity},
    }
    for what, values in ends.items():
        env = derivation.evaluate(values)
        for fig in derivation.figures:
            if not np.isfinite(env[fig.name]):
                raise _located(section, fig, f"{fig.name} is not a finite number at the {what}")
        if not env[derivation.peak] > 0:
            fig = derivation.figure(derivation.peak)
            raise _located(section, fig, f"the peak {fig.name} is not above 0 at the {what}")


def _located(section: Fields, fig: Figure, message: str) -> ConfigError:
    return section.error_type(
        message, source=section.source, line=fig.line, field=f"{section.path}.figures.{fig.name}"
    )


def _number(x: float) -> float | int:
    return int(x) if x == int(x) and abs(x) < 2**53 else x
