"""Generator health reaches the verdict: a saturated load generator fails the gate as
untrustworthy (one named check, in gate.json, gate.md and junit.xml) unless
--allow-unreliable is given, and the report says so in a banner whatever the gate said."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from analysis.gate import evaluate_gate, run_gate
from analysis.report import write_report
from analysis.runfolder import RunFolder
from analysis.synthetic import generator_summary
from dvcload.cli import main
from dvcload.run_writer import conclude
from dvcschema.budgets import BudgetSet, load_budgets_file
from dvcschema.results import GeneratorHealth, RunFiles

MakeRun = Callable[..., Path]
SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-subset.xsd"))
BUDGETS = 'budgets:\n  "*": ["p99 < 2s"]\n  "POST /dossiers": ["p95 < 800ms"]\n'
SATURATED = "the load generator was saturated (96% of a CPU core, limit 90%)"
REASON = "the load generator used 96% of a CPU core (limit 90%)"
CHECK_NAME = "generator: reliable: at most 90% of a CPU core in every process"


@pytest.fixture
def budgets_path(tmp_path: Path) -> Path:
    path = tmp_path / "budgets.yaml"
    path.write_text(BUDGETS, encoding="utf-8")
    return path


@pytest.fixture
def saturated(make_run: MakeRun) -> Path:
    return make_run("saturated", generator_cpu_percent=96.0)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def generator_entry(folder: Path) -> dict[str, Any]:
    [entry] = [b for b in read_json(folder / "gate.json")["budgets"] if b["key"] == "generator"]
    return entry


def generator_case(folder: Path) -> ET.Element:
    SCHEMA.validate(folder / "junit.xml")  # raises on any violation
    root = ET.parse(folder / "junit.xml").getroot()
    case = root.find(f"testcase[@name='{CHECK_NAME}']")
    assert case is not None
    return case


# -- the gate --------------------------------------------------------------------------
def test_saturated_generator_fails_the_gate_with_the_reason(
    dvcload_cmd: list[str], saturated: Path, budgets_path: Path
) -> None:
    proc = subprocess.run(
        [*dvcload_cmd, "gate", str(saturated), "--budgets", str(budgets_path)],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert f"untrustworthy run: {SATURATED}; --allow-unreliable gates it anyway" in proc.stderr
    assert "Untrustworthy run:** " + REASON in proc.stdout  # gate.md, printed
    gate = read_json(saturated / "gate.json")
    assert gate["passed"] is False and gate["counts"]["failed"] == 1
    assert gate["generator"] == {
        "reliable": False, "cpu_percent": 96.0, "limit_percent": 90.0, "allowed": False,
        "reason": REASON + ": response times include time spent waiting for the generator "
        "itself; use --processes or a lighter load",
    }  # fmt: skip
    entry = generator_entry(saturated)
    assert entry["status"] == "failed" and entry["allowed"] is False
    assert entry["measured"] == 0.96 and entry["limit"] == 0.9 and entry["scope"] == "the run"
    assert entry["message"].startswith(f"untrustworthy run: {REASON}")
    summary = read_json(saturated / "summary.json")
    assert summary["gate"]["passed"] is False and summary["gate"]["generator"]["allowed"] is False
    markdown = (saturated / "gate.md").read_text(encoding="utf-8")
    assert f"| ❌ | `generator`: `{CHECK_NAME.partition(': ')[2]}` |" in markdown
    assert "| the run | 96.00% | <= 90% |" in markdown
    failure = generator_case(saturated).find("failure")
    assert failure is not None and failure.get("type") == "untrustworthy"
    assert REASON in failure.get("message", "")


def test_saturated_generator_passes_with_allow_unreliable_and_is_listed_as_allowed(
    saturated: Path, budgets_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["gate", str(saturated), "--budgets", str(budgets_path), "--allow-unreliable"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert f"PASSED: all 10 budget checks passed; {SATURATED}, allowed by" in err
    assert "Allowed by `--allow-unreliable`" in out
    gate = read_json(saturated / "gate.json")
    assert gate["passed"] is True and gate["generator"]["allowed"] is True
    entry = generator_entry(saturated)
    assert entry["status"] == "passed" and entry["passed"] is True and entry["allowed"] is True
    assert entry["message"].startswith(f"allowed by --allow-unreliable: {REASON}")
    assert "| ⚠️ allowed | `generator`" in (saturated / "gate.md").read_text(encoding="utf-8")
    case = generator_case(saturated)
    assert case.find("failure") is None
    assert "status: passed (allowed by --allow-unreliable)" in (case.findtext("system-out") or "")
    root = ET.parse(saturated / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["generator_reliable"] == "false"
    assert properties["allow_unreliable"] == "true"


def test_saturated_generator_alone_fails_a_gate_whose_budgets_all_hold(saturated: Path) -> None:
    budgets = load_budgets_file(_write(saturated.parent / "b.yaml", BUDGETS))
    result = evaluate_gate(saturated, budgets)
    assert [c.name for c in result.checks if c.status == "failed"] == [CHECK_NAME]
    assert not result.passed
    assert evaluate_gate(saturated, budgets, allow_unreliable=True).passed


def test_healthy_generator_adds_no_check_and_leaves_the_gate_alone(
    make_run: MakeRun, budgets_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_run("healthy", generator_cpu_percent=85.0)
    assert main(["gate", str(folder), "--budgets", str(budgets_path), "--quiet"]) == 0
    assert "dvcload gate: PASSED: all 9 budget checks passed\n" in capsys.readouterr().err
    gate = read_json(folder / "gate.json")
    assert all(b["key"] != "generator" for b in gate["budgets"])
    assert gate["generator"]["reliable"] is True and gate["generator"]["allowed"] is False
    root = ET.parse(folder / "junit.xml").getroot()
    assert int(root.get("tests", "-1")) == 9 and root.find("testcase/failure") is None
    assert "Untrustworthy" not in (folder / "gate.md").read_text(encoding="utf-8")
    page = write_report(folder).read_text(encoding="utf-8")
    assert "Untrustworthy" not in page and "class='banner'" not in page


def test_the_busiest_worker_decides_and_is_named(make_run: MakeRun) -> None:
    workers = [{"worker": "w0", "cpu_seconds": 9.0}, {"worker": "w1", "cpu_seconds": 28.5}]
    health = GeneratorHealth.measure(cpu_s=1.0, duration_s=30.0, workers=workers)
    folder = make_run("workers", extra={"generator": health.as_dict()})
    result = run_gate(folder, BudgetSet())
    [check] = result.checks
    assert check.status == "failed" and "worker w1 used 95% of a CPU core" in check.message
    page = write_report(folder).read_text(encoding="utf-8")
    assert "per process: master 3.3%, w0 30.0%, w1 95.0%" in page


def test_a_summary_without_reliable_is_judged_on_its_cpu(make_run: MakeRun) -> None:
    folder = make_run("older", extra={"generator": {"cpu_seconds": 28.2, "cpu_percent": 94.0}})
    [check] = evaluate_gate(folder, BudgetSet()).checks
    assert check.status == "failed"
    assert "the load generator used 94% of a CPU core (limit 90%)" in check.message


@pytest.mark.parametrize(
    "generator",
    [{"reliable": "no", "cpu_percent": "high"}, {"cpu_seconds": 3.0}, {}],
)
def test_a_generator_section_that_says_nothing_usable_adds_no_check(
    make_run: MakeRun, generator: Any
) -> None:
    folder = make_run("odd", extra={"generator": generator})
    assert evaluate_gate(folder, BudgetSet()).checks == ()


def test_synthetic_generator_health_is_the_writers() -> None:
    for percent in (10.0, 90.0, 96.0):
        assert generator_summary(percent, 60.0) == GeneratorHealth.measure(percent * 0.6, 60.0)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- dvcload run ------------------------------------------------------------------------
def test_the_end_of_a_run_gates_the_summary_it_wrote_allow_unreliable_or_not(
    saturated: Path, budgets_path: Path
) -> None:
    """The end of ``dvcload run`` (:func:`conclude`, as ``ResultsWriter.final`` calls it)."""
    summary = RunFolder.open(saturated).record
    budgets = load_budgets_file(budgets_path)
    for allow, verdict, words in (
        (False, False, "The gate failed the run for this"),
        (True, True, "The gate was told to allow it"),
    ):
        _, gate = conclude(
            RunFiles(saturated),
            summary,
            audit=None,
            gate=lambda s, allow=allow: evaluate_gate(  # type: ignore[misc]
                saturated, budgets, summary=s, allow_unreliable=allow
            ),
            report=lambda: write_report(saturated),
        )
        assert gate is not None and gate.passed is verdict
        assert read_json(saturated / "summary.json")["gate"]["passed"] is verdict
        assert words in (saturated / "report.html").read_text("utf-8")


def test_dvcload_run_hands_allow_unreliable_to_the_run(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dvcload.orchestrate
    from dvcload.orchestrate import RunOutcome

    seen: dict[str, Any] = {}

    def execute_run(scenario: Any, **kwargs: Any) -> tuple[Path, RunOutcome]:
        seen.update(kwargs)
        return tmp_path, RunOutcome(True, None, True)

    monkeypatch.setattr(dvcload.orchestrate, "execute_run", execute_run)
    smoke = str(repo / "scenarios" / "smoke.yaml")
    assert main(["run", smoke, "--out", str(tmp_path), "--quiet", "--allow-unreliable"]) == 0
    assert seen["allow_unreliable"] is True
    assert main(["run", smoke, "--out", str(tmp_path), "--quiet"]) == 0
    assert seen["allow_unreliable"] is False


# -- the report -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gate_args", "says"),
    [
        (None, "No gate was run"),
        ([], "The gate failed the run for this (--allow-unreliable gates it on its budgets)"),
        (["--allow-unreliable"], "The gate was told to allow it (--allow-unreliable)"),
    ],
)
def test_report_of_a_saturated_run_opens_with_the_banner(
    saturated: Path,
    budgets_path: Path,
    gate_args: list[str] | None,
    says: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if gate_args is not None:
        main(["gate", str(saturated), "--budgets", str(budgets_path), "--quiet", *gate_args])
    page = write_report(saturated).read_text(encoding="utf-8")
    banner = page.index("<div class='banner' role='alert'>")
    assert banner < page.index("<nav>") < page.index("<h2>Verdict</h2>")
    assert f"Untrustworthy: {SATURATED}" in page
    text = page.replace("<span class='flag'>", "").replace("</span>", "")
    assert REASON[:1].upper() + REASON[1:] in text and says in text
    assert "96.0% of one core (28.8 s of CPU); over the 90% limit: unreliable" in page
    capsys.readouterr()
