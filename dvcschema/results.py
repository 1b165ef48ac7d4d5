"""The results folder: its file names, its atomic writers and its typed records.

One run writes one folder, ``results/<UTC start>-<scenario>/`` (DESIGN.md). This module
is the only place that names its files (:data:`FILES`), the only place that writes
``summary.json`` and ``manifest.json`` (:class:`RunFiles`), and the home of the records
they serialise: :class:`Summary`, :class:`Manifest`, :class:`GeneratorHealth` and the
summary's :class:`GateRecord`. Everything else (the run, the audit, the gate, the
report, the synthetic fixture) passes these records around and asks
:class:`RunFiles` for paths.

Keys are only ever added. A :class:`Summary` read from an older or newer folder keeps
the keys it does not know in ``extra`` and writes them back unchanged, so a gate run by
an older dvcload on a newer folder loses nothing.

Every write is atomic (a temporary name in the same folder, then ``os.replace``), so a
folder never holds a half-written ``summary.json`` that looks complete.
``python -m dvcschema.results`` prints ``results/README.md``, which is generated from
:data:`FILES` and the records' field documentation (a test keeps them equal).
"""

# ruff: noqa: RUF009  (_doc and _required return dataclasses.field(): documented fields)
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema import files, runschema
from dvcschema.errors import ConfigError, one_line

MAX_JSON_BYTES = 256 * 1024 * 1024  # summary, manifest, histograms: a few MB in practice


@dataclass(frozen=True)
class ResultFile:
    """One file of a results folder: its name and what it holds (for the README)."""

    name: str
    holds: str


# -- file names (the only place they are spelled) ---------------------------------------
MANIFEST = "manifest.json"
SCENARIO = "scenario.json"
SUMMARY = "summary.json"
GATE_JSON = "gate.json"
JUNIT_XML = "junit.xml"
GATE_MD = "gate.md"
REPORT_HTML = "report.html"
HISTOGRAMS = "histograms.json"
INTERVALS = "histograms_intervals.jsonl"
LOCUST_CSV_PREFIX = "locust"  # Locust's --csv prefix: the four files below
LOCUST_STATS = f"{LOCUST_CSV_PREFIX}_stats.csv"
LOCUST_STATS_HISTORY = f"{LOCUST_CSV_PREFIX}_stats_history.csv"
LOCUST_FAILURES = f"{LOCUST_CSV_PREFIX}_failures.csv"
LOCUST_EXCEPTIONS = f"{LOCUST_CSV_PREFIX}_exceptions.csv"
LOCUST_REPORT = f"{LOCUST_CSV_PREFIX}_report.html"
DOSSIER_LEDGER = "acknowledged_dossiers.csv"
PAYMENT_LEDGER = "confirmed_payments.csv"
PORTAL_ACCESS_LOG = "portal_access.jsonl"
PORTAL_DATABASE = "portal.sqlite"
UTILIZATION = "utilization.json"
RUN_LOG = "run.log"
PORTAL_STDERR = "portal_stderr.log"
WORKER_LOG = "worker-{k}.log"

FILES: tuple[ResultFile, ...] = (
    ResultFile(MANIFEST, "the scenario as run, seed, versions, git revision, target, host, "
               "start and end (:class:`Manifest`)"),
    ResultFile(SCENARIO, "the resolved scenario (after command-line and environment "
               "overrides), as workers load it"),
    ResultFile(SUMMARY, "the run's figures and verdicts (:class:`Summary`, keys below); "
               "rewritten every 5 s while the run is going, marked partial"),
    ResultFile(GATE_JSON, "the gate's verdict: every check with its measured value, the "
               "comparison with a baseline, and the generator's health"),
    ResultFile(JUNIT_XML, "the gate as JUnit XML, one test case per check, for CI systems"),
    ResultFile(GATE_MD, "the gate as Markdown, short enough for a pull-request comment"),
    ResultFile(REPORT_HTML, "one self-contained page: verdict, audit, endpoints, latency and "
               "throughput over time, failures"),
    ResultFile(HISTOGRAMS, "cumulative HDR histograms per request name, journey, service, "
               "province and session phase (µs, 3 significant digits, mergeable)"),
    ResultFile(INTERVALS, "one line per 5 s interval: per request name count, failures, HDR "
               "histogram"),
    ResultFile(LOCUST_STATS, "Locust's own statistics (CSV)"),
    ResultFile(LOCUST_STATS_HISTORY, "Locust's own statistics over time (CSV)"),
    ResultFile(LOCUST_FAILURES, "Locust's failures by request name and error (CSV)"),
    ResultFile(LOCUST_EXCEPTIONS, "Locust's exceptions (CSV)"),
    ResultFile(LOCUST_REPORT, "Locust's own HTML report"),
    ResultFile(DOSSIER_LEDGER, "every dossier the target acknowledged (t, dossier_code, "
               "cccd), for the integrity audit"),
    ResultFile(PAYMENT_LEDGER, "every payment the target confirmed (t, payment_id, "
               "dossier_code), for the integrity audit"),
    ResultFile(PORTAL_ACCESS_LOG, "embedded portal only: one JSON line per request as the "
               "server saw it (the ground truth)"),
    ResultFile(PORTAL_DATABASE, "embedded portal only: its SQLite database after the run"),
    ResultFile(UTILIZATION, "optional, written by the operator: measured tier utilisations, "
               "for `dvcload calibrate --source regression`"),
    ResultFile(RUN_LOG, "the run's log"),
    ResultFile(PORTAL_STDERR, "embedded portal only: its standard error"),
    ResultFile(WORKER_LOG, "distributed runs: each local worker process's log"),
)  # fmt: skip


