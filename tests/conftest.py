"""Shared fixtures.

Locust monkey-patches the process with gevent when it is imported. Importing it here,
before anything else, makes every test run under the same (patched) conditions as
``dvcload run`` and avoids gevent's warning about patching ``ssl`` after its import.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import locust  # noqa: F401  (must stay the first import: gevent monkey-patching)
import pytest

REPO = Path(__file__).resolve().parent.parent
SMOKE_DURATION = "5s"  # of load: every journey and endpoint, 1,000+ requests


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def dvcload_cmd() -> list[str]:
    """The command line to run dvcload in a subprocess, with this interpreter."""
    return [sys.executable, "-m", "dvcload"]


@pytest.fixture(scope="session")
def smoke_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One real ``dvcload run scenarios/smoke.yaml --duration 5s`` (progress lines on, as
    a user sees them) and its results folder, shared by the tests that only read them:
    tests/integration/test_smoke_run.py and the audit of a real run."""
    out = tmp_path_factory.mktemp("smoke-results")
    proc = subprocess.run(
        [sys.executable, "-m", "dvcload", "run", str(REPO / "scenarios" / "smoke.yaml"),
         "--duration", SMOKE_DURATION, "--out", str(out)],
        capture_output=True, text=True, timeout=240, cwd=REPO, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = Path(proc.stdout.strip().splitlines()[-1])
    return proc, folder


_FILE_SECONDS: dict[str, float] = {}
_FILE_CPU: dict[str, float] = {}


def _cpu_s() -> float:
    """CPU seconds of this process and of its children that have ended."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    """Each test file's CPU seconds (its processes' too), for tests/shards.py."""
    before = _cpu_s()
    yield
    path = item.nodeid.split("::", 1)[0]
    _FILE_CPU[path] = _FILE_CPU.get(path, 0.0) + _cpu_s() - before


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test file's seconds (set-up, call and tear-down), for tests/shards.py."""
    path = report.nodeid.split("::", 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the files' seconds where tests/shards.py asked (``$DVCLOAD_TEST_DURATIONS``)."""
    out = os.environ.get("DVCLOAD_TEST_DURATIONS")
    if out:
        files = {"seconds": _FILE_SECONDS, "cpu_seconds": _FILE_CPU}
        Path(out).write_text(json.dumps(files, indent=1, sort_keys=True))
