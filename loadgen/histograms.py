"""Per-request latencies in HDR histograms: cumulative and per reporting interval.

Locust keeps response times rounded to about two significant digits (so p95-p99 can
be off by up to ±5%). dvcload records every response time, in microseconds, into an
HdrHistogram with 3 significant digits, one per request name, and a second set that
is encoded and reset at each reporting interval for the time series. The format is
:mod:`dvcschema.histograms`, shared with the analysis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from dvcschema.histograms import (
    HIGHEST_US,
    LOWEST_US,
    SIGNIFICANT_DIGITS,
    EndpointHistogram,
    encode,
    new_histogram,
)

REPORT_INTERVAL_S = 5.0


@dataclass
class _Series:
    """One request name: cumulative histogram, failure count, and this interval's."""

    total: HdrHistogram = field(default_factory=new_histogram)
    interval: HdrHistogram = field(default_factory=new_histogram)
    failures: int = 0
    interval_failures: int = 0
    clamped: int = 0


class LatencyRecorder:
    """Record response times per request name, cumulatively and per interval.

    Parameters
    ----------
    interval_s
        Length of a reporting interval, in seconds.
    clock
        Wall-clock function (Unix seconds), injectable for tests.
    """

    def __init__(self, interval_s: float = REPORT_INTERVAL_S, clock: Any = time.time) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._series: dict[str, _Series] = {}
        self.interval_started_at = clock()
        self.intervals: list[dict[str, Any]] = []

    def record(self, key: str, response_time_ms: float, *, failed: bool = False) -> None:
        """Record one request (failed requests count in latency too, as in Locust)."""
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        value_us = int(response_time_ms * 1000.0) or LOWEST_US
        if value_us > HIGHEST_US:
            value_us = HIGHEST_US
            series.clamped += 1
        series.total.record_value(value_us)
        series.interval.record_value(value_us)
        if failed:
            series.failures += 1
            series.interval_failures += 1

    def roll_interval(self) -> dict[str, Any]:
        """Close the current interval: encode its histograms, reset them, keep the row."""
        now = self._clock()
        row: dict[str, Any] = {
            "t_start": self.interval_started_at,
            "t_end": now,
            "endpoints": {},
        }
        for key, series in self._series.items():
            count = series.interval.get_total_count()
            if count == 0:
                continue
            row["endpoints"][key] = {
                "count": count,
                "failures": series.interval_failures,
                "histogram": encode(series.interval),
            }
            series.interval.reset()
            series.interval_failures = 0
        self.interval_started_at = now
        self.intervals.append(row)
        return row

    def endpoints(self) -> dict[str, EndpointHistogram]:
        """The cumulative histogram and failure count of every request name."""
        return {
            key: EndpointHistogram(series.total, series.failures)
            for key, series in sorted(self._series.items())
        }

    def to_dict(self) -> dict[str, Any]:
        """The cumulative histograms, encoded, for ``histograms.json``."""
        return {
            "unit": "microseconds",
            "significant_digits": SIGNIFICANT_DIGITS,
            "highest_trackable_us": HIGHEST_US,
            "endpoints": {
                key: {
                    "count": s.total.get_total_count(),
                    "failures": s.failures,
                    "clamped": s.clamped,
                    "histogram": encode(s.total),
                }
                for key, s in sorted(self._series.items())
            },
        }
