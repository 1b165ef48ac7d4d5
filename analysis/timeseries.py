"""Per-interval series from ``histograms_intervals.jsonl``, and users from Locust's history.

Each row of ``histograms_intervals.jsonl`` holds, for one reporting interval (5 s), a
histogram per request name and per journey. :func:`read_intervals` turns the file into
aligned NumPy arrays: throughput, failures and p50/p95/p99 for all requests together
and for each request name. :func:`read_users` reads the user count over time from
``locust_stats_history.csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.distribution import LatencyDistribution, merge
from dvcschema import files, runschema
from dvcschema.errors import ConfigError

SERIES_PERCENTILES = (50.0, 95.0, 99.0)
MAX_INTERVALS_BYTES = 1024**3  # a 5 s row of 15 histograms is ~30 KB: 24 h is ~0.5 GB
MAX_CSV_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class KeySeries:
    """One request name over time: requests, failures and percentiles per interval."""

    count: NDArray[np.int64]
    failures: NDArray[np.int64]
    percentiles_ms: NDArray[np.float64]  # shape (intervals, len(SERIES_PERCENTILES))

    def percentile(self, p: float) -> NDArray[np.float64]:
        return self.percentiles_ms[:, SERIES_PERCENTILES.index(p)]


@dataclass(frozen=True)
class Series:
    """Aligned arrays, one value per reporting interval.

    ``t_s`` is the end of each interval in seconds since the first interval started;
    ``t0_unix`` is that start as Unix seconds, to align other files.
    """

    t0_unix: float
    t_s: NDArray[np.float64]
    width_s: NDArray[np.float64]
    total: KeySeries
    endpoints: Mapping[str, KeySeries] = field(default_factory=dict)

    @property
    def rps(self) -> NDArray[np.float64]:
        return self.total.count / self.width_s

    @property
    def failures_per_s(self) -> NDArray[np.float64]:
        return self.total.failures / self.width_s

    @property
    def p50_ms(self) -> NDArray[np.float64]:
        return self.total.percentile(50.0)

    @property
    def p95_ms(self) -> NDArray[np.float64]:
        return self.total.percentile(95.0)

    @property
    def p99_ms(self) -> NDArray[np.float64]:
        return self.total.percentile(99.0)

    def __len__(self) -> int:
        return int(self.t_s.size)


def read_intervals(path: Path, section: str = "endpoints") -> Series:
    """Read the interval file; NaN percentiles where an interval has no requests."""
    numbered = _numbered_rows(path)
    rows = [row for _, row in numbered]
    n = len(rows)
    t_start = np.array([r["t_start"] for r in rows], dtype=np.float64)
    t_end = np.array([r["t_end"] for r in rows], dtype=np.float64)
    t0 = float(t_start[0]) if n else 0.0
    per_row = [_decode_row(r.get(section) or {}, path, line) for line, r in numbered]
    keys = sorted({k for row in per_row for k in row})
    endpoints = {key: _key_series([row.get(key) for row in per_row]) for key in keys}
    total = _key_series([merge(row.values()) if row else None for row in per_row])
    return Series(
        t0_unix=t0,
        t_s=t_end - t0,
        width_s=np.maximum(t_end - t_start, 1e-9),
        total=total,
        endpoints=endpoints,
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in _numbered_rows(path)]


def _numbered_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line, row)``; a torn last line (a process killed mid-append) is skipped, a bad
    line anywhere else is a :class:`ConfigError` naming the file and line."""
    if not files.exists(path):
        return []
    text = files.read_text(path, limit=MAX_INTERVALS_BYTES)
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    rows = []
    for k, (number, line) in enumerate(lines):
        try:
            row = runschema.loads(line, source=str(path), line=number)
        except ConfigError:
            if k == len(lines) - 1:
                break
            raise
        runschema.check(row, runschema.INTERVAL_ROW, source=str(path), line=number)
        rows.append((number, row))
    return rows


def _decode_row(
    entries: Mapping[str, Any], path: Path, line: int
) -> dict[str, LatencyDistribution]:
    shape = runschema.Each(runschema.HISTOGRAM_ENTRY)
    runschema.check(entries, shape, source=str(path), line=line)
    out = {}
    for key, entry in entries.items():
        try:
            out[key] = LatencyDistribution.from_encoded(
                entry["histogram"], int(entry.get("failures", 0))
            )
        except ValueError as exc:
            where = runschema.joined("endpoints", key)
            raise ConfigError(str(exc), source=str(path), line=line, field=where) from None
    return out


def _key_series(dists: list[LatencyDistribution | None]) -> KeySeries:
    n = len(dists)
    count = np.zeros(n, dtype=np.int64)
    failures = np.zeros(n, dtype=np.int64)
    percentiles = np.full((n, len(SERIES_PERCENTILES)), np.nan)
    for i, dist in enumerate(dists):
        if dist is None or dist.count == 0:
            continue
        count[i] = dist.count
        failures[i] = dist.failures
        percentiles[i] = dist.percentiles_ms(SERIES_PERCENTILES)
    return KeySeries(count, failures, percentiles)


@dataclass(frozen=True)
class Users:
    """Users over time (seconds since ``t0``), from Locust's stats history."""

    t_s: NDArray[np.float64]
    users: NDArray[np.float64]


def read_users(path: Path, t0_unix: float) -> Users:
    """The ``Aggregated`` rows of ``locust_stats_history.csv`` (empty when absent)."""
    times: list[float] = []
    users: list[float] = []
    for row in csv_rows(path):
        if row.get("Name") != "Aggregated":
            continue
        try:
            times.append(float(row["Timestamp"]) - t0_unix)
            users.append(float(row["User Count"]))
        except (KeyError, TypeError, ValueError):
            continue
    return Users(np.array(times, dtype=np.float64), np.array(users, dtype=np.float64))


def csv_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of one of Locust's CSV files (none when it is absent); a file that is not
    a regular file, too large or not CSV is a :class:`ConfigError`."""
    if not files.exists(path):
        return []
    text = files.read_text(path, limit=MAX_CSV_BYTES)
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ConfigError(f"malformed CSV: {exc}", source=str(path)) from None
