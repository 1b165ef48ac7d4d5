"""The results folder: ``results/<UTC timestamp>-<scenario>/`` and its manifest.

Files are written atomically (to a temporary name, then renamed), so a folder never
holds a half-written ``summary.json`` that looks complete.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from dvcschema.units import iso_utc

_PACKAGES = ("dvcload", "locust", "faker", "numpy", "scipy", "hdrhistogram", "starlette", "uvicorn")


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


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (UTF-8, indented, non-ASCII kept readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def append_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """Append JSON lines (for files that only grow, rewritten atomically at the end).

    Not atomic: a process killed mid-append can leave a torn last line, which the
    readers skip (:func:`analysis.timeseries.read_intervals`)."""
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def build_manifest(
    *, scenario: dict[str, Any], seed: int, target: str, started_at: float, ended_at: float
) -> dict[str, Any]:
    """What was run, where, with which versions: enough to reproduce or question it."""
    return {
        "scenario": scenario,
        "seed": seed,
        "target": target,
        "started_at": iso_utc(started_at),
        "ended_at": iso_utc(ended_at),
        **run_environment(),
        "command": sys.argv,
    }


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
