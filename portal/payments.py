"""Payments through PayGov, charged exactly once whatever the retries.

Two guarantees, both carried by the schema so that they hold under concurrency:

* one payment per ``Idempotency-Key`` (``payments.idempotency_key`` is UNIQUE): a
  retry with the same key and the same request gets the same payment back; the same
  key with a different request is refused (422);
* one charge per payment (``charges.payment_id`` is UNIQUE) and at most one paid
  payment per dossier (a partial UNIQUE index), so confirming twice, or confirming
  two payments of one dossier, never charges twice.

Each operation is one ``BEGIN IMMEDIATE`` transaction; an ``IntegrityError`` from a
concurrent writer is answered from what that writer stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from dvcschema.errors import shown
from portal.dossiers import utc_now_iso
from portal.replies import ApiError
from portal.storage import write_transaction

CHANNELS = ("vietqr", "napas", "account-debit", "momo", "vnpt-pay", "viettel-money")


@dataclass(frozen=True)
class PaymentRequest:
    dossier_code: str
    owner_cccd: str
    idempotency_key: str
    channel: str
    amount_vnd: int

    def fingerprint(self) -> str:
        """A hash of everything the request asks for (same key must mean same request)."""
        canonical = json.dumps(
            [self.dossier_code, self.owner_cccd, self.channel, self.amount_vnd],
            ensure_ascii=True,
        )
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class PaymentOutcome:
    payment: dict[str, Any]
    replayed: bool


def create_payment(connection: sqlite3.Connection, request: PaymentRequest) -> PaymentOutcome:
    """Create a pending payment, or return the one already made with this key."""
    try:
        with write_transaction(connection):
            existing = _replay(connection, request)
            if existing is not None:
                return existing
            _check_dossier(connection, request)
            return PaymentOutcome(_insert_payment(connection, request), replayed=False)
    except sqlite3.IntegrityError:
        with write_transaction(connection):
            existing = _replay(connection, request)
        if existing is None:
            raise
        return existing


def confirm_payment(
    connection: sqlite3.Connection, payment_id: str, gateway_ref: str
) -> dict[str, Any]:
    """Mark a payment paid and charge it once; a repeat returns the same charge."""
    with write_transaction(connection):
        row = connection.execute(
            "SELECT amount_vnd FROM payments WHERE payment_id = ? AND gateway_ref = ?",
            (payment_id, gateway_ref),
        ).fetchone()
        if row is None:
            raise ApiError(404, "no payment with this payment_id and gateway_ref", "payment_id")
        charge = _charge_of(connection, payment_id)
        if charge is not None:
            return charge
        try:
            connection.execute(
                "UPDATE payments SET status = 'paid' WHERE payment_id = ?", (payment_id,)
            )
        except sqlite3.IntegrityError:
            raise ApiError(409, "the dossier is already paid by another payment") from None
        connection.execute(
            "INSERT INTO charges VALUES (?, ?, ?, ?)",
            (f"PG{secrets.token_hex(10).upper()}", payment_id, row[0], utc_now_iso()),
        )
        charge = _charge_of(connection, payment_id)
    assert charge is not None  # inserted above in the same transaction
    return charge


# -- internals -------------------------------------------------------------------------
def _replay(connection: sqlite3.Connection, request: PaymentRequest) -> PaymentOutcome | None:
    row = connection.execute(
        "SELECT payment_id, request_hash, amount_vnd, channel, gateway_ref, status"
        " FROM payments WHERE idempotency_key = ?",
        (request.idempotency_key,),
    ).fetchone()
    if row is None:
        return None
    if row[1] != request.fingerprint():
        raise ApiError(
            422, "this Idempotency-Key was used for a different request", "Idempotency-Key"
        )
    body = _payment_body(row[0], row[2], row[3], row[4], status=row[5])
    return PaymentOutcome(body, replayed=True)


def _check_dossier(connection: sqlite3.Connection, request: PaymentRequest) -> None:
    row = connection.execute(
        "SELECT fee_vnd, EXISTS (SELECT 1 FROM payments p WHERE p.dossier_code = d.dossier_code"
        "                        AND p.status = 'paid')"
        " FROM dossiers d WHERE d.dossier_code = ? AND d.owner_cccd = ?",
        (request.dossier_code, request.owner_cccd),
    ).fetchone()
    if row is None:
        raise ApiError(404, f"no dossier {shown(request.dossier_code)} for this citizen", "code")
    fee_vnd, paid = int(row[0]), bool(row[1])
    if fee_vnd == 0:
        raise ApiError(409, "this dossier has no fee to pay")
    if paid:
        raise ApiError(409, "this dossier is already paid")
    if request.amount_vnd != fee_vnd:
        raise ApiError(
            422, f"amount_vnd {request.amount_vnd} differs from the fee {fee_vnd}", "amount_vnd"
        )


def _insert_payment(connection: sqlite3.Connection, request: PaymentRequest) -> dict[str, Any]:
    payment_id = f"pay_{secrets.token_hex(12)}"
    gateway_ref = f"PAYGOV-{secrets.token_hex(8).upper()}"
    connection.execute(
        "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        (
            payment_id,
            request.dossier_code,
            request.owner_cccd,
            request.idempotency_key,
            request.fingerprint(),
            request.channel,
            request.amount_vnd,
            gateway_ref,
            utc_now_iso(),
        ),
    )
    return _payment_body(payment_id, request.amount_vnd, request.channel, gateway_ref)


def _payment_body(
    payment_id: str, amount_vnd: int, channel: str, gateway_ref: str, *, status: str = "pending"
) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "status": status,
        "amount_vnd": amount_vnd,
        "channel": channel,
        "gateway_ref": gateway_ref,
    }


def _charge_of(connection: sqlite3.Connection, payment_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        "SELECT transaction_id, charged_at FROM charges WHERE payment_id = ?", (payment_id,)
    ).fetchone()
    if row is None:
        return None
    return {
        "payment_id": payment_id,
        "status": "paid",
        "transaction_id": row[0],
        "charged_at": row[1],
    }
