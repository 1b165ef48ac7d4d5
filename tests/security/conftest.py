"""Run an escape-path case in a network namespace of its own.

Each case gets a fresh network namespace (and, where possible, mount and PID
namespaces) in which ``lo`` is up and also carries 203.0.113.7, the "outside" address
the capture server listens on; nothing can leave it. ``netns_driver.py`` runs the case
there and prints one JSON object. When no namespace can be made (not root and
``unshare -r`` refused, or no ``ip``), the case is skipped with the reason.

With a PID namespace (``-p -f --kill-child``) the driver is its PID 1: if the test
must kill ``unshare`` at its hard timeout, the kernel kills every process of the case
with it, so nothing outlives the test even then.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DRIVER = Path(__file__).resolve().parent / "netns_driver.py"
OUTSIDE = "203.0.113.7"
SETUP = f"ip link set lo up && ip addr add {OUTSIDE}/32 dev lo"
PROBE_TIMEOUT_S = 10
DRIVER_MARGIN_S = 30.0  # beyond the case's own budget before the test kills it
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


@pytest.fixture
def netns_case(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``netns_case(spec, budget_s)``: the case's report (its work folder is tmp_path)."""

    def run(spec: dict[str, Any], budget_s: float) -> dict[str, Any]:
        return run_in_namespace({"work": str(tmp_path / "case"), **spec}, budget_s)

    return run
