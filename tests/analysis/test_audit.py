"""The integrity audit: synthetic folders with each kind of mismatch, a portal killed
mid-run, and a real run's folder."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import pytest

from analysis.audit import (
    AuditUnavailable,
    Charge,
    Ledger,
    Store,
    audit_run,
    compare,
    read_ledger,
)
from dvcschema.errors import ConfigError
from portal.launcher import EmbeddedPortal
from portal.storage import SCHEMA

ALICE, BOB, CAROL = "001203000001", "001203000002", "079190000003"


class Folder:
    """A results folder with a portal database built on the portal's own schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path / "portal.sqlite", isolation_level=None)
        self.db.executescript(SCHEMA)
        self.db.executemany(
            "INSERT INTO citizens VALUES (?, 'Nguyễn Văn An', 2)", [(ALICE,), (BOB,)]
        )

    def dossier(self, code: str, owner: str = ALICE) -> None:
        self.db.execute(
            "INSERT INTO dossiers VALUES (?, 'passport', ?, 'Hà Nội', 200000, 'received',"
            " '{}', '2026-04-30T08:00:00Z')",
            (code, owner),
        )

    def payment(self, payment_id: str, code: str, *, charges: int = 1) -> None:
        status = "paid" if charges else "pending"
        self.db.execute(
            "INSERT INTO payments VALUES (?, ?, ?, ?, 'h', 'vietqr', 200000, ?, ?, 't')",
            (payment_id, code, ALICE, f"key-{payment_id}", f"ref-{payment_id}", status),
        )
        for n in range(charges):
            self.charge(f"PG-{payment_id}-{n}", payment_id)

    def charge(self, transaction_id: str, payment_id: str) -> None:
        self.db.execute(
            "INSERT INTO charges VALUES (?, ?, 200000, 't')", (transaction_id, payment_id)
        )

    def ledger(
        self, dossiers: Iterable[tuple[str, str]], payments: Iterable[tuple[str, str]]
    ) -> None:
        _write_csv(self.path / "acknowledged_dossiers.csv", ("t", "dossier_code", "cccd"), dossiers)
        _write_csv(
            self.path / "confirmed_payments.csv", ("t", "payment_id", "dossier_code"), payments
        )

    def audit(self) -> dict[str, object]:
        self.db.close()
        return audit_run(self.path)


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(("1777536000.000000", a, b) for a, b in rows)


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    return Folder(tmp_path)


def _healthy(folder: Folder) -> None:
    """Two acknowledged dossiers, one paid once and confirmed."""
    folder.dossier("D1")
    folder.dossier("D2", owner=BOB)
    folder.payment("P1", "D1")


def test_a_consistent_run_passes(folder: Folder) -> None:
    _healthy(folder)
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D1")])
    audit = folder.audit()
    assert audit["passed"] is True
    assert audit["dossiers_acknowledged"] == 2 and audit["payments_confirmed"] == 1
    for kind in ("dossiers_missing", "payments_missing", "double_charges", "orphan_payments"):
        assert audit[kind] == 0
    assert audit["examples"] == {}


def test_an_acknowledged_dossier_missing_from_the_database_fails(folder: Folder) -> None:
    _healthy(folder)
    folder.ledger([("D1", ALICE), ("D2", BOB), ("LOST-1", ALICE)], [("P1", "D1")])
    audit = folder.audit()
    assert (audit["passed"], audit["dossiers_missing"]) == (False, 1)
    assert audit["examples"] == {"dossiers_missing": ["LOST-1"]}


def test_a_dossier_stored_for_another_citizen_fails(folder: Folder) -> None:
    _healthy(folder)
    folder.ledger([("D1", ALICE), ("D2", ALICE)], [("P1", "D1")])
    audit = folder.audit()
    assert (audit["passed"], audit["dossiers_wrong_owner"]) == (False, 1)


def test_a_confirmed_payment_without_a_charge_fails(folder: Folder) -> None:
    _healthy(folder)
    folder.payment("P2", "D2", charges=0)
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D1"), ("P2", "D2"), ("P9", "D2")])
    audit = folder.audit()
    assert (audit["passed"], audit["payments_missing"]) == (False, 2)
    assert audit["examples"]["payments_missing"] == ["P2", "P9"]


def test_a_confirmed_payment_of_another_dossier_fails(folder: Folder) -> None:
    _healthy(folder)
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D2")])
    audit = folder.audit()
    assert (audit["passed"], audit["payments_wrong_dossier"]) == (False, 1)


def test_a_dossier_charged_by_two_payments_is_a_double_charge(folder: Folder) -> None:
    _healthy(folder)
    folder.payment("P2", "D1", charges=0)
    folder.charge("PG-second", "P2")  # a second charge for D1 through another payment
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D1"), ("P2", "D1")])
    audit = folder.audit()
    assert (audit["passed"], audit["double_charges"], audit["charges_in_excess"]) == (False, 1, 1)
    assert audit["examples"]["double_charges"] == ["D1"]


