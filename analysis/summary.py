"""``summary.json``: per-endpoint counts, rates and percentiles from the HDR histograms.

The percentiles come from dvcload's own histograms (3 significant digits), not from
Locust's rounded statistics. Keys of ``endpoints`` are ``"METHOD /route/[param]"``,
the same names budgets use. The figures are computed with NumPy on the histograms'
buckets (:mod:`analysis.distribution`) and equal HdrHistogram's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from analysis.distribution import LatencyDistribution, merge
from dvcschema.histograms import EndpointHistogram
from dvcschema.results import Summary
from dvcschema.units import iso_utc

PERCENTILES = (50.0, 90.0, 95.0, 99.0)
SUMMARY_VERSION = 1


def endpoint_figures(
    entry: EndpointHistogram | LatencyDistribution, duration_s: float
) -> dict[str, Any]:
    """Count, failures, rate and latency percentiles (ms) of one request name."""
    dist = _distribution(entry)
    count = dist.count
    figures: dict[str, Any] = {
        "count": count,
        "failures": dist.failures,
        "failure_ratio": dist.failures / count if count else 0.0,
        "rps": count / duration_s if duration_s > 0 else 0.0,
    }
    values = dist.percentiles_ms(PERCENTILES)
    for p, value in zip(PERCENTILES, values, strict=True):
        figures[f"p{p:g}_ms"] = round(float(value), 3) if count else None
    figures["max_ms"] = round(dist.max_ms(), 3) if count else None
    figures["mean_ms"] = round(dist.mean_ms(), 3) if count else None
    return figures


def _distribution(entry: EndpointHistogram | LatencyDistribution) -> LatencyDistribution:
    if isinstance(entry, LatencyDistribution):
        return entry
    return LatencyDistribution.from_histogram(entry.histogram, entry.failures)


def section_figures(
    entries: Mapping[str, EndpointHistogram | LatencyDistribution],
    duration_s: float,
    *,
    between: Callable[[], object] | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`endpoint_figures` for every key of a section (journeys, services, ...).

    ``between`` is called between two entries: a run's flush passes a cooperative
    yield, so that a section of many histograms does not hold the load's event loop
    (and the arrival clock) for milliseconds at a time.
    """
    rows: dict[str, dict[str, Any]] = {}
    for key, entry in sorted(entries.items()):
        if rows and between is not None:
            between()
        rows[key] = endpoint_figures(entry, duration_s)
    return rows


def build_summary(
    *,
    scenario: str,
    started_at: float,
    ended_at: float,
    target: str,
    endpoints: Mapping[str, EndpointHistogram | LatencyDistribution],
    extra: Mapping[str, Any] | None = None,
) -> Summary:
    """The ``summary.json`` record (DESIGN.md's contract, plus totals); ``extra`` adds
    the run's other sections by key."""
    duration_s = max(ended_at - started_at, 0.0)
    dists = {key: _distribution(entry) for key, entry in endpoints.items()}
    rows = section_figures(dists, duration_s)
    total_figures = endpoint_figures(merge(dists.values()), duration_s)
    summary: dict[str, Any] = {
        "summary_version": SUMMARY_VERSION,
        "scenario": scenario,
        "started_at": iso_utc(started_at),
        "ended_at": iso_utc(ended_at),
        "duration_s": round(duration_s, 3),
        "target": target,
        "requests": total_figures["count"],
        "failures": total_figures["failures"],
        "failure_ratio": total_figures["failure_ratio"],
        "rps": total_figures["rps"],
        "total": total_figures,
        "endpoints": rows,
        "percentile_source": "hdr-histogram (3 significant digits)",
    }
    return Summary.from_dict(summary | dict(extra or {}))
