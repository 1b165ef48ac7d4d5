"""``junit.xml``: the gate as JUnit XML, one test case per budget check, for CI systems.

The shape follows the de-facto JUnit XML format as CI systems read it (the structure
of the Jenkins xUnit plugin's ``junit-10.xsd``): one ``<testsuite>`` with ``tests``,
``failures``, ``errors``, ``skipped`` and ``time``; one ``<testcase
classname="dvcload.budgets" name="POST /dossiers: p95 < 800ms">`` per check; a
``<failure message="p95 = 912.3 ms, limit 800 ms, ...">`` on a breach, ``<skipped>``
for a check that could not run; and the measured value in each case's
``<system-out>``, so it shows for passing checks too.

An unreliable load generator is its own test case (``generator: reliable: ...``): a
``<failure type="untrustworthy">`` that says why, or, when ``--allow-unreliable`` let
it pass, a passing case whose ``<system-out>`` says it was allowed. The suite's
properties carry ``generator_reliable`` and ``allow_unreliable``.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from analysis.checks import FAILED, SKIPPED, Check

if TYPE_CHECKING:
    from analysis.gate import GateResult

SUITE_NAME = "dvcload.budgets"
CLASSNAME = "dvcload.budgets"


def junit_xml(result: GateResult) -> str:
    """The JUnit XML document of a gate result (UTF-8 text with a declaration)."""
    suite = ET.Element(
        "testsuite",
        {
            "name": SUITE_NAME,
            "tests": str(len(result.checks)),
            "failures": str(result.count(FAILED)),
            "errors": "0",
            "skipped": str(result.count(SKIPPED)),
            "time": f"{result.elapsed_s:.3f}",
            "timestamp": result.checked_at,
            "hostname": socket.gethostname(),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in _suite_properties(result).items():
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for check in result.checks:
        suite.append(_testcase(check, result))
    ET.SubElement(suite, "system-out").text = result.headline
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _suite_properties(result: GateResult) -> dict[str, str]:
    return {
        "scenario": result.scenario,
        "run": result.run,
        "partial": "true" if result.partial else "false",
        "baseline": result.baseline or "",
        "verdict": "passed" if result.passed else "failed",
        "wildcard": "'*' checks each request name separately; 'total' merges all requests",
        "generator_reliable": _generator_reliable(result),
        "allow_unreliable": "true" if result.allow_unreliable else "false",
    }


def _generator_reliable(result: GateResult) -> str:
    if result.generator is None:
        return "unknown"
    return "true" if result.generator.reliable else "false"


def _testcase(check: Check, result: GateResult) -> ET.Element:
    case = ET.Element("testcase", {"classname": CLASSNAME, "name": check.name, "time": "0.000"})
    details = _details(check, result)
    if check.status == FAILED:
        kind = "untrustworthy" if result.is_generator(check) else "budget"
        failure = ET.SubElement(case, "failure", {"message": check.message, "type": kind})
        failure.text = details
    elif check.status == SKIPPED:
        ET.SubElement(case, "skipped", {"message": check.message})
    ET.SubElement(case, "system-out").text = details
    return case


def _details(check: Check, result: GateResult) -> str:
    budget = check.budget
    status = "passed (allowed by --allow-unreliable)" if result.is_allowed(check) else check.status
    lines = [
        f"measured: {budget.format(check.measured)}",
        f"limit: {budget.op} {budget.format_limit()}",
        f"count: {check.count}",
        f"budget: {budget.key!r}: {budget.expression!r} ({result.scope(check)})",
        f"status: {status}",
        f"detail: {check.message}",
    ]
    if check.baseline is not None:
        lines.insert(1, f"baseline: {check.baseline:,.3f} ms")
    return "\n".join(lines) + "\n"
