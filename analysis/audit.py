"""The integrity audit: what the harness was told, checked against what the target stored.

A run's results folder holds two ledgers written by the harness
(:mod:`loadgen.ledger`), the operator's input for this audit on any target:

``acknowledged_dossiers.csv``
    columns ``t, dossier_code, cccd[, worker]``: every dossier code the portal
    returned to a citizen (``201`` on ``POST /dossiers``), with the citizen's ID
    number; ``t`` is Unix seconds, ``worker`` the partition in a distributed run.
``confirmed_payments.csv``
    columns ``t, payment_id, dossier_code[, worker]``: every payment that PayGov
    confirmed as paid (``200`` with ``status: paid`` on ``POST /paygov/confirm``).

Against the reference portal, :func:`audit_run` reads them and the portal's SQLite
file ``portal.sqlite`` in the same folder (read-only; committed transactions still in
the write-ahead log of a killed portal are read too) and reports:

``dossiers_acknowledged`` / ``payments_confirmed``
    distinct codes / payment ids in the ledgers;
``dossiers_missing``
    acknowledged codes with no row in ``dossiers`` (a citizen holds a receipt for
    nothing);
``dossiers_wrong_owner``
    acknowledged codes stored for another ID number than the ledger's;
``payments_missing``
    confirmed payment ids without a charge in ``charges``;
``payments_wrong_dossier``
    confirmed payment ids whose stored payment is for another dossier;
``double_charges``
    dossiers charged more than once, counting every charge of every payment of the
    dossier (so a payment charged twice makes its dossier count too);
    ``charges_in_excess`` is the number of charges beyond the first;
``orphan_payments``
    charges that belong to nobody: (a) the charged payment does not exist, (b) its
    dossier does not exist, or (c) its dossier was never acknowledged to the harness
    *and* its owner is neither a citizen of the portal's population (``citizens``)
    nor a citizen in the dossier ledger;
``passed``
    all of the counts above are 0; ``examples`` has up to 5 offending codes per kind.

Two more counts are for information and do not fail the audit:
``dossiers_unacknowledged`` (stored but the citizen never learned the code, e.g. a
connection reset after the commit) and ``charges_unreported`` (charged but the
harness never saw the confirmation, e.g. a reset after the charge and no retry left).

**Auditing another system.** The harness cannot see another target's database, so it
keeps the ledgers in every results folder. Load the two CSV files into your database
(or read your records into :class:`Store`) and check the same rules: every
``dossier_code`` of ``acknowledged_dossiers.csv`` exists, owned by its ``cccd``; every
``payment_id`` of ``confirmed_payments.csv`` has exactly one charge, for its
``dossier_code``; no dossier has more than one charge; every charge has a payment
and a dossier. :func:`read_ledger` and :func:`compare` do exactly that in Python.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvcschema.errors import ConfigError, DvcloadError
from dvcschema.results import DOSSIER_LEDGER, PAYMENT_LEDGER
from dvcschema.results import PORTAL_DATABASE as DATABASE

MAX_EXAMPLES = 5
FAILING_COUNTS = (
    "dossiers_missing",
    "dossiers_wrong_owner",
    "payments_missing",
    "payments_wrong_dossier",
    "double_charges",
    "orphan_payments",
)


class AuditUnavailable(DvcloadError):  # noqa: N818 - a condition, not a program error
    """The folder has no portal database to audit against (another target)."""


@dataclass(frozen=True)
class Ledger:
    """What the harness was told: ``{code: cccd}`` and ``{payment_id: dossier_code}``."""

    dossiers: Mapping[str, str]
    payments: Mapping[str, str]
    missing_files: tuple[str, ...] = ()
    truncated_rows: int = 0


@dataclass(frozen=True)
class Charge:
    """One row of ``charges``, with what its payment and dossier say (``None``: absent)."""

    transaction_id: str
    payment_id: str
    dossier_code: str | None  # None: the payment does not exist
    owner_cccd: str | None  # None: the dossier does not exist
    owner_known: bool = True  # the owner is a citizen of the target's population


@dataclass(frozen=True)
class Store:
    """What the target stored: ``{code: owner cccd}``, its charges, payments' dossiers."""

    dossiers: Mapping[str, str]
    charges: tuple[Charge, ...]
    payment_dossiers: Mapping[str, str] = field(default_factory=dict)


# -- the audit ---------------------------------------------------------------------------
def audit_run(folder: str | Path) -> dict[str, Any]:
    """Audit a results folder of a run against the embedded portal.

    Raises
    ------
    AuditUnavailable
        The folder has no ``portal.sqlite`` (the target was not the embedded portal).
    ConfigError
        A ledger or the database cannot be read.
    """
    path = Path(folder)
    database = path / DATABASE
    if not database.is_file():
        raise AuditUnavailable(
            f"{path}: no {DATABASE} (not a run against the embedded portal); audit the "
            f"target's own records with {DOSSIER_LEDGER} and {PAYMENT_LEDGER}"
        )
    return compare(read_ledger(path), read_store(database))


def compare(ledger: Ledger, store: Store) -> dict[str, Any]:
    """The audit's figures (see the module's docstring for each definition)."""
    found = _dossier_checks(ledger, store) | _payment_checks(ledger, store)
    found |= _charge_checks(ledger, store)
    per_dossier = Counter(c.dossier_code for c in store.charges if c.dossier_code is not None)
    result: dict[str, Any] = {
        "dossiers_acknowledged": len(ledger.dossiers),
        "payments_confirmed": len(ledger.payments),
        "dossiers_in_database": len(store.dossiers),
        "charges_in_database": len(store.charges),
        **{kind: len(codes) for kind, codes in found.items()},
        "charges_in_excess": sum(n - 1 for n in per_dossier.values() if n > 1),
    }
    result["passed"] = all(result[kind] == 0 for kind in FAILING_COUNTS)
    result["examples"] = {
        kind: sorted(found[kind])[:MAX_EXAMPLES] for kind in FAILING_COUNTS if found[kind]
    }
    if ledger.missing_files:
        result["ledger_files_missing"] = list(ledger.missing_files)
    if ledger.truncated_rows:
        result["ledger_rows_truncated"] = ledger.truncated_rows
    return result


