"""``dvcload validate``'s output: a table per set-up and a predicted-vs-measured plot."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.validate import (
    CLAIM_MAX_UTILIZATION,
    MEAN_TOLERANCE,
    P95_TOLERANCE,
    Options,
    Point,
    SetupResult,
    claim_holds,
    model_label,
)

DPI = 100
_HEADER = (
    f"  {'util':<6}{'achieved':>8}{'req/s':>7}{'requests':>9}  {'mean pred':>9}{'meas':>7}"
    f"{'error':>8}  {'p95 pred':>8}{'meas':>7}{'error':>8}  {'no-wait':>7}  {'noise':>5}"
    f"  {'S ms':>7}"
)
NOTES = (
    "util: target utilisation (* the calibration point: the models were calibrated from"
    " it alone); achieved: the model's utilisation at the arrival rate the portal"
    " received. Measured: the harness's response times (HDR histograms) after a warm-up."
    " Predicted: the model's wait + service at the measured arrival rate, plus the"
    " harness overhead (its mean minus the portal's wait + service) at the calibration"
    " point. no-wait: the mean's error for a model without queueing (service time"
    " alone), what the queueing model has to beat. noise: standard error of the"
    " portal-side mean by batch means, as % of the mean (it understates the noise at"
    " high load, where the queue's memory outlasts the batches). S ms: mean service time"
    " measured at that point (the models use the calibrated one)."
)


def _durations(options: Options) -> str:
    return ", ".join(f"{options.point_duration_s(u):.0f}s at {u:g}" for u in sorted(options.points))


def report(results: list[SetupResult], options: Options, plot_path: Path | None) -> str:
    """The experiment as text: assumptions, one table per set-up, the verdict."""
    lines = [
        "dvcload validate: models calibrated at the lowest utilisation only, checked at the others",
        f"  portal: embedded on 127.0.0.1; open-loop Poisson sessions of 3 requests (browse);"
        f" load per point {_durations(options)}, seed {options.seed}; runs in {options.out}",
        f"  claim: mean within {MEAN_TOLERANCE:.0%} and p95 within {P95_TOLERANCE:.0%} of"
        f" measured for one tier at utilisation <= {CLAIM_MAX_UTILIZATION:g}",
    ]
    for result in results:
        lines += ["", *_setup_table(result)]
    lines += ["", textwrap.fill(NOTES, width=100)]
    claimed = [p for r in results for p in r.points if p.claimed]
    verdict = "holds" if claim_holds(results) else "FAILS"
    misses = [p for p in claimed if not p.within_bounds]
    lines.append(
        f"Accuracy claim {verdict}: {len(claimed) - len(misses)} of {len(claimed)} claimed"
        " points within bounds"
        + "".join(f"; miss: {p.setup.service_distribution} at {p.utilization:g}" for p in misses)
    )
    if plot_path is not None:
        lines.append(f"Plot: {plot_path}")
    return "\n".join(lines)


def _setup_table(result: SetupResult) -> list[str]:
    setup, model = result.setup, result.model
    designs = "; ".join(t.describe() for t in setup.tiers)
    calibrated = "; ".join(
        f"{t.name} {d.mean_s * 1000:.2f} ± {d.std_error_s * 1000:.2f} ms,"
        f" {d.family} (sample cv {d.sample_cv:.2f}), n {d.n:,}"
        for t in model.tiers
        for d in [t.demand]
    )
    overhead = result.points[0].overhead_ms if result.points else math.nan
    lines = [
        f"{setup.tier_setup}, {setup.service_distribution} ({designs})",
        f"  model: {model_label(setup, model)}",
        f"  calibrated: {calibrated}; harness overhead {overhead:.2f} ms",
        _HEADER,
    ]
    lines += [_row(p) for p in result.points]
    return lines


def _row(p: Point) -> str:
    m = p.measurement
    mark = "*" if p.calibration_point else ("" if p.within_bounds or not p.claimed else "!")
    rate = sum(m.arrival_rate_per_s.values()) / max(len(m.arrival_rate_per_s), 1)
    service = "/".join(f"{v:.1f}" for v in m.service_mean_ms.values())
    noise = m.server_mean_se_ms / m.server_mean_ms
    return (
        f"  {f'{p.utilization:g}{mark}':<6}{p.achieved_utilization:>8.3f}{rate:>7.1f}"
        f"{m.requests:>9,}  {_ms(p.predicted_mean_ms):>9}{m.mean_ms:>7.1f}{_pct(p.mean_error):>8}"
        f"  {_ms(p.predicted_p95_ms):>8}{m.p95_ms:>7.1f}{_pct(p.p95_error):>8}"
        f"  {_pct(p.no_wait_mean_error):>7}  {_pct(noise, signed=False):>5}  {service:>7}"
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "unstable"


def _pct(value: float, *, signed: bool = True) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def plot(results: list[SetupResult], path: Path) -> Path:
    """Predicted (line) against measured (dots) mean and p95 per set-up at the
    utilisation the portal received, each measured point labelled with the prediction's
    error, with the no-queueing baseline; written as a PNG (Agg canvas)."""
    fig = Figure(figsize=(11.0, 3.4 * len(results)), layout="constrained")
    FigureCanvasAgg(fig)
    for row, result in enumerate(results):
        for col, metric in enumerate(("mean", "p95")):
            ax = fig.add_subplot(len(results), 2, 2 * row + col + 1)
            _panel(ax, result, metric)
    fig.savefig(path, dpi=DPI)
    return path


def _panel(ax: Axes, result: SetupResult, metric: str) -> None:
    points = result.points
    u = np.array([p.achieved_utilization for p in points])
    measured = np.array([getattr(p.measurement, f"{metric}_ms") for p in points])
    predicted = np.array([getattr(p, f"predicted_{metric}_ms") for p in points])
    no_wait = np.array([getattr(p, f"no_wait_{metric}_ms") for p in points])
    errors = [getattr(p, f"{metric}_error") for p in points]
    tolerance = MEAN_TOLERANCE if metric == "mean" else P95_TOLERANCE
    finite = np.isfinite(predicted)
    ax.fill_between(
        u[finite], predicted[finite] / (1 + tolerance), predicted[finite] / (1 - tolerance),
        color="#1a73e8", alpha=0.12, label=f"measured within ±{tolerance:.0%}",
    )  # fmt: skip
    ax.plot(u, no_wait, "--", color="grey", linewidth=1, label="no queueing (service alone)")
    ax.plot(u[finite], predicted[finite], "-x", color="#1a73e8", label="predicted")
    ax.plot(u, measured, "o", color="#d93025", label="measured")
    for x, y, e, p in zip(u, measured, errors, points, strict=True):
        if math.isfinite(e):
            label = f"{e:+.1%} ({p.utilization:g})"
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, -12), fontsize=7)
    ax.axvline(u[0], color="grey", linestyle=":", linewidth=1)
    ax.set_title(
        f"{result.setup.tier_setup}, {result.setup.service_distribution}: {metric}", fontsize=9
    )
    ax.set_xlabel(
        "utilisation at the measured arrival rate\n(target in brackets; dotted: calibration)",
        fontsize=8,
    )
    ax.set_ylabel(f"{metric} response time (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
