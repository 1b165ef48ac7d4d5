"""Rate CSVs with a ``start`` column (``dvcload derive``'s ``arrivals.csv``), as they are.

The interval comes from the starts; starts that are not equally spaced, or that
disagree with a given interval, are one line; in a capacity plan the rows go on the
clock from the first start's local time of day (or ``start_at``), inside one day.
"""

from __future__ import annotations

import doctest
import re
import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from dvcschema import capacity_arrivals, rates
from dvcschema.capacity import arrivals_from_csv
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.scenario import load_scenario


def arrivals_csv(
    path: Path, counts: Sequence[float], *, start: str = "2025-03-31T08:00:00+07:00",
    step: timedelta = timedelta(minutes=1),
) -> Path:  # fmt: skip
    """A CSV in derive's format: ``start,count``, one row per interval."""
    first = datetime.fromisoformat(start)
    rows = [f"{(first + i * step).isoformat()},{n:g}" for i, n in enumerate(counts)]
    path.write_text("start,count\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# -- reading ------------------------------------------------------------------------------
def test_the_interval_is_read_from_equally_spaced_starts(tmp_path: Path) -> None:
    path = arrivals_csv(tmp_path / "a.csv", [300, 600, 0], step=timedelta(minutes=5))
    table = rates.read_rate_csv(path)
    assert table.interval_s == 300.0
    assert table.rate_per_s.tolist() == [1.0, 2.0, 0.0]
    assert table.first_start == datetime.fromisoformat("2025-03-31T08:00:00+07:00")
    assert table.start_clock_s == 8 * 3600.0
    assert rates.read_rate_csv(path, 300.0).interval_s == 300.0  # given and agreeing


def test_a_csv_with_only_counts_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("minute,count\n0,60\n1,120\n", encoding="utf-8")
    table = rates.read_rate_csv(path, 60.0)
    assert (table.interval_s, table.first_start, table.start_clock_s) == (60.0, None, None)
    per_s, lines = rates.read_counts_csv(path, 60.0)
    assert per_s.tolist() == [1.0, 2.0] and lines == [2, 3]
    assert rates.read_rate_csv(path).interval_s == rates.DEFAULT_INTERVAL_S


def test_one_row_takes_the_given_interval_or_a_minute(tmp_path: Path) -> None:
    path = arrivals_csv(tmp_path / "a.csv", [30])
    assert rates.read_rate_csv(path).interval_s == 60.0
    assert rates.read_rate_csv(path, 10.0).interval_s == 10.0


def test_the_time_of_day_is_in_the_offset_written(tmp_path: Path) -> None:
    utc = arrivals_csv(tmp_path / "u.csv", [1, 1], start="2025-03-31T01:00:00Z")
    naive = arrivals_csv(tmp_path / "n.csv", [1, 1], start="2025-03-31T17:30:00")
    assert rates.read_rate_csv(utc).start_clock_s == 3600.0
    assert rates.read_rate_csv(naive).start_clock_s == 17.5 * 3600


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        (["08:00", "08:01", "08:03"], "line 4: start 2025-03-31T08:03:00+07:00 is 2m after"),
        (["08:00", "08:01", "08:01"], "line 4: start 2025-03-31T08:01:00+07:00 is not after"),
        (["08:02", "08:01"], "line 3: start 2025-03-31T08:01:00+07:00 is not after"),
    ],
)
def test_starts_not_equally_spaced_are_refused_at_their_line(
    tmp_path: Path, rows: list[str], fragment: str
) -> None:
    path = tmp_path / "a.csv"
    body = "".join(f"2025-03-31T{r}:00+07:00,5\n" for r in rows)
    path.write_text("start,count\n" + body, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        rates.read_rate_csv(path)
    assert "equally spaced" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        ("yesterday", "start 'yesterday' is not an ISO 8601 time"),
        ("", "start '' is not an ISO 8601 time"),
        ("2025-W14-1", "is not an ISO 8601 time"),
        ("2025-13-31T08:00:00", "is not an ISO 8601 time"),
    ],
)
def test_a_start_that_is_not_a_time_is_refused(tmp_path: Path, start: str, fragment: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"start,count\n{start},5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=fragment):
        rates.read_rate_csv(path)


def test_starts_with_and_without_an_offset_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "start,count\n2025-03-31T08:00:00+07:00,5\n2025-03-31T08:01:00,5\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"line 3: .* UTC offset"):
        rates.read_rate_csv(path)


def test_a_given_interval_that_disagrees_with_the_starts_is_one_line(tmp_path: Path) -> None:
    path = arrivals_csv(tmp_path / "a.csv", [5, 5], step=timedelta(minutes=5))
    with pytest.raises(ValueError) as info:
        rates.read_rate_csv(path, 60.0)
    assert str(info.value) == (
        f"{str(path)!r}: the 'start' column has rows 5m apart, but the interval is 1m;"
        " give interval: 5m, or none (it is read from the starts)"
    )


# -- a run's load.rate.csv ----------------------------------------------------------------
def test_derives_arrivals_csv_drives_an_open_load_as_it_is(tmp_path: Path) -> None:
    arrivals_csv(tmp_path / "arrivals.csv", [60, 120, 0, 60])
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: replayed\nload:\n  model: open\n  max_concurrency: 50\n"
        "  rate: {csv: {file: arrivals.csv}}\n",
        encoding="utf-8",
    )
    load = load_scenario(scenario).load
    profile = load.profile  # type: ignore[union-attr]
    assert profile.duration_s == 240.0
    assert profile.rate_at([30.0, 90.0, 150.0]).tolist() == [1.0, 2.0, 0.0]


