"""Latency budgets: what a release gate checks, validated when it is loaded.

Budgets read like k6 thresholds. Keys name what is measured; values are lists of
expressions::

    budgets:
      "*": ["p99 < 2s", "error_rate < 1%"]     # every request name, each on its own
      total: ["rps > 50"]                      # all requests together
      "POST /dossiers": ["p95 < 800ms"]        # one request name
      "journey:payment": ["p95 < 1.5s"]        # whole journeys
      "tag:write": ["p99 < 1s"]                # all requests with a tag, merged
      "GET /services":
        - {expr: "p99 < 5s", abort_on_fail: true, delay: 30s}
        - "p95 may not rise more than 10%"     # needs a baseline run

An expression is ``<metric> <op> <value>``:

============  ==============================  ===================  ==========
metric        meaning                         value                operators
============  ==============================  ===================  ==========
``pNN``       latency percentile (``p99.9``;  a duration: ``ms``   ``<`` ``<=``
              k6's ``p(95)`` also works)      or ``s`` (``us``)
``max``       largest latency                 a duration           ``<`` ``<=``
``mean``      mean latency (``avg``)          a duration           ``<`` ``<=``
``error_rate``failed / all requests           ``1%`` or ``0.01``   ``<`` ``<=``
``rps``       requests per second (a floor)   a number (``50/s``)  ``>`` ``>=``
``dropped``   open-loop arrivals dropped      a count or a ``%``   ``<`` ``<=``
============  ==============================  ===================  ==========

A regression budget compares with a baseline run: ``p95 may not rise more than 10%``
(or ``... more than 20ms``), for a percentile or the mean. Without a baseline it is
reported as *skipped*, never as passed.

Mistakes are errors at load time, before any load starts, as one line:
``file:line: budgets.<key>: '<expr>': what is allowed``. Among them: a percentile of a
rate (``p95(error_rate)``), a latency without a unit (``p95 < 800``), a unit on a count
(``dropped < 5ms``), an operator that makes a floor a ceiling (``rps < 50``), and a
key of unknown shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields, sub_fields
from dvcschema.units import format_duration_s, parse_duration_s
from dvcschema.yamlio import read_yaml_file

LATENCY_METRICS = ("max", "mean")
RATE_METRICS = ("error_rate", "rps", "dropped")
ALLOWED_METRICS = "pNN (p50, p95, p99.9, ...), max, mean, error_rate, rps, dropped"
CEILING_OPS = ("<", "<=")
FLOOR_OPS = (">", ">=")
ALL_KEY = "*"
TOTAL_KEY = "total"
MAX_DELAY_S = 24 * 3600.0

_KEY_HELP = (
    "allowed: a request name such as 'POST /dossiers', 'journey:NAME', 'tag:NAME', "
    "'total' (all requests together) or '*' (each request name on its own)"
)
_REQUEST_KEY = re.compile(r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*")
_NAMED_KEY = re.compile(r"(journey|tag):([a-z0-9][a-z0-9_.-]{0,63})")
_METRIC_TEXT = r"(?P<metric>[A-Za-z_][\w.]*(?:\([^()]*\))?)"
# re.ASCII: a Unicode pattern's digit class also matches '٩٥', which float() reads as 95
_EXPRESSION = re.compile(_METRIC_TEXT + r" ?(?P<op><=|>=|==|!=|<|>|=) ?(?P<value>.+)", re.ASCII)
_REGRESSION = re.compile(_METRIC_TEXT + r" may not rise (?:by )?more than (?P<value>.+)", re.ASCII)
_PERCENTILE = re.compile(r"p(?:\((\d+(?:\.\d+)?)\)|(\d+(?:\.\d+)?))", re.ASCII)
_CALL = re.compile(r"(?P<outer>[A-Za-z_][\w.]*)\((?P<inner>[^()]*)\)", re.ASCII)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(us|µs|ms|s)", re.ASCII)
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", re.ASCII)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%", re.ASCII)
_MS_PER_UNIT = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
_ALIASES = {"avg": "mean", "med": "p50", "median": "p50", "error_rate": "error_rate"}
_LATENCY_ARGS = ("latency", "duration", "response_time", "http_req_duration")


@dataclass(frozen=True)
class Budget:
    """One checked expression under one key.

    ``limit`` is in the metric's unit: ms for latencies (and absolute regressions),
    a fraction for ``error_rate``, a relative regression and a ``dropped`` given in %,
    requests per second for ``rps``, and a count for a ``dropped`` given as a number.
    """

    key: str
    expression: str
    metric: str
    op: str
    limit: float
    unit: str  # "ms", "fraction", "per_s", "count"
    regression: bool = False
    abort_on_fail: bool = False
    delay_s: float = 0.0
    line: int | None = field(default=None, compare=False)

    @property
    def percentile(self) -> float | None:
        """The percentile (0-100) of a ``pNN`` budget, else ``None``."""
        return float(self.metric[1:]) if self.metric.startswith("p") else None

    @property
    def is_latency(self) -> bool:
        return self.metric not in RATE_METRICS

    @property
    def scope(self) -> str:
        """What the budget applies to, in words (reports say it explicitly)."""
        if self.metric == "dropped":
            return "the run"
        if self.key == ALL_KEY:
            return "each request name separately"
        if self.key == TOTAL_KEY:
            return "all requests together"
        kind, _, name = self.key.partition(":")
        if kind == "journey" and name:
            return f"whole {name} journeys"
        if kind == "tag" and name:
            return f"requests tagged {name}, merged"
        return "this request name"

    def holds(self, measured: float) -> bool:
        """Whether ``measured`` (in the budget's unit) satisfies ``op limit``."""
        return {
            "<": measured < self.limit,
            "<=": measured <= self.limit,
            ">": measured > self.limit,
            ">=": measured >= self.limit,
        }[self.op]

    def format(self, value: float | None) -> str:
        """A measured value with its unit: ``912.3 ms``, ``1.20%``, ``45.2/s``."""
        if value is None:
            return "n/a"
        if self.unit == "ms":
            if abs(value) >= 1000:
                return f"{value / 1000:,.3f} s"
            return f"{value:,.1f} ms" if abs(value) >= 10 else f"{value:,.3g} ms"
        if self.unit == "fraction":
            return f"{value * 100:.2f}%"
        if self.unit == "per_s":
            return f"{value:,.1f}/s"
        return f"{value:,.0f}"

    def format_limit(self) -> str:
        """The limit as written: ``800 ms``, ``2 s``, ``1%``, ``50/s``."""
        if self.unit == "ms":
            if self.limit >= 1000:
                return f"{self.limit / 1000:g} s"
            return f"{self.limit:g} ms"
        if self.unit == "fraction":
            return f"{self.limit * 100:g}%"
        if self.unit == "per_s":
            return f"{self.limit:g}/s"
        return f"{self.limit:g}"

    def as_item(self) -> str | dict[str, Any]:
        """The expression in the file's own vocabulary (for ``Scenario.as_dict``)."""
        if not self.abort_on_fail:
            return self.expression
        item: dict[str, Any] = {"expr": self.expression, "abort_on_fail": True}
        if self.delay_s:
            item["delay"] = format_duration_s(self.delay_s)
        return item


@dataclass(frozen=True)
class BudgetSet:
    """Budgets by key, in file order. A later set overrides an earlier one per key."""

    budgets: tuple[Budget, ...] = ()
    source: str | None = field(default=None, compare=False)

    def __iter__(self) -> Iterator[Budget]:
        return iter(self.budgets)

    def __len__(self) -> int:
        return len(self.budgets)

    @property
    def is_empty(self) -> bool:
        return not self.budgets

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.key for b in self.budgets))

    @property
    def abort_budgets(self) -> tuple[Budget, ...]:
        return tuple(b for b in self.budgets if b.abort_on_fail)

    def for_key(self, key: str) -> tuple[Budget, ...]:
        return tuple(b for b in self.budgets if b.key == key)

    def merged_over(self, other: BudgetSet) -> BudgetSet:
        """This set over ``other``: a key present here replaces that key's list there.

        A budgets file given with ``--budgets`` is merged over the scenario's budgets,
        so ``file.merged_over(scenario.budgets)``.
        """
        mine = set(self.keys)
        kept = tuple(b for b in other.budgets if b.key not in mine)
        return BudgetSet(kept + self.budgets, source=self.source or other.source)

    def as_dict(self) -> dict[str, list[str | dict[str, Any]]]:
        return {key: [b.as_item() for b in self.for_key(key)] for key in self.keys}


