"""HTML fragments of the report: the manifest, the tables, the verdict box.

Every value is escaped; nothing refers to anything outside the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from analysis.compare import Comparison
from analysis.failures import FailureKind

FIGURE_COLUMNS = ("count", "failures", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")
STATUS_MARK = {"passed": "✔ passed", "failed": "✘ failed", "skipped": "– skipped"}


def e(value: Any) -> str:
    """Escape a value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else e(value)


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """A table from already escaped cells."""
    header = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    attr = f" class='{cls}'" if cls else ""
    return f"<table{attr}><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def verdict_box(summary: Mapping[str, Any]) -> str:
    """Pass or fail with the reasons; partial runs and audit problems said plainly."""
    gate = summary.get("gate")
    ratio = summary.get("failure_ratio") or 0.0
    facts = (
        f"{summary.get('requests', 0):,} requests, {summary.get('failures', 0):,} failures "
        f"({ratio:.2%}), {summary.get('rps') or 0:.1f} requests/s over "
        f"{summary.get('duration_s') or 0:.1f} s"
    )
    notes = []
    if summary.get("partial"):
        notes.append("Partial run: the load was interrupted; figures cover what ran.")
    notes.extend(_audit_problems(summary.get("audit")))
    if gate is None:
        cls, word, reasons = "info", "No budgets were checked", ""
    else:
        failed = [b for b in gate.get("budgets", []) if b.get("status") == "failed"]
        cls = "pass" if gate.get("passed") else "fail"
        word = e(gate.get("headline") or ("Gate PASSED" if gate.get("passed") else "Gate FAILED"))
        reasons = "".join(
            f"<li><b>{e(b['target'])}</b>: {e(b['expression'])} &mdash; {e(b['message'])}</li>"
            for b in failed[:20]
        )
        reasons = f"<ul>{reasons}</ul>" if reasons else ""
    note_html = "".join(f"<p class='note'>{e(n)}</p>" for n in notes)
    return (
        f"<div class='verdict {cls}'><p class='word'>{word}</p><p>{e(facts)}</p>"
        f"{reasons}{note_html}</div>"
    )


def _audit_problems(audit: Any) -> list[str]:
    if not isinstance(audit, Mapping):
        return []
    problems = []
    if audit.get("dossiers_missing"):
        problems.append(f"Audit: {audit['dossiers_missing']:,} acknowledged dossiers are missing.")
    if audit.get("double_charges"):
        problems.append(f"Audit: {audit['double_charges']:,} payments were charged twice.")
    return problems


def manifest_list(manifest: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    versions = manifest.get("versions") or {}
    scenario = manifest.get("scenario") or {}
    items: dict[str, Any] = {
        "scenario": f"{summary.get('scenario', '')} ({scenario.get('source', '')})",
        "target": summary.get("target", ""),
        "started / ended": f"{summary.get('started_at', '')} / {summary.get('ended_at', '')}",
        "duration": f"{summary.get('duration_s') or 0:.1f} s",
        "seed": manifest.get("seed", ""),
        "load": _load_text(scenario.get("load") or {}, summary),
        "dvcload / locust / python": f"{versions.get('dvcload', '')} / "
        f"{versions.get('locust', '')} / {versions.get('python', '')}",
        "git revision": manifest.get("git_revision") or "",
        "host": _host_text(manifest.get("host") or {}),
        "load generator CPU": _cpu_text(summary.get("generator") or {}),
        "percentiles from": summary.get("percentile_source", ""),
    }
    items.update(_arrivals_items(summary.get("arrivals")))
    items.update(_prefixed("ledger", summary.get("ledger")))
    items.update(_prefixed("audit", summary.get("audit")))
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items.items())
    return f"<dl>{rows}</dl>"


def _load_text(load: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    users = (summary.get("users") or {}).get("max")
    model = load.get("model", "closed")
    return f"{model} model" + (f", up to {users} users" if users is not None else "")


def _host_text(host: Mapping[str, Any]) -> str:
    return f"{host.get('hostname', '')} ({host.get('cpu_count', '?')} CPUs)"


def _cpu_text(generator: Mapping[str, Any]) -> str:
    if not generator:
        return ""
    return f"{generator.get('cpu_percent', '')}% of one core ({generator.get('cpu_seconds', '')} s)"


def _arrivals_items(arrivals: Any) -> dict[str, Any]:
    if not isinstance(arrivals, Mapping):
        return {}
    return {
        "arrival rate (target / achieved)": f"{arrivals.get('target_rate', '')} / "
        f"{arrivals.get('achieved_rate', '')} per s",
        "dropped arrivals": arrivals.get("dropped", ""),
    }


def _prefixed(prefix: str, figures: Any) -> dict[str, Any]:
    if not isinstance(figures, Mapping):
        return {}
    return {f"{prefix}: {k.replace('_', ' ')}": v for k, v in figures.items()}


def figures_table(rows: Mapping[str, Mapping[str, Any]], first: str) -> str:
    """Count, failures, rate and percentiles per key (endpoints, journeys, breakdowns)."""
    body = [[e(key), *[fmt(row.get(c)) for c in FIGURE_COLUMNS]] for key, row in rows.items()]
    return table((first, *FIGURE_COLUMNS), body, cls="num")


def budgets_table(gate: Mapping[str, Any]) -> str:
    entries = gate.get("budgets") or []
    if not entries:
        return "<p>No budgets were checked.</p>"
    rows = [
        [
            f"<span class='{e(b['status'])}'>{e(STATUS_MARK.get(b['status'], b['status']))}</span>",
            e(b["target"]),
            e(b["expression"]),
            e(b["scope"]),
            e(b["message"]),
        ]
        for b in sorted(entries, key=lambda b: b["status"] != "failed")
    ]
    note = (
        "<p class='muted'>'*' checks each request name separately; 'total' merges all "
        "requests; tag budgets merge the tagged request names.</p>"
    )
    return note + table(("status", "target", "budget", "applies to", "measured"), rows)


def failures_table(kinds: Sequence[FailureKind]) -> str:
    if not kinds:
        return "<p>No failures.</p>"
    rows = [
        [e(k.kind), fmt(k.occurrences), e(", ".join(k.requests)), f"<code>{e(k.example)}</code>"]
        for k in kinds
    ]
    return table(("kind", "occurrences", "requests", "example"), rows)


def comparison_table(comparison: Comparison) -> str:
    rows = []
    for row in comparison.rows:
        cells = [e(row.key), f"{row.baseline_count:,} / {row.candidate_count:,}"]
        for change in row.changes:
            cells.append(_change_cell(change.metric, change))
        rows.append(cells)
    metrics = [c.metric for c in comparison.rows[0].changes] if comparison.rows else []
    head = ("request", "requests (base / run)", *[f"{m} change" for m in metrics])
    return table(head, rows)


def _change_cell(metric: str, change: Any) -> str:
    if change.baseline != change.baseline:  # NaN: no data
        return "&ndash;"
    if metric == "error_rate":
        text = (
            f"{change.baseline:.2%} → {change.candidate:.2%} ({change.difference * 100:+.2f} pp; "
            f"CI {change.low * 100:+.2f} to {change.high * 100:+.2f})"
        )
    else:
        text = (
            f"{change.baseline:,.1f} → {change.candidate:,.1f} ms ({change.relative:+.1%}; "
            f"CI {change.low:+,.1f} to {change.high:+,.1f} ms)"
        )
    return f"<span class='{e(change.verdict)}'>{e(text)}<br><b>{e(change.verdict)}</b></span>"
