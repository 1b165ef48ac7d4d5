"""Arrival-rate profiles for the open workload model: stages, diurnal, deadline, CSV.

Every profile is reduced to piecewise-linear knots ``(t_s, rate_per_s)`` in *run*
time, so the rate at any time is ``numpy.interp`` and the exact maximum over a window
(needed to thin a Poisson process) is the largest knot inside it or at its ends.

Time compression (``speed``) shortens time, not rates: with ``speed: 60`` a day's
shape is replayed in 24 minutes at the same sessions per second, so the peak load
is what it would be on the day, reached sooner.

A CSV gives sessions started per interval (a ``count`` column), one row per interval;
a ``start`` column (ISO 8601 with the UTC offset, as ``dvcload derive`` writes in
``arrivals.csv``) sets the interval when none is given and says where row 0 is on the
clock, which a capacity plan uses (:mod:`dvcschema.capacity_arrivals`). A run ignores
the clock: row 0 is the start of the run (after ``start_at``).

The diurnal shape is an estimate: a working-day pattern of public-service traffic
(quiet at night, peaks mid-morning and mid-afternoon, Vietnam time); the seeds give
no hourly figures for the National Public Service Portal, so replace it with a CSV
of real per-minute counts where you have them.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dvcschema.errors import shown
from dvcschema.files import read_text
from dvcschema.units import format_duration_s

DAY_S = 86_400.0
# Relative arrivals by hour of day (00..23), estimate; see the module docstring.
DIURNAL_WEIGHTS = (
    0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.20, 0.45, 0.80, 1.00, 0.95, 0.80,
    0.55, 0.60, 0.85, 0.95, 0.85, 0.60, 0.40, 0.35, 0.35, 0.30, 0.20, 0.10,
)  # fmt: skip
DEADLINE_STEP_S = 60.0  # the deadline curve is sampled every profile minute
MAX_CSV_BYTES = 16 * 1024 * 1024  # a count per second for a day is about 1 MB
DEFAULT_INTERVAL_S = 60.0  # a CSV's rows without an interval or a 'start' column
# A count: ASCII digits (float() also reads '١٠', '1_000' and 'nan'), maybe a sign.
_COUNT = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+", re.ASCII)
# A start: ISO 8601 date and time, maybe fractions and a UTC offset (fromisoformat reads
# more, e.g. week dates and a bare date, which are not a row's start).
_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)


@dataclass(frozen=True)
class RateProfile:
    """Arrival rate (sessions/s) as piecewise-linear knots in run time.

    Parameters
    ----------
    t_s
        Knot times in seconds since the start of the run, increasing, from 0.
    rate_per_s
        Rates at the knots (>= 0); a step is two knots at the same time.
    kind
        Where it came from (``constant``, ``stages``, ``diurnal``, ``deadline``, ``csv``).
    """

    t_s: tuple[float, ...]
    rate_per_s: tuple[float, ...]
    kind: str

    @property
    def duration_s(self) -> float:
        return self.t_s[-1]

    def rate_at(self, t_s: ArrayLike) -> NDArray[np.float64]:
        """Rate at run time(s) ``t_s``; 0 after the end."""
        t = np.asarray(t_s, dtype=np.float64)
        rate = np.interp(t, self.t_s, self.rate_per_s, right=0.0)
        return np.where(t >= self.t_s[-1], 0.0, rate)

    def max_rate(self, t0_s: float, t1_s: float) -> float:
        """Exact maximum of the rate over ``[t0_s, t1_s]``."""
        knots = np.asarray(self.t_s)
        inside = np.asarray(self.rate_per_s)[(knots >= t0_s) & (knots <= t1_s)]
        ends = np.interp([t0_s, t1_s], self.t_s, self.rate_per_s, right=0.0)
        return float(max(inside.max(initial=0.0), ends.max()))

    def expected_arrivals(self, t0_s: float = 0.0, t1_s: float | None = None) -> float:
        """∫ rate dt over ``[t0_s, t1_s]``, exact: trapezoids per linear piece (steps too)."""
        t1_s = self.duration_s if t1_s is None else t1_s
        t = np.asarray(self.t_s)
        r = np.asarray(self.rate_per_s, dtype=np.float64)
        lo, hi = np.maximum(t[:-1], t0_s), np.minimum(t[1:], t1_s)
        width = t[1:] - t[:-1]
        keep = (hi > lo) & (width > 0)
        slope = np.divide(r[1:] - r[:-1], width, out=np.zeros_like(width), where=width > 0)
        r_lo = r[:-1] + slope * (lo - t[:-1])
        r_hi = r[:-1] + slope * (hi - t[:-1])
        return float(np.sum(((r_lo + r_hi) / 2.0 * (hi - lo))[keep]))

    def mean_rate(self, duration_s: float | None = None) -> float:
        duration_s = self.duration_s if duration_s is None else duration_s
        return self.expected_arrivals(0.0, duration_s) / duration_s if duration_s > 0 else 0.0

    def scaled(self, factor: float) -> RateProfile:
        """The same shape at ``factor`` times the rate (a worker's share, a what-if)."""
        return RateProfile(self.t_s, tuple(r * factor for r in self.rate_per_s), self.kind)


def constant(rate_per_s: float, duration_s: float) -> RateProfile:
    return RateProfile((0.0, duration_s), (rate_per_s, rate_per_s), "constant")


def stages(items: list[tuple[float, float, bool]], start_rate: float = 0.0) -> RateProfile:
    """Stages of ``(duration_s, rate, step)``: ramp linearly (or jump, when ``step``)."""
    t, rate = [0.0], [start_rate]
    for duration_s, target, step in items:
        if step:
            t.append(t[-1])
            rate.append(target)
        t.append(t[-1] + duration_s)
        rate.append(target)
    return RateProfile(tuple(t), tuple(rate), "stages")


def diurnal_rate(hours: ArrayLike, peak: float, trough: float) -> NDArray[np.float64]:
    """The diurnal shape at clock ``hours`` (0-24, cyclic), between trough and peak."""
    weights = np.asarray(DIURNAL_WEIGHTS)
    mid = np.arange(24) + 0.5  # each weight is the mean of its hour, placed at its middle
    x = np.concatenate([[mid[-1] - 24], mid, [mid[0] + 24]])
    y = np.concatenate([[weights[-1]], weights, [weights[0]]])
    w = np.interp(np.mod(np.asarray(hours, dtype=np.float64), 24.0), x, y)
    return trough + (peak - trough) * (w - weights.min()) / (weights.max() - weights.min())


def deadline_factor(
    profile_s: ArrayLike, deadline_s: float, surge: float, rise_s: float, after: float
) -> NDArray[np.float64]:
    """Multiplier rising as ``1 + (surge-1)·exp(-(deadline-t)/rise)`` up to the deadline,
    then ``after`` (citizens who missed it stop coming)."""
    t = np.asarray(profile_s, dtype=np.float64)
    growth = 1.0 + (surge - 1.0) * np.exp(-np.maximum(deadline_s - t, 0.0) / rise_s)
    return np.where(t < deadline_s, growth, after)


def sampled(
    kind: str,
    rate_of_profile_s: np.ndarray,
    profile_s: np.ndarray,
    *,
    start_s: float,
    speed: float,
) -> RateProfile:
    """Knots from a profile sampled at ``profile_s`` (profile seconds), in run time."""
    run_s = (profile_s - start_s) / speed
    return RateProfile(tuple(map(float, run_s)), tuple(map(float, rate_of_profile_s)), kind)


def day_profile(
    kind: str,
    *,
    peak: float,
    trough: float,
    start_s: float,
    length_s: float,
    speed: float,
    deadline: tuple[float, float, float, float] | None = None,
) -> RateProfile:
    """Diurnal (or deadline, when ``deadline=(at_s, surge, rise_s, after)``) knots.

    The deadline curve is sampled every profile minute (linear interpolation of the
    exponential rise then errs by at most ~(60 s / rise)²/8, 1e-5 for a 2 h rise), and
    the deadline itself is a step: two knots at the same time.
    """
    step = DEADLINE_STEP_S if deadline else 1800.0
    n = max(2, math.ceil(length_s / step) + 1)
    profile_s = np.linspace(start_s, start_s + length_s, n)
    if deadline is None:
        rate = diurnal_rate(profile_s / 3600.0, peak, trough)
        return sampled(kind, rate, profile_s, start_s=start_s, speed=speed)
    at_s, surge, rise_s, after = deadline
    if start_s < at_s < start_s + length_s:
        profile_s = np.sort(np.concatenate([profile_s, [at_s, at_s]]))
    factor = deadline_factor(profile_s, at_s, surge, rise_s, after)
    first_at = np.flatnonzero(profile_s == at_s)[:1]
    factor[first_at] = surge  # the left side of the step: the peak at the deadline
    rate = diurnal_rate(profile_s / 3600.0, peak, trough) * factor
    return sampled(kind, rate, profile_s, start_s=start_s, speed=speed)


@dataclass(frozen=True)
class CountsCsv:
    """A rate CSV as read: counts per interval and, with a ``start`` column, where row 0 is.

    Parameters
    ----------
    counts
        One count per row (sessions started in that interval), >= 0.
    interval_s
        The rows' length (s): given, or read from the ``start`` column.
    lines
        The file's line number of each row (for messages).
    first_start
        The first row's ``start`` (with its UTC offset, when written), or ``None``
        when the file has no ``start`` column.
    """

    counts: NDArray[np.float64]
    interval_s: float
    lines: tuple[int, ...]
    first_start: datetime | None = None

    @property
    def rate_per_s(self) -> NDArray[np.float64]:
        return self.counts / self.interval_s

    @property
    def duration_s(self) -> float:
        return self.counts.size * self.interval_s

    @property
    def start_clock_s(self) -> float | None:
        """The first ``start``'s local time of day (s since 00:00 in its own UTC offset)."""
        first = self.first_start
        if first is None:
            return None
        return first.hour * 3600.0 + first.minute * 60.0 + first.second + first.microsecond / 1e6


def read_counts_csv(path: Path, interval_s: float | None = None) -> tuple[np.ndarray, list[int]]:
    """Rates per interval (sessions/s) from a rate CSV, and the data lines.

    The :func:`read_rate_csv` of ``path``, as rates; ``interval_s`` as there.
    """
    table = read_rate_csv(path, interval_s)
    return table.rate_per_s, list(table.lines)


def read_rate_csv(path: Path, interval_s: float | None = None) -> CountsCsv:
    """Counts per interval from a CSV with a ``count`` column, and maybe a ``start`` column.

    A ``start`` column (ISO 8601 times, e.g. ``2025-03-31T08:00:00+07:00``, as
    ``dvcload derive`` writes in ``arrivals.csv``) must be equally spaced, one row per
    interval; the interval is read from it when ``interval_s`` is ``None``, and must
    agree with ``interval_s`` otherwise. Without it, rows are ``interval_s`` long
    (60 s when ``None``). Other columns are ignored.

    The file must be a regular file of at most :data:`MAX_CSV_BYTES` (else
    :class:`~dvcschema.errors.ConfigError`). Raises ``ValueError`` naming the line of
    the first bad value, or the disagreement between the starts and ``interval_s``.
    """
    text = read_text(path, limit=MAX_CSV_BYTES)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        counts, lines, starts = _read_rows(reader, path)
    except (csv.Error, _StartError) as exc:  # a field over the size limit, a bad start
        where = f"{shown(str(path))} line {reader.line_num}"
        what = "malformed CSV: " if isinstance(exc, csv.Error) else ""
        raise ValueError(f"{where}: {what}{exc}") from None
    if not counts:
        raise ValueError(f"{shown(str(path))} has no data rows")
    first = starts[0] if starts else None
    interval_s = _interval_of(path, starts, lines, interval_s)
    return CountsCsv(np.asarray(counts, dtype=np.float64), interval_s, tuple(lines), first)


def _read_rows(
    reader: csv.DictReader[str], path: Path
) -> tuple[list[float], list[int], list[datetime]]:
    name = shown(str(path))
    if reader.fieldnames is None or "count" not in reader.fieldnames:
        raise ValueError(f"{name} needs a header with a 'count' column")
    with_start = "start" in reader.fieldnames
    counts: list[float] = []
    lines: list[int] = []
    starts: list[datetime] = []
    for row in reader:
        value = (row.get("count") or "").strip()
        if not _COUNT.fullmatch(value):
            raise ValueError(f"{name} line {reader.line_num}: count {shown(value)} is not a number")
        count = float(value)
        if not math.isfinite(count) or count < 0:
            raise ValueError(f"{name} line {reader.line_num}: count {shown(value)} < 0")
        if with_start:
            starts.append(_start_time(row.get("start"), starts[0] if starts else None))
        counts.append(count)
        lines.append(reader.line_num)
    return counts, lines, starts


def _start_time(value: str | None, first: datetime | None) -> datetime:
    """A row's start; ``ValueError`` (the caller says where) when it is not a time."""
    text = (value or "").strip()
    try:
        when = datetime.fromisoformat(text) if _ISO_TIME.fullmatch(text) else None
    except ValueError:
        when = None
    if when is None:
        raise _StartError(
            f"start {shown(text)} is not an ISO 8601 time such as 2025-03-31T08:00:00+07:00"
        )
    if first is not None and (when.tzinfo is None) != (first.tzinfo is None):
        raise _StartError(
            f"start {shown(text)} and the first start differ in having a UTC offset;"
            " give every start with one (e.g. +07:00), or none"
        )
    return when


class _StartError(ValueError):
    """A bad ``start``; :func:`read_rate_csv` adds the file and line."""


def _interval_of(
    path: Path, starts: list[datetime], lines: list[int], interval_s: float | None
) -> float:
    """The rows' length: from the starts (equally spaced), agreeing with ``interval_s``."""
    if len(starts) < 2:
        return DEFAULT_INTERVAL_S if interval_s is None else interval_s
    step = starts[1] - starts[0]
    for i in range(1, len(starts)):
        gap = starts[i] - starts[i - 1]
        if gap <= timedelta(0) or gap != step:
            where = f"{shown(str(path))} line {lines[i]}: start {starts[i].isoformat()}"
            how = (
                "is not after the previous row's"
                if gap <= timedelta(0)
                else f"is {format_duration_s(gap.total_seconds())} after the previous row's,"
                f" the rows above are {format_duration_s(step.total_seconds())} apart"
            )
            raise ValueError(
                f"{where} {how}; the starts must be increasing and equally spaced (one row per"
                " interval, zeros included)"
            )
    found_s = step.total_seconds()
    if interval_s is not None and not math.isclose(found_s, interval_s, abs_tol=1e-6):
        raise ValueError(
            f"{shown(str(path))}: the 'start' column has rows {format_duration_s(found_s)}"
            f" apart, but the interval is {format_duration_s(interval_s)}; give interval:"
            f" {format_duration_s(found_s)}, or none (it is read from the starts)"
        )
    return found_s


def csv_profile(
    rates: np.ndarray, interval_s: float, *, start_s: float, speed: float
) -> RateProfile:
    """Piecewise-constant rates (one per interval) as knots, from ``start_s`` on."""
    edges = np.arange(rates.size + 1) * interval_s
    t = np.repeat(edges, 2)[1:-1]  # a step at every inner edge
    r = np.repeat(rates, 2)
    keep = t >= start_s
    t, r = t[keep], r[keep]
    if t.size == 0 or t[0] > start_s:
        first = rates[min(int(start_s // interval_s), rates.size - 1)]
        t, r = np.insert(t, 0, start_s), np.insert(r, 0, first)
    return sampled("csv", r, t, start_s=start_s, speed=speed)
