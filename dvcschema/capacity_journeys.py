"""The ``journeys:`` part of a ``capacity:`` section: whole journeys across the tiers.

A tier's budgets bound one request at that tier. A journey is what a citizen waits for
in all: the requests of one filing, payment or status check, each visiting a tier in
turn. ``dvcload plan`` predicts the mean and a percentile of each journey's total time
at the peak, with the planned servers (:mod:`planning.journeys`)::

    capacity:
      journeys:
        filing: {visits: {web: 8, db: 12}, budget: "p95 < 5s"}
        status: {visits: {web: 2, db: 3}}
        payment: {visits: {web: 6, db: 8, payment: 2}, budget: ["p95 < 6s", "p99 < 10s"]}

``visits`` maps tiers of ``capacity.tiers`` to the whole number of requests the journey
makes there (0 leaves a tier out); at most :data:`MAX_VISITS` in all. ``budget`` is
optional: one expression or a list, each a percentile of the journey's time,
``pNN < T``.

List each tier a request passes through as its own visits. When a tier's time already
includes the calls it makes while holding its worker (a web request waiting for the
database or the payment gateway: "held resources"), the called tiers are inside that
time: do not list them again for those calls.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from dvcschema.capacity_expressions import parse_budget_expression
from dvcschema.errors import ConfigError, shown
from dvcschema.fields import Fields
from dvcschema.units import parse_number

__all__ = ["MAX_JOURNEYS", "MAX_VISITS", "JourneyBudget", "JourneySpec", "parse_journeys"]

JOURNEY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_JOURNEYS = 32
MAX_VISITS = 100  # requests per journey: each is a station of a numerical convolution


@dataclass(frozen=True)
class JourneyBudget:
    """``pNN < T`` on a journey's total time: ``quantile`` (e.g. 0.95), ``limit_s`` (s)."""

    expression: str
    quantile: float
    limit_s: float


@dataclass(frozen=True)
class JourneySpec:
    """One journey: ``(tier, requests)`` in the file's order (zeros dropped), its budgets."""

    name: str
    visits: tuple[tuple[str, int], ...]
    budgets: tuple[JourneyBudget, ...] = ()
    line: int | None = field(default=None, compare=False)

    @property
    def total_visits(self) -> int:
        return sum(n for _, n in self.visits)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"visits": dict(self.visits)}
        if self.budgets:
            out["budget"] = [b.expression for b in self.budgets]
        return out


def parse_journeys(fields: Fields, tier_names: Collection[str]) -> tuple[JourneySpec, ...]:
    """The ``journeys`` of the ``capacity:`` section ``fields`` (``()`` without them).

    ``tier_names``: the tiers of ``capacity.tiers``, the only ones a journey may visit.
    Every mistake is a one-line :class:`~dvcschema.errors.ConfigError` at its line.
    """
    section = fields.section("journeys")
    if section is None:
        return ()
    names = section.remaining()
    if not names:
        raise fields.error_at(
            "journeys", "no journeys; give at least one, e.g. filing: {visits: {web: 8}}"
        )
    if len(names) > MAX_JOURNEYS:
        raise fields.error_at("journeys", f"{len(names)} journeys; at most {MAX_JOURNEYS} allowed")
    journeys = []
    for name in names:
        if not JOURNEY_NAME.fullmatch(name):
            raise section.error_at(
                name, f"{shown(name)} is not a journey name like 'filing' or 'status-check'"
            )
        journey = section.section(name)
        assert journey is not None
        journeys.append(_journey(name, journey, tier_names, section.line_of(name)))
    section.close()
    return tuple(journeys)


def _journey(
    name: str, fields: Fields, tier_names: Collection[str], line: int | None
) -> JourneySpec:
    visits = _visits(fields, tier_names)
    budgets = _budgets(fields)
    fields.close()
    return JourneySpec(name, visits, budgets, line)


def _visits(journey: Fields, tier_names: Collection[str]) -> tuple[tuple[str, int], ...]:
    fields = journey.section("visits", required=True)
    assert fields is not None
    counts = []
    for tier in fields.remaining():
        if tier not in tier_names:
            raise fields.error_at(
                tier,
                f"{shown(tier)} is not a tier of capacity.tiers; tiers: {', '.join(tier_names)}",
            )
        counts.append((tier, fields.take(tier, _requests)))
    fields.close()
    total = sum(n for _, n in counts)
    if total < 1:
        raise journey.error_at(
            "visits", "no requests; give a tier at least one visit, e.g. {web: 8, db: 12}"
        )
    if total > MAX_VISITS:
        raise journey.error_at(
            "visits", f"{total} requests in all; at most {MAX_VISITS} per journey allowed"
        )
    return tuple((tier, n) for tier, n in counts if n > 0)


def _requests(value: Any) -> int:
    if isinstance(value, list | dict):
        raise ValueError(f"{shown(value)} is a range or a mapping; give a whole number of visits")
    if isinstance(value, float) and value.is_integer():  # 8.0: refused, visits are counted
        raise ValueError(f"{shown(value)} is not a whole number; write {int(value)}")
    return int(parse_number(value, minimum=0, maximum=MAX_VISITS, integer=True))


def _budgets(fields: Fields) -> tuple[JourneyBudget, ...]:
    raw = fields.take_raw("budget", None)
    if raw is None:
        if fields.has("budget"):
            raise fields.error_at("budget", "is empty; give an expression such as 'p95 < 5s'")
        return ()
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise fields.error_at("budget", "an empty list; give an expression such as 'p95 < 5s'")
    budgets: list[JourneyBudget] = []
    for item in items:
        budget = _budget(fields, item)
        if any(b.quantile == budget.quantile for b in budgets):
            raise fields.error_at(
                "budget", f"{shown(item)}: a second budget on the same percentile; give each once"
            )
        budgets.append(budget)
    return tuple(budgets)


def _budget(fields: Fields, item: Any) -> JourneyBudget:
    try:
        kind, limit_s, quantile = parse_budget_expression(item)
    except ValueError as exc:  # its list of allowed metrics is the tiers': left out
        raise _not_a_budget(fields, item, str(exc).split("; allowed")[0]) from None
    if kind != "response_quantile" or quantile is None:
        raise _not_a_budget(fields, item, "a journey's time has percentiles only")
    return JourneyBudget(str(item).strip(), quantile, limit_s)


def _not_a_budget(fields: Fields, item: Any, reason: str) -> ConfigError:
    return fields.error_at(
        "budget",
        f"{shown(item)} is not a journey budget ({reason}); allowed: 'pNN < T', such as 'p95 < 5s'",
    )
