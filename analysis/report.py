"""``report.html``: one self-contained page that works offline.

The page has no scripts and no external references: styles are inline and figures
are PNGs embedded as ``data:`` URIs (rendered by matplotlib's Agg canvas). It holds
the run's manifest and a verdict box, the budgets, the integrity audit, a per-endpoint
and per-journey table, latency percentiles over time, throughput and errors over time
with users (or the target arrival rate), the latency distribution per endpoint,
failures grouped by kind, the breakdown by service and by province, and, with a
baseline, the comparison. A run whose load generator was unreliable opens with a
banner that says so, whatever the gate said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import figures
from analysis.compare import Comparison, compare_runs
from analysis.failures import read_failures
from analysis.report_tables import (
    audit_section,
    budgets_table,
    comparison_table,
    e,
    failures_table,
    figures_table,
    generator_banner,
    manifest_list,
    verdict_box,
)
from analysis.runfolder import RunFolder
from analysis.timeseries import Series, Users, read_intervals, read_users
from dvcschema import results

MAX_BREAKDOWN_ROWS = 63  # Vietnam's provinces before the 2025 merger: every one fits

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;color:#222;
max-width:1100px;padding:0 1rem}
h1{margin-bottom:.2rem}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
table.num td+td,table.num th+th{text-align:right}
th{background:#f4f4f4}
table.audit{width:auto}
table.audit td:nth-child(2),table.audit th:nth-child(2){text-align:right}
.flag{white-space:nowrap}
td:first-child{white-space:nowrap}
.verdict{padding:.8rem 1rem;border-radius:6px;margin:1rem 0}
.verdict .word{font-size:1.25rem;font-weight:700;margin:.2rem 0}
.pass{background:#e6f4ea;border:1px solid #34a853}
.fail{background:#fce8e6;border:1px solid #d93025}
.info{background:#e8f0fe;border:1px solid #4285f4}
.banner{background:#fef7e0;border:2px solid #e37400;border-left-width:8px;padding:.6rem 1rem;
border-radius:6px;margin:1rem 0}
.banner .word{font-size:1.15rem;font-weight:700;color:#b06000;margin:.2rem 0}
.banner p{margin:.3rem 0}
.note{font-weight:600}
span.failed,span.regression,p.failed{color:#b3261e;font-weight:600}
span.passed,span.improvement,p.passed{color:#1e7e34}
span.skipped,span.noise{color:#666}
.muted{color:#666;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}
dd{margin:0}
nav a{margin-right:.8rem}
img{max-width:100%;height:auto}
code{font-size:.8rem;word-break:break-all}
"""


@dataclass(frozen=True)
class _Inputs:
    run: RunFolder
    series: Series
    users: Users
    comparison: Comparison | None


def write_report(folder: Path, *, baseline: Path | None = None) -> Path:
    """Render ``folder/report.html`` from a results folder; returns its path.

    Parameters
    ----------
    folder
        A results folder (``summary.json``, ``histograms.json``; the interval file,
        Locust's CSV files and ``manifest.json`` when present).
    baseline
        Another results folder: adds the comparison section.

    Raises
    ------
    dvcschema.errors.ConfigError
        ``folder`` or ``baseline`` is not a readable results folder.
    """
    folder = Path(folder)
    run = RunFolder.open(folder)
    series = read_intervals(folder / results.INTERVALS)
    inputs = _Inputs(
        run=run,
        series=series,
        users=read_users(folder / results.LOCUST_STATS_HISTORY, series.t0_unix),
        comparison=None if baseline is None else compare_runs(RunFolder.open(baseline), run),
    )
    path = folder / results.REPORT_HTML
    results.write_text(path, render_page(inputs))
    return path


def render_page(inputs: _Inputs) -> str:
    sections = _sections(inputs)
    nav = "".join(f"<a href='#{key}'>{e(title)}</a>" for key, title, _ in sections)
    body = "".join(
        f"<section id='{key}'><h2>{e(title)}</h2>{content}</section>"
        for key, title, content in sections
    )
    summary = inputs.run.summary
    title = f"dvcload run: {summary.get('scenario', '')}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(title)}</h1><p class='muted'>{e(inputs.run.path.name)}</p>"
        f"{generator_banner(summary)}<nav>{nav}</nav>{body}</body></html>"
    )


