"""``capacity.journeys``: valid sections load; every kind of mistake is one located line."""

from __future__ import annotations

import pytest

from dvcschema.capacity_journeys import (
    MAX_JOURNEYS,
    JourneyBudget,
    JourneySpec,
    parse_journeys,
)
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.fields import Fields
from dvcschema.yamlio import parse_yaml

SOURCE = "s.yaml"
TIERS = ("web", "db", "payment")


def _fields(text: str) -> Fields:
    return Fields(
        parse_yaml(text, SOURCE), source=SOURCE, path="capacity", error_type=ScenarioError
    )


def _parse(text: str) -> tuple[JourneySpec, ...]:
    fields = _fields(text)
    journeys = parse_journeys(fields, TIERS)
    fields.close()
    return journeys


def test_no_journeys_section_is_empty() -> None:
    assert parse_journeys(_fields("method: psa\n"), TIERS) == ()


def test_the_example_of_the_docstring_loads() -> None:
    filing, status, payment = _parse(
        "journeys:\n"
        '  filing: {visits: {web: 8, db: 12}, budget: "p95 < 5s"}\n'
        "  status: {visits: {web: 2, db: 3}}\n"
        '  payment: {visits: {web: 6, db: 8, payment: 2}, budget: ["p95 < 6s", "p99 < 10s"]}\n'
    )
    assert filing == JourneySpec(
        "filing", (("web", 8), ("db", 12)), (JourneyBudget("p95 < 5s", 0.95, 5.0),)
    )
    assert (filing.line, status.line, payment.line) == (2, 3, 4)
    assert status.budgets == () and status.total_visits == 5
    assert [(b.quantile, b.limit_s) for b in payment.budgets] == [(0.95, 6.0), (0.99, 10.0)]
    assert payment.as_dict() == {
        "visits": {"web": 6, "db": 8, "payment": 2},
        "budget": ["p95 < 6s", "p99 < 10s"],
    }


def test_a_tier_with_no_visits_is_left_out() -> None:
    (journey,) = _parse("journeys:\n  browse: {visits: {web: 3, db: 0}, budget: 'p90 <= 800ms'}\n")
    assert journey.visits == (("web", 3),)
    assert journey.budgets == (JourneyBudget("p90 <= 800ms", 0.9, 0.8),)


def test_as_dict_reads_back_to_the_same_journeys() -> None:
    journeys = _parse(
        "journeys:\n  a: {visits: {web: 1}, budget: 'p95 < 2s'}\n  b: {visits: {db: 4}}\n"
    )
    data = {"journeys": {j.name: j.as_dict() for j in journeys}}
    assert parse_journeys(Fields(data, source=SOURCE, path="capacity"), TIERS) == journeys


MALFORMED = [
    ("not a mapping", "journeys: [filing]", "expected a mapping", 1),
    ("no journeys", "journeys: {}", "no journeys", 1),
    ("bad name", "journeys:\n  File It: {visits: {web: 1}}", "not a journey name", 2),
    ("journey not a mapping", "journeys:\n  filing: 8", "expected a mapping", 2),
    ("no visits", "journeys:\n  filing: {budget: 'p95 < 5s'}", "'capacity.journeys.filing.visits'"
     " is missing", 2),
    ("visits a list", "journeys:\n  filing: {visits: [web, db]}", "expected a mapping", 2),
    ("unknown tier", "journeys:\n  filing:\n    visits: {web: 8, cache: 2}",
     "'cache' is not a tier of capacity.tiers; tiers: web, db, payment", 3),
    ("fraction of a visit", "journeys:\n  filing:\n    visits: {web: 1.5}", "not a whole number",
     3),
    ("a float visit", "journeys:\n  filing:\n    visits: {web: 8.0}", "write 8", 3),
    ("negative visits", "journeys:\n  filing:\n    visits: {web: -1}", "out of range", 3),
    ("visits as text", "journeys:\n  filing:\n    visits: {web: '8'}", "not a whole number", 3),
    ("visits as boolean", "journeys:\n  filing:\n    visits: {web: true}", "not a whole number",
     3),
    ("visits as a range", "journeys:\n  filing:\n    visits: {web: {low: 1, high: 2}}",
     "give a whole number", 3),
    ("no requests", "journeys:\n  filing:\n    visits: {web: 0, db: 0}", "no requests", 3),
    ("too many at a tier", "journeys:\n  filing:\n    visits: {web: 101}", "out of range", 3),
    ("too many in all", "journeys:\n  filing:\n    visits: {web: 60, db: 60}",
     "120 requests in all; at most 100", 3),
    ("a tier's metric", "journeys:\n  f:\n    visits: {web: 1}\n    budget: 'P(wait) < 0.2'",
     "percentiles only", 4),
    ("utilization", "journeys:\n  f:\n    visits: {web: 1}\n    budget: 'utilization < 0.8'",
     "percentiles only", 4),
    ("a floor", "journeys:\n  f:\n    visits: {web: 1}\n    budget: 'p95 > 5s'", "upper limit",
     4),
    ("unknown metric", "journeys:\n  f:\n    visits: {web: 1}\n    budget: 'mean < 2s'",
     "not a journey budget (unknown metric 'mean'); allowed: 'pNN < T'", 4),
    ("no unit", "journeys:\n  f:\n    visits: {web: 1}\n    budget: 'p95 < 5'", "with a unit", 4),
    ("a number", "journeys:\n  f:\n    visits: {web: 1}\n    budget: 5", "not a journey budget",
     4),
    ("empty list", "journeys:\n  f:\n    visits: {web: 1}\n    budget: []", "an empty list", 4),
    ("empty budget", "journeys:\n  f:\n    visits: {web: 1}\n    budget:", "is empty", 4),
    ("same percentile", "journeys:\n  f:\n    visits: {web: 1}\n    budget: [p95 < 5s, p95 < 6s]",
     "same percentile", 4),
    ("unknown key", "journeys:\n  f:\n    visits: {web: 1}\n    budgets: [p95 < 5s]",
     "unknown key 'budgets'; allowed here: budget, visits", 4),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "fragment", "line"), MALFORMED, ids=[c[0] for c in MALFORMED]
)
def test_malformed_journeys_are_one_located_line(
    case: str, text: str, fragment: str, line: int
) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(text + "\n")
    message = str(info.value)
    assert "\n" not in message, case
    assert fragment in message, message
    assert message.startswith(f"{SOURCE}:{line}: capacity.journeys"), message


def test_too_many_journeys_is_one_line() -> None:
    text = "journeys:\n" + "".join(f"  j{i}: {{visits: {{web: 1}}}}\n" for i in range(33))
    with pytest.raises(ScenarioError, match=f"33 journeys; at most {MAX_JOURNEYS} allowed"):
        _parse(text)
