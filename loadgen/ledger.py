"""What the portal told the harness: acknowledged dossiers and confirmed payments.

Kept for the integrity audit: every acknowledged dossier must exist in the target's
database and no payment may be charged twice. Appends are O(1) in the request loop;
the ledger is written to the results folder at the end of the run.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import Any

from dvcschema import results


class AuditLedger:
    """Rows are ``(t, code, cccd)`` and ``(t, payment_id, dossier_code)``; a master adds
    the worker (partition number) that reported each row as a fourth item."""

    def __init__(self) -> None:
        self.dossiers: list[tuple[Any, ...]] = []
        self.payments: list[tuple[Any, ...]] = []

    def dossier_acknowledged(self, code: str, cccd: str) -> None:
        self.dossiers.append((time.time(), code, cccd))

    def payment_confirmed(self, payment_id: str, dossier_code: str) -> None:
        self.payments.append((time.time(), payment_id, dossier_code))

    def write(self, folder: Path) -> None:
        """Write ``acknowledged_dossiers.csv`` and ``confirmed_payments.csv``."""
        _write_rows(folder / results.DOSSIER_LEDGER, ("t", "dossier_code", "cccd"), self.dossiers)
        _write_rows(
            folder / results.PAYMENT_LEDGER, ("t", "payment_id", "dossier_code"), self.payments
        )


def _write_rows(path: Path, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Atomically: a killed run never leaves a half-written ledger."""
    with_worker = any(len(row) > len(header) for row in rows)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow((*header, "worker") if with_worker else header)
        writer.writerows((f"{row[0]:.6f}", *row[1:]) for row in rows)
    os.replace(tmp, path)
