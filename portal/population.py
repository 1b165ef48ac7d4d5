"""Loading a synthetic population (CSV or JSON Lines) into the ``citizens`` table.

With ``--population FILE`` the portal knows who exists: a login with a CCCD that is
not in the file is refused (401), and the identification level comes from the file.
The file needs at least the columns ``cccd`` (12 digits), ``full_name`` and
``vneid_level`` (0 = no VNeID account, 1 or 2); other columns are ignored. ``.csv``
is read as CSV with a header row; ``.jsonl``/``.ndjson``/``.json`` as one JSON object
per line. A malformed file is one :class:`~dvcschema.errors.ConfigError` line with
``file:line``.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dvcschema import files
from dvcschema.errors import ConfigError, shown

REQUIRED_COLUMNS = ("cccd", "full_name", "vneid_level")
CCCD_PATTERN = re.compile(r"[0-9]{12}")  # ASCII digits only, as the portal's login
VNEID_LEVELS = (0, 1, 2)
MAX_NAME_LENGTH = 200
MAX_FILE_BYTES = 16 * 1024**3  # 50 million citizens of ~80 bytes, with room to spare
BATCH_ROWS = 5000


@dataclass(frozen=True)
class RegisteredCitizen:
    cccd: str
    full_name: str
    vneid_level: int


def read_population(path: str | Path) -> Iterator[tuple[int, RegisteredCitizen]]:
    """``(line, citizen)`` for each row of a population file (a regular file of at most
    :data:`MAX_FILE_BYTES`), validated."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise ConfigError(
            f"unknown population format {shown(file.suffix)}; use .csv or .jsonl",
            source=str(path),
            field="--population",
        )
    try:
        yield from _read_csv(file) if suffix == ".csv" else _read_json_lines(file)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (bad byte at offset {exc.start})", source=str(file)
        ) from None


def load_population(connection: sqlite3.Connection, path: str | Path) -> int:
    """Replace the ``citizens`` table with the file's rows; return how many."""
    seen: set[str] = set()
    count = 0
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("DELETE FROM citizens")
        batch: list[tuple[str, str, int]] = []
        for line, citizen in read_population(path):
            if citizen.cccd in seen:
                raise ConfigError(
                    f"{shown(citizen.cccd)} appears twice",
                    source=str(path),
                    line=line,
                    field="cccd",
                )
            seen.add(citizen.cccd)
            batch.append((citizen.cccd, citizen.full_name, citizen.vneid_level))
            count += 1
            if len(batch) >= BATCH_ROWS:
                _insert(connection, batch)
        _insert(connection, batch)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    if count == 0:
        raise ConfigError("the population file has no citizens", source=str(path))
    return count


def _insert(connection: sqlite3.Connection, batch: list[tuple[str, str, int]]) -> None:
    connection.executemany("INSERT INTO citizens VALUES (?, ?, ?)", batch)
    batch.clear()


def _read_csv(file: Path) -> Iterator[tuple[int, RegisteredCitizen]]:
    with _open_text(file) as handle:
        reader = csv.DictReader(handle)
        try:
            fieldnames = reader.fieldnames or []
        except csv.Error as exc:
            raise ConfigError(f"bad CSV header: {exc}", source=str(file), line=1) from None
        missing = [c for c in REQUIRED_COLUMNS if c not in fieldnames]
        if missing:
            raise ConfigError(
                f"missing column(s) {', '.join(missing)}; needed: {', '.join(REQUIRED_COLUMNS)}",
                source=str(file),
                line=1,
            )
        try:
            for row in reader:
                yield reader.line_num, _citizen(row, file, reader.line_num)
        except csv.Error as exc:
            raise ConfigError(f"bad CSV: {exc}", source=str(file), line=reader.line_num) from None


def _read_json_lines(file: Path) -> Iterator[tuple[int, RegisteredCitizen]]:
    with _open_text(file) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"bad JSON: {exc.msg}", source=str(file), line=number) from None
            except RecursionError:
                raise ConfigError(
                    "bad JSON: nested too deeply", source=str(file), line=number
                ) from None
            if not isinstance(row, dict):
                raise ConfigError(
                    "expected one JSON object per line", source=str(file), line=number
                )
            yield number, _citizen(row, file, number)


def _open_text(file: Path) -> TextIO:
    try:
        return files.open_text(file, limit=MAX_FILE_BYTES, encoding="utf-8-sig")
    except ConfigError as exc:
        raise ConfigError(exc.message, source=str(file), field="--population") from None


def _citizen(row: dict[str, Any], file: Path, line: int) -> RegisteredCitizen:
    def bad(field: str, message: str) -> ConfigError:
        return ConfigError(message, source=str(file), line=line, field=field)

    for column in REQUIRED_COLUMNS:
        if row.get(column) in (None, ""):
            raise bad(column, "missing value")
    cccd = str(row["cccd"]).strip()
    if not CCCD_PATTERN.fullmatch(cccd):
        raise bad("cccd", f"{shown(row['cccd'])} is not 12 digits")
    full_name = str(row["full_name"]).strip()
    if not _encodable(full_name):
        raise bad("full_name", f"{shown(row['full_name'])} is not valid Unicode text")
    if not full_name or len(full_name) > MAX_NAME_LENGTH:
        raise bad(
            "full_name",
            f"{shown(row['full_name'])} is not a name of 1-{MAX_NAME_LENGTH} characters",
        )
    level = _level(row["vneid_level"])
    if level is None:
        raise bad("vneid_level", f"{shown(row['vneid_level'])} is not allowed; options are 0, 1, 2")
    return RegisteredCitizen(cccd, full_name, level)


def _encodable(text: str) -> bool:
    """False for lone surrogates (e.g. JSON's "\\ud800"), which SQLite cannot store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _level(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    return int(text) if text in ("0", "1", "2") else None
