"""Where a run came from: versions, git revision and host, for its :class:`Manifest`.

The manifest's record and its writer live with the rest of the results folder
(:mod:`dvcschema.results`); this module reads the machine, which the schema must not.
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from dvcschema.results import Manifest
from dvcschema.units import iso_utc

_PACKAGES = ("dvcload", "locust", "faker", "numpy", "scipy", "hdrhistogram", "starlette", "uvicorn")


def build_manifest(
    *, scenario: dict[str, Any], seed: int, target: str, started_at: float, ended_at: float
) -> Manifest:
    """What was run, where, with which versions: enough to reproduce or question it."""
    return Manifest(
        scenario=scenario,
        seed=seed,
        target=target,
        started_at=iso_utc(started_at),
        ended_at=iso_utc(ended_at),
        **run_environment(),
        command=list(sys.argv),
    )


@functools.cache
def run_environment() -> dict[str, Any]:
    """Versions, revision and host, read once per process (call it before the load
    starts). The manifest is rewritten with every flush (every 5 s); two ``git``
    subprocesses and eight package metadata look-ups held the generator's event loop
    for 70 ms each time, delaying every arrival due meanwhile."""
    return {
        "versions": {"python": platform.python_version(), **_versions()},
        "git_revision": git_revision(),
        "host": {
            "hostname": socket.gethostname(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
    }


def git_revision() -> str | None:
    """``HEAD`` of the checkout dvcload runs from, with ``-dirty`` if it has changes."""
    repo = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}-dirty" if dirty else rev


def _versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
