"""HTML fragments of the report: the manifest, the tables, the verdict box, the banner.

Every value is escaped; nothing refers to anything outside the page. Nothing empty is
shown: a missing figure leaves out its row, not a row that says ``{}``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from analysis.compare import Comparison
from analysis.failures import FailureKind
from dvcschema.results import ALLOW_UNRELIABLE, GENERATOR_CPU_LIMIT_PERCENT, GeneratorHealth

FIGURE_COLUMNS = ("count", "failures", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")
STATUS_MARK = {"passed": "✔ passed", "failed": "✘ failed", "skipped": "– skipped"}
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z-]*[a-z])")
AUDIT_CHECKS = {
    "dossiers_missing": "acknowledged dossiers missing from the database",
    "dossiers_wrong_owner": "acknowledged dossiers stored for another citizen",
    "payments_missing": "confirmed payments never charged",
    "payments_wrong_dossier": "confirmed payments charged to another dossier",
    "double_charges": "dossiers charged more than once",
    "orphan_payments": "charges that belong to nobody",
}
AUDIT_INFO = {
    "dossiers_unacknowledged": "dossiers stored but never acknowledged to the citizen",
    "charges_unreported": "charges whose confirmation the harness never saw",
    "charges_in_excess": "charges beyond the first of a dossier",
}


def e(value: Any) -> str:
    """Escape a value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def prose(value: Any) -> str:
    """Escaped text whose command-line flags (``--allow-unreliable``) never wrap."""
    return _FLAG.sub(r"<span class='flag'>\1</span>", e(value))


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
    cls, word, reasons = _gate_verdict(gate)
    note_html = "".join(f"<p class='note'>{e(n)}</p>" for n in notes)
    return (
        f"<div class='verdict {cls}'><p class='word'>{word}</p><p>{e(facts)}</p>"
        f"{reasons}{note_html}</div>"
    )


def _gate_verdict(gate: Any) -> tuple[str, str, str]:
    """The box's class, its headline and the failed checks as a list (HTML)."""
    if gate is None:
        return "info", "No budgets were checked", ""
    failed = [b for b in gate.get("budgets", []) if b.get("status") == "failed"]
    word = gate.get("headline") or ("Gate PASSED" if gate.get("passed") else "Gate FAILED")
    reasons = "".join(
        f"<li><b>{e(b['target'])}</b>: {e(b['expression'])} &mdash; {prose(b['message'])}</li>"
        for b in failed[:20]
    )
    return "pass" if gate.get("passed") else "fail", prose(word), reasons and f"<ul>{reasons}</ul>"


def _audit_problems(audit: Any) -> list[str]:
    if not isinstance(audit, Mapping):
        return []
    problems = []
    if audit.get("dossiers_missing"):
        problems.append(f"Audit: {audit['dossiers_missing']:,} acknowledged dossiers are missing.")
    if audit.get("double_charges"):
        problems.append(f"Audit: {audit['double_charges']:,} payments were charged twice.")
    return problems


def generator_banner(summary: Mapping[str, Any]) -> str:
    """The top-of-page warning for a run whose load generator was unreliable, whatever
    the gate said (or empty for a healthy generator)."""
    health = GeneratorHealth.from_summary(summary)
    if health is None or health.reliable:
        return ""
    title = f"Untrustworthy: {health.short_reason}"
    reason = (health.reason or "")[:1].upper() + (health.reason or "")[1:]
    return (
        f"<div class='banner' role='alert'><p class='word'>{e(title)}</p>"
        f"<p>{prose(reason)}.</p><p>{prose(_banner_gate(summary.get('gate')))}</p></div>"
    )


def _banner_gate(gate: Any) -> str:
    if not isinstance(gate, Mapping):
        return "No gate was run: the figures below are the generator's as much as the target's."
    entries = [b for b in gate.get("budgets") or [] if b.get("key") == "generator"]
    if entries and entries[0].get("allowed"):
        return (
            f"The gate was told to allow it ({ALLOW_UNRELIABLE}): its verdict rests on timings "
            "that include the generator's own waiting."
        )
    if entries:
        return f"The gate failed the run for this ({ALLOW_UNRELIABLE} gates it on its budgets)."
    return "The gate was run before generator health was checked: its verdict ignores this."