# -- a capacity plan's clock --------------------------------------------------------------
PLAN = """\
name: cap
capacity:
  interval: 1h
  arrivals:
{arrivals}
  budgets: ["p95 < 2s"]
  tiers:
    web: {{service_time: 40ms}}
"""


def _capacity(tmp_path: Path, arrivals: str) -> tuple[np.ndarray, np.ndarray, str]:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(arrivals=textwrap.indent(arrivals, "    ")), encoding="utf-8")
    capacity = load_scenario(path).capacity
    assert capacity is not None
    a = capacity.arrivals
    return np.asarray(a.times_s), np.asarray(a.rate_per_s), a.source


def test_a_plan_places_the_rows_at_the_first_starts_time_of_day(tmp_path: Path) -> None:
    arrivals_csv(tmp_path / "arrivals.csv", [60] * 30 + [120] * 30)
    t, r, source = _capacity(tmp_path, "csv: {file: arrivals.csv}")
    assert (t[0], t[-1]) == (8 * 3600.0, 9 * 3600.0)
    assert np.interp([8.25 * 3600, 8.75 * 3600], t, r).tolist() == [1.0, 2.0]
    assert np.trapezoid(r, t) == pytest.approx(5400, rel=1e-6)  # the CSV's sessions
    assert "60 rows of 1m from 2025-03-31T08:00:00+07:00 (row 0 at 08:00" in source
    assert source.endswith("08:00-09:00 planned")


def test_start_at_and_length_cut_a_window_on_the_csvs_clock(tmp_path: Path) -> None:
    arrivals_csv(tmp_path / "arrivals.csv", list(range(1, 121)))
    t, r, _ = _capacity(tmp_path, "csv: {file: arrivals.csv}\nstart_at: 8h30m\nlength: 15m")
    assert (t[0], t[-1]) == (8.5 * 3600, 8.75 * 3600)
    assert r[0] == pytest.approx(31 / 60)  # row 30 (08:30) is the 31st


