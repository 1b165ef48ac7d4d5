"""One clock format for every time a plan prints: exact to the second, never to the minute."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dvcschema.scenario import load_scenario
from planning import Spike, above_max, clock, make_plan, plan_scenario, report

REPO = Path(__file__).resolve().parents[2]

ODD_CLOCK = """\
name: odd-clock
capacity:
  method: psa
  interval: 150s
  arrivals:
    diurnal: {peak: 40, trough: 2}
    start_at: 16h0m45s
    length: 30m
  budgets: ["p95 < 250ms", "P(wait) < 0.2", "utilization < 0.8"]
  tiers:
    web: {service_time: 20ms, visits: 6}
    app: {service_time: 50ms, visits: 4, max_servers: 10}
"""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (150, "00:02:30"), (149.4, "00:02:29"), (149.5, "00:02:30"),
     (3599.9995, "01:00"), (9 * 3600, "09:00"), (57_645, "16:00:45"), (86_400, "24:00"),
     (90_000, "25:00")],
)  # fmt: skip
def test_clock_rounds_to_the_second_and_shows_seconds_only_off_the_minute(
    seconds: float, text: str
) -> None:
    assert clock(seconds) == text


def test_the_report_prints_rows_off_the_minute_exactly_and_in_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD_CLOCK, encoding="utf-8")
    run = plan_scenario(load_scenario(path))
    out = report(run)
    assert "sessions over 16:00:45-16:30:45" in " ".join(out.split())
    block = next(b for b in out.split("\n\n") if b.startswith("web:")).splitlines()
    header, rows = block[1], block[2:]
    assert rows[0].startswith("  16:00:45-16:03:15 ") and rows[-1].startswith("  16:28:15-16:30:45")
    column = header.index("mean/s") + len("mean/s")  # right-aligned under their header
    assert all(row[column - 1] != " " and row[column] == " " for row in rows)
    assert "Peak 16:00:45-16:03:15 (arrivals up to" in out
    assert above_max(run.plan).startswith("needs more than max_servers: app at 16:00:45, 16:03:15")


def test_a_whole_minute_plan_prints_hh_mm_only() -> None:
    spec = load_scenario(REPO / "scenarios" / "national-plan.yaml").capacity
    assert spec is not None
    out = report(make_plan(spec, spikes=(Spike(2.0, 17 * 3600.0, 1800.0),)))
    assert "  00:00-01:00 " in out and "spike     x2 at 17:00 for 30m" in out
    assert ":00:" not in out.replace("00:00-", "")  # no seconds anywhere


def test_no_other_module_formats_a_clock() -> None:
    """The issue this guards: two ``_clock`` functions that rounded 150 s differently."""
    defined = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name}"
        for package in ("planning", "dvcload", "models")
        for path in sorted((REPO / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and "clock" in node.name.lower()
    ]
    assert defined == ["planning/clock.py:14 clock"]