def audit_section(summary: Mapping[str, Any]) -> str:
    """The integrity audit: its verdict, one row per check, the ledgers it read."""
    audit = summary.get("audit")
    if not isinstance(audit, Mapping):
        return _not_audited(summary.get("ledger"))
    rows = []
    for key, label in AUDIT_CHECKS.items():
        count = _number(audit.get(key))
        if count is not None:
            status = "failed" if count else "passed"
            mark = f"<span class='{status}'>{STATUS_MARK[status]}</span>"
            rows.append([e(label), fmt(int(count)), mark])
    head = _audit_verdict(audit)
    checks = table(("check", "count", "result"), rows, cls="audit") if rows else ""
    return head + checks + _audit_sources(audit) + _audit_examples(audit.get("examples"))


def _audit_verdict(audit: Mapping[str, Any]) -> str:
    problems = [
        f"{int(n):,} {label}"
        for key, label in AUDIT_CHECKS.items()
        if (n := _number(audit.get(key)))
    ]
    if not problems and audit.get("passed") is not False:
        return (
            "<p class='passed'>✔ The portal kept every acknowledged dossier and charged every "
            "confirmed payment exactly once.</p>"
        )
    text = "; ".join(problems) or "the audit did not pass"
    return f"<p class='failed'>✘ The audit failed: {e(text)}.</p>"


def _audit_sources(audit: Mapping[str, Any]) -> str:
    said = _counted(audit, {"dossiers_acknowledged": "acknowledged dossiers",
                            "payments_confirmed": "confirmed payments"})  # fmt: skip
    stored = _counted(audit, {"dossiers_in_database": "dossiers",
                              "charges_in_database": "charges"})  # fmt: skip
    info = _counted(audit, AUDIT_INFO)
    parts = []
    if said:
        parts.append(f"The harness's ledgers held {said}")
    if stored:
        parts.append(f"the portal's database held {stored}")
    text = "; ".join(parts) + "." if parts else ""
    if info:
        text += f" For information (these do not fail the audit): {info}."
    missing = audit.get("ledger_files_missing")
    if isinstance(missing, list) and missing:
        text += " Missing ledger files: " + ", ".join(str(m) for m in missing) + "."
    truncated = _number(audit.get("ledger_rows_truncated"))
    if truncated:
        text += f" {truncated:,.0f} ledger rows were cut short."
    return f"<p class='muted'>{e(text.strip())}</p>" if text.strip() else ""


def _counted(audit: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    found = [(label, _number(audit.get(key))) for key, label in labels.items()]
    return ", ".join(f"{n:,.0f} {label}" for label, n in found if n is not None)


def _audit_examples(examples: Any) -> str:
    if not isinstance(examples, Mapping):
        return ""
    rows = [
        [e(AUDIT_CHECKS.get(str(kind), kind)), f"<code>{e(', '.join(map(str, codes)))}</code>"]
        for kind, codes in examples.items()
        if isinstance(codes, list) and codes
    ]
    return table(("check", "examples (at most 5)"), rows) if rows else ""


def _not_audited(ledger: Any) -> str:
    if not isinstance(ledger, Mapping) or not ledger:
        return "<p>No integrity audit in this run.</p>"
    held = _counted(ledger, {"dossiers_acknowledged": "acknowledged dossiers",
                             "payments_confirmed": "confirmed payments"})  # fmt: skip
    return (
        "<p>Not audited: the target was not the embedded portal, whose database the audit "
        f"reads. The harness recorded {e(held or 'nothing')} in "
        "<code>acknowledged_dossiers.csv</code> and <code>confirmed_payments.csv</code>; "
        "check them against the target's own records (<code>analysis/audit.py</code>).</p>"
    )


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
        "load generator CPU": _cpu_text(summary.get("generator")),
        "percentiles from": summary.get("percentile_source", ""),
    }
    items.update(_arrivals_items(summary.get("arrivals")))
    items.update(_replay_items(summary.get("replay")))
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items.items() if v != "")
    return f"<dl>{rows}</dl>"