def test_a_csv_past_midnight_is_refused_with_advice(tmp_path: Path) -> None:
    arrivals_csv(tmp_path / "arrivals.csv", [5] * 90, start="2025-03-31T23:00:00+07:00")
    with pytest.raises(ScenarioError) as info:
        _capacity(tmp_path, "csv: {file: arrivals.csv}")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'plan.yaml'}:5: capacity.arrivals.csv: ")
    assert "from 2025-03-31T23:00:00+07:00 to 00:30 the next day, past 24:00" in message
    assert "give length: 1h (up to 24:00) or start_at: 0h (after midnight)" in message
    # as advised: either side of midnight plans
    t, _, _ = _capacity(tmp_path, "csv: {file: arrivals.csv}\nlength: 1h")
    assert (t[0], t[-1]) == (23 * 3600.0, 24 * 3600.0)
    t, _, _ = _capacity(tmp_path, "csv: {file: arrivals.csv}\nstart_at: 0h")
    assert (t[0], t[-1]) == (0.0, 1800.0)


def test_a_csv_longer_than_a_day_is_refused_unless_a_day_is_picked(tmp_path: Path) -> None:
    arrivals_csv(
        tmp_path / "arrivals.csv", [600] * 48, start="2025-03-30T18:00:00+07:00",
        step=timedelta(hours=1),
    )  # fmt: skip
    with pytest.raises(ScenarioError, match=r"longer than a day; .* start_at: 0h and length: 24h"):
        _capacity(tmp_path, "csv: {file: arrivals.csv}")
    t, r, _ = _capacity(tmp_path, "csv: {file: arrivals.csv}\nstart_at: 0h\nlength: 24h")
    assert (t[0], t[-1]) == (0.0, 86_400.0) and np.allclose(r, 1 / 6)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("start_at: 7h", "capacity.arrivals.start_at: 07:00 is not in the CSV"),
        ("start_at: 8h30m\nlength: 16h", "start_at + length passes 24:00"),
        ("start_at: 24h", "starts at or after 24:00"),
    ],
)
def test_a_window_outside_the_csv_is_one_line(tmp_path: Path, extra: str, fragment: str) -> None:
    arrivals_csv(tmp_path / "arrivals.csv", [5] * 60)
    with pytest.raises(ScenarioError, match=re.escape(fragment)):
        _capacity(tmp_path, f"csv: {{file: arrivals.csv}}\n{extra}")


def test_a_csv_without_starts_still_begins_at_midnight(tmp_path: Path) -> None:
    (tmp_path / "counts.csv").write_text("count\n3600\n7200\n", encoding="utf-8")
    t, r, source = _capacity(tmp_path, "csv: {file: counts.csv, interval: 1h}")
    assert (t[0], t[-1]) == (0.0, 7200.0) and np.interp(5400, t, r) == 2.0
    assert "row 0 at 00:00 (no 'start' column)" in source
    t, _, _ = _capacity(tmp_path, "csv: {file: counts.csv, interval: 1h}\nstart_at: 1h")
    assert (t[0], t[-1]) == (3600.0, 7200.0)


def test_a_capacity_csv_whose_starts_disagree_with_its_interval_is_located(
    tmp_path: Path,
) -> None:
    arrivals_csv(tmp_path / "arrivals.csv", [5, 5])
    with pytest.raises(ScenarioError, match=r"plan.yaml:5: capacity.arrivals.csv.file: .* 1m"):
        _capacity(tmp_path, "csv: {file: arrivals.csv, interval: 5m}")


def test_arrivals_from_csv_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    path = arrivals_csv(tmp_path / "zero.csv", [0, 0])
    with pytest.raises(ConfigError) as info:
        arrivals_from_csv(path)
    assert str(info.value) == (
        f"{path}: --arrivals: the count is 0 throughout the part planned; nothing to plan"
    )
    with pytest.raises(ConfigError, match="--arrivals: no such file"):
        arrivals_from_csv(tmp_path / "missing.csv")


def test_the_placement_examples_run() -> None:
    result = doctest.testmod(capacity_arrivals)
    assert result.attempted > 0 and result.failed == 0
