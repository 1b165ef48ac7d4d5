"""junit.xml validates against the common JUnit schema and carries the measured values."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from analysis.gate import run_gate
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.fields import Fields

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-subset.xsd"))
BUDGETS = {
    "*": ["error_rate < 1%"],
    "POST /dossiers": ["p95 < 5ms", "p99 < 2s"],
    "total": ["p95 may not rise more than 10%"],
}


def budgets(data: dict[str, list[object]]) -> BudgetSet:
    section = Fields({"budgets": data}, source="test").section("budgets")
    assert section is not None
    return parse_budgets(section)


@pytest.fixture
def junit(recorded_run: Path, tmp_path: Path) -> tuple[ET.Element, object]:
    folder = Path(shutil.copytree(recorded_run, tmp_path / "run"))
    result = run_gate(folder, budgets(BUDGETS))
    path = folder / "junit.xml"
    SCHEMA.validate(path)  # raises on any violation
    return ET.parse(path).getroot(), result


def test_junit_xml_is_valid_and_counts_agree(junit: tuple[ET.Element, object]) -> None:
    root, _ = junit
    assert root.tag == "testsuite"
    cases = root.findall("testcase")
    assert int(root.get("tests", "-1")) == len(cases) == 8 + 2 + 1
    assert int(root.get("failures", "-1")) == len(root.findall("testcase/failure")) == 2
    assert int(root.get("skipped", "-1")) == len(root.findall("testcase/skipped")) == 1
    assert float(root.get("time", "-1")) >= 0
    assert {c.get("classname") for c in cases} == {"dvcload.budgets"}


def test_failure_message_shows_the_measured_value_and_the_limit(
    junit: tuple[ET.Element, object],
) -> None:
    root, result = junit
    case = root.find("testcase[@name='POST /dossiers: p95 < 5ms']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    measured = next(c for c in result.checks if c.name == "POST /dossiers: p95 < 5ms").measured
    assert failure.get("message", "").startswith(f"p95 = {measured:,.1f} ms, limit 5 ms")
    out = case.find("system-out")
    assert out is not None and f"measured: {measured:,.1f} ms" in (out.text or "")


def test_passing_case_carries_its_measured_value_too(junit: tuple[ET.Element, object]) -> None:
    root, _ = junit
    case = root.find("testcase[@name='POST /dossiers: p99 < 2s']")
    assert case is not None and case.find("failure") is None
    assert "measured: " in (case.findtext("system-out") or "")


def test_invalid_document_is_refused_by_the_schema() -> None:
    """The schema is not vacuous: a testsuite without its counts fails validation."""
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate("<testsuite name='x'><testcase name='a'/></testsuite>")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(
            "<testsuite name='x' tests='1' failures='0' errors='0'><testcase/></testsuite>"
        )
