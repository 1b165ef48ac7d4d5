"""report.html: every section, self-contained, and it renders in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from analysis.gate import run_gate
from analysis.report import write_report
from dvcschema.budgets import BudgetSet, parse_budgets
from dvcschema.fields import Fields

MakeRun = Callable[..., Path]
SECTIONS = [
    "Verdict",
    "Run",
    "Budgets",
    "Integrity audit",
    "Endpoints",
    "Journeys",
    "Latency over time",
    "Throughput and errors over time",
    "Latency distribution",
    "Failures by kind",
    "Breakdown by service",
    "Breakdown by province",
]
BASELINE_SECTION = "Comparison with baseline"
CHROMIUM = "/usr/bin/chromium"


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.tags: set[str] = set()
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_h2 = tag == "h2"
        if self._in_h2:
            self.h2.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = self._in_h2 and tag != "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2[-1] += data


def headings(page: str) -> _Headings:
    parser = _Headings()
    parser.feed(page)
    return parser


def budgets(data: dict[str, list[object]]) -> BudgetSet:
    section = Fields({"budgets": data}, source="test").section("budgets")
    assert section is not None
    return parse_budgets(section)


@pytest.fixture
def gated_pair(make_run: MakeRun) -> tuple[Path, Path]:
    baseline = make_run("baseline", seed=1)
    run = make_run("run", seed=2, slowdown=1.3)
    run_gate(run, budgets({"*": ["p99 < 2s"], "POST /dossiers": ["p95 < 5ms"]}))
    return run, baseline


def test_report_has_every_section_and_the_comparison(gated_pair: tuple[Path, Path]) -> None:
    run, baseline = gated_pair
    page = write_report(run, baseline=baseline).read_text(encoding="utf-8")
    found = headings(page)
    assert found.h2 == [*SECTIONS, BASELINE_SECTION]
    assert "Gate FAILED" in page or "FAILED:" in page
    assert "POST /dossiers" in page and "p95 &lt; 5ms" in page
    assert "Hà Nội" in page and "tax-settlement" in page and "HTTP 503" in page
    assert "regression" in page
    assert page.count("data:image/png;base64,") >= 6


def test_report_without_baseline_has_no_comparison(recorded_run: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(recorded_run, tmp_path / "run"))
    page = write_report(folder).read_text(encoding="utf-8")
    found = headings(page)
    assert found.h2 == SECTIONS
    assert "No budgets were checked" in page


def test_report_is_self_contained(gated_pair: tuple[Path, Path]) -> None:
    run, baseline = gated_pair
    page = write_report(run, baseline=baseline).read_text(encoding="utf-8")
    assert "script" not in headings(page).tags
    links = re.findall(r"""\b(?:src|href)\s*=\s*(["'])(.*?)\1""", page)
    assert links, "the page has images and anchors"
    assert all(target.startswith(("data:image/png;base64,", "#")) for _, target in links)
    assert not re.search(r"https?://|url\(|@import", page)


def test_report_of_a_partial_open_loop_run_says_so(make_run: MakeRun) -> None:
    folder = make_run(
        "partial",
        partial=True,
        extra={
            "arrivals": {"target_rate": 50.0, "achieved_rate": 41.0, "dropped": 12},
            "audit": {"dossiers_acknowledged": 10, "dossiers_missing": 2, "double_charges": 0},
        },
    )
    page = write_report(folder).read_text(encoding="utf-8")
    assert "Partial run: the load was interrupted" in page
    assert "target arrival rate" in page and "dropped arrivals" in page
    assert "2 acknowledged dossiers are missing" in page


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: install Debian's 'chromium' package")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI installs it")


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        _chromium_or_skip(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
    )


def test_report_renders_in_headless_chromium(gated_pair: tuple[Path, Path], tmp_path: Path) -> None:
    run, baseline = gated_pair
    report = write_report(run, baseline=baseline)
    shot = tmp_path / "report.png"
    proc = _chromium(
        [f"--screenshot={shot}", "--window-size=1280,4000", report.as_uri()], tmp_path / "p1"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not re.search(r"Uncaught|CONSOLE\(|Failed to load resource", proc.stderr), proc.stderr
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (4000, 1280)
    assert float(np.std(pixels)) > 0.05, "the screenshot is blank"
    dark = np.mean(pixels, axis=2) < 0.5
    assert dark[:1000].mean() > 0.005, "no text in the first screen"
    dom = _chromium(["--dump-dom", report.as_uri()], tmp_path / "p2")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert headings(dom.stdout).h2 == [*SECTIONS, BASELINE_SECTION]
    assert dom.stdout.count("<img") >= 6