# -- loading -----------------------------------------------------------------------------
def load_budgets_file(path: str | Path) -> BudgetSet:
    """Read a budgets file (a top-level ``budgets:`` mapping); raises :class:`ConfigError`."""
    data = read_yaml_file(path)
    source = str(path)
    if data is None:
        raise ConfigError("the file is empty; expected a 'budgets:' mapping", source=source)
    top = Fields(data, source=source)
    section = top.section("budgets", required=True)
    top.close()
    assert section is not None
    return parse_budgets(section)


def parse_budgets(section: Fields) -> BudgetSet:
    """Validate a ``budgets:`` mapping (of a scenario or of a budgets file)."""
    budgets: list[Budget] = []
    for key in section.remaining():
        if not _valid_key(key):
            raise section.error_at(key, f"{shown(key)} is not a budget key; {_KEY_HELP}")
        found = [_parse_item(section, key, item, line) for _, item, line, _ in section.items(key)]
        if not found:
            raise section.error_at(
                key, "expected a non-empty list of expressions, e.g. ['p95 < 800ms']"
            )
        budgets.extend(found)
    section.close()
    return BudgetSet(tuple(budgets), source=section.source)


def _valid_key(key: str) -> bool:
    return bool(
        key in (ALL_KEY, TOTAL_KEY) or _REQUEST_KEY.fullmatch(key) or _NAMED_KEY.fullmatch(key)
    )


