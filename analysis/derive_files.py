"""The files ``dvcload derive`` writes from a :class:`~analysis.derive.Derived`.

- ``arrivals.csv``: session starts per interval (``start,count``), the arrival
  profile that ``load.rate.csv`` and a ``capacity:`` section read;
- ``requests.csv``: requests per interval, same columns (what ``scenario.yaml`` runs);
- ``mix.yaml``: route shares, requests per session, think gaps within sessions;
- ``derive.json``: per route counts, status mix and response times, and what was read;
- ``scenario.yaml``: an open-model scenario to edit, latency budgets from the recorded p95s;
- ``arrivals.png``: sessions and requests per interval.

No file holds a 12-digit number from the log: routes are named with placeholders,
examples of paths have ID numbers as ``{citizen.cccd}``, and examples of unparsed lines
are masked (:func:`dvcschema.weblog.mask_ids`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from analysis.derive import (
    GAP_FLOOR_S,
    MAX_REQUESTS_PER_SESSION,
    OTHER_ROUTES,
    Derived,
    bin_quantile,
    clock_text,
    iter_intervals,
    route_table,
)
from dvcschema import results, weblog
from dvcschema.units import format_duration_s

ARRIVALS_CSV = "arrivals.csv"
REQUESTS_CSV = "requests.csv"
MIX_YAML = "mix.yaml"
DERIVE_JSON = "derive.json"
SCENARIO_YAML = "scenario.yaml"
ARRIVALS_PNG = "arrivals.png"
FILES = (ARRIVALS_CSV, REQUESTS_CSV, MIX_YAML, DERIVE_JSON, SCENARIO_YAML, ARRIVALS_PNG)
SCENARIO_ROUTES = 25  # journeys in the derived scenario: the most requested safe routes
SAFE_METHODS = ("GET", "HEAD")
RESPONSE_TIMES_ARE = (
    "request times as the web server measured them: response times (queueing "
    "included), not service demands"
)
_TEMPLATE_CHARS = re.compile(r"[{}]")


def write_all(result: Derived, out: Path, *, sources: list[str]) -> list[Path]:
    """Write every file into ``out`` (created); the paths written, in :data:`FILES` order."""
    out.mkdir(parents=True, exist_ok=True)
    rows = list(iter_intervals(result))
    results.write_text(out / ARRIVALS_CSV, _counts_csv((clock_text(s), n) for s, n, _ in rows))
    results.write_text(out / REQUESTS_CSV, _counts_csv((clock_text(s), n) for s, _, n in rows))
    table = route_table(result)
    results.write_text(out / MIX_YAML, mix_yaml(result, table))
    results.write_json(out / DERIVE_JSON, derive_json(result, table))
    results.write_text(out / SCENARIO_YAML, scenario_yaml(result, table, sources, rows))
    _write_plot(result, rows, out / ARRIVALS_PNG)
    return [out / name for name in FILES]


def _counts_csv(rows: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["start", "count"])
    writer.writerows(rows)
    return buffer.getvalue()


# -- derive.json ---------------------------------------------------------------------------
def derive_json(result: Derived, table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The record of a derivation (keys documented in the README's replay section)."""
    status: dict[str, int] = {}
    for (_route, code), n in sorted(result.status.items(), key=lambda kv: kv[0][1]):
        status[str(code)] = status.get(str(code), 0) + n
    out: dict[str, Any] = {
        "kind": "dvcload derive",
        "version": 1,
        "logs": [s.as_dict() for s in result.logs],
        "window": _window(result),
        "interval_s": result.options.interval_s,
        "gap_s": result.options.gap_s,
        "session_key": str(result.options.log.session),
        "requests": result.requests,
        "sessions": result.sessions.started if result.sessions else 0,
        "excluded": result.excluded,
    }
    if any(row.get("timed") for row in table.values()):
        out["response_times"] = RESPONSE_TIMES_ARE
    out["routes"] = table
    out["status"] = status
    return out