def _dossier_checks(ledger: Ledger, store: Store) -> dict[str, set[str]]:
    missing = {code for code in ledger.dossiers if code not in store.dossiers}
    wrong_owner = {
        code
        for code, cccd in ledger.dossiers.items()
        if code in store.dossiers and cccd and store.dossiers[code] != cccd
    }
    unacknowledged = {code for code in store.dossiers if code not in ledger.dossiers}
    return {
        "dossiers_missing": missing,
        "dossiers_wrong_owner": wrong_owner,
        "dossiers_unacknowledged": unacknowledged,
    }


def _payment_checks(ledger: Ledger, store: Store) -> dict[str, set[str]]:
    charged = {charge.payment_id for charge in store.charges}
    missing = {pid for pid in ledger.payments if pid not in charged}
    stored_dossier = dict(store.payment_dossiers)
    stored_dossier.update({c.payment_id: c.dossier_code for c in store.charges if c.dossier_code})
    wrong = {
        pid
        for pid, code in ledger.payments.items()
        if code and stored_dossier.get(pid) not in (None, code)
    }
    unreported = {c.transaction_id for c in store.charges if c.payment_id not in ledger.payments}
    return {
        "payments_missing": missing,
        "payments_wrong_dossier": wrong,
        "charges_unreported": unreported,
    }


def _charge_checks(ledger: Ledger, store: Store) -> dict[str, set[str]]:
    per_dossier = Counter(c.dossier_code for c in store.charges if c.dossier_code is not None)
    doubled = {code for code, n in per_dossier.items() if n > 1}
    known = set(ledger.dossiers.values())
    orphans = {
        charge.transaction_id for charge in store.charges if _is_orphan(charge, ledger, known)
    }
    return {"double_charges": doubled, "orphan_payments": orphans}


def _is_orphan(charge: Charge, ledger: Ledger, known_citizens: set[str]) -> bool:
    if charge.dossier_code is None or charge.owner_cccd is None:
        return True
    if charge.dossier_code in ledger.dossiers:
        return False
    return not (charge.owner_known or charge.owner_cccd in known_citizens)


# -- reading -----------------------------------------------------------------------------
def read_ledger(folder: str | Path) -> Ledger:
    """The two ledgers of a results folder; a missing file is an empty ledger, noted.

    A last row cut short (a process killed while writing) is skipped and counted;
    any other malformed row is a :class:`ConfigError`.
    """
    path = Path(folder)
    missing: list[str] = []
    dossiers, cut_d = _read_pairs(path / DOSSIER_LEDGER, ("dossier_code", "cccd"), missing)
    payments, cut_p = _read_pairs(path / PAYMENT_LEDGER, ("payment_id", "dossier_code"), missing)
    return Ledger(dossiers, payments, tuple(missing), cut_d + cut_p)


def _read_pairs(
    path: Path, columns: tuple[str, str], missing: list[str]
) -> tuple[dict[str, str], int]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        missing.append(path.name)
        return {}, 0
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the ledger: {exc}", source=str(path)) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ConfigError(f"malformed CSV: {exc}", source=str(path)) from None
    if not rows:
        return {}, 0
    key_at, value_at = _columns(rows[0], columns, path)
    pairs: dict[str, str] = {}
    truncated = 0
    for number, row in enumerate(rows[1:], start=2):
        if len(row) <= max(key_at, value_at) or not row[key_at]:
            if number == len(rows) and not text.endswith("\n"):
                truncated += 1
                continue
            raise ConfigError("row with missing values", source=str(path), line=number)
        pairs.setdefault(row[key_at], row[value_at])
    return pairs, truncated


def _columns(header: list[str], columns: tuple[str, str], path: Path) -> tuple[int, int]:
    absent = [name for name in columns if name not in header]
    if absent:
        raise ConfigError(
            f"the header lacks {', '.join(absent)}; expected t, {', '.join(columns)}[, worker]",
            source=str(path),
            line=1,
        )
    return header.index(columns[0]), header.index(columns[1])


_CHARGES_SQL = """
SELECT c.transaction_id, c.payment_id, p.dossier_code, d.owner_cccd,
       EXISTS (SELECT 1 FROM citizens z WHERE z.cccd = d.owner_cccd)
  FROM charges c
  LEFT JOIN payments p ON p.payment_id = c.payment_id
  LEFT JOIN dossiers d ON d.dossier_code = p.dossier_code
"""


def read_store(database: str | Path) -> Store:
    """Dossiers, charges and payments of a portal database, opened read-only."""
    uri = f"{Path(database).resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open the database: {exc}", source=str(database)) from None
    try:
        dossiers = dict(_rows(connection, "SELECT dossier_code, owner_cccd FROM dossiers"))
        payments = dict(_rows(connection, "SELECT payment_id, dossier_code FROM payments"))
        charges = tuple(
            Charge(str(t), str(p), d, o, bool(known))
            for t, p, d, o, known in _rows(connection, _CHARGES_SQL)
        )
    except sqlite3.Error as exc:
        raise ConfigError(f"not a portal database: {exc}", source=str(database)) from None
    finally:
        connection.close()
    return Store(dossiers, charges, payments)


def _rows(connection: sqlite3.Connection, query: str) -> Iterable[tuple[Any, ...]]:
    return connection.execute(query).fetchall()
