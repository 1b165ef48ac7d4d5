"""Starting the reference portal as a child process, for the harness and the tests.

``with EmbeddedPortal(...) as portal:`` runs ``python -m portal --port 0 ...``, reads
its one ready line (``dvcload portal listening on URL``), polls ``GET /health`` until
it answers 200, and exposes ``portal.url`` and ``portal.pid``. On leaving the block,
even after an exception, the child gets SIGTERM, up to :data:`STOP_TIMEOUT_S` to stop
gracefully (flushing its access log), then SIGKILL. The child also stops by itself
when its stdin closes, so it does not outlive a launcher that was killed.

A child that fails to start raises :class:`~dvcschema.errors.ConfigError` when it
reported bad input (exit code 2, its one-line message) and
:class:`~dvcschema.errors.RunError` otherwise, with the last lines of its stderr.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from dvcschema.errors import ConfigError, RunError, shown

READY_PREFIX = "dvcload portal listening on "
STOP_TIMEOUT_S = 10.0
EXIT_WAIT_S = 5.0
HEALTH_POLL_INTERVAL_S = 0.05
STDERR_TAIL_LINES = 8
EXIT_BAD_INPUT = 2
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


class EmbeddedPortal:
    """The reference portal in a child process on 127.0.0.1 and an ephemeral port.

    Parameters mirror ``dvcload portal``'s options; paths may be relative to the
    caller's working directory. ``stderr_path`` keeps the child's stderr (else a
    temporary file, removed at stop); ``ready_timeout_s`` bounds the start.
    """

    def __init__(
        self,
        config_path: str | Path | None = None,
        *,
        servers: int | None = None,
        service_time_ms: float | None = None,
        access_log: str | Path | None = None,
        database: str | Path | None = None,
        population: str | Path | None = None,
        seed: int | None = None,
        stderr_path: str | Path | None = None,
        ready_timeout_s: float = 30.0,
    ) -> None:
        self.options: list[tuple[str, object]] = [
            ("--config", _absolute(config_path)),
            ("--servers", servers),
            ("--service-time-ms", service_time_ms),
            ("--access-log", _absolute(access_log)),
            ("--database", _absolute(database)),
            ("--population", _absolute(population)),
            ("--seed", seed),
        ]
        self.stderr_path = None if stderr_path is None else Path(stderr_path).resolve()
        self.ready_timeout_s = ready_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str = ""
        self._stderr_file: IO[bytes] | None = None
        self._stderr_is_temporary = False

    def __repr__(self) -> str:
        return f"EmbeddedPortal(url={shown(self.url)}, pid={shown(self.pid)})"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def command(self) -> list[str]:
        """The child's command line."""
        args = [sys.executable, "-m", "portal", "--host", "127.0.0.1", "--port", "0"]
        for option, value in self.options:
            if value is not None:
                args += [option, str(value)]
        return [*args, "--stop-on-stdin-close"]

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> EmbeddedPortal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> EmbeddedPortal:
        """Start the child and wait until it serves ``/health``."""
        if self.process is not None:
            raise RunError("this EmbeddedPortal was already started")
        deadline = time.monotonic() + self.ready_timeout_s
        try:
            self._spawn()
            self.url = self._read_ready_line(deadline)
            self._wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> int | None:
        """SIGTERM, wait up to :data:`STOP_TIMEOUT_S`, SIGKILL; return the exit code."""
        process = self.process
        if process is None:
            return None
        try:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            self._close_stderr()
        return process.returncode

    # -- internals -----------------------------------------------------------------------
    def _spawn(self) -> None:
        if self.stderr_path is None:
            handle, name = tempfile.mkstemp(prefix="dvcload-portal-", suffix=".stderr")
            os.close(handle)
            self.stderr_path, self._stderr_is_temporary = Path(name), True
        self._stderr_file = self.stderr_path.open("wb")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            env=env,
            start_new_session=True,
        )

    def _read_ready_line(self, deadline: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        received = b""
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(
                    f"did not report ready within {self.ready_timeout_s:g} s", exited=False
                )
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise self._failure("exited before it was ready")
            received += chunk
        line = received.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not line.startswith(READY_PREFIX):
            raise self._failure(f"printed {shown(line)} instead of its ready line", exited=False)
        return line[len(READY_PREFIX) :]

    def _wait_healthy(self, deadline: float) -> None:
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise self._failure("exited before /health answered")
            with (
                contextlib.suppress(OSError),
                _DIRECT.open(f"{self.url}/health", timeout=1.0) as response,
            ):
                if response.status == 200:
                    return
            if time.monotonic() >= deadline:
                raise self._failure(
                    f"/health did not answer 200 within {self.ready_timeout_s:g} s", exited=False
                )
            time.sleep(HEALTH_POLL_INTERVAL_S)

    def _failure(self, what: str, *, exited: bool = True) -> Exception:
        """The error to raise: ConfigError for bad input (exit 2), else RunError."""
        code = None
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.process.wait(timeout=EXIT_WAIT_S) if exited else self.process.poll()
        tail = self._stderr_tail()
        if code == EXIT_BAD_INPUT and tail:
            message = tail[-1]
            for prefix in ("dvcload portal: error: ", "python -m portal: error: "):
                message = message.removeprefix(prefix)
            return ConfigError(message)
        detail = " | ".join(tail) if tail else "no output on stderr"
        exit_note = "" if code is None else f" (exit code {code})"
        return RunError(f"the embedded portal {what}{exit_note}: {detail}")

    def _stderr_tail(self) -> list[str]:
        if self.stderr_path is None:
            return []
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-STDERR_TAIL_LINES:]

    def _close_stderr(self) -> None:
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        if self._stderr_is_temporary and self.stderr_path is not None:
            with contextlib.suppress(OSError):
                self.stderr_path.unlink()


def _absolute(path: str | Path | None) -> Path | None:
    return None if path is None else Path(path).resolve()


def resolve_config(config: str | None) -> Path | None:
    """A shipped config by name (``default``, ``mm4``) or a path; ``None`` is the default."""
    if config is None:
        return None
    if "/" in config or config.endswith((".yaml", ".yml")):
        return Path(config)
    shipped = Path(__file__).resolve().parent / "configs" / f"{config}.yaml"
    if not shipped.exists():
        names = sorted(p.stem for p in shipped.parent.glob("*.yaml"))
        raise ConfigError(
            f"no shipped portal config {shown(config)}; options are {', '.join(names)} or a path",
            field="portal.config",
        )
    return shipped