def budget_error(section: Fields, key: str, line: int | None, expr: Any, what: str) -> ConfigError:
    """``file:line: budgets.<key>: '<expr>': what is allowed``."""
    return section.error_type(
        f"{shown(expr)}: {what}", source=section.source, line=line, field=section.field_path(key)
    )


def _parse_item(section: Fields, key: str, item: Any, line: int | None) -> Budget:
    abort_on_fail, delay_s = False, 0.0
    expr = item
    if isinstance(item, dict):
        fields = sub_fields(section, item, line, section.field_path(key))
        expr = fields.take("expr", _expression_text)
        abort_on_fail = fields.take("abort_on_fail", _boolean, False)
        delay_s = fields.take("delay", _delay_s, 0.0)
        fields.close()
        if fields.has("delay") and not abort_on_fail:
            raise budget_error(section, key, line, expr, "'delay' only applies with abort_on_fail")
    elif not isinstance(item, str):
        raise budget_error(
            section,
            key,
            line,
            item,
            "an expression is a text such as 'p95 < 800ms' or "
            "a mapping {expr: 'p99 < 5s', abort_on_fail: true, delay: 30s}",
        )
    try:
        budget = parse_expression(expr, key=key)
        _check_combination(budget, abort_on_fail)
    except ValueError as exc:
        raise budget_error(section, key, line, expr, str(exc)) from None
    return Budget(
        key=key,
        expression=budget.expression,
        metric=budget.metric,
        op=budget.op,
        limit=budget.limit,
        unit=budget.unit,
        regression=budget.regression,
        abort_on_fail=abort_on_fail,
        delay_s=delay_s,
        line=line,
    )


def _check_combination(budget: Budget, abort_on_fail: bool) -> None:
    if budget.metric == "dropped" and budget.key not in (ALL_KEY, TOTAL_KEY):
        raise ValueError(
            "dropped arrivals are counted for the whole run; put this budget under 'total' or '*'"
        )
    if abort_on_fail and budget.regression:
        raise ValueError("a regression budget needs a baseline run and cannot abort a run")
    if abort_on_fail and budget.metric == "dropped":
        raise ValueError("abort_on_fail applies to latency, error_rate and rps budgets")


# -- the expression grammar -------------------------------------------------------------
def parse_expression(text: str, *, key: str = ALL_KEY) -> Budget:
    """Parse one expression; raises ``ValueError`` saying what is allowed.

    >>> b = parse_expression("p95 < 800ms", key="POST /dossiers")
    >>> (b.metric, b.op, b.limit, b.unit)
    ('p95', '<', 800.0, 'ms')
    >>> parse_expression("error_rate <= 1%").limit
    0.01
    """
    expression = " ".join(text.split())
    regression = _REGRESSION.fullmatch(expression)
    if regression:
        return _regression_budget(key, expression, regression["metric"], regression["value"])
    match = _EXPRESSION.fullmatch(expression)
    if not match:
        raise ValueError(
            "not an expression; write '<metric> <op> <value>' such as 'p95 < 800ms', "
            "'error_rate < 1%', 'rps > 50', or 'p95 may not rise more than 10%'"
        )
    metric = _metric(match["metric"])
    op, value = match["op"], match["value"]
    _check_op(metric, op)
    limit, unit = _limit(metric, value)
    return Budget(key, expression, metric, op, limit, unit)


def _metric(text: str) -> str:
    """The canonical metric name: ``p95``, ``p99.9``, ``max``, ``mean``, a rate metric."""
    name = _ALIASES.get(text, text)
    call = _CALL.fullmatch(name)
    if call and not _PERCENTILE.fullmatch(name):
        outer, inner = call["outer"], call["inner"].strip()
        if inner in RATE_METRICS:
            raise ValueError(
                f"a percentile or {outer} applies to latency only; {inner} is a rate or a "
                f"count: write e.g. '{inner} {_example(inner)}'"
            )
        if inner not in _LATENCY_ARGS:
            raise ValueError(f"unknown metric {shown(text)}; allowed: {ALLOWED_METRICS}")
        name = _ALIASES.get(outer, outer)
    percentile = _PERCENTILE.fullmatch(name)
    if percentile:
        value = float(percentile[1] or percentile[2])
        if value >= 100:
            raise ValueError("a percentile is below 100; use 'max' for the largest latency")
        if value <= 0:
            raise ValueError("a percentile is above 0, e.g. p50, p95, p99.9")
        return f"p{value:g}"
    if name in LATENCY_METRICS or name in RATE_METRICS:
        return name
    raise ValueError(f"unknown metric {shown(text)}; allowed: {ALLOWED_METRICS}")


