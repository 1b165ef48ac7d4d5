"""The two small languages of a ``capacity:`` section: budgets and formulas.

Budget expressions read like k6 thresholds and become the vocabulary of
``models.TierBudget``: ``"p95 < 2s"`` is ``("response_quantile", 2.0, 0.95)``.

Formulas of a ``derivation:`` (:mod:`dvcschema.capacity_inputs`) are arithmetic over
named figures, ``"payments_per_half_year / 181 * payment_growth"``: numbers, names,
``+ - * / **``, parentheses, ``min(...)`` and ``max(...)``. They are parsed by Python's
own parser into a tree that is checked node by node (nothing else is allowed, so
nothing is executed) and evaluated elementwise with NumPy, over arrays of samples.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dvcschema.errors import shown
from dvcschema.units import parse_duration_s, parse_fraction

FloatArray = NDArray[np.float64]
FUNCTIONS = ("min", "max")
MAX_CONSTANT = 1e300
METRIC_HELP = "pNN (response time at the tier, e.g. p95), wait_pNN, mean_wait, P(wait), utilization"
_EXPRESSION = re.compile(
    r"\s*(?P<metric>[A-Za-z_][\w.]*(?:\([^()]*\))?)\s*"
    r"(?P<op><=|>=|==|!=|<|>|=)\s*(?P<value>\S.*?)\s*",
    re.ASCII,
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?", re.ASCII)  # ASCII digits only: float('٩٥') is 95
_PERCENTILE = re.compile(r"(wait_)?p(?:(\d+(?:\.\d+)?)|\((\d+(?:\.\d+)?)\))", re.ASCII)
_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}


def parse_budget_expression(text: Any) -> tuple[str, float, float | None]:
    """``"p95 < 2s"`` to ``("response_quantile", 2.0, 0.95)``; ``ValueError`` otherwise.

    >>> parse_budget_expression("P(wait) < 20%")
    ('prob_wait', 0.2, None)
    """
    if not isinstance(text, str):
        raise ValueError(f"not an expression such as 'p95 < 2s'; allowed metrics: {METRIC_HELP}")
    match = _EXPRESSION.fullmatch(text)
    if match is None:
        raise ValueError(f"not '<metric> < <value>'; allowed metrics: {METRIC_HELP}")
    if match["op"] not in ("<", "<="):
        raise ValueError(
            f"{shown(match['op'])}: a capacity budget is an upper limit; use '<' or '<='"
        )
    kind, quantile = _metric(match["metric"])
    raw = match["value"]
    if kind in ("prob_wait", "max_utilization"):
        value = parse_fraction(float(raw) if _NUMBER.fullmatch(raw) else raw)
    else:
        value = parse_duration_s(raw)
    if value <= 0:
        raise ValueError(f"{shown(raw)} is out of range; allowed: > 0")
    return kind, value, quantile


def _metric(text: str) -> tuple[str, float | None]:
    name = text.lower()
    if name in ("p(wait)", "prob_wait"):
        return "prob_wait", None
    if name == "mean_wait":
        return "mean_wait", None
    if name in ("utilization", "utilisation"):
        return "max_utilization", None
    match = _PERCENTILE.fullmatch(name)
    if match is None:
        raise ValueError(f"unknown metric {shown(text)}; allowed: {METRIC_HELP}")
    percent = float(match[2] or match[3])
    if not 0 < percent < 100:
        raise ValueError(f"percentile {percent:g} is out of range; allowed: 0 < NN < 100")
    return ("wait_quantile" if match[1] else "response_quantile"), percent / 100


# -- formulas ------------------------------------------------------------------------------
def formula_names(formula: str) -> frozenset[str]:
    """The figure names a formula uses; ``ValueError`` when it is not a formula."""
    return frozenset(
        n.id
        for n in ast.walk(_parsed(formula))
        if isinstance(n, ast.Name) and n.id not in FUNCTIONS
    )


def evaluate_formula(formula: str, env: Mapping[str, FloatArray]) -> FloatArray:
    """The formula's value, elementwise over arrays of samples (inf or nan where undefined).

    >>> float(evaluate_formula("a / b * 3600", {"a": np.array(2.0), "b": np.array(4.0)}))
    1800.0
    """
    with np.errstate(all="ignore"):
        return np.asarray(_value(_parsed(formula).body, env), dtype=np.float64)


@lru_cache(maxsize=256)
def _parsed(formula: str) -> ast.Expression:
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"{shown(formula)} is not a formula such as 'a / b * 3600'") from None
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        bare_function = (
            isinstance(node, ast.Name) and node.id in FUNCTIONS and id(node) not in called
        )
        if bare_function or not _allowed(node):
            part = ast.get_source_segment(formula.strip(), node) or type(node).__name__
            raise ValueError(
                f"{shown(formula)}: {shown(part[:40])} is not allowed in a formula; use numbers,"
                f" names, + - * / **, parentheses, min(a, b, ...) and max(a, b, ...)"
            )
    return tree


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        value = node.value
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and abs(value) <= MAX_CONSTANT
        )
    if isinstance(node, ast.Call):
        return (
            isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and len(node.args) >= 2
            and not node.keywords
            and not any(isinstance(a, ast.Starred) for a in node.args)
        )
    if isinstance(node, ast.BinOp):
        return type(node.op) in _OPERATORS
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd)
    return isinstance(node, ast.Expression | ast.Name | ast.Load | ast.operator | ast.unaryop)


def _value(node: ast.AST, env: Mapping[str, FloatArray]) -> Any:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # checked by _allowed
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_value(node.left, env), _value(node.right, env))
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, env)
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    reduce = np.minimum if node.func.id == "min" else np.maximum
    args = [_value(a, env) for a in node.args]
    out = args[0]
    for arg in args[1:]:
        out = reduce(out, arg)
    return out
