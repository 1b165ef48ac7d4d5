"""The arrivals of a capacity plan: sessions per second on one day's clock.

A plan covers one day's clock, 00:00 to 24:00 (:mod:`dvcschema.capacity`). Its
``arrivals:`` are one of the kinds of ``load.rate`` (read by the same parser,
:func:`dvcschema.load.parse_rate`) or ``hourly``, placed on the clock from 00:00; a
rate CSV (sessions started per interval, :func:`dvcschema.rates.read_rate_csv`) is
placed in one of two ways:

- **With a** ``start`` **column** (``dvcload derive``'s ``arrivals.csv``): row 0 is at
  the first start's local time of day, in the UTC offset written in it
  (``2025-03-31T08:00:00+07:00`` is 08:00, wherever the plan is made), and each next
  row one interval later. The plan starts at row 0, unless ``start_at`` (a time of
  day) is given: it then starts at the first row of the CSV at that time of day, and
  the rows before it are left out. ``length`` cuts the end. The part planned must
  lie inside one day: a CSV that runs past 24:00 (or is longer than a day) is refused
  with one line, unless ``start_at`` and ``length`` pick such a part. For a log from
  18:00 to 18:00 the next day, ``length: 6h`` plans 18:00-24:00 of the first day and
  ``start_at: 0h`` plans 00:00-18:00 of the second.
- **Without**: row 0 is at 00:00; ``start_at`` is where the plan starts, and the plan
  stops at ``start_at + length``, or at the CSV's end or 24:00, whichever comes first.

``dvcload plan --arrivals FILE`` places a CSV the same way, with neither ``start_at``
nor ``length``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvcschema import rates
from dvcschema.errors import ConfigError
from dvcschema.fields import Fields
from dvcschema.load import MAX_RATE_PER_S, RATE_KINDS, duration_parser, read_csv_section
from dvcschema.load import parse_rate as parse_rate_section
from dvcschema.rates import DAY_S, CountsCsv
from dvcschema.units import format_duration_s, parse_duration_s, parse_number

ARRIVAL_KINDS = (*RATE_KINDS, "hourly")
STEP_S = 0.001  # a step in the rate becomes a 1 ms ramp (the MOL needs increasing times)
_EPS_S = 1e-6


@dataclass(frozen=True)
class Arrivals:
    """Sessions per second at clock times (s since 00:00), linear in between.

    ``times_s`` is strictly increasing (a step is a 1 ms ramp); ``spec`` is the
    section in the file's own words; ``source`` says where a CSV's rows came from and
    where they were placed on the clock (empty for the other kinds).
    """

    times_s: tuple[float, ...]
    rate_per_s: tuple[float, ...]
    kind: str
    spec: dict[str, Any]
    source: str = ""

    @property
    def peak_rate_per_s(self) -> float:
        return max(self.rate_per_s)

    @property
    def sessions(self) -> float:
        """Expected sessions over the profile (the integral of the rate)."""
        return float(np.trapezoid(self.rate_per_s, self.times_s))


# -- reading ----------------------------------------------------------------------------
def parse_arrivals(fields: Fields, base_dir: Path) -> Arrivals:
    """A validated ``capacity: arrivals:`` section (CSV paths relative to ``base_dir``)."""
    kinds = [k for k in ARRIVAL_KINDS if fields.has(k)]
    if len(kinds) != 1:
        raise fields.error_at(
            max(kinds, key=lambda k: fields.line_of(k) or 0) if kinds else "diurnal",
            f"give exactly one of {', '.join(ARRIVAL_KINDS)} (found {', '.join(kinds) or 'none'})",
        )
    if fields.has("speed"):
        raise fields.error_at("speed", "a capacity plan runs in clock time; remove 'speed'")
    if kinds[0] == "csv":
        return _csv_arrivals(fields, base_dir)
    if kinds[0] == "hourly":
        profile, spec = _hourly(fields)
    else:
        profile, spec = parse_rate_section(fields, base_dir)
    start_s = parse_duration_s(spec.get("start_at", "0s"))
    end_s = rates.DAY_S
    if "length" in spec:
        end_s = start_s + parse_duration_s(spec["length"])
        if end_s > rates.DAY_S + 1e-9:
            raise fields.error_at("length", "start_at + length passes 24:00; a plan covers a day")
    t, r = _clock_knots(profile, start_s, end_s)
    if t[-1] - t[0] < 1.0:
        raise fields.error_at(kinds[0], "the profile lasts under a second; nothing to plan for")
    return Arrivals(tuple(t.tolist()), tuple(r.tolist()), kinds[0], dict(spec))


def _csv_arrivals(fields: Fields, base_dir: Path) -> Arrivals:
    """A rate CSV, its rows placed on the clock by :func:`place`."""
    start_at_s = fields.take("start_at", duration_parser(minimum_s=0.0), None)
    length_s = fields.take("length", duration_parser(minimum_s=1.0), None)
    csv_fields = fields.section("csv")
    assert csv_fields is not None
    fields.close()
    file, table, interval_s = read_csv_section(csv_fields, base_dir)
    spec: dict[str, Any] = {"csv": {"file": str(file)}}
    if interval_s is not None:
        spec["csv"]["interval"] = format_duration_s(interval_s)
    spec.update({"start_at": format_duration_s(start_at_s)} if start_at_s is not None else {})
    spec.update({"length": format_duration_s(length_s)} if length_s is not None else {})
    try:
        return _placed_csv(table, place(table, start_at_s, length_s), file, spec)
    except PlacementError as exc:
        raise fields.error_at(exc.key, str(exc)) from None


def arrivals_from_csv(path: Path) -> Arrivals:
    """A rate CSV as a whole arrival profile (``dvcload plan --arrivals FILE``).

    Its rows are placed on the clock as in a ``capacity: arrivals: {csv: ...}`` with
    neither ``start_at`` nor ``length`` (:mod:`dvcschema.capacity_arrivals`): from the
    first ``start``'s local time of day, or from 00:00 without a ``start`` column.
    Raises :class:`ConfigError` (field ``--arrivals``) when it cannot be read or placed.
    """
    try:
        table = rates.read_rate_csv(path)
        window = place(table, None, None)
        return _placed_csv(table, window, path, {"csv": {"file": str(path.resolve())}})
    except ConfigError as exc:  # not a regular file, too large, not UTF-8 text
        raise ConfigError(exc.message, source=str(path), field="--arrivals") from None
    except PlacementError as exc:
        where = "; cut it with start_at or length in a scenario's capacity.arrivals"
        message = exc.problem + (where if exc.advice else "")
        raise ConfigError(message, source=str(path), field="--arrivals") from None
    except ValueError as exc:  # its message names the file
        raise ConfigError(str(exc), field="--arrivals") from None


def _placed_csv(
    table: CountsCsv,
    window: ClockWindow,
    path: Path,
    spec: dict[str, Any],
) -> Arrivals:
    profile = rates.csv_profile(
        table.rate_per_s, table.interval_s, start_s=window.offset_s, speed=1.0
    )
    t, r = _clock_knots(profile, window.clock_start_s, window.clock_end_s)
    if float(r.max(initial=0.0)) <= 0:
        raise PlacementError("csv", "the count is 0 throughout the part planned; nothing to plan")
    if t[-1] - t[0] < 1.0:
        raise PlacementError("csv", "the part planned lasts under a second; nothing to plan")
    source = f"{path}: {describe(table, window)}"
    return Arrivals(tuple(t.tolist()), tuple(r.tolist()), "csv", spec, source)


def _hourly(fields: Fields) -> tuple[rates.RateProfile, dict[str, Any]]:
    """24 mean rates (sessions/s), one per hour from 00:00, as steps."""
    start_s = fields.take("start_at", duration_parser(minimum_s=0.0), 0.0)
    length_s = fields.take("length", duration_parser(minimum_s=1.0), None)
    values = []
    for _index, item, line, path in fields.items("hourly"):
        try:
            values.append(parse_number(item, minimum=0.0, maximum=MAX_RATE_PER_S))
        except ValueError as exc:
            raise _item_error(fields, line, path, str(exc)) from None
    fields.close()
    if len(values) != 24:
        raise fields.error_at("hourly", f"{len(values)} numbers; give 24, one per hour from 00:00")
    if start_s >= rates.DAY_S:
        raise fields.error_at("start_at", "starts at or after 24:00")
    if max(values) <= 0:
        raise fields.error_at("hourly", "the rate is 0 throughout; nothing to plan for")
    spec: dict[str, Any] = {
        "hourly": values,
        "start_at": format_duration_s(start_s) if start_s else None,
        "length": format_duration_s(length_s) if length_s else None,
    }
    profile = rates.csv_profile(np.asarray(values), 3600.0, start_s=start_s, speed=1.0)
    return profile, {k: v for k, v in spec.items() if v}


def _clock_knots(
    profile: rates.RateProfile, start_s: float, end_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """The profile on the clock, cut at ``end_s``, with strictly increasing times."""
    t = start_s + np.asarray(profile.t_s)
    r = np.asarray(profile.rate_per_s)
    if t[-1] > end_s:
        inside = t < end_s
        t, r = np.append(t[inside], end_s), np.append(r[inside], np.interp(end_s, t, r))
    return _strictly_increasing(t, r)


def _strictly_increasing(t: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace each step (two knots at one time) by a ramp over the ``STEP_S`` before it."""
    out_t: list[float] = []
    out_r: list[float] = []
    for ti, ri in zip(t.tolist(), r.tolist(), strict=True):
        if out_t and ti - out_t[-1] < STEP_S:
            if len(out_t) >= 2 and ti - STEP_S > out_t[-2]:
                out_t[-1] = ti - STEP_S
            else:  # at the start (or steps closer than STEP_S): keep the later value
                out_t.pop()
                out_r.pop()
        out_t.append(ti)
        out_r.append(ri)
    return np.asarray(out_t), np.asarray(out_r)


