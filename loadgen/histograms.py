"""Per-request latencies in HDR histograms: cumulative and per reporting interval.

Locust keeps response times rounded to about two significant digits (so p95-p99 can
be off by up to ±5%). dvcload records every response time, in microseconds, into an
HdrHistogram with 3 significant digits, one per request name, and a second set that
is encoded and reset at each reporting interval for the time series. The format is
:mod:`dvcschema.histograms`, shared with the analysis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from dvcschema.histograms import (
    HIGHEST_US,
    LOWEST_US,
    SIGNIFICANT_DIGITS,
    EndpointHistogram,
    decode,
    encode,
    new_histogram,
)

REPORT_INTERVAL_S = 5.0


def record_value(histogram: HdrHistogram, value: int) -> None:
    """``histogram.record_value(value)`` for a value within its range, in one call.

    The same counts index as hdrh's (Tene's HdrHistogram: the bucket is the smallest
    power of two holding ``value | sub_bucket_mask``, the sub-bucket the value shifted
    by that bucket), computed inline with ``int.bit_length`` rather than in hdrh's five
    method calls: every request's response time goes through here, on the generator's
    hot path."""
    h = histogram
    shift = (value | h.sub_bucket_mask).bit_length() - h.sub_bucket_half_count_magnitude - 1
    bucket = shift - h.unit_magnitude
    index = ((bucket + 1) << h.sub_bucket_half_count_magnitude) + (value >> shift)
    h.counts[index - h.sub_bucket_half_count] += 1
    h.total_count += 1
    if value < h.min_value:  # noqa: PLR1730 - min() costs a call here
        h.min_value = value
    if value > h.max_value:  # noqa: PLR1730
        h.max_value = value


@dataclass
class _Series:
    """One request name: cumulative histogram, failure count, and this interval's."""

    total: HdrHistogram = field(default_factory=new_histogram)
    interval: HdrHistogram = field(default_factory=new_histogram)
    failures: int = 0
    interval_failures: int = 0
    clamped: int = 0


SECTIONS = ("endpoints", "journeys", "services", "provinces", "sessions")
_INTERVAL_SECTIONS = ("endpoints", "journeys")  # breakdowns are cumulative only


class LatencyRecorder:
    """Record response times per request name, cumulatively and per interval.

    Requests go into the ``endpoints`` section; whole journeys into ``journeys`` and,
    for the report's breakdown, into ``services`` and ``provinces`` by the service
    the journey used and the citizen's province of residence.

    Parameters
    ----------
    interval_s
        Length of a reporting interval, in seconds.
    clock
        Wall-clock function (Unix seconds), injectable for tests.
    """

    def __init__(
        self,
        interval_s: float = REPORT_INTERVAL_S,
        clock: Any = time.time,
        interval_sections: tuple[str, ...] = _INTERVAL_SECTIONS,
    ) -> None:
        self.interval_s = interval_s
        self.interval_sections = interval_sections
        self._clock = clock
        self._sections: dict[str, dict[str, _Series]] = {name: {} for name in SECTIONS}
        self.interval_started_at = clock()
        self.intervals: list[dict[str, Any]] = []

    def record(
        self, key: str, response_time_ms: float, *, failed: bool = False, section: str = "endpoints"
    ) -> None:
        """Record one request (failed requests count in latency too, as in Locust)."""
        series_by_key = self._sections[section]
        series = series_by_key.get(key)
        if series is None:
            series = series_by_key[key] = _Series()
        value_us = int(response_time_ms * 1000.0) or LOWEST_US
        if value_us > HIGHEST_US:
            value_us = HIGHEST_US
            series.clamped += 1
        record_value(series.total, value_us)
        if section in self.interval_sections:
            record_value(series.interval, value_us)
            if failed:
                series.interval_failures += 1
        if failed:
            series.failures += 1

    def record_journey(
        self, journey: str, service: str | None, province: str, duration_ms: float, *, ok: bool
    ) -> None:
        """Record one whole journey, also by service and by province."""
        self.record(journey, duration_ms, failed=not ok, section="journeys")
        if service is not None:
            self.record(service, duration_ms, failed=not ok, section="services")
        self.record(province, duration_ms, failed=not ok, section="provinces")

    def record_session(
        self, *, start_delay_ms: float, raw_ms: float, corrected_ms: float, ok: bool
    ) -> None:
        """Record an open-model session: its start delay, and its length measured from
        the actual start (raw) and from the intended start (corrected for coordinated
        omission)."""
        self.record("start_delay", max(start_delay_ms, 0.0), section="sessions")
        self.record("session", raw_ms, failed=not ok, section="sessions")
        self.record(
            "session_corrected", max(corrected_ms, raw_ms), failed=not ok, section="sessions"
        )

    def roll_interval(self) -> dict[str, Any]:
        """Close the current interval: encode its histograms, reset them, keep the row."""
        now = self._clock()
        row: dict[str, Any] = {"t_start": self.interval_started_at, "t_end": now}
        for section in self.interval_sections:
            row[section] = {}
            for key, series in self._sections[section].items():
                count = series.interval.get_total_count()
                if count == 0:
                    continue
                row[section][key] = {
                    "count": count,
                    "failures": series.interval_failures,
                    "histogram": encode(series.interval),
                }
                series.interval = new_histogram()  # 0.1 ms; reset() loops in Python, 2 ms
                series.interval_failures = 0
        self.interval_started_at = now
        self.intervals.append(row)
        return row

    def merge_row(self, row: dict[str, Any]) -> int:
        """Add a row from another recorder (a worker's delta); returns the requests added."""
        added = 0
        for section in SECTIONS:
            for key, entry in row.get(section, {}).items():
                hist = decode(entry["histogram"])
                series = self._sections[section].setdefault(key, _Series())
                series.total.add(hist)
                series.failures += int(entry["failures"])
                if section in self.interval_sections:
                    series.interval.add(hist)
                    series.interval_failures += int(entry["failures"])
                if section == "endpoints":
                    added += int(hist.get_total_count())
        return added

    def totals(self) -> tuple[int, int]:
        """Requests and failures recorded (or merged) so far."""
        series = self._sections["endpoints"].values()
        return (sum(s.total.get_total_count() for s in series), sum(s.failures for s in series))

    def section(self, name: str) -> dict[str, EndpointHistogram]:
        """The cumulative histogram and failure count of every key of a section."""
        return {
            key: EndpointHistogram(series.total, series.failures)
            for key, series in sorted(self._sections[name].items())
        }

    def endpoints(self) -> dict[str, EndpointHistogram]:
        return self.section("endpoints")

    def to_dict(self, between: Callable[[], object] | None = None) -> dict[str, Any]:
        """The cumulative histograms, encoded, for ``histograms.json``.

        ``between`` is called between two encodings (a flush mid-run yields there).
        """
        data: dict[str, Any] = {
            "unit": "microseconds",
            "significant_digits": SIGNIFICANT_DIGITS,
            "highest_trackable_us": HIGHEST_US,
        }
        encoded = 0
        for name, series_by_key in list(self._sections.items()):  # may grow while yielding
            section: dict[str, Any] = {}
            for key, s in sorted(series_by_key.items()):
                if encoded and between is not None:
                    between()
                section[key] = {
                    "count": s.total.get_total_count(),
                    "failures": s.failures,
                    "clamped": s.clamped,
                    "histogram": encode(s.total),
                }
                encoded += 1
            data[name] = section
        return data
