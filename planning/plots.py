"""The figures of a plan as PNGs: the staffing schedule, and latency against servers.

Matplotlib is imported only here, and only when a figure is drawn.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dvcschema.units import format_duration_s
from planning.clock import clock
from planning.tables import PLOT_POINTS, LatencyTable, latency_tables

if TYPE_CHECKING:
    from planning.plan import PlanRun


def write_plots(run: PlanRun, path: Path) -> tuple[Path, ...]:
    """The schedule at ``path``, latency against servers at :func:`latency_path`, and more.

    With a derivation, its tornado at ``FILE-tornado.png``. Returns the paths written,
    in that order.
    """
    method = run.plan.method.upper()
    plot_schedule(
        run,
        path,
        title=f"{run.name}: servers per tier by {method}{what_ifs(run)} (budgets per tier)",
    )
    tables = latency_tables(run.spec, run.plan, run.mc, run.peak, points=PLOT_POINTS)
    latency = latency_path(path)
    plot_latency(
        tables,
        latency,
        title=f"{run.name}: latency against servers at the peak hour{what_ifs(run)}",
        budgets_s={t.name: _response_budget_s(run, t.name) for t in run.spec.tiers},
    )
    written = [path, latency]
    if run.scale_up is not None:
        written.append(path.with_name(f"{path.stem}-backlog{path.suffix}"))
        plot_backlog(run, written[-1])
    if run.spec.derivation is not None:
        from planning.sensitivity import plot_tornado, tornado

        written.append(path.with_name(f"{path.stem}-tornado{path.suffix}"))
        plot_tornado(tornado(run.spec.derivation), written[-1])
    return tuple(written)


def plot_schedule(run: PlanRun, path: str | PathLike[str], *, title: str) -> None:
    """Arrivals by clock time on top, then one panel per tier: servers by clock time.

    Each tier's panel has the central plan (steps), the P50-P90 band of the Monte
    Carlo, the servers the policy provisions (instances x servers per instance, where
    resources are given) and ``max_servers`` as a dashed line.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    from planning.provision import provision

    plan, tiers = run.plan, run.plan.tiers
    fig = MplFigure(figsize=(10, 2.2 + 2.1 * len(tiers)), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1 + len(tiers), 1, sharex=True)
    edges_h = _edges_h(plan.interval_starts_s, plan.interval_s)
    top = axes[0]
    top.plot(plan.times_s / 3600, plan.arrival_rate_per_s, color="tab:blue", lw=1.4)
    top.stairs(plan.mean_arrival_rate_per_s, edges_h, color="tab:blue", alpha=0.3, fill=True)
    top.set_ylabel("sessions/s")
    top.set_ylim(bottom=0)
    prov = provision(run)
    for k, (ax, tp) in enumerate(zip(axes[1:], tiers, strict=True)):
        color = f"C{(k + 1) % 10}"
        if run.mc is not None:
            p50, p90 = run.mc.tier_percentiles(tp.name)
            ax.stairs(p90, edges_h, baseline=p50, fill=True, color=color, alpha=0.2,
                      label="P50-P90 of samples")  # fmt: skip
        ax.stairs(tp.servers, edges_h, color=color, lw=2, label="central plan")
        bought = prov.tier(tp.name)
        if bought.instances is not None and bought.resources is not None:
            per = bought.resources.servers_per_instance or 1
            ax.stairs(bought.instances * per, edges_h, color="0.2", lw=1, ls="-.",
                      label=f"provisioned ({bought.basis}, {per} per instance)")  # fmt: skip
        top_y = 1.15 * max(float(ax.dataLim.y1), 1.0)
        max_servers = run.spec.tier(tp.name).max_servers
        if max_servers is not None and max_servers <= 2 * top_y:
            ax.axhline(max_servers, color="tab:red", ls="--", lw=1, label="max_servers")
            top_y = max(top_y, 1.1 * max_servers)
        elif max_servers is not None:
            ax.annotate(f"max_servers {max_servers:,}: above the axis", (0.99, 0.93),
                        xycoords="axes fraction", ha="right", va="top", fontsize="x-small",
                        color="tab:red")  # fmt: skip
        ax.set_ylim(0, top_y)
        ax.set_ylabel(f"{tp.name}\nservers")
        ax.legend(loc="upper left", fontsize="x-small")
    for ax in axes:
        ax.grid(alpha=0.3)
    _time_of_day_axis(axes[-1], edges_h)
    fig.suptitle(title, fontsize="medium")
    fig.savefig(path, format="png")


