"""The figures of a plan as PNGs: the staffing schedule, and latency against servers.

Matplotlib is imported only here, and only when a figure is drawn.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from planning.tables import PLOT_POINTS, LatencyTable, latency_tables

if TYPE_CHECKING:
    from planning.plan import PlanRun


def write_plots(run: PlanRun, path: Path) -> tuple[Path, Path]:
    """The schedule at ``path`` and latency against servers at :func:`latency_path`.

    Returns both paths, in that order.
    """
    from models.plot import plot_staffing  # Matplotlib: only when a plot is asked for

    method = run.plan.method.upper()
    plot_staffing(
        run.plan,
        path,
        title=f"{run.name}: servers per tier by {method}{what_ifs(run)} (budgets per tier)",
    )
    tables = latency_tables(run.spec, run.plan, run.mc, run.peak, points=PLOT_POINTS)
    latency = latency_path(path)
    plot_latency(
        tables,
        latency,
        title=f"{run.name}: latency against servers at the peak hour{what_ifs(run)}",
    )
    return path, latency


def latency_path(path: Path) -> Path:
    """``FILE-latency.png`` beside ``FILE.png``."""
    return path.with_name(f"{path.stem}-latency{path.suffix}")


def what_ifs(run: PlanRun) -> str:
    """``", arrivals x2, spike x3 at 17:00 for 30m"`` for a title; ``""`` without what-ifs."""
    parts = [f"arrivals x{run.surge:g}"] if run.surge != 1 else []
    parts += [f"spike {s.describe()}" for s in run.spikes]
    return f", {', '.join(parts)}" if parts else ""


def plot_latency(tables: list[LatencyTable], path: str | PathLike[str], *, title: str) -> None:
    """A PNG with one panel per tier: p95 and mean wait against servers (log scale)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(4.2 * len(tables), 4.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(tables)))
    floor_ms = 1e-3  # a log axis: waits below a microsecond are drawn at it
    for ax, t in zip(axes, tables, strict=True):
        p95_ms = np.maximum(t.p95_response_s * 1000, floor_ms)
        ax.plot(t.servers, p95_ms, color="tab:red", lw=1.8, label="p95 response")
        wait_ms = np.maximum(t.mean_wait_s * 1000, floor_ms)
        ax.plot(t.servers, wait_ms, color="tab:blue", lw=1.2, label="mean wait")
        for c, mark in t.marks.items():
            ax.axvline(c, color="0.4", lw=0.8, ls="-" if mark.startswith("planned") else ":")
            ax.annotate(mark, (c, 0.02), xycoords=("data", "axes fraction"), fontsize="x-small",
                        rotation=90, va="bottom", ha="right")  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor_ms)
        ax.margins(x=0.05)
        ax.set_xlabel("servers")
        ax.set_ylabel("ms (log scale)")
        ax.set_title(f"{t.tier}: {t.offered_load:,.1f} erlangs", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    fig.suptitle(title, fontsize="medium")
    fig.savefig(path, format="png")
