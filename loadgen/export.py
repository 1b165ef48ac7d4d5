"""Writing populations to CSV or JSON Lines (chosen by extension) and reading them back.

Both formats are UTF-8 with ``\\n`` line ends and the columns of
:data:`loadgen.citizen.FIELD_NAMES` in that order; the same population always gives the
same bytes. CSV quotes exactly as Python's :mod:`csv` module does with its defaults
(``QUOTE_MINIMAL``: only fields holding a comma, quote or line break, e.g. addresses).
JSON Lines has one object per citizen, ``vneid_level`` a number, every other value a string.

Writing renders rows in bulk from the population's columns (see :mod:`loadgen.render`),
to a temporary file renamed into place at the end, so a reader never sees half a file.
Reading checks every value with the field validators of :mod:`loadgen.citizen`, the ID
number against date of birth, gender and birth province, the ward's name and code
against the official list and the residence province, and that no ID number repeats;
the first problem is raised as one :class:`~dvcschema.errors.ConfigError` line.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from dvcschema.errors import ConfigError
from loadgen import citizen as v
from loadgen.citizen import FIELD_NAMES
from loadgen.population import Population
from loadgen.render import Coded, Const, Field, Part, render, render_strings, single_part

FORMATS = {".csv": "csv", ".jsonl": "jsonl"}
CHUNK_ROWS = 16_384
"""Rows rendered at a time: the row matrix, its copy and its text (~15 MB for a CSV chunk)
stay in a 32 MB L3 cache; 65,536 rows made the CSV export ~1.5x slower here."""
_CSV_SPECIAL = (",", '"', "\r", "\n")


def format_of(path: str | Path) -> str:
    """``"csv"`` or ``"jsonl"`` from the file's extension; ConfigError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        allowed = ", ".join(FORMATS)
        raise ConfigError(
            f"unknown extension {suffix or '(none)'!r}; use one of {allowed}", source=str(path)
        )
    return FORMATS[suffix]


def write_population(population: Population, path: str | Path) -> None:
    """Write ``population`` to ``path`` as CSV or JSON Lines, by the file's extension."""
    target = Path(path)
    fmt = format_of(target)
    parts = _csv_row(population) if fmt == "csv" else _jsonl_row(population)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as out:
            if fmt == "csv":
                out.write((",".join(FIELD_NAMES) + "\n").encode("ascii"))
            for start in range(0, len(population), CHUNK_ROWS):
                out.write(render(parts, start, min(start + CHUNK_ROWS, len(population))))
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"cannot write: {exc.strerror or exc}", source=str(target)) from exc


def _needs_quotes(text: str) -> bool:
    return any(c in text for c in _CSV_SPECIAL)


