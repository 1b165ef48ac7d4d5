"""``other_portal.py`` as the tests in this folder start it: a process of its own on an
ephemeral 127.0.0.1 port (read from its first line of output), its request log and
store in a folder, stopped by its own PID."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parent / "other_portal.py"

NAMES = {
    "POST /api/v1/auth/token",
    "GET /api/v1/thu-tuc",
    "POST /api/v1/ho-so",
    "GET /api/v1/ho-so/[code]",
    "GET /bien-nhan/[code]",
}
ROUTE_TO_NAME = {
    ("POST", "/api/v1/auth/token"): "POST /api/v1/auth/token",
    ("GET", "/api/v1/thu-tuc"): "GET /api/v1/thu-tuc",
    ("POST", "/api/v1/ho-so"): "POST /api/v1/ho-so",
    ("GET", "/api/v1/ho-so/{code}"): "GET /api/v1/ho-so/[code]",
    ("GET", "/bien-nhan/{code}"): "GET /bien-nhan/[code]",
}


class OtherPortal:
    """One running ``other_portal.py`` (https when given a certificate and its key)."""

    def __init__(self, folder: Path, *, tls: tuple[Path, Path] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log, self.store = folder / "server.jsonl", folder / "store.json"
        https = ["--certfile", str(tls[0]), "--keyfile", str(tls[1])] if tls else []
        self.process = subprocess.Popen(
            [sys.executable, str(APP), "--log", str(self.log), "--store", str(self.store),
             *https],
            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def requests(self) -> list[dict[str, Any]]:
        """The server's own request log so far."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        """Terminate (the store is written at exit), or kill if it will not stop."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def other_portal(folder: Path, *, tls: tuple[Path, Path] | None = None) -> Iterator[OtherPortal]:
    portal = OtherPortal(folder, tls=tls)
    try:
        yield portal
    finally:
        portal.stop()


class ServerRun:
    """A ``dvcload run`` of ``scenario(target)`` against its own ``other_portal.py``,
    started in the background (several run at once; each is light)."""

    def __init__(
        self, folder: Path, scenario: str, extra: tuple[str, ...], env: dict[str, str]
    ) -> None:
        self.server = OtherPortal(folder)
        path = folder / "scenario.yaml"
        path.write_text(scenario.replace("{target}", self.server.url), encoding="utf-8")
        self.run = subprocess.Popen(
            [sys.executable, "-m", "dvcload", "run", str(path), "--out", str(folder / "out"),
             "--quiet", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={"PATH": "/usr/bin:/bin", **env}, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def finish(self) -> tuple[int, Path | None, str, str]:
        """Wait for the run, stop the server: ``(exit code, results folder, stdout,
        stderr)``."""
        stdout, stderr = self.run.communicate(timeout=180)
        self.server.stop()
        lines = stdout.strip().splitlines()
        return self.run.returncode, Path(lines[-1]) if lines else None, stdout, stderr

    def stop(self) -> None:
        if self.run.poll() is None:
            self.run.kill()
            self.run.wait(timeout=10)
        self.server.stop()


def served_late(
    summary: dict[str, Any], log: list[dict[str, Any]], in_flight: int
) -> dict[str, int]:
    """Check that the server's log and ``summary.json`` agree on requests per name and
    that nothing failed; ``{name: requests the server answered after the load
    stopped}`` (at most ``in_flight`` in all, one per user still in a journey)."""
    served = collections.Counter(ROUTE_TO_NAME[(r["method"], r["route"])] for r in log)
    measured = {name: e["count"] for name, e in summary["endpoints"].items()}
    late = {name: served[name] - measured[name] for name in NAMES}
    assert all(n >= 0 for n in late.values()) and sum(late.values()) <= in_flight, late
    assert summary["failures"] == 0 and {r["status"] for r in log} <= {200, 201}
    return late
