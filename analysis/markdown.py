"""``gate.md``: the gate's verdict as Markdown, short enough for a pull-request comment.

Failed checks come first, in a table with the measured value and the limit; passed
and skipped checks follow inside a ``<details>`` block (GitHub and GitLab fold it);
with a baseline, the real changes of the comparison close the comment. A run whose
load generator was unreliable says so under the headline, whether that failed the gate
or ``--allow-unreliable`` let it through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.checks import FAILED, PASSED, SKIPPED, Check
from analysis.compare import Comparison

if TYPE_CHECKING:
    from analysis.gate import GateResult

MAX_ROWS = 50


def gate_markdown(result: GateResult) -> str:
    """The Markdown text of a gate result."""
    icon = "✅" if result.passed else "❌"
    lines = [
        f"## {icon} dvcload gate {_word(result.passed)}: {_code(result.scenario)}",
        "",
        f"**{result.headline}**",
        "",
        f"Run `{result.run}`"
        + (f", compared with baseline `{result.baseline}`" if result.baseline else "")
        + ". `*` checks each request name separately; `total` merges all requests.",
        "",
        *_untrustworthy(result),
    ]
    failed = [c for c in result.checks if c.status == FAILED]
    others = [c for c in result.checks if c.status != FAILED]
    if failed:
        lines += ["### Failed", "", *_table(failed, result), ""]
    if others:
        summary = f"{sum(c.status == PASSED for c in others)} passed"
        skipped = sum(c.status == SKIPPED for c in others)
        summary += f", {skipped} skipped" if skipped else ""
        lines += [
            "<details>",
            f"<summary>{summary}</summary>",
            "",
            *_table(others, result),
            "",
            "</details>",
            "",
        ]
    if result.comparison is not None:
        lines += _comparison(result.comparison)
    return "\n".join(lines).rstrip() + "\n"


def _untrustworthy(result: GateResult) -> list[str]:
    """A warning under the headline when the load generator was unreliable."""
    health = result.generator
    if health is None or health.reliable:
        return []
    if result.allow_unreliable:
        verdict = (
            "Allowed by `--allow-unreliable`: the budgets were checked on timings that "
            "include the generator's own waiting."
        )
    else:
        verdict = "This alone fails the gate; `--allow-unreliable` gates the run on its budgets."
    return [f"> ⚠️ **Untrustworthy run:** {_cell(health.reason or '')}. {verdict}", ""]


def _table(checks: list[Check], result: GateResult) -> list[str]:
    rows = ["| | budget | applies to | measured | limit | n |", "|---|---|---|---:|---:|---:|"]
    for check in checks[:MAX_ROWS]:
        mark = {PASSED: "✅", FAILED: "❌", SKIPPED: "⏭️"}[check.status]
        mark = "⚠️ allowed" if result.is_allowed(check) else mark
        budget = check.budget
        measured = budget.format(check.measured) if check.status != SKIPPED else check.message
        rows.append(
            f"| {mark} | {_code(check.target)}: {_code(budget.expression)} | {result.scope(check)} "
            f"| {_cell(measured)} | {budget.op} {budget.format_limit()} | {check.count:,} |"
        )
    if len(checks) > MAX_ROWS:
        rows.append(f"| | … {len(checks) - MAX_ROWS} more in gate.json | | | | |")
    return rows


def _comparison(comparison: Comparison) -> list[str]:
    lines = ["### Against the baseline", ""]
    real = [(row, c) for row in comparison.rows for c in row.changes if c.real]
    if not real:
        return [
            *lines,
            "No real change: every difference is within noise or below "
            f"{comparison.latency_threshold:.0%}.",
            "",
        ]
    lines += [
        "| request | metric | baseline | this run | change | 95% CI | verdict |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for row, change in real[:MAX_ROWS]:
        m = change.metric
        ci = f"{_value(m, change.low, signed=True)} to {_value(m, change.high, signed=True)}"
        lines.append(
            f"| {_code(row.key)} | {m} | {_value(m, change.baseline)} "
            f"| {_value(m, change.candidate)} | {_change(m, change.difference, change.relative)} "
            f"| {ci} | {change.verdict} |"
        )
    return [*lines, ""]


def _value(metric: str, value: float, *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if metric == "error_rate":
        return f"{value * 100:{sign}.2f}%"
    return f"{value:{sign},.1f} ms"


def _change(metric: str, difference: float, relative: float) -> str:
    if metric == "error_rate":
        return f"{difference * 100:+.2f} pp"
    return f"{relative:+.1%}"


def _word(passed: bool) -> str:
    return "passed" if passed else "failed"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
