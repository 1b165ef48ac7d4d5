"""``report.html``: one self-contained page (figures embedded) that works offline."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

from analysis.timeseries import Series, read_intervals

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{margin-bottom:.2rem}
h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f4f4f4}
.verdict{padding:1rem;border-radius:6px;font-size:1.1rem;margin:1rem 0}
.pass{background:#e6f4ea;border:1px solid #34a853}
.fail{background:#fce8e6;border:1px solid #d93025}
.info{background:#e8f0fe;border:1px solid #4285f4}
.muted{color:#666;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}
"""


def write_report(folder: Path) -> Path:
    """Render ``folder/report.html`` from the files of one results folder."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    manifest_path = folder / "manifest.json"
    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    )
    series = read_intervals(folder / "histograms_intervals.jsonl")
    parts = [
        f"<h1>dvcload run: {_e(summary['scenario'])}</h1>",
        f"<p class='muted'>{_e(summary['started_at'])} to {_e(summary.get('ended_at', ''))}"
        f" &middot; target {_e(summary['target'])}</p>",
        _verdict(summary),
        "<h2>Run</h2>",
        _manifest(manifest, summary),
        "<h2>Endpoints</h2>",
        _endpoint_table(summary),
        "<h2>Latency over time</h2>",
        _img(_latency_figure(series)),
        "<h2>Throughput and errors over time</h2>",
        _img(_throughput_figure(series)),
        "<h2>Failures by kind</h2>",
        _failures(folder / "locust_failures.csv"),
    ]
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>dvcload {_e(summary['scenario'])}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _e(value: Any) -> str:
    return html.escape(str(value))


def _verdict(summary: Mapping[str, Any]) -> str:
    gate = summary.get("gate")
    partial = " (partial: the run was interrupted)" if summary.get("partial") else ""
    ratio = summary.get("failure_ratio", 0.0)
    head = (
        f"{summary['requests']:,} requests, {summary['failures']:,} failures "
        f"({ratio:.2%}), {summary.get('rps', 0):.1f} requests/s{partial}"
    )
    if gate is None:
        return f"<div class='verdict info'>{_e(head)}. No budgets were checked.</div>"
    cls = "pass" if gate.get("passed") else "fail"
    word = "PASSED" if gate.get("passed") else "FAILED"
    return f"<div class='verdict {cls}'><b>Gate {word}</b>: {_e(head)}</div>"


def _manifest(manifest: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    items = {
        "scenario file": manifest.get("scenario", {}).get("source", ""),
        "seed": manifest.get("seed", ""),
        "duration": f"{summary['duration_s']:.1f} s",
        "max users": summary.get("users", {}).get("max", ""),
        "dvcload / locust": f"{manifest.get('versions', {}).get('dvcload', '')} / "
        f"{manifest.get('versions', {}).get('locust', '')}",
        "git revision": manifest.get("git_revision", ""),
        "host": manifest.get("host", {}).get("hostname", ""),
        "generator CPU": summary.get("generator", {}).get("cpu_percent", ""),
    }
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items.items())
    return f"<dl>{rows}</dl>"


def _endpoint_table(summary: Mapping[str, Any]) -> str:
    cols = ("count", "failures", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")
    head = "".join(f"<th>{c}</th>" for c in ("request", *cols))
    rows = []
    for key, row in [*summary["endpoints"].items(), ("Total", summary["total"])]:
        cells = "".join(f"<td>{_fmt(row.get(c))}</td>" for c in cols)
        rows.append(f"<tr><td>{_e(key)}</td>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else _e(value)


def _latency_figure(series: Series) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.add_subplot()
    for values, label in ((series.p50_ms, "p50"), (series.p95_ms, "p95"), (series.p99_ms, "p99")):
        ax.plot(series.t_s, values, marker=".", label=label)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("response time (ms)")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _throughput_figure(series: Series) -> Figure:
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(series.t_s, series.rps, marker=".", label="requests/s")
    ax.plot(series.t_s, series.failures_per_s, marker=".", color="#d93025", label="failures/s")
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("per second")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _img(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='figure' style='max-width:100%' src='data:image/png;base64,{data}'>"


def _failures(path: Path) -> str:
    if not path.exists():
        return "<p>No failures file.</p>"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return "<p>No failures.</p>"
    body = "".join(
        f"<tr><td>{_e(r.get('Method', ''))} {_e(r.get('Name', ''))}</td>"
        f"<td>{_e(r.get('Error', ''))}</td><td>{_e(r.get('Occurrences', ''))}</td></tr>"
        for r in sorted(rows, key=lambda r: -int(r.get("Occurrences") or 0))
    )
    return (
        "<table><thead><tr><th>request</th><th>error</th><th>occurrences</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
