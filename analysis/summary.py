"""``summary.json``: per-endpoint counts, rates and percentiles from the HDR histograms.

The percentiles come from dvcload's own histograms (3 significant digits), not from
Locust's rounded statistics. Keys of ``endpoints`` are ``"METHOD /route/[param]"``,
the same names budgets use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dvcschema.histograms import EndpointHistogram, merged
from dvcschema.units import iso_utc

PERCENTILES = (50.0, 90.0, 95.0, 99.0)
SUMMARY_VERSION = 1


def endpoint_figures(entry: EndpointHistogram, duration_s: float) -> dict[str, Any]:
    """Count, failures, rate and latency percentiles (ms) of one request name."""
    hist = entry.histogram
    count = entry.count
    figures: dict[str, Any] = {
        "count": count,
        "failures": entry.failures,
        "failure_ratio": entry.failures / count if count else 0.0,
        "rps": count / duration_s if duration_s > 0 else 0.0,
    }
    for p in PERCENTILES:
        figures[f"p{p:g}_ms"] = _ms(hist.get_value_at_percentile(p)) if count else None
    figures["max_ms"] = _ms(hist.get_max_value()) if count else None
    figures["mean_ms"] = round(hist.get_mean_value() / 1000.0, 3) if count else None
    return figures


def section_figures(
    entries: Mapping[str, EndpointHistogram], duration_s: float
) -> dict[str, dict[str, Any]]:
    """:func:`endpoint_figures` for every key of a section (journeys, services, ...)."""
    return {key: endpoint_figures(entry, duration_s) for key, entry in sorted(entries.items())}


def build_summary(
    *,
    scenario: str,
    started_at: float,
    ended_at: float,
    target: str,
    endpoints: Mapping[str, EndpointHistogram],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``summary.json`` document (DESIGN.md's contract, plus totals)."""
    duration_s = max(ended_at - started_at, 0.0)
    rows = section_figures(endpoints, duration_s)
    total = EndpointHistogram(
        merged(e.histogram for e in endpoints.values()),
        sum(e.failures for e in endpoints.values()),
    )
    total_figures = endpoint_figures(total, duration_s)
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
    summary.update(extra or {})
    return summary


def _ms(value_us: int) -> float:
    return round(value_us / 1000.0, 3)