def worker_log(k: int) -> str:
    return WORKER_LOG.format(k=k)


# -- atomic writers ---------------------------------------------------------------------
def _replace(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes atomically."""
    _replace(path, lambda tmp: tmp.write_bytes(data))


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (UTF-8, indented, non-ASCII kept readable)."""
    write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """Write JSON lines atomically."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    _replace(path, write)


def append_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """Append JSON lines (for files that only grow, rewritten atomically at the end).

    Not atomic: a process killed mid-append can leave a torn last line, which the
    readers skip (:func:`analysis.timeseries.read_intervals`)."""
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def create_run_folder(root: Path, scenario_name: str, started_at: float) -> Path:
    """Make a new, empty folder named after the UTC start time and the scenario."""
    stamp = dt.datetime.fromtimestamp(started_at, tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    root.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        folder = root / f"{stamp}-{scenario_name}{suffix}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"too many runs named {stamp}-{scenario_name} in {root}")


# -- records ------------------------------------------------------------------------------
def _doc(text: str, default: Any = None) -> Any:
    """A field documented for ``results/README.md`` (optional: omitted when ``None``)."""
    return field(default=default, metadata={"doc": text})


def _required(text: str) -> Any:
    return field(metadata={"doc": text, "required": True})


def _record_dict(record: Any, nulls: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's fields in order, ``None`` left out (but for ``nulls``, written as
    null), ``extra`` last."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if f.name == "extra":
            continue
        value = getattr(record, f.name)
        if value is None and f.name not in nulls:
            continue
        out[f.name] = value.as_dict() if hasattr(value, "as_dict") else value
    return out | dict(getattr(record, "extra", {}))


def _split(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data``'s known keys (``cls``'s fields) and the rest (kept in ``extra``)."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: v for k, v in data.items() if k in names}
    return known, {k: v for k, v in data.items() if k not in names}


GENERATOR_CPU_LIMIT_PERCENT = 90.0
ALLOW_UNRELIABLE = "--allow-unreliable"


@dataclass(frozen=True, kw_only=True)
class GeneratorHealth:
    """``summary.json``'s ``generator``: could the load generator be trusted?

    A generator process is one thread: above :data:`GENERATOR_CPU_LIMIT_PERCENT` of a
    core, response times include time spent waiting for the generator itself. With
    workers the figure is the busiest process's.
    """

    cpu_seconds: float | None = _doc("CPU seconds the generator process used")
    processes: dict[str, float] | None = _doc("distributed runs: each process's CPU, % of a core")
    cpu_percent: float | None = _doc("the busiest generator process's CPU use, % of one core")
    reliable: bool = _doc("false when a process used more than 90% of a core", True)
    reason: str | None = _doc("why the generator cannot be trusted (when not reliable)")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def measure(
        cls,
        cpu_s: float,
        duration_s: float,
        workers: Sequence[Mapping[str, Any]] | None = None,
    ) -> GeneratorHealth:
        """Health from CPU seconds over a run (and each worker's, for distributed runs)."""
        duration_s = max(duration_s, 1e-9)
        percent = 100.0 * cpu_s / duration_s
        busiest, processes = "the load generator", None
        if workers:
            shares = {
                str(w["worker"]): 100.0 * float(w.get("cpu_seconds", 0.0)) / duration_s
                for w in workers
            }
            processes = {"master": round(percent, 1)} | {
                name: round(share, 1) for name, share in shares.items()
            }
            name, share = max(shares.items(), key=lambda kv: kv[1])
            if share > percent:
                percent, busiest = share, f"worker {name}"
        reliable = percent <= GENERATOR_CPU_LIMIT_PERCENT
        reason = None
        if not reliable:
            reason = (
                f"{busiest} used {percent:.0f}% of a CPU core (limit "
                f"{GENERATOR_CPU_LIMIT_PERCENT:.0f}%): response times include time spent "
                "waiting for the generator itself; use --processes or a lighter load"
            )
        return cls(
            cpu_seconds=round(cpu_s, 3),
            processes=processes,
            cpu_percent=round(percent, 1),
            reliable=reliable,
            reason=reason,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GeneratorHealth:
        """As written; a section without ``reliable`` (older runs) is judged on its CPU,
        and an unreliable one without a reason gets one."""
        known, extra = _split(cls, data)
        cpu = _finite(known.get("cpu_percent"))
        reliable = known.get("reliable")
        if not isinstance(reliable, bool):
            reliable = cpu is None or cpu <= GENERATOR_CPU_LIMIT_PERCENT
        reason = known.get("reason")
        if reliable:
            reason = None
        elif not isinstance(reason, str) or not reason.strip():
            reason = _cpu_reason(cpu)
        else:
            reason = one_line(reason)
        processes = known.get("processes")
        return cls(
            cpu_seconds=_finite(known.get("cpu_seconds")),
            cpu_percent=cpu,
            reliable=reliable,
            reason=reason,
            processes=dict(processes) if isinstance(processes, Mapping) else None,
            extra=extra,
        )

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> GeneratorHealth | None:
        """The ``generator`` section of a summary as read, ``None`` when it has none."""
        section = summary.get("generator")
        return cls.from_dict(section) if isinstance(section, Mapping) else None

    def as_dict(self) -> dict[str, Any]:
        return _record_dict(self)

    def gate_entry(self, *, allowed: bool) -> dict[str, Any]:
        """``gate.json``'s ``generator``: the verdict the gate read, and whether an
        unreliable generator was allowed."""
        return {
            "reliable": self.reliable,
            "cpu_percent": self.cpu_percent,
            "limit_percent": GENERATOR_CPU_LIMIT_PERCENT,
            "reason": self.reason,
            "allowed": allowed,
        }

    @property
    def short_reason(self) -> str:
        """``the load generator was saturated (96% of a CPU core, limit 90%)``."""
        if self.cpu_percent is not None and self.cpu_percent > GENERATOR_CPU_LIMIT_PERCENT:
            return (
                f"the load generator was saturated ({self.cpu_percent:.0f}% of a CPU core, "
                f"limit {GENERATOR_CPU_LIMIT_PERCENT:g}%)"
            )
        return "the load generator was unreliable"


def _cpu_reason(cpu_percent: float | None) -> str:
    if cpu_percent is None:
        return "the run's summary marks the load generator unreliable"
    return (
        f"the load generator used {cpu_percent:.0f}% of a CPU core "
        f"(limit {GENERATOR_CPU_LIMIT_PERCENT:g}%)"
    )


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, kw_only=True)
class GateRecord:
    """``summary.json``'s ``gate``: the verdict (``gate.json`` has the details)."""

    passed: bool = _required("true when no check failed")
    partial: bool = _doc("the run was interrupted or is still going", False)
    headline: str | None = _doc("``PASSED: all 14 budget checks passed`` and the like")
    baseline: str | None = _doc("the results folder compared with, if any")
    budgets: list[dict[str, Any]] = _doc(
        "one entry per check: name, status, measured, limit, count, message, scope", ()
    )
    generator: dict[str, Any] | None = _doc("the generator's health and whether it was allowed")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateRecord:
        known, extra = _split(cls, data)
        return cls(**known, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        return _record_dict(self, nulls=("baseline", "generator")) | {"budgets": list(self.budgets)}


@dataclass(frozen=True, kw_only=True)
class Summary:
    """``summary.json``: what a run measured, and the verdicts on it.

    Built once per write by the run (:mod:`dvcload.run_writer`), read by everything
    after it. The audit and the gate do not write it: they return data that
    :meth:`with_audit` and :meth:`with_gate` add, and the run writes the result once.
    """

    summary_version: int | None = _doc("the format's version (keys are only ever added)")
    scenario: str = _required("the scenario's name")
    started_at: str = _required("when the load started (ISO 8601, UTC)")
    ended_at: str | None = _doc("when the load ended, or, while running, now")
    duration_s: float = _required("seconds of load")
    target: str = _required("the base URL the load went to")
    requests: int = _required("requests measured (all request names)")
    failures: int = _required("failed requests among them")
    failure_ratio: float | None = _doc("failures / requests")
    rps: float | None = _doc("requests per second over the run")
    total: dict[str, Any] | None = _doc("the figures below, all requests merged")
    endpoints: dict[str, Any] = _required(
        "per request name (``GET /path/[id]``): ``count``, ``failures``, ``failure_ratio``, "
        "``rps``, ``mean_ms``, ``p50_ms``, ``p90_ms``, ``p95_ms``, ``p99_ms``, ``max_ms`` "
        "(from the HDR histograms; failures count in latency too)"
    )
    percentile_source: str | None = _doc("where the percentiles come from")
    journeys: dict[str, Any] | None = _doc("the same figures per journey (whole journeys)")
    tags: dict[str, list[str]] | None = _doc("request names per tag, for ``tag:NAME`` budgets")
    breakdown: dict[str, Any] | None = _doc("the same figures by ``services`` and ``provinces``")
    partial: bool | None = _doc("true while the run is going, or when it was interrupted")
    complete: bool | None = _doc("true once the run's final write is done")
    locust_totals: dict[str, Any] | None = _doc("Locust's own request and failure totals")
    behaviour: dict[str, Any] | None = _doc(
        "``abandoned`` journeys, ``retries``, ``throttled`` requests that waited for the "
        "ceiling, ``wire_requests`` (every request that left, redirect hops included)"
    )
    users: dict[str, Any] | None = _doc("``max``: the most concurrent users")
    population: dict[str, Any] | None = _doc("the synthetic population's ``size`` and ``seed``")
    generator: GeneratorHealth | None = _doc("the load generator's health (see below)")
    ledger: dict[str, Any] | None = _doc("dossiers acknowledged and payments confirmed")
    aborted: str | None = _doc("why the run stopped early (an abort-on-fail budget, a signal)")
    workers: list[dict[str, Any]] | None = _doc("distributed runs: each worker's counts and CPU")
    workers_lost: list[str] | None = _doc("distributed runs: workers that went missing")
    arrivals: dict[str, Any] | None = _doc(
        "open model and replay (``model``): ``target_rate``, ``achieved_rate``, ``offered``, "
        "``started``, ``dropped`` (no free session user), ``late``, ``max_concurrency``"
    )
    sessions: dict[str, Any] | None = _doc("open model: session start delays and lengths")
    replay: dict[str, Any] | None = _doc(
        "replay: the ``logs`` read, ``speed``, ``scale``, ``window``, requests ``recorded`` "
        "in it, ``eligible`` (methods allowed), ``sessions``, ``scheduled`` (after scale), "
        "``cut_at_end``, ``skipped_by_method``, ``ids_replaced``, ``unparsed`` lines"
    )
    audit: dict[str, Any] | None = _doc(
        "embedded portal: the integrity audit (acknowledged dossiers against the database, "
        "payments charged once); a failed audit fails the gate"
    )
    gate: GateRecord | None = _doc("the gate's verdict (see below)")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """A summary as read (already checked by :data:`dvcschema.runschema.SUMMARY`)."""
        known, extra = _split(cls, data)
        for name, record in (("generator", GeneratorHealth), ("gate", GateRecord)):
            value = known.get(name)
            if isinstance(value, Mapping):
                known[name] = record.from_dict(value)
            elif not isinstance(value, record):  # absent, or not a section
                known.pop(name, None)
        for name in ("scenario", "started_at", "target"):
            known.setdefault(name, "")
        for name in ("requests", "failures"):
            known.setdefault(name, 0)
        known.setdefault("duration_s", 0.0)
        known.setdefault("endpoints", {})
        return cls(**known, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        return _record_dict(self)

    def with_audit(self, audit: Mapping[str, Any]) -> Summary:
        return dataclasses.replace(self, audit=dict(audit))

    def with_gate(self, gate: GateRecord) -> Summary:
        return dataclasses.replace(self, gate=gate)

    @property
    def gated(self) -> bool:
        """Whether a gate must run: an audit fails it even without budgets."""
        return self.audit is not None


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """``manifest.json``: what was run, where, with which versions."""

    scenario: dict[str, Any] = _required("the scenario as run (resolved)")
    seed: int | None = _doc("the population's and the run's random seed")
    target: str | None = _doc("the base URL the load went to")
    started_at: str | None = _doc("when the load started (ISO 8601, UTC)")
    ended_at: str | None = _doc("when it ended")
    versions: dict[str, str] | None = _doc("Python's and each package's version")
    git_revision: str | None = _doc("dvcload's git revision (``-dirty`` with changes)")
    host: dict[str, Any] | None = _doc("hostname, platform, CPU count")
    command: list[str] | None = _doc("the command line")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        known, extra = _split(cls, data)
        known.setdefault("scenario", {})
        return cls(**known, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        return _record_dict(self, nulls=("git_revision",))


# -- the folder ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunFiles:
    """One results folder's paths and writers; the only writer of its records."""

    path: Path

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def read_json(
        self, name: str, *, required: bool, shape: runschema.Shape | None = None
    ) -> dict[str, Any]:
        """A JSON object from one of the folder's files, checked against ``shape``; one
        clear :class:`ConfigError` when missing (if ``required``), unreadable, not strict
        JSON or not of that shape (a folder from another machine or a damaged disk)."""
        path = self.path / name
        if not files.exists(path):
            if not required:
                return {}
            raise ConfigError("missing: not a dvcload results folder", source=str(path))
        text = files.read_text(path, limit=MAX_JSON_BYTES)
        data = runschema.loads(text, source=str(path))
        runschema.check(data, shape or runschema.AnyObject(), source=str(path))
        return data  # check() made sure it is an object

    def read_summary(self) -> dict[str, Any]:
        """``summary.json`` as checked JSON (:meth:`Summary.from_dict` types it)."""
        return self.read_json(SUMMARY, required=True, shape=runschema.SUMMARY)

    def read_manifest(self) -> dict[str, Any]:
        """``manifest.json`` as checked JSON, ``{}`` when absent."""
        return self.read_json(MANIFEST, required=False, shape=runschema.MANIFEST)

    def write_summary(self, summary: Summary) -> None:
        write_json(self.path / SUMMARY, summary.as_dict())

    def write_manifest(self, manifest: Manifest) -> None:
        write_json(self.path / MANIFEST, manifest.as_dict())

    def write_gate(self, gate_json: Mapping[str, Any], junit_xml: str, markdown: str) -> None:
        """The gate's three files (its verdict goes into the summary, written by the run)."""
        write_json(self.path / GATE_JSON, dict(gate_json))
        write_text(self.path / JUNIT_XML, junit_xml)
        write_text(self.path / GATE_MD, markdown)


# -- results/README.md -------------------------------------------------------------------
def _field_rows(cls: type, prefix: str = "") -> list[str]:
    rows = []
    for f in dataclasses.fields(cls):
        if f.name == "extra":
            continue
        always = " (always)" if f.metadata.get("required") else ""
        rows.append(f"| `{prefix}{f.name}` | {f.metadata['doc']}{always} |")
    return rows


def readme() -> str:
    """``results/README.md``, from :data:`FILES` and the records' documentation."""
    lines = [
        "# results/",
        "",
        "One folder per run, named `<UTC start time>-<scenario name>/` (for example",
        "`20261123T162400Z-smoke/`). Everything here but this README is ignored by git.",
        "This file is generated from `dvcschema/results.py` (`python -m dvcschema.results",
        "> results/README.md`); a test keeps the two equal.",
        "",
        "| file | what it holds |",
        "|---|---|",
        *(f"| `{f.name}` | {f.holds} |" for f in FILES),
        "",
        "## `summary.json`",
        "",
        "Keys are only ever added; a key marked (always) is in every summary, the others",
        "when they apply.",
        "",
        "| key | what it holds |",
        "|---|---|",
        *_field_rows(Summary),
        *_field_rows(GeneratorHealth, "generator."),
        *_field_rows(GateRecord, "gate."),
        "",
        "## `manifest.json`",
        "",
        "| key | what it holds |",
        "|---|---|",
        *_field_rows(Manifest),
        "",
    ]
    return "\n".join(lines).replace(":class:", "").replace("``", "`")


if __name__ == "__main__":
    print(readme(), end="")
