"""The results folder as a typed contract (:mod:`dvcschema.results`): its records read
back what they write, keep keys they do not know, document every key in
``results/README.md``, and the end of a run follows one order (the file names' guard is
in ``tests/test_layering.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.synthetic import EndpointModel, RunModel, write_synthetic_run
from dvcload.run_writer import conclude
from dvcschema import results
from dvcschema.results import GateRecord, GeneratorHealth, Manifest, RunFiles, Summary

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = RunModel(
        endpoints={"GET /a": EndpointModel(20.0, tags=("read",)), "POST /b": EndpointModel(80.0)},
        journeys={"filing": EndpointModel(300.0, rate_per_s=1.0)},
        duration_s=20.0,
        generator_cpu_percent=96.0,
    )
    return write_synthetic_run(tmp_path_factory.mktemp("run") / "run", model, rng=7)


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_records_read_back_exactly_what_they_wrote(synthetic: Path) -> None:
    for name, record in ((results.SUMMARY, Summary), (results.MANIFEST, Manifest)):
        written = _read(synthetic / name)
        assert record.from_dict(written).as_dict() == written
        assert list(record.from_dict(written).as_dict()) == list(written)  # and in order


def test_keys_a_record_does_not_know_are_kept_and_written_back(tmp_path: Path) -> None:
    newer = {
        "scenario": "s",
        "started_at": "2026-12-07T00:00:00+00:00",
        "duration_s": 1.0,
        "target": "http://127.0.0.1:1",
        "requests": 3,
        "failures": 0,
        "endpoints": {},
        "from_the_future": {"x": 1},
        "generator": {"cpu_percent": 10.0, "reliable": True, "new_field": [1]},
        "gate": {"passed": True, "budgets": [], "baseline": None, "verdict_v2": "ok"},
    }
    summary = Summary.from_dict(newer)
    assert summary.extra == {"from_the_future": {"x": 1}}
    assert summary.generator == GeneratorHealth(cpu_percent=10.0, extra={"new_field": [1]})
    files = RunFiles(tmp_path)
    files.write_summary(summary)
    again = _read(tmp_path / results.SUMMARY)
    assert again["from_the_future"] == {"x": 1}
    assert again["generator"]["new_field"] == [1] and again["gate"]["verdict_v2"] == "ok"
    assert {k: again[k] for k in newer if k not in ("generator", "gate")} == {
        k: v for k, v in newer.items() if k not in ("generator", "gate")
    }
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left


def test_results_readme_is_generated_from_the_records() -> None:
    text = (REPO / "results" / "README.md").read_text(encoding="utf-8")
    assert text == results.readme(), "run: python -m dvcschema.results > results/README.md"
    for record in (Summary, GeneratorHealth, GateRecord, Manifest):
        for name in record.__dataclass_fields__:
            assert name == "extra" or f"{name}` |" in text


# -- the end of a run: summary -> audit -> gate -> report ----------------------------------
class _Recording(RunFiles):
    events: list[str]

    def write_summary(self, summary: Summary) -> None:
        self.events.append(f"summary(audit={summary.audit is not None}, gate={summary.gate})")
        super().write_summary(summary)

    def write_gate(self, gate_json: Any, junit_xml: str, markdown: str) -> None:
        self.events.append("gate files")
        super().write_gate(gate_json, junit_xml, markdown)


AUDIT = {"passed": True, "dossiers_missing": 0, "dossiers_acknowledged": 4}


def _conclude(folder: Path, *, audit: bool, gate: bool) -> tuple[list[str], Summary]:
    from analysis.gate import evaluate_gate
    from dvcschema.budgets import BudgetSet

    files = _Recording(folder)
    events: list[str] = []
    files.events = events
    summary = Summary.from_dict(_read(folder / results.SUMMARY))
    seen: list[Summary] = []

    def audit_step() -> dict[str, Any]:
        events.append("audit")
        return AUDIT

    def gate_step(s: Summary) -> Any:
        seen.append(s)
        events.append("gate")
        return evaluate_gate(folder, BudgetSet(), summary=s, allow_unreliable=True)

    def report() -> None:
        events.append(f"report(summary on disk has gate={'gate' in _read(files / 'summary.json')})")

    written, _ = conclude(
        files,
        summary,
        audit=audit_step if audit else None,
        gate=gate_step if gate else None,
        report=report,
    )
    assert not gate or seen[0].audit == (AUDIT if audit else None)  # the gate saw the audit
    return events, written


def test_the_end_of_a_run_has_one_order_and_writes_the_summary_once(synthetic: Path) -> None:
    events, written = _conclude(synthetic, audit=True, gate=True)
    assert events[:2] == ["audit", "gate"]
    assert events[2].startswith("summary(audit=True, gate=GateRecord(passed=True")
    assert events[3:] == ["gate files", "report(summary on disk has gate=True)"]
    on_disk = _read(synthetic / results.SUMMARY)
    assert on_disk == written.as_dict() and on_disk["audit"]["dossiers_acknowledged"] == 4
    assert on_disk["gate"]["generator"]["allowed"] is True
    assert _read(synthetic / results.GATE_JSON)["passed"] is True


def test_without_budgets_or_audit_there_is_no_gate(tmp_path: Path) -> None:
    folder = write_synthetic_run(tmp_path / "run", RunModel({"GET /a": EndpointModel(10.0)}))
    events, written = _conclude(folder, audit=False, gate=False)
    assert events == ["summary(audit=False, gate=None)", "report(summary on disk has gate=False)"]
    assert written.gate is None and not (folder / results.GATE_JSON).exists()


def test_a_run_shorter_than_one_flush_is_gated_before_its_summary_is_on_disk(
    tmp_path: Path,
) -> None:
    folder = write_synthetic_run(tmp_path / "run", RunModel({"GET /a": EndpointModel(10.0)}))
    summary = Summary.from_dict(_read(folder / results.SUMMARY))
    (folder / results.SUMMARY).unlink()  # as after a run of 2 s: no flush has written it
    from analysis.gate import evaluate_gate
    from dvcschema.budgets import BudgetSet

    written, gate = conclude(
        RunFiles(folder),
        summary,
        audit=None,
        gate=lambda s: evaluate_gate(folder, BudgetSet(), summary=s),
        report=lambda: None,
    )
    assert gate is not None and gate.passed
    assert _read(folder / results.SUMMARY) == written.as_dict()