def _window(result: Derived) -> dict[str, Any]:
    zone = timezone(timedelta(seconds=result.utc_offset_s))
    return {
        "start": clock_text(datetime.fromtimestamp(result.first_t, zone)),
        "end": clock_text(datetime.fromtimestamp(result.last_t, zone)),
        "duration_s": result.last_t - result.first_t,
        "utc_offset_s": result.utc_offset_s,
    }


# -- mix.yaml ------------------------------------------------------------------------------
def mix_yaml(result: Derived, table: dict[str, dict[str, Any]]) -> str:
    """Route shares, requests per session and think gaps, as YAML with a header."""
    sessions = result.sessions
    assert sessions is not None
    sizes = sessions.sizes
    n_sessions = int(sizes.sum())
    counts = np.arange(sizes.size)
    data: dict[str, Any] = {
        "sessions": n_sessions,
        "requests": result.requests,
        "routes": {name: round(row["share"], 6) for name, row in table.items()},
        "requests_per_session": _sizes(sizes, counts, n_sessions),
        "think_gaps": _gaps(sessions.gaps, sessions.gap_sum_s),
    }
    header = (
        "# Derived by `dvcload derive`: what the recorded sessions did.\n"
        f"# A session: the requests of one {result.options.log.session} key with no idle gap of "
        f"{format_duration_s(result.options.gap_s)} or more.\n"
        "# routes: share of all requests; think_gaps: pauses between requests of a session.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _sizes(sizes: np.ndarray, counts: np.ndarray, n: int) -> dict[str, Any]:
    if not n:
        return {"mean": 0.0}
    cumulative = np.cumsum(sizes)
    quantile = {
        f"p{q}": int(np.searchsorted(cumulative, q / 100 * n, side="left")) for q in (50, 90, 99)
    }
    shown_counts = {int(c): int(s) for c, s in zip(counts, sizes, strict=True) if s and c < 50}
    longer = int(sizes[50:].sum())
    if longer:
        shown_counts[50] = longer  # 50 or more
    return {
        "mean": round(float((sizes * counts).sum()) / n, 4),
        **quantile,
        "max_counted": MAX_REQUESTS_PER_SESSION,
        "histogram": shown_counts,
        "histogram_note": "sessions by requests; the key 50 counts sessions of 50 or more",
    }


def _gaps(gaps: np.ndarray, total_s: float) -> dict[str, Any]:
    n = int(gaps.sum())
    if not n:
        return {"count": 0}
    out: dict[str, Any] = {"count": n, "mean": format_duration_s(round(total_s / n, 3))}
    for q in (10, 25, 50, 75, 90, 99):
        out[f"p{q}"] = format_duration_s(round(bin_quantile(gaps, q / 100, GAP_FLOOR_S), 3))
    return out


# -- scenario.yaml -------------------------------------------------------------------------
def scenario_yaml(
    result: Derived,
    table: dict[str, dict[str, Any]],
    sources: list[str],
    rows: list[tuple[datetime, int, int]],
) -> str:
    """An open-model scenario that sends the recorded request rate and route mix."""
    interval = format_duration_s(result.options.interval_s)
    duration_s = min(len(rows) * result.options.interval_s, 86_400.0)
    journeys: dict[str, Any] = {}
    weights: dict[str, float] = {}
    budgets: dict[str, list[str]] = {}
    left_out: list[str] = []
    for name, row in table.items():
        method, _, _path = name.partition(" ")
        example = _example(result, name)
        if method not in SAFE_METHODS or example is None or len(journeys) >= SCENARIO_ROUTES:
            left_out.append(name)
            continue
        key = f"r{len(journeys) + 1:02d}"
        journeys[key] = {"steps": [{method.lower(): example, "name": name}]}
        weights[key] = round(100.0 * row["share"], 4)
        if row.get("timed"):
            budgets[name] = [f"p95 < {_budget_ms(row['p95_ms'])}ms"]
    budgets["total"] = ["error_rate < 1%"]
    peak = max((n for *_, n in rows), default=0) / result.options.interval_s
    names = [Path(s).name for s in sources]
    data: dict[str, Any] = {
        "name": "derived",
        "description": f"Derived by dvcload derive from {', '.join(names)}.",
        "seed": 1,
        "target": "embedded",
        "duration": format_duration_s(duration_s),
        "population": {"size": 10_000},
        "load": {
            "model": "open",
            "max_concurrency": 1000,
            "max_request_rate": float(max(2000, math.ceil(peak * 1.5))),
            "rate": {"csv": {"file": REQUESTS_CSV, "interval": interval}},
        },
        "journeys": journeys,
        "mix": {"journeys": weights},
        "budgets": budgets,
    }
    return _scenario_header(result, left_out) + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=100
    )