def _quote_minimal(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if _needs_quotes(text) else text


def _csv_field(fld: Field, population: Population) -> Field:
    if any(isinstance(p, Const) and _needs_quotes(p.text) for p in fld.parts):
        inner = fld.map_text(lambda s: s.replace('"', '""'))  # every value holds a comma
        return Field((Const('"'), *inner.parts, Const('"')))
    if not any(_needs_quotes(t) for t in fld.texts()):
        return fld
    if not (len(fld.parts) == 1 and isinstance(fld.parts[0], Coded)):
        fld = single_part(render_strings(fld, 0, len(population)))
    return fld.map_text(_quote_minimal)


def _csv_row(population: Population) -> list[Part]:
    parts: list[Part] = []
    for name in FIELD_NAMES:
        parts += [*_csv_field(population.fields[name], population).parts, Const(",")]
    parts[-1] = Const("\n")
    return parts


def _json_escape(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _jsonl_row(population: Population) -> list[Part]:
    parts: list[Part] = []
    for i, name in enumerate(FIELD_NAMES):
        fld = population.fields[name].map_text(_json_escape)
        quote = "" if fld.numeric else '"'
        opening = ("{" if i == 0 else ",") + f'"{name}":{quote}'
        parts += [Const(opening), *fld.parts, Const(quote)]
    parts.append(Const("}\n"))
    return parts


def read_population(path: str | Path, *, validate: bool = True) -> Population:
    """Read a population written by :func:`write_population` (CSV or JSON Lines).

    Raises
    ------
    ConfigError
        The file cannot be read, a column is missing or unknown, a row is malformed, a
        value fails its validator, or an ID number repeats; one line naming the file,
        the line and the field.
    """
    source = Path(path)
    fmt = format_of(source)
    try:
        with source.open(encoding="utf-8", newline="") as handle:
            reader = _csv_columns if fmt == "csv" else _jsonl_columns
            columns = reader(handle, str(source))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(source)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", source=str(source)) from exc
    size = len(columns["cccd"])
    if size == 0:
        raise ConfigError("no citizens in the file", source=str(source))
    if validate:
        _validate(columns, str(source), header_lines=1 if fmt == "csv" else 0)
    encoded = {
        name: single_part(columns[name], numeric=name == "vneid_level") for name in FIELD_NAMES
    }
    return Population(encoded, size)


def _check_names(names: list[str], source: str, line: int) -> None:
    missing = [n for n in FIELD_NAMES if n not in names]
    unknown = [n for n in names if n not in FIELD_NAMES]
    if missing or unknown or len(set(names)) != len(names):
        problem = (
            f"missing {missing}" if missing else f"unknown {unknown}" if unknown else "duplicates"
        )
        raise ConfigError(
            f"columns {problem}; expected {', '.join(FIELD_NAMES)}", source=source, line=line
        )


def _csv_columns(handle: Iterator[str], source: str) -> dict[str, list[str]]:
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        if header is None:
            raise ConfigError("empty file", source=source)
        _check_names(header, source, 1)
        rows = list(reader)
    except csv.Error as exc:
        raise ConfigError(f"malformed CSV: {exc}", source=source, line=reader.line_num) from exc
    width = len(header)
    if any(len(row) != width for row in rows):
        line = next(i for i, row in enumerate(rows) if len(row) != width) + 2
        raise ConfigError(f"wrong number of values, expected {width}", source=source, line=line)
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    record = dict(pairs)
    if len(record) != len(pairs):
        raise ValueError(
            f"duplicate keys {sorted(k for k in record if [p[0] for p in pairs].count(k) > 1)}"
        )
    return record


def _jsonl_columns(handle: Iterator[str], source: str) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {name: [] for name in FIELD_NAMES}
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_refuse_duplicate_keys)
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ConfigError(f"malformed JSON: {reason}", source=source, line=number) from exc
        except RecursionError:
            raise ConfigError(
                "malformed JSON: nested too deeply", source=source, line=number
            ) from None
        if not isinstance(record, dict):
            raise ConfigError("each line must be a JSON object", source=source, line=number)
        _check_names(list(record), source, number)
        level = record["vneid_level"]
        if not (isinstance(level, int) and not isinstance(level, bool)):
            raise ConfigError(
                f"must be a number, got {level!r}", source=source, line=number, field="vneid_level"
            )
        record["vneid_level"] = str(level)
        if not all(isinstance(record[n], str) for n in FIELD_NAMES):
            raise ConfigError(
                "every value but vneid_level must be a string", source=source, line=number
            )
        for name in FIELD_NAMES:
            columns[name].append(record[name])
    return columns


def _field_validators() -> dict[str, Callable[[str], bool]]:
    """A validator per column, taking the exported text."""
    checks: dict[str, Callable[[str], bool]] = {
        "cccd": v.is_valid_cccd, "full_name": v.is_valid_full_name,
        "family_name": v.is_valid_family_name, "middle_name": v.is_valid_middle_name,
        "given_name": v.is_valid_given_name, "gender": v.is_valid_gender,
        "date_of_birth": _is_adult_iso_date,
        "birth_province_code": v.is_valid_birth_province_code,
        "residence_province": v.is_valid_residence_province, "commune": v.is_valid_commune,
        "ward_code": v.is_valid_ward_code,
        "address": v.is_valid_address, "phone": v.is_valid_phone, "email": v.is_valid_email,
        "vneid_level": lambda text: text in ("1", "2"),
        "payment_channel": v.is_valid_payment_channel, "literacy": v.is_valid_literacy,
    }  # fmt: skip
    return checks


def _is_adult_iso_date(text: str) -> bool:
    try:
        born = dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10 and v.is_valid_date_of_birth(born)


_CENTURY_GENDER = {
    (c, g): str(2 * (int(c) - 19) + (g == "female"))
    for c in ("19", "20", "21")
    for g in ("male", "female")
}


def _row_problem(row: tuple[str, ...]) -> tuple[str, str] | None:
    """(field, message) for the first disagreement between fields of one row, or None."""
    (cccd, full, family, middle, given, gender, born, code, residence, commune, ward, address) = row
    if (
        cccd[:3] != code
        or cccd[3] != _CENTURY_GENDER.get((born[:2], gender))
        or cccd[4:6] != born[2:4]
    ):
        return "cccd", (
            f"ID number {cccd!r} does not match birth province {code!r}, gender {gender!r} "
            f"and date of birth {born!r}"
        )
    if full != f"{family} {middle} {given}":
        return (
            "full_name",
            f"{full!r} is not family, middle and given name {family!r} {middle!r} {given!r}",
        )
    if not v.is_valid_middle_name(middle, gender=gender):
        return "middle_name", f"{middle!r} is not a middle name for a {gender}"
    if not v.is_valid_address(address, commune=commune, residence_province=residence):
        return "address", f"{address!r} is not in {commune!r}, {residence!r}"
    if not v.is_valid_ward_code(ward, commune=commune, residence_province=residence):
        return "ward_code", f"{ward!r} is not the code of {commune!r} in {residence!r}"
    return None


_ROW_FIELDS = (
    "cccd", "full_name", "family_name", "middle_name", "given_name", "gender", "date_of_birth",
    "birth_province_code", "residence_province", "commune", "ward_code", "address",
)  # fmt: skip


def _validate(columns: dict[str, list[str]], source: str, header_lines: int) -> None:
    """Field validators on each distinct value, agreement between fields, unique ID numbers.

    E-mail addresses are checked for syntax only (not against the name) to keep reading fast.
    """
    for name, valid in _field_validators().items():
        bad = next((x for x in dict.fromkeys(columns[name]) if not valid(x)), None)
        if bad is not None:
            line = columns[name].index(bad) + 1 + header_lines
            raise ConfigError(f"invalid value {bad!r}", source=source, line=line, field=name)
    rows = zip(*(columns[name] for name in _ROW_FIELDS), strict=True)
    for index, row in enumerate(rows):
        problem = _row_problem(row)
        if problem is not None:
            field, message = problem
            raise ConfigError(message, source=source, line=index + 1 + header_lines, field=field)
    if len(set(columns["cccd"])) != len(columns["cccd"]):
        seen: set[str] = set()
        for index, cccd in enumerate(columns["cccd"]):
            if cccd in seen:
                line = index + 1 + header_lines
                raise ConfigError(
                    f"duplicate ID number {cccd!r}", source=source, line=line, field="cccd"
                )
            seen.add(cccd)