def plot_backlog(run: PlanRun, path: str | PathLike[str]) -> None:
    """The backlog of each tier while each spike's servers boot, by clock time.

    One panel per tier (of the first spike): the backlog without abandonment, with
    patience, and with retries, and the moment the spike's servers arrive.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    assert run.scale_up is not None
    spike = run.scale_up.spikes[0]
    tiers = spike.tiers
    fig = MplFigure(figsize=(10, 1.2 + 2.0 * len(tiers)), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(len(tiers), 1, sharex=True))
    for ax, tier in zip(axes, tiers, strict=True):
        cases = [("no abandonment", tier.plain, "tab:red")]
        if tier.abandoning is not None:
            cases.append(("with patience", tier.abandoning, "tab:blue"))
        if tier.retrying is not None:
            cases.append(("patience + retries", tier.retrying, "tab:purple"))
        end_s = max(float(p.drained_at_s or p.times_s[-1]) for _, p, _ in cases)
        end_s = min(max(end_s, spike.servers_at_s + 60.0) + 120.0, float(tier.plain.times_s[-1]))
        for label, p, color in cases:
            keep = p.times_s <= end_s
            ax.plot(p.times_s[keep] / 3600, p.backlog[keep], color=color, lw=1.4, label=label)
        ax.axvline(spike.servers_at_s / 3600, color="0.3", ls="--", lw=1,
                   label=f"servers arrive ({clock(spike.servers_at_s)})")  # fmt: skip
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{tier.tier}\nrequests queued")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize="x-small")
    ticks = axes[-1].get_xticks()
    axes[-1].set_xticks(ticks, [clock(t * 3600) for t in ticks])
    axes[-1].set_xlabel("time of day")
    lead = format_duration_s(run.scale_up.lead_time_s)
    fig.suptitle(
        f"{run.name}: backlog during spike {spike.spike.describe()}, lead time {lead}"
        " (fluid model)",
        fontsize="medium",
    )
    fig.savefig(path, format="png")


def _edges_h(starts_s: np.ndarray, interval_s: float) -> np.ndarray:
    return np.append(starts_s, starts_s[-1] + interval_s) / 3600.0


def _time_of_day_axis(ax: Any, edges_h: np.ndarray) -> None:
    """Clock time (HH:MM) on the x-axis, a tick every few hours."""
    span = edges_h[-1] - edges_h[0]
    step = 1 if span <= 6 else 3 if span <= 30 else 12
    ticks = np.arange(np.floor(edges_h[0]), edges_h[-1] + 1e-9, step)
    ax.set_xticks(ticks, [clock(t * 3600) for t in ticks])
    ax.set_xlim(edges_h[0], edges_h[-1])
    ax.set_xlabel("time of day")


def _response_budget_s(run: PlanRun, tier: str) -> float | None:
    for b in run.spec.budgets_for(run.spec.tier(tier)):
        if b.kind == "response_quantile":
            return b.value
    return None


def latency_path(path: Path) -> Path:
    """``FILE-latency.png`` beside ``FILE.png``."""
    return path.with_name(f"{path.stem}-latency{path.suffix}")


def what_ifs(run: PlanRun) -> str:
    """``", arrivals x2, spike x3 at 17:00 for 30m"`` for a title; ``""`` without what-ifs."""
    parts = [f"arrivals x{run.surge:g}"] if run.surge != 1 else []
    parts += [f"spike {s.describe()}" for s in run.spikes]
    return f", {', '.join(parts)}" if parts else ""


def plot_latency(
    tables: list[LatencyTable],
    path: str | PathLike[str],
    *,
    title: str,
    budgets_s: dict[str, float | None] | None = None,
) -> None:
    """A PNG with one panel per tier: p95 and mean wait against servers (log scale).

    ``budgets_s``: a tier's response-time budget, drawn as a horizontal line.
    """
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
        budget_s = (budgets_s or {}).get(t.tier)
        if budget_s is not None:
            ax.axhline(budget_s * 1000, color="tab:red", ls="--", lw=1, label="response budget")
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