def _item_error(fields: Fields, line: int | None, path: str, message: str) -> ConfigError:
    return fields.error_type(message, source=fields.source, line=line, field=path)


# -- a CSV on the clock -------------------------------------------------------------------
class PlacementError(ValueError):
    """The CSV does not fit on a plan's clock; ``key`` is the field to blame, ``advice``
    how to cut it with ``start_at`` and ``length`` (empty when there is none)."""

    def __init__(self, key: str, problem: str, advice: str = "") -> None:
        super().__init__(f"{problem}: {advice}" if advice else problem)
        self.key = key
        self.problem = problem
        self.advice = advice


@dataclass(frozen=True)
class ClockWindow:
    """The part of a CSV a plan covers: CSV time ``[offset_s, end_s)`` (s from row 0),
    starting at ``clock_start_s`` on the plan's clock (s since 00:00)."""

    offset_s: float
    end_s: float
    clock_start_s: float

    @property
    def clock_end_s(self) -> float:
        return self.clock_start_s + self.end_s - self.offset_s


def place(table: CountsCsv, start_at_s: float | None, length_s: float | None) -> ClockWindow:
    """Where the rows of ``table`` go on a plan's clock (see the module docstring).

    Raises :class:`PlacementError` naming ``start_at``, ``length`` or ``csv``.

    Examples
    --------
    >>> import numpy as np
    >>> from datetime import datetime
    >>> table = CountsCsv(np.ones(60), 60.0, tuple(range(2, 62)),
    ...                   datetime.fromisoformat("2025-03-31T08:00:00+07:00"))
    >>> place(table, None, None)
    ClockWindow(offset_s=0.0, end_s=3600.0, clock_start_s=28800.0)
    >>> place(table, 8.5 * 3600, None).offset_s    # start_at: 8h30m
    1800.0
    """
    if start_at_s is not None and start_at_s >= DAY_S:
        raise PlacementError("start_at", "starts at or after 24:00; a plan covers a day")
    origin_s = table.start_clock_s
    if origin_s is None:
        return _from_midnight(table, start_at_s or 0.0, length_s)
    offset_s = 0.0 if start_at_s is None else (start_at_s - origin_s) % DAY_S
    if offset_s >= table.duration_s - _EPS_S:
        raise PlacementError(
            "start_at",
            f"{_clock(start_at_s or 0.0)} is not in the CSV, which runs {_span(table)}",
        )
    end_s = table.duration_s if length_s is None else min(table.duration_s, offset_s + length_s)
    window = ClockWindow(offset_s, end_s, origin_s if start_at_s is None else start_at_s)
    passes = length_s is not None and window.clock_start_s + length_s > DAY_S + _EPS_S
    if passes or window.clock_end_s > DAY_S + _EPS_S:
        raise _past_midnight(table, window, start_at_s, length_s)
    return window


