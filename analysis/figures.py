"""The report's figures: matplotlib ``Figure`` objects (Agg, no pyplot global state).

Each function takes arrays already computed by the analysis and returns a Figure;
:func:`png_base64` renders one to an embeddable PNG and releases it. Axes of counts,
rates and latencies start at 0 (:func:`from_zero`): autoscaling pads a line of zeros
to -0.04 failures per second, a value that cannot exist.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.compare import Comparison
from analysis.distribution import LatencyDistribution
from analysis.timeseries import Series, Users

WIDTH_IN = 10.0
DPI = 100
FAIL_COLOUR = "#d93025"
MAX_LINES = 12


def png_base64(fig: Figure) -> str:
    """The figure as base64 PNG text (rendered with the Agg canvas)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(rows: int = 1, height_in: float = 3.2) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(WIDTH_IN, height_in * rows), layout="constrained")
    axes = [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]
    return fig, axes


def from_zero(ax: Axes, headroom: float = 0.08) -> None:
    """Run the y axis from 0 to the largest value plus ``headroom`` (a share of it),
    after plotting; all zeros show as 0 to 1 (autoscaling made it -0.04 to 0.04)."""
    largest = float(ax.dataLim.y1)
    top = largest * (1.0 + headroom) if np.isfinite(largest) and largest > 0 else 1.0
    ax.set_ylim(bottom=0.0, top=top)


def _time_axis(ax: Axes) -> None:
    ax.set_xlabel("time since start (s)")
    ax.grid(alpha=0.3)


def latency_over_time(series: Series) -> Figure:
    """p50/p95/p99 of all requests per interval, and p95 of each request name."""
    fig, (top, bottom) = _figure(rows=2)
    for values, label in ((series.p50_ms, "p50"), (series.p95_ms, "p95"), (series.p99_ms, "p99")):
        top.plot(series.t_s, values, marker=".", label=label)
    top.set_title("all requests", loc="left", fontsize=10)
    top.set_ylabel("response time (ms)")
    top.legend(loc="upper left")
    from_zero(top)
    _time_axis(top)
    for key, key_series in list(series.endpoints.items())[:MAX_LINES]:
        bottom.plot(series.t_s, key_series.percentile(95.0), marker=".", label=key)
    bottom.set_title("p95 per request name", loc="left", fontsize=10)
    bottom.set_ylabel("p95 (ms)")
    if series.endpoints:
        bottom.legend(loc="upper left", fontsize=7, ncols=2)
    from_zero(bottom)
    _time_axis(bottom)
    return fig


def throughput_over_time(
    series: Series, users: Users, target_rate_per_s: float | None = None
) -> Figure:
    """Requests and failures per second, with users (or the target arrival rate)."""
    fig, (top, bottom) = _figure(rows=2, height_in=2.8)
    _requests_panel(top, series, users, target_rate_per_s)
    bottom.sharex(top)
    _failures_panel(bottom, series)
    return fig


def _requests_panel(
    ax: Axes, series: Series, users: Users, target_rate_per_s: float | None
) -> None:
    ax.plot(series.t_s, series.rps, marker=".", label="requests/s")
    ax.set_ylabel("requests per second")
    _time_axis(ax)
    if target_rate_per_s is not None:
        ax.axhline(target_rate_per_s, color="#888", linestyle="--", label="target arrival rate")
    from_zero(ax)
    handles, labels = ax.get_legend_handles_labels()
    if users.t_s.size:
        twin = ax.twinx()
        twin.step(users.t_s, users.users, where="post", color="#34a853", label="users")
        twin.set_ylabel("users")
        from_zero(twin, headroom=0.3)  # below the requests line, which often has its shape
        extra_h, extra_l = twin.get_legend_handles_labels()
        handles, labels = handles + extra_h, labels + extra_l
    ax.legend(handles, labels, loc="lower right")


def _failures_panel(ax: Axes, series: Series) -> None:
    ax.plot(series.t_s, series.failures_per_s, marker=".", color=FAIL_COLOUR)
    ratio = np.divide(
        series.total.failures,
        series.total.count,
        out=np.zeros(len(series)),
        where=series.total.count > 0,
    )
    ax.set_ylabel("failures per second", color=FAIL_COLOUR)
    from_zero(ax)
    share = ax.twinx()
    share.plot(series.t_s, ratio * 100, color="#555", linestyle=":", label="error rate (%)")
    share.set_ylabel("error rate (%)")
    from_zero(share, headroom=0.15)
    share.legend(loc="upper left")
    _time_axis(ax)


def latency_cdf(sections: Mapping[str, Mapping[str, LatencyDistribution]]) -> Figure:
    """The cumulative distribution of latency, one line per key, one panel per section."""
    fig, axes = _figure(rows=len(sections), height_in=3.4)
    for ax, (title, dists) in zip(axes, sections.items(), strict=True):
        for key, dist in list(sorted(dists.items()))[:MAX_LINES]:
            x, y = dist.cdf()
            if x.size:
                ax.step(np.r_[x[0], x], np.r_[0.0, y], where="post", label=key)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("response time (ms, log scale)")
        ax.set_ylabel("share of requests ≤ x")
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        if dists:
            ax.legend(loc="lower right", fontsize=7)
    return fig


def breakdown_bars(
    labels: Sequence[str], p50_ms: Sequence[float], p95_ms: Sequence[float], title: str
) -> Figure:
    """Horizontal bars of journey p50 and p95 per service or province."""
    n = len(labels)
    fig = Figure(figsize=(WIDTH_IN, max(2.0, 0.28 * n + 1.0)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.barh(y + 0.2, p95_ms, height=0.4, label="p95", color="#4285f4")
    ax.barh(y - 0.2, p50_ms, height=0.4, label="p50", color="#a0c3ff")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("journey duration (ms)")
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="lower right")
    return fig


def comparison_forest(comparison: Comparison, metric: str = "p95") -> Figure:
    """Relative change of ``metric`` with its interval, one row per compared key."""
    rows = [r for r in comparison.rows if np.isfinite(r.change(metric).relative)]
    fig = Figure(figsize=(WIDTH_IN, max(2.0, 0.32 * len(rows) + 1.2)), layout="constrained")
    ax = fig.add_subplot()
    for i, row in enumerate(rows):
        change = row.change(metric)
        base = change.baseline
        low, high = change.low / base * 100, change.high / base * 100
        colour = {"regression": FAIL_COLOUR, "improvement": "#34a853"}.get(change.verdict, "#555")
        ax.plot([low, high], [i, i], color=colour, linewidth=2)
        ax.plot([change.relative * 100], [i], "o", color=colour)
    threshold = comparison.latency_threshold * 100
    ax.axvline(0, color="#222", linewidth=0.8)
    for edge in (-threshold, threshold):
        ax.axvline(edge, color="#888", linestyle=":", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [r.key for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"change in {metric} against the baseline (%), with 95% interval")
    ax.grid(alpha=0.3, axis="x")
    return fig