def test_a_payment_charged_twice_is_a_double_charge() -> None:
    # The portal's schema forbids it (charges.payment_id is UNIQUE); another store may not.
    store = Store(
        dossiers={"D1": ALICE},
        charges=(Charge("T1", "P1", "D1", ALICE), Charge("T2", "P1", "D1", ALICE)),
    )
    audit = compare(Ledger({"D1": ALICE}, {"P1": "D1"}), store)
    assert (audit["passed"], audit["double_charges"], audit["charges_in_excess"]) == (False, 1, 1)


@pytest.mark.parametrize("case", ["no payment", "no dossier", "nobody's dossier"])
def test_charges_that_belong_to_nobody_are_orphans(folder: Folder, case: str) -> None:
    _healthy(folder)
    if case == "no payment":
        folder.charge("PG-ghost", "P-never-made")
    elif case == "no dossier":
        folder.payment("P3", "D-never-filed")
    else:
        folder.dossier("D3", owner=CAROL)  # not in the population, never acknowledged
        folder.payment("P3", "D3")
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D1")])
    audit = folder.audit()
    assert (audit["passed"], audit["orphan_payments"]) == (False, 1)


def test_unacknowledged_dossiers_and_unreported_charges_are_only_information(
    folder: Folder,
) -> None:
    _healthy(folder)
    folder.dossier("D3", owner=BOB)  # stored, but the reply was lost (reset after commit)
    folder.payment("P3", "D3")  # charged, but the confirmation was lost
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D1")])
    audit = folder.audit()
    assert audit["passed"] is True
    assert (audit["dossiers_unacknowledged"], audit["charges_unreported"]) == (1, 1)


def test_a_last_row_cut_short_is_skipped_and_counted(folder: Folder) -> None:
    _healthy(folder)
    folder.ledger([("D1", ALICE), ("D2", BOB)], [("P1", "D1")])
    with (folder.path / "acknowledged_dossiers.csv").open("a", encoding="utf-8") as handle:
        handle.write("1777536001.0")  # killed while writing the next row
    audit = folder.audit()
    assert (audit["passed"], audit["ledger_rows_truncated"]) == (True, 1)


def test_ledgers_with_a_worker_column_are_read_by_header(tmp_path: Path) -> None:
    (tmp_path / "acknowledged_dossiers.csv").write_text(
        "t,dossier_code,cccd,worker\n1.0,D1,001203000001,2\n", encoding="utf-8"
    )
    ledger = read_ledger(tmp_path)
    assert ledger.dossiers == {"D1": ALICE}
    assert ledger.missing_files == ("confirmed_payments.csv",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("t,code,cccd\n1.0,D1,x\n", "the header lacks dossier_code"),
        ("t,dossier_code,cccd\n1.0\n1.0,D1,x\n", "row with missing values"),
        ('t,dossier_code,cccd\n1.0,"D1\n', "malformed CSV"),
    ],
)
def test_malformed_ledgers_are_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "acknowledged_dossiers.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_ledger(tmp_path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_folder_without_a_portal_database_cannot_be_audited(tmp_path: Path) -> None:
    with pytest.raises(AuditUnavailable, match=r"acknowledged_dossiers\.csv"):
        audit_run(tmp_path)
    (tmp_path / "portal.sqlite").write_bytes(b"not a database at all, just some bytes")
    with pytest.raises(ConfigError):
        audit_run(tmp_path)


def test_a_killed_portal_keeps_what_it_acknowledged(tmp_path: Path) -> None:
    """Committed rows still in the write-ahead log of a SIGKILLed portal are audited."""
    portal = EmbeddedPortal(database=tmp_path / "portal.sqlite")
    with portal:
        token = _post(portal.url, "/auth/login", {"cccd": ALICE, "passcode": "123456"})
        body = {
            "service_code": "tax-settlement",
            "fields": {
                "full_name": "Nguyễn Văn An",
                "cccd": ALICE,
                "date_of_birth": "1990-01-01",
                "phone": "0981234567",
                "address": "Cần Thơ",
                "tax_year": 2025,
                "total_income_vnd": 300_000_000,
            },
            "province": "Cần Thơ",
        }
        code = _post(portal.url, "/dossiers", body, token["access_token"])["dossier_code"]
        assert portal.process is not None
        portal.process.kill()
        portal.process.wait(timeout=10)
    _write_csv(
        tmp_path / "acknowledged_dossiers.csv", ("t", "dossier_code", "cccd"), [(code, ALICE)]
    )
    audit = audit_run(tmp_path)
    assert (audit["passed"], audit["dossiers_acknowledged"], audit["dossiers_missing"]) == (
        True,
        1,
        0,
    )


def _post(url: str, path: str, body: object, token: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        answer: dict[str, str] = json.loads(response.read())
    return answer


@pytest.mark.integration
def test_a_real_smoke_run_passes_the_audit(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """The session's real smoke run (tests/conftest.py), shared with test_smoke_run.py:
    auditing only reads its folder."""
    _, run_folder = smoke_run
    audit = audit_run(run_folder)
    assert audit["passed"] is True, audit
    assert audit["dossiers_acknowledged"] > 0 and audit["payments_confirmed"] > 0
    ledger = read_ledger(run_folder)
    assert audit["dossiers_acknowledged"] == len(ledger.dossiers)
    assert audit["dossiers_missing"] == audit["double_charges"] == 0
