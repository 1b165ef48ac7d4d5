"""Attachments and dossiers in SQLite, and the dossier code of Decree 61/2018.

A dossier code has the shape of Decree 61/2018/ND-CP, art. 26 (receiving agency,
then the receipt date and that day's sequence number), as domain.md guesses it::

    000.00.<agency 2 digits>.H<province admin code 2 digits>-<yymmdd>-<sequence>

e.g. ``000.00.15.H01-251123-0042``. The sequence counts per (agency, province, day)
from 1 and is allocated by one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
inside the dossier's write transaction, so two dossiers never share a code. The day
is the receipt date in Vietnam (UTC+7); ``received_at`` is stored in UTC.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from dvcschema.errors import shown
from portal.replies import ApiError
from portal.storage import write_transaction

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
SEQUENCE_DIGITS = 4


def utc_now_iso() -> str:
    """The current time in UTC, ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dossier_code(agency_code: str, province_code: str, day: datetime, sequence: int) -> str:
    """The code of the ``sequence``-th dossier of ``day`` at this agency and province.

    >>> dossier_code("15", "01", datetime(2025, 11, 23), 42)
    '000.00.15.H01-251123-0042'
    """
    return f"000.00.{agency_code}.H{province_code}-{day:%y%m%d}-{sequence:0{SEQUENCE_DIGITS}d}"


@dataclass(frozen=True)
class NewAttachment:
    owner_cccd: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str


def insert_attachment(connection: sqlite3.Connection, item: NewAttachment) -> str:
    """Store an attachment's metadata (never its bytes); return its id."""
    attachment_id = str(uuid.uuid4())
    with write_transaction(connection):
        connection.execute(
            "INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                attachment_id,
                item.owner_cccd,
                item.kind,
                item.content_type,
                item.size_bytes,
                item.sha256,
                utc_now_iso(),
            ),
        )
    return attachment_id


@dataclass(frozen=True)
class NewDossier:
    service_code: str
    agency_code: str
    owner_cccd: str
    province: str
    province_code: str
    fee_vnd: int
    fields: Mapping[str, Any]
    attachment_ids: Sequence[str]
    required_kinds: Sequence[str]


def insert_dossier(connection: sqlite3.Connection, item: NewDossier) -> tuple[str, str]:
    """Check the attachments, allocate a code and store the dossier: ``(code, received_at)``."""
    with write_transaction(connection):
        _check_attachments(connection, item)
        now = datetime.now(UTC)
        sequence = _next_sequence(connection, item, now.astimezone(VIETNAM_TZ))
        code = dossier_code(
            item.agency_code, item.province_code, now.astimezone(VIETNAM_TZ), sequence
        )
        received_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        connection.execute(
            "INSERT INTO dossiers VALUES (?, ?, ?, ?, ?, 'received', ?, ?)",
            (
                code,
                item.service_code,
                item.owner_cccd,
                item.province,
                item.fee_vnd,
                json.dumps(item.fields, ensure_ascii=False),
                received_at,
            ),
        )
        connection.executemany(
            "INSERT INTO dossier_attachments VALUES (?, ?)",
            [(code, attachment_id) for attachment_id in dict.fromkeys(item.attachment_ids)],
        )
    return code, received_at


def find_dossier(connection: sqlite3.Connection, code: str, cccd: str) -> dict[str, Any] | None:
    """A dossier's status for its owner, or ``None`` (also when the owner differs)."""
    row = connection.execute(
        "SELECT d.dossier_code, d.service_code, d.status, d.fee_vnd, d.received_at,"
        " EXISTS (SELECT 1 FROM payments p WHERE p.dossier_code = d.dossier_code"
        "         AND p.status = 'paid')"
        " FROM dossiers d WHERE d.dossier_code = ? AND d.owner_cccd = ?",
        (code, cccd),
    ).fetchone()
    if row is None:
        return None
    return {
        "dossier_code": row[0],
        "service_code": row[1],
        "status": row[2],
        "fee_vnd": row[3],
        "paid": bool(row[5]),
        "received_at": row[4],
    }


def _check_attachments(connection: sqlite3.Connection, item: NewDossier) -> None:
    ids = list(dict.fromkeys(item.attachment_ids))
    kinds: set[str] = set()
    for attachment_id in ids:
        row = connection.execute(
            "SELECT owner_cccd, kind FROM attachments WHERE attachment_id = ?", (attachment_id,)
        ).fetchone()
        if row is None or row[0] != item.owner_cccd:
            raise ApiError(422, f"unknown attachment {shown(attachment_id)}", "attachment_ids")
        kinds.add(row[1])
    missing = [kind for kind in item.required_kinds if kind not in kinds]
    if missing:
        raise ApiError(
            422, f"required attachment(s) missing: {', '.join(missing)}", "attachment_ids"
        )


def _next_sequence(connection: sqlite3.Connection, item: NewDossier, day: datetime) -> int:
    row = connection.execute(
        "INSERT INTO dossier_sequences VALUES (?, ?, ?, 1)"
        " ON CONFLICT (agency_code, province_code, day)"
        " DO UPDATE SET last_sequence = last_sequence + 1"
        " RETURNING last_sequence",
        (item.agency_code, item.province_code, f"{day:%Y-%m-%d}"),
    ).fetchone()
    return int(row[0])