def _from_midnight(table: CountsCsv, start_s: float, length_s: float | None) -> ClockWindow:
    if start_s >= table.duration_s:
        raise PlacementError("start_at", "starts after the end of the CSV")
    end_clock_s = DAY_S
    if length_s is not None:
        end_clock_s = start_s + length_s
        if end_clock_s > DAY_S + 1e-9:
            raise PlacementError("length", "start_at + length passes 24:00; a plan covers a day")
    return ClockWindow(start_s, min(table.duration_s, end_clock_s), start_s)


def _past_midnight(
    table: CountsCsv, window: ClockWindow, start_at_s: float | None, length_s: float | None
) -> PlacementError:
    if length_s is not None:
        return PlacementError("length", "start_at + length passes 24:00; a plan covers a day")
    to_midnight = format_duration_s(DAY_S - window.clock_start_s)
    if start_at_s is not None:
        return PlacementError(
            "start_at",
            f"from {_clock(start_at_s)}, the CSV (which runs {_span(table)}) passes 24:00;"
            " a plan covers one day",
            f"give length: {to_midnight} or less",
        )
    if table.duration_s > DAY_S + _EPS_S:
        return PlacementError(
            "csv",
            f"the CSV runs {_span(table)}, longer than a day; a plan covers one day",
            "give start_at and length, e.g. start_at: 0h and length: 24h for its first whole day",
        )
    return PlacementError(
        "csv",
        f"the CSV runs {_span(table)}, past 24:00; a plan covers one day",
        f"give length: {to_midnight} (up to 24:00) or start_at: 0h (after midnight)",
    )


