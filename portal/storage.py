"""The portal's SQLite database: file, schema, WAL mode and worker threads.

The database is a real SQLite file in WAL mode (readers do not block the writer).
SQL runs in a small pool of worker threads, one connection each, so the event loop
never blocks on the disk; the db tier's servers decide how many requests run SQL at
once. Write transactions use ``BEGIN IMMEDIATE`` and the schema's UNIQUE constraints
carry the invariants that concurrent retries must not break: one payment per
idempotency key, one charge per payment, at most one paid payment per dossier, one
sequence number per (agency, province, day).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

from dvcschema.errors import ConfigError

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
MAX_WORKER_THREADS = 32

SCHEMA = """
CREATE TABLE IF NOT EXISTS citizens (
    cccd        TEXT PRIMARY KEY,
    full_name   TEXT NOT NULL,
    vneid_level INTEGER NOT NULL CHECK (vneid_level IN (0, 1, 2))
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS attachments (
    attachment_id TEXT PRIMARY KEY,
    owner_cccd    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256        TEXT NOT NULL,
    uploaded_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dossier_sequences (
    agency_code   TEXT NOT NULL,
    province_code TEXT NOT NULL,
    day           TEXT NOT NULL,
    last_sequence INTEGER NOT NULL,
    PRIMARY KEY (agency_code, province_code, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dossiers (
    dossier_code TEXT PRIMARY KEY,
    service_code TEXT NOT NULL,
    owner_cccd   TEXT NOT NULL,
    province     TEXT NOT NULL,
    fee_vnd      INTEGER NOT NULL CHECK (fee_vnd >= 0),
    status       TEXT NOT NULL,
    fields_json  TEXT NOT NULL,
    received_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dossier_attachments (
    dossier_code  TEXT NOT NULL REFERENCES dossiers (dossier_code),
    attachment_id TEXT NOT NULL REFERENCES attachments (attachment_id),
    PRIMARY KEY (dossier_code, attachment_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS payments (
    payment_id      TEXT PRIMARY KEY,
    dossier_code    TEXT NOT NULL REFERENCES dossiers (dossier_code),
    owner_cccd      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    request_hash    TEXT NOT NULL,
    channel         TEXT NOT NULL,
    amount_vnd      INTEGER NOT NULL CHECK (amount_vnd > 0),
    gateway_ref     TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'paid')),
    created_at      TEXT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS payments_one_paid_per_dossier
    ON payments (dossier_code) WHERE status = 'paid';

CREATE TABLE IF NOT EXISTS charges (
    transaction_id TEXT PRIMARY KEY,
    payment_id     TEXT NOT NULL UNIQUE REFERENCES payments (payment_id),
    amount_vnd     INTEGER NOT NULL CHECK (amount_vnd > 0),
    charged_at     TEXT NOT NULL
);
"""


class Database:
    """A SQLite file in WAL mode with a pool of worker threads, one connection each.

    Parameters
    ----------
    path
        The database file; ``None`` creates one in a temporary folder that
        :meth:`close` removes.
    workers
        Worker threads (and so connections) for :meth:`run`.
    """

    def __init__(self, path: str | Path | None = None, *, workers: int = 4) -> None:
        self._temp_dir: Path | None = None
        if path is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="dvcload-portal-"))
            path = self._temp_dir / "portal.sqlite"
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, min(workers, MAX_WORKER_THREADS)), thread_name_prefix="portal-db"
        )
        self._closed = False
        self._create_schema()

    def __repr__(self) -> str:
        return f"Database(path={str(self.path)!r})"

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """Run ``work(connection, *args)`` in a worker thread and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._call, work, *args))

    def call(self, work: Callable[..., T], *args: object) -> T:
        """Run ``work(connection, *args)`` in the calling thread (start-up, tests)."""
        return self._call(work, *args)

    def close(self) -> None:
        """Stop the workers, close every connection, remove a temporary file."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------
    def _call(self, work: Callable[..., T], *args: object) -> T:
        return work(self._connection(), *args)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
        return connection

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the database: {exc}", source=str(self.path)) from None
        with self._lock:
            self._connections.append(connection)
        return connection

    def _create_schema(self) -> None:
        try:
            self._connection().executescript(SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise ConfigError(f"cannot create the schema: {exc}", source=str(self.path)) from None


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
