"""Draw a capacity plan: the staffing schedule next to the arrival curve.

Uses Matplotlib's object-oriented API with the Agg canvas directly, so nothing
touches pyplot's global state (safe in servers, tests and threads).
"""

from __future__ import annotations

from os import PathLike

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.plan import CapacityPlan


def plot_staffing(
    plan: CapacityPlan, path: str | PathLike[str], *, title: str | None = None
) -> None:
    """Write a PNG with the arrival rate (top) and servers per tier (bottom).

    The top panel shows the arrival rate on the staffing grid and its hourly
    (interval) means; the bottom panel shows, per tier, the servers planned per
    interval as steps and the instantaneous need on the fine grid as a thin line.

    Parameters
    ----------
    plan : CapacityPlan
        From :func:`models.plan.plan_capacity`.
    path : str or path-like
        Where to write the PNG.
    title : str, optional
        Figure title; a default names the method.
    """
    fig = Figure(figsize=(10, 6.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax_rate, ax_srv = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.4))
    hours = plan.times_s / 3600.0
    starts_h = plan.interval_starts_s / 3600.0
    edges_h = [*starts_h, starts_h[-1] + plan.interval_s / 3600.0]
    ax_rate.plot(hours, plan.arrival_rate_per_s, color="tab:blue", lw=1.5, label="arrival rate")
    ax_rate.stairs(
        plan.mean_arrival_rate_per_s,
        edges_h,
        color="tab:blue",
        alpha=0.35,
        fill=True,
        label="interval mean",
    )
    ax_rate.set_ylabel("arrivals per second")
    ax_rate.legend(loc="upper left", fontsize="small")
    ax_rate.grid(alpha=0.3)
    for i, tier in enumerate(plan.tiers):
        color = f"C{(i + 1) % 10}"
        ax_srv.stairs(tier.servers, edges_h, color=color, lw=2, label=f"{tier.name} (planned)")
        ax_srv.plot(hours, tier.servers_fine, color=color, lw=0.8, alpha=0.6)
    ax_srv.set_ylabel("servers")
    ax_srv.set_xlabel("hours from start")
    ax_srv.legend(loc="upper left", fontsize="small")
    ax_srv.grid(alpha=0.3)
    budgets = "; ".join(_budget_label(b.kind, b.value, b.quantile, b.tier) for b in plan.budgets)
    fig.suptitle(title or f"Staffing by {plan.method.upper()} for: {budgets}", fontsize="medium")
    fig.savefig(path, format="png")


def _budget_label(kind: str, value: float, quantile: float | None, tier: str | None) -> str:
    where = f" [{tier}]" if tier else ""
    pct = f"p{(quantile or 0.0) * 100:g}"
    if kind == "response_quantile":
        return f"{pct} response <= {value:g} s{where}"
    if kind == "wait_quantile":
        return f"{pct} wait <= {value:g} s{where}"
    if kind == "prob_wait":
        return f"P(wait > 0) <= {value:g}{where}"
    if kind == "mean_wait":
        return f"mean wait <= {value:g} s{where}"
    return f"utilisation <= {value:g}{where}"