def describe(table: CountsCsv, window: ClockWindow) -> str:
    """How the rows were placed, for the plan's assumptions."""
    rows = f"{table.counts.size} rows of {format_duration_s(table.interval_s)}"
    if table.first_start is None:
        where = "row 0 at 00:00 (no 'start' column)"
    else:
        origin = _clock(table.start_clock_s or 0.0)
        where = f"from {table.first_start.isoformat()} (row 0 at {origin}, its time of day)"
    planned = f"{_clock(window.clock_start_s)}-{_clock(window.clock_end_s)} planned"
    return f"{rows} {where}; {planned}"


def _span(table: CountsCsv) -> str:
    first = table.first_start
    assert first is not None
    end = _clock_days((table.start_clock_s or 0.0) + table.duration_s)
    return f"from {first.isoformat()} to {end}"


def _clock_days(seconds: float) -> str:
    """``09:00``, ``24:00``, ``18:00 the next day``, ``08:00 3 days later``."""
    days, rest = divmod(round(seconds), round(DAY_S))
    if days and not rest:
        days, rest = days - 1, round(DAY_S)
    later = {0: "", 1: " the next day"}.get(days, f" {days} days later")
    return f"{_clock(rest)}{later}"


def _clock(seconds: float) -> str:
    """``HH:MM`` (``HH:MM:SS`` off the minute), as :func:`planning.clock.clock` writes it."""
    hours, rest = divmod(math.floor(seconds + 0.5), 3600)
    minutes, whole_s = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}"
    return f"{text}:{whole_s:02d}" if whole_s else text