def _example(metric: str) -> str:
    return {"error_rate": "< 1%", "rps": "> 50", "dropped": "< 1%"}.get(metric, "< 800ms")


def _check_op(metric: str, op: str) -> None:
    if op in ("=", "==", "!="):
        raise ValueError(f"operator {shown(op)} is not allowed; options are <, <=, >, >=")
    if metric == "rps" and op not in FLOOR_OPS:
        raise ValueError("rps is a throughput floor: use > or >= (e.g. 'rps > 50')")
    if metric != "rps" and op not in CEILING_OPS:
        raise ValueError(f"{metric} is a ceiling: use < or <= (e.g. '{metric} {_example(metric)}')")


def _limit(metric: str, value: str) -> tuple[float, str]:
    if metric == "error_rate":
        return _fraction(metric, value), "fraction"
    if metric == "rps":
        number = value.removesuffix("/s").strip()
        if not _NUMBER.fullmatch(number):
            raise ValueError(
                f"rps is requests per second: give a number such as 'rps > 50' or "
                f"'rps > 50/s', not {shown(value)}"
            )
        return float(number), "per_s"
    if metric == "dropped":
        if _PERCENT.fullmatch(value):
            return _fraction(metric, value), "fraction"
        if not re.fullmatch(r"[0-9]+", value):
            raise ValueError(
                "dropped counts arrivals: give a whole number (e.g. 'dropped < 100') or a % "
                f"(e.g. 'dropped < 1%'), without a unit, not {shown(value)}"
            )
        return float(value), "count"
    return _latency_ms(metric, value), "ms"


def _latency_ms(metric: str, value: str) -> float:
    match = _DURATION.fullmatch(value)
    if match:
        limit_ms = float(match[1]) * _MS_PER_UNIT[match[2]]
        if limit_ms <= 0:
            raise ValueError(
                f"{metric} below {shown(value)} can never hold; give a positive duration"
            )
        return limit_ms
    if _NUMBER.fullmatch(value):
        raise ValueError(
            f"{metric} is a latency: {shown(value)} needs a unit, ms or s"
            f" (e.g. '{metric} < {value if len(value) <= 12 else 800}ms')"
        )
    if _PERCENT.fullmatch(value):
        raise ValueError(
            f"{metric} is a latency: give a duration with ms or s (e.g. '{metric} < 800ms'); "
            "a % applies to error_rate and dropped"
        )
    raise ValueError(
        f"{shown(value)} is not a duration; allowed: a number with ms or s, e.g. 800ms"
    )


def _fraction(metric: str, value: str) -> float:
    percent = _PERCENT.fullmatch(value)
    if percent:
        share = float(percent[1]) / 100.0
    elif _NUMBER.fullmatch(value):
        share = float(value)
    else:
        raise ValueError(
            f"{metric} is a share: give a % such as '1%' or a fraction in [0, 1], "
            f"without a unit, not {shown(value)}"
        )
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{shown(value)} is not a share; allowed: 0% to 100%, or 0 to 1")
    return share


def _regression_budget(key: str, expression: str, metric_text: str, value: str) -> Budget:
    metric = _metric(metric_text)
    if not (metric.startswith("p") or metric == "mean"):
        raise ValueError(
            "a regression budget compares a latency percentile or the mean with the "
            "baseline, e.g. 'p95 may not rise more than 10%'"
        )
    percent = _PERCENT.fullmatch(value)
    if percent:
        limit = float(percent[1]) / 100.0
        if limit <= 0:
            raise ValueError("the allowed rise must be above 0%")
        return Budget(key, expression, metric, "<=", limit, "fraction", regression=True)
    try:
        return Budget(key, expression, metric, "<=", _latency_ms(metric, value), "ms", True)
    except ValueError:
        raise ValueError(
            f"the allowed rise is a % or a duration (e.g. '10%' or '20ms'), not {shown(value)}"
        ) from None


# -- small parsers ----------------------------------------------------------------------
def _expression_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{shown(value)} is not an expression such as 'p99 < 5s'")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not allowed; options are true, false")
    return value


def _delay_s(value: Any) -> float:
    seconds = parse_duration_s(value)
    if seconds > MAX_DELAY_S:
        raise ValueError(f"{shown(value)} is too long; at most {format_duration_s(MAX_DELAY_S)}")
    return seconds
