"""Run an escape-path case in a network namespace of its own.

Each case gets a fresh network namespace (and, where possible, mount and PID
namespaces) in which ``lo`` is up and also carries 203.0.113.7, the "outside" address
the capture server listens on; nothing can leave it. ``netns_driver.py`` runs the case
there and prints one JSON object. When no namespace can be made (not root and
``unshare -r`` refused, or no ``ip``), the case is skipped with the reason.

With a PID namespace (``-p -f --kill-child``) the driver is its PID 1: if the test
must kill ``unshare`` at its hard timeout, the kernel kills every process of the case
with it, so nothing outlives the test even then.

A case is mostly waiting (start-up, a few seconds of load at a low ceiling, the
report), and cases share nothing but the CPU: each has its own namespace, servers and
work folder. So ``case_pool`` runs a module's cases PARALLEL_CASES at a time, in the
background, from the module's first test on; each test waits for its own report.
Cases marked to run alone (the ceiling checks, which count the server's arrivals per
second: a server starved of CPU stamps a second's arrivals late, in the next one) run
after the others, one at a time, with nothing else running.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pytest

DRIVER = Path(__file__).resolve().parent / "netns_driver.py"
OUTSIDE = "203.0.113.7"
SETUP = f"ip link set lo up && ip addr add {OUTSIDE}/32 dev lo"
PROBE_TIMEOUT_S = 10
DRIVER_MARGIN_S = 30.0  # beyond the case's own budget before the test kills it
PARALLEL_CASES = 3  # cases at a time (two cores; a case mostly waits)
_PREFIXES = (
    ["unshare", "-n", "-m", "-p", "-f", "--kill-child", "--mount-proc"],
    ["unshare", "-r", "-n", "-m", "-p", "-f", "--kill-child", "--mount-proc"],
    ["unshare", "-n", "-m"],
    ["unshare", "-r", "-n", "-m"],
    ["unshare", "-n"],
    ["unshare", "-r", "-n"],
)


@functools.cache
def namespace_prefix() -> tuple[list[str] | None, str]:
    """The first ``unshare`` prefix under which the namespace set-up works, or why none."""
    if shutil.which("unshare") is None:
        return None, "no 'unshare' binary"
    if shutil.which("ip") is None:
        return None, "no 'ip' binary to bring lo up and add 203.0.113.7"
    errors = []
    for prefix in _PREFIXES:
        probe = subprocess.run(
            [*prefix, "sh", "-c", SETUP], capture_output=True, text=True,
            timeout=PROBE_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if probe.returncode == 0:
            return prefix, ""
        errors.append(f"{' '.join(prefix)}: {probe.stderr.strip()[:200]}")
    return None, "cannot make a network namespace: " + "; ".join(errors)


def run_in_namespace(spec: dict[str, Any], budget_s: float) -> dict[str, Any]:
    """Run the driver with ``spec`` in a fresh namespace; its JSON report."""
    prefix, why = namespace_prefix()
    if prefix is None:
        pytest.skip(why)
    spec = {**spec, "outer_mnt_ns": os.readlink("/proc/self/ns/mnt")}
    if "-m" not in prefix:
        spec.pop("hosts", None)  # never bind-mount over the machine's own /etc/hosts
    command = [*prefix, "sh", "-c", f'{SETUP} && exec "$0" "$@"', sys.executable, str(DRIVER),
               json.dumps(spec)]  # fmt: skip
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=budget_s + DRIVER_MARGIN_S,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, f"driver failed ({proc.returncode}): {proc.stderr}"
    report: dict[str, Any] = json.loads(lines[-1])
    assert "driver_error" not in report, report["driver_error"]
    assert report["net_ns"] != os.readlink("/proc/self/ns/net"), "not in a namespace of its own"
    return report


@pytest.fixture(scope="module")
def case_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[dict[str, Any]]]]:
    """The reports of the module's selected tests that read ``case_report``, by node id:
    each test's case (``test.case_spec(**its parameters)``: spec and budget) started in
    the background in the order of the tests, PARALLEL_CASES at a time; the cases marked
    ``case_alone`` after those, one at a time. At the end of the module the cases not
    started are cancelled and the running ones waited for (each is bounded by its
    budget; see :func:`run_in_namespace`)."""
    items = [
        item
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and "case_report" in item.fixturenames
    ]
    namespace_prefix()  # probe once, before the cases ask at the same time
    shared = ThreadPoolExecutor(max_workers=PARALLEL_CASES)
    alone = ThreadPoolExecutor(max_workers=1)
    futures: dict[str, Future[dict[str, Any]]] = {}

    def case(item: pytest.Function) -> tuple[dict[str, Any], float]:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        spec, budget_s = item.function.case_spec(**params)
        work = tmp_path_factory.mktemp(re.sub(r"\W+", "_", item.name)[:60]) / "case"
        return {"work": str(work), **spec}, budget_s

    def after_the_shared(spec: dict[str, Any], budget_s: float) -> dict[str, Any]:
        wait(shared_futures)
        if stopping.is_set():  # the module ended early: the shared ones were cancelled
            raise RuntimeError("not run: the module's tests ended first")
        return run_in_namespace(spec, budget_s)

    stopping = threading.Event()
    by_alone: dict[bool, list[pytest.Function]] = {False: [], True: []}
    for item in items:
        by_alone[bool(getattr(item.function, "case_alone", False))].append(item)
    try:
        for item in by_alone[False]:
            futures[item.nodeid] = shared.submit(run_in_namespace, *case(item))
        shared_futures = list(futures.values())
        for item in by_alone[True]:
            futures[item.nodeid] = alone.submit(after_the_shared, *case(item))
        yield futures
    finally:
        stopping.set()
        shared.shutdown(wait=True, cancel_futures=True)
        alone.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def case_report(
    request: pytest.FixtureRequest, case_pool: dict[str, Future[dict[str, Any]]]
) -> Callable[[], dict[str, Any]]:
    """``case_report()``: the test's case report, once its case has run (a driver
    failure or a skip raises here, in the test)."""
    return case_pool[request.node.nodeid].result