def _sections(inputs: _Inputs) -> list[tuple[str, str, str]]:
    run, summary = inputs.run, inputs.run.summary
    breakdown = summary.get("breakdown") or {}
    sections = [
        ("verdict", "Verdict", verdict_box(summary)),
        ("run", "Run", manifest_list(run.manifest, summary)),
        ("budgets", "Budgets", _budgets(summary)),
        ("audit", "Integrity audit", audit_section(summary)),
        ("endpoints", "Endpoints", _endpoints(summary)),
        ("journeys", "Journeys", _journeys(summary)),
        ("latency-over-time", "Latency over time", _latency_over_time(inputs.series)),
        ("throughput", "Throughput and errors over time", _throughput(inputs)),
        ("distribution", "Latency distribution", _distribution(run)),
        (
            "failures",
            "Failures by kind",
            failures_table(read_failures(run.path / results.LOCUST_FAILURES)),
        ),
        ("services", "Breakdown by service", _breakdown(breakdown.get("services"), "service")),
        ("provinces", "Breakdown by province", _breakdown(breakdown.get("provinces"), "province")),
    ]
    if inputs.comparison is not None:
        sections.append(("comparison", "Comparison with baseline", _comparison(inputs.comparison)))
    return sections


def _img(fig: Any, alt: str) -> str:
    return f"<img alt='{e(alt)}' src='data:image/png;base64,{figures.png_base64(fig)}'>"


def _budgets(summary: Mapping[str, Any]) -> str:
    gate = summary.get("gate")
    if gate is None:
        return "<p>No budgets were checked for this run (run <code>dvcload gate</code>).</p>"
    return budgets_table(gate)


def _endpoints(summary: Mapping[str, Any]) -> str:
    rows = dict(summary.get("endpoints") or {})
    if "total" in summary:
        rows["all requests"] = summary["total"]
    note = "<p class='muted'>Latencies in ms from the HDR histograms; failed requests included.</p>"
    return note + figures_table(rows, "request")


def _journeys(summary: Mapping[str, Any]) -> str:
    journeys = summary.get("journeys") or {}
    if not journeys:
        return "<p>No journeys were recorded.</p>"
    note = "<p class='muted'>Whole journeys, from the first request to the last, in ms.</p>"
    return note + figures_table(journeys, "journey")


def _latency_over_time(series: Series) -> str:
    if len(series) == 0:
        return "<p>No interval histograms in this run.</p>"
    return _img(figures.latency_over_time(series), "latency percentiles over time")


def _throughput(inputs: _Inputs) -> str:
    if len(inputs.series) == 0:
        return "<p>No interval histograms in this run.</p>"
    arrivals = inputs.run.summary.get("arrivals")
    target = None
    if isinstance(arrivals, Mapping) and arrivals.get("target_rate") is not None:
        target = float(arrivals["target_rate"])
    fig = figures.throughput_over_time(inputs.series, inputs.users, target)
    caption = "users (right axis) from Locust's stats history"
    if target is not None:
        caption = "the dashed line is the target arrival rate of this open-loop run"
    return _img(fig, "throughput and errors over time") + f"<p class='muted'>{e(caption)}</p>"


def _distribution(run: RunFolder) -> str:
    sections = {"per request name": run.endpoints}
    if run.journeys:
        sections["per journey"] = run.journeys
    return _img(figures.latency_cdf(sections), "latency distribution per endpoint (CDF)")


def _breakdown(rows: Mapping[str, Mapping[str, Any]] | None, what: str) -> str:
    if not rows:
        return f"<p>No breakdown by {e(what)} in this run.</p>"
    ordered = dict(sorted(rows.items(), key=lambda kv: -(kv[1].get("count") or 0)))
    shown = dict(list(ordered.items())[:MAX_BREAKDOWN_ROWS])
    labels = list(shown)
    p50 = [float(r.get("p50_ms") or 0.0) for r in shown.values()]
    p95 = [float(r.get("p95_ms") or 0.0) for r in shown.values()]
    fig = figures.breakdown_bars(labels, p50, p95, f"journey duration by {what}")
    return _img(fig, f"journey duration by {what}") + figures_table(ordered, what)


def _comparison(comparison: Comparison) -> str:
    note = (
        f"<p class='muted'>Baseline <code>{e(comparison.baseline)}</code>. Intervals: "
        f"{comparison.confidence:.0%} bootstrap of the histograms (Efron &amp; Tibshirani "
        f"1993); error rate: Newcombe's score interval. A change is a <b>regression</b> "
        f"or an <b>improvement</b> only when its interval excludes 0 and it is at least "
        f"{comparison.latency_threshold:.0%} (0.1 percentage point for errors); otherwise "
        "it is <b>noise</b>.</p>"
    )
    forest = _img(figures.comparison_forest(comparison), "p95 change against the baseline")
    return note + forest + comparison_table(comparison)
