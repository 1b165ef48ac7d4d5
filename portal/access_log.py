"""The access log: one JSON line per request, as the server saw it.

This is the ground truth that the harness's client-side measurements and the
queueing models are checked against. Each line holds at least ``t_arrival`` (Unix
seconds when the request reached the application), ``method``, ``endpoint`` (the
route template), ``target`` (the path and query as received, at most
:data:`MAX_TARGET_CHARS` characters), ``status``, ``queue_wait_ms`` and ``service_ms``
(sums over the tiers visited; service is the time a server was actually held),
``response_ms`` (arrival to the response being handed to the server), ``tiers`` (per
tier ``wait_ms`` and ``service_ms``) and ``bytes_in``; a request refused at a full tier
also has ``rejected_at``, and a request hit by an injected fault (:mod:`portal.faults`)
has ``fault``: ``error``, ``spike``, ``gateway_timeout``, ``reset``, ``outage`` or
``slow_db``, several joined with ``+`` in the order they were applied. A request whose
connection was reset is logged with status 444 (nginx's "closed without response").

Writing costs a request one ``list.append``: records are serialised and written by
a background task every :data:`FLUSH_INTERVAL_S` (in a worker thread, so the event
loop never waits on the disk) and once more at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dvcschema.errors import ConfigError
from portal.endpoints import UNMATCHED

FLUSH_INTERVAL_S = 0.5
SERIALISE_CHUNK = 200
MAX_TARGET_CHARS = 8192


@dataclass
class TierTiming:
    wait_s: float
    service_s: float


@dataclass
class AccessRecord:
    """What happened to one request; filled in as it goes through the portal."""

    t_arrival: float
    method: str
    started_perf_s: float = field(default_factory=time.perf_counter)
    endpoint: str = UNMATCHED
    target: str = ""
    status: int = 0
    bytes_in: int = 0
    tiers: dict[str, TierTiming] = field(default_factory=dict)
    rejected_at: str | None = None
    response_s: float = 0.0
    faults: list[str] = field(default_factory=list)

    def add_tier(self, name: str, wait_s: float, service_s: float) -> None:
        self.tiers[name] = TierTiming(wait_s, service_s)

    def finish(self, status: int) -> None:
        self.status = status
        self.response_s = time.perf_counter() - self.started_perf_s

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t_arrival": round(self.t_arrival, 6),
            "method": self.method,
            "endpoint": self.endpoint,
            "target": self.target,
            "status": self.status,
            "queue_wait_ms": _ms(sum(t.wait_s for t in self.tiers.values())),
            "service_ms": _ms(sum(t.service_s for t in self.tiers.values())),
            "response_ms": _ms(self.response_s),
            "tiers": {
                name: {"wait_ms": _ms(t.wait_s), "service_ms": _ms(t.service_s)}
                for name, t in self.tiers.items()
            },
            "bytes_in": self.bytes_in,
        }
        if self.rejected_at is not None:
            out["rejected_at"] = self.rejected_at
        if self.faults:
            out["fault"] = "+".join(self.faults)
        return out


def request_target(scope: Mapping[str, Any]) -> str:
    """The path and query of an ASGI request as the client sent them (``raw_path``,
    still percent-encoded, when the server gives it), cut to :data:`MAX_TARGET_CHARS`."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    query = scope.get("query_string") or b""
    if query:
        path += "?" + query.decode("latin-1")
    return path[:MAX_TARGET_CHARS]


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class AccessLogWriter:
    """Buffers :class:`AccessRecord` objects and writes them as JSON lines.

    The file is created (truncated) when the log is opened. ``AccessLogWriter(None)`` is
    disabled: :meth:`append` does nothing.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self._pending: list[AccessRecord] = []
        self._write_lock = threading.Lock()
        self._file: IO[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        if self.path is not None:
            try:
                self._file = self.path.open("w", encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the access log: {exc.strerror}",
                    source=str(path),
                    field="--access-log",
                ) from None

    def __repr__(self) -> str:
        return f"AccessLogWriter(path={None if self.path is None else str(self.path)!r})"

    @property
    def enabled(self) -> bool:
        return self._file is not None

    def append(self, record: AccessRecord) -> None:
        if self._file is not None:
            self._pending.append(record)

    def start(self) -> None:
        """Start the background flusher (call from the running event loop)."""
        if self._file is not None and self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._flush_forever())

    async def stop(self) -> None:
        """Let the flusher finish its last write, then write what is left and close."""
        if self._task is not None and self._stopping is not None:
            self._stopping.set()
            await self._task
            self._task = None
        self.close()

    def close(self) -> None:
        """Write what is left and close the file (idempotent, synchronous)."""
        self.flush()
        with self._write_lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def flush(self) -> None:
        """Serialise and write the pending records now, in the calling thread."""
        batch, self._pending = self._pending, []
        self._write("".join(_line(r) for r in batch))

    async def _flush_forever(self) -> None:
        assert self._stopping is not None
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), FLUSH_INTERVAL_S)
            batch, self._pending = self._pending, []
            chunks: list[str] = []
            for start in range(0, len(batch), SERIALISE_CHUNK):
                # Serialise on the loop in short slices, so requests are not held up.
                chunks.append("".join(_line(r) for r in batch[start : start + SERIALISE_CHUNK]))
                await asyncio.sleep(0)
            if chunks:
                await loop.run_in_executor(None, self._write, "".join(chunks))

    def _write(self, text: str) -> None:
        if not text:
            return
        with self._write_lock:
            if self._file is not None:
                self._file.write(text)
                self._file.flush()


def _line(record: AccessRecord) -> str:
    return json.dumps(record.as_dict(), separators=(",", ":")) + "\n"