def _load_text(load: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    users = (summary.get("users") or {}).get("max")
    model = load.get("model", "closed")
    text = f"{model} model"
    speed, scale = _number(load.get("speed")), _number(load.get("scale"))
    if model == "replay" and speed is not None and scale is not None:
        text += f" at speed x{speed:g}, scale x{scale:g}"
    return text + (f", up to {users} users" if users is not None else "")


def _host_text(host: Mapping[str, Any]) -> str:
    return f"{host.get('hostname', '')} ({host.get('cpu_count', '?')} CPUs)"


def _cpu_text(generator: Any) -> str:
    """``96.0% of one core (57.6 s), busiest process; over the 90% limit: unreliable``."""
    health = GeneratorHealth.from_summary({"generator": generator})
    if health is None or health.cpu_percent is None:
        return ""
    text = f"{health.cpu_percent:.1f}% of one core"
    seconds = _number(generator.get("cpu_seconds"))
    text += f" ({seconds:,.1f} s of CPU)" if seconds is not None else ""
    processes = generator.get("processes")
    if isinstance(processes, Mapping) and processes:
        shares = [f"{k} {v:.1f}%" for k, v in processes.items() if _number(v) is not None]
        if shares:
            text += "; per process: " + ", ".join(shares)
    if not health.reliable:
        text += f"; over the {GENERATOR_CPU_LIMIT_PERCENT:g}% limit: unreliable"
    return text


def _arrivals_items(arrivals: Any) -> dict[str, Any]:
    if not isinstance(arrivals, Mapping):
        return {}
    target, achieved = _number(arrivals.get("target_rate")), _number(arrivals.get("achieved_rate"))
    what = "requests" if arrivals.get("model") == "replay" else "sessions"
    items: dict[str, Any] = {}
    if target is not None or achieved is not None:
        items["arrival rate (target / achieved)"] = (
            f"{_rate(target)} / {_rate(achieved)} {what} per s"
        )
    dropped, offered = _number(arrivals.get("dropped")), _number(arrivals.get("offered"))
    if dropped is not None:
        share = f" of {offered:,.0f} offered ({dropped / offered:.1%})" if offered else ""
        user = "replay" if what == "requests" else "session"
        items["dropped arrivals"] = f"{dropped:,.0f}{share}: no {user} user was free"
    late = _number(arrivals.get("late"))
    if late:
        items["late arrivals"] = f"{late:,.0f}, started behind schedule (the generator was busy)"
    return items


def _replay_items(replay: Any) -> dict[str, Any]:
    """A replay's log, what it held and what was sent (``summary.json``'s ``replay``)."""
    if not isinstance(replay, Mapping):
        return {}
    logs = replay.get("logs")
    count = {
        k: _number(replay.get(k)) for k in ("recorded", "eligible", "scheduled", "ids_replaced")
    }
    items: dict[str, Any] = {}
    if isinstance(logs, list):
        items["replayed log"] = ", ".join(str(x) for x in logs)
    if None not in count.values():
        items["replayed requests"] = (
            f"{count['scheduled']:,.0f} scheduled from {count['recorded']:,.0f} recorded in "
            f"the window ({count['eligible']:,.0f} with a method sent); "
            f"{count['ids_replaced']:,.0f} ID numbers replaced by those of synthetic citizens"
        )
    cut = _number(replay.get("cut_at_end"))
    if cut:
        items["not sent"] = f"{cut:,.0f} requests due after the run's end"
    skipped = replay.get("skipped_by_method")
    if isinstance(skipped, Mapping) and skipped:
        items["skipped by method"] = ", ".join(f"{k} {v}" for k, v in skipped.items())
    unparsed = _number(replay.get("unparsed"))
    if unparsed:
        items["unparsed log lines"] = f"{unparsed:,.0f}"
    return items


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:,.1f}"


def _number(value: Any) -> float | None:
    """A finite number from a summary, or ``None`` (missing, text, bool, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


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
            _status_cell(b),
            e(b["target"]),
            e(b["expression"]),
            e(b["scope"]),
            prose(b["message"]),
        ]
        for b in sorted(entries, key=lambda b: b["status"] != "failed" and not b.get("allowed"))
    ]
    note = (
        "<p class='muted'>'*' checks each request name separately; 'total' merges all "
        "requests; tag budgets merge the tagged request names.</p>"
    )
    return note + table(("status", "target", "budget", "applies to", "measured"), rows)


def _status_cell(entry: Mapping[str, Any]) -> str:
    if entry.get("allowed") is True:
        return f"<span class='skipped'>⚠ allowed ({e(ALLOW_UNRELIABLE)})</span>"
    status = entry["status"]
    return f"<span class='{e(status)}'>{e(STATUS_MARK.get(status, status))}</span>"


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