def _scenario_header(result: Derived, left_out: list[str]) -> str:
    sessions = result.sessions
    assert sessions is not None
    n = int(sessions.sizes.sum())
    per_session = result.requests / n if n else 0.0
    lines = [
        "# Derived by `dvcload derive`: an open-model scenario to edit, not a finished one.",
        "# Each session here is ONE request, drawn from the recorded route mix, arriving at the",
        f"# recorded request rate ({REQUESTS_CSV}), so each route gets its recorded load. The",
        f"# recorded sessions ({ARRIVALS_CSV}) made {per_session:.2f} requests each on average:",
        "# to model whole visits, write a session: (login) and multi-step journeys, and point",
        f"# rate.csv at {ARRIVALS_CSV}.",
        "# Paths are examples from the log: replace recorded values (codes, numbers) with",
        "# values captured from earlier responses. ID numbers are {citizen.cccd}.",
        "# Budgets: the recorded p95 of each route, rounded up; tighten or relax them.",
        "# target: 'embedded' is the reference portal; give your portal's URL (loopback, or",
        "# allowed with --allow-target).",
    ]
    if left_out:
        shown_names = ", ".join(left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        lines.append(
            f"# Left out ({len(left_out)}): unsafe methods, rare routes or paths that need "
            f"values: {shown_names}"
        )
    return "\n".join(lines) + "\n"


def _example(result: Derived, name: str) -> str | None:
    """A recorded path of route ``name`` as a step's path, or ``None`` if unusable."""
    if name == OTHER_ROUTES:
        return None
    code = result.codes[name]
    example = result.examples[code]
    if not example or _TEMPLATE_CHARS.search(example) or not example.startswith("/"):
        return None
    return weblog.replace_ids(example, lambda _n: "{citizen.cccd}")


def _budget_ms(p95_ms: float) -> int:
    """The recorded p95 rounded up to two significant figures (at least 1 ms)."""
    if not math.isfinite(p95_ms) or p95_ms <= 1:
        return 1
    step = 10 ** max(math.floor(math.log10(p95_ms)) - 1, 0)
    return int(math.ceil(p95_ms / step) * step)


# -- arrivals.png --------------------------------------------------------------------------
def _write_plot(result: Derived, rows: list[Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from analysis.figures import from_zero

    per = result.options.interval_s
    label = format_duration_s(per)
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2, sharex=None)
    starts = [s.replace(tzinfo=None) for s, _, _ in rows]  # the log's clock, as written
    if starts:  # the last interval's step drawn to its end
        starts.append(starts[-1] + timedelta(seconds=per))
        rows = [*rows, rows[-1]]
    top.step(starts, [n for _, n, _ in rows], where="post", color="#1a73e8")
    top.set_ylabel(f"sessions started / {label}")
    top.set_title("Session arrivals (arrivals.csv)")
    bottom.step(starts, [n for _, _, n in rows], where="post", color="#5f6368")
    bottom.set_ylabel(f"requests / {label}")
    bottom.set_xlabel(f"clock time (UTC{_offset_text(result.utc_offset_s)})")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        from_zero(ax)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    results.write_bytes(path, buffer.getvalue())


def _offset_text(offset_s: float) -> str:
    sign = "-" if offset_s < 0 else "+"
    minutes = int(abs(offset_s) // 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
