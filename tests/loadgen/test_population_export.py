"""Writing populations to CSV and JSON Lines and reading them back."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from dvcschema.errors import ConfigError
from loadgen.citizen import FIELD_NAMES
from loadgen.export import read_population, write_population
from loadgen.population import Population, generate_population
from loadgen.render import Const, Field, single_part


@pytest.fixture(scope="module")
def people() -> Population:
    return generate_population(8_000, seed=42)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_is_exactly_what_the_csv_module_writes(people: Population, tmp_path: Path) -> None:
    write_population(people, tmp_path / "p.csv")
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(FIELD_NAMES)
    writer.writerows(zip(*(people.column(n) for n in FIELD_NAMES), strict=True))
    assert (tmp_path / "p.csv").read_bytes() == expected.getvalue().encode("utf-8")


def test_jsonl_lines_are_the_citizens(people: Population, tmp_path: Path) -> None:
    write_population(people, tmp_path / "p.jsonl")
    lines = (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(people)
    for line, citizen in zip(lines, people, strict=True):
        record = json.loads(line)
        assert list(record) == list(FIELD_NAMES)
        assert record == citizen.as_dict()
        assert isinstance(record["vneid_level"], int)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_same_seed_gives_identical_bytes(suffix: str, tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_population(generate_population(3_000, seed=9), tmp_path / f"{name}{suffix}")
    write_population(generate_population(3_000, seed=10), tmp_path / f"c{suffix}")
    assert digest(tmp_path / f"a{suffix}") == digest(tmp_path / f"b{suffix}")
    assert digest(tmp_path / f"a{suffix}") != digest(tmp_path / f"c{suffix}")


def test_partition_files_concatenate_to_the_whole_file(tmp_path: Path) -> None:
    write_population(generate_population(9_000, seed=5), tmp_path / "all.csv")
    body = b""
    for k in range(4):
        path = tmp_path / f"part{k}.csv"
        write_population(generate_population(9_000, seed=5, partition=(k, 4)), path)
        header, _, rows = path.read_bytes().partition(b"\n")
        body += rows
    assert header + b"\n" + body == (tmp_path / "all.csv").read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".CSV"])
def test_round_trip_keeps_every_citizen_and_byte(
    people: Population, suffix: str, tmp_path: Path
) -> None:
    first, second = tmp_path / f"first{suffix}", tmp_path / f"second{suffix}"
    write_population(people, first)
    loaded = read_population(first)
    assert len(loaded) == len(people)
    assert loaded.citizens() == people.citizens()
    write_population(loaded, second)
    assert first.read_bytes() == second.read_bytes()


def test_csv_quotes_only_values_that_need_it(tmp_path: Path) -> None:
    people = generate_population(50, seed=1)
    fields = dict(people.fields)
    odd = ['He said "hi", twice'] + ["plain"] * 49
    fields["literacy"] = single_part(odd)
    fields["commune"] = Field((Const("Xã "), *single_part(["A,B"] * 50).parts))
    write_population(Population(fields, 50), tmp_path / "odd.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "odd.csv").read_text(encoding="utf-8"))))
    assert rows[1][FIELD_NAMES.index("literacy")] == 'He said "hi", twice'
    assert rows[2][FIELD_NAMES.index("literacy")] == "plain"
    assert rows[1][FIELD_NAMES.index("commune")] == "Xã A,B"
    text = (tmp_path / "odd.csv").read_text(encoding="utf-8")
    assert ',"He said ""hi"", twice"\n' in text and ",plain\n" in text


def test_write_refuses_unknown_extension_and_missing_folder(
    people: Population, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"unknown extension '\.json'; use one of \.csv, \.jsonl"):
        write_population(people, tmp_path / "p.json")
    with pytest.raises(ConfigError, match="cannot write"):
        write_population(people, tmp_path / "missing" / "p.csv")
    assert list(tmp_path.iterdir()) == []  # no half-written or temporary file left


def good_csv(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "good.csv"
    write_population(generate_population(20, seed=8), path)
    return path, path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[:1], "no citizens"),
        (lambda lines: [], "empty file"),
        (lambda lines: [lines[0].replace("cccd", "id"), *lines[1:]], r"columns missing \['cccd'\]"),
        (
            lambda lines: [lines[0] + ",extra"] + [line + ",x" for line in lines[1:]],
            r"columns unknown \['extra'\]",
        ),
        (lambda lines: [lines[0], lines[1] + ",x"], ":2: wrong number of values"),
        (
            lambda lines: [lines[0], lines[1].replace(",male,", ",man,")],
            ":2: gender: invalid value 'man'",
        ),
        (lambda lines: [lines[0], lines[1], lines[1]], ":3: cccd: duplicate ID number"),
        (lambda lines: [lines[0], "9" + lines[1][1:]], ":2: cccd: invalid value"),
    ],
)
def test_read_reports_a_bad_csv_in_one_line(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    _, lines = good_csv(tmp_path)
    bad = tmp_path / "bad.csv"
    edited = edit(lines)
    bad.write_text("".join(f"{line}\n" for line in edited), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        read_population(bad)
    assert "\n" not in str(caught.value) and str(bad) in str(caught.value)


def _flip_gender(row: dict[str, str]) -> None:
    row["gender"] = "female" if row["gender"] == "male" else "male"
    row["middle_name"] = "Minh"


def _swap_family(row: dict[str, str]) -> None:
    row["family_name"] = "Trần" if row["family_name"] != "Trần" else "Lê"


def _wrong_middle(row: dict[str, str]) -> None:
    row["middle_name"] = "Thị" if row["gender"] == "male" else "Văn"


def _move(row: dict[str, str]) -> None:
    row["residence_province"] = "Huế" if row["residence_province"] != "Huế" else "Hà Nội"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_flip_gender, r"cccd: ID number '\d{12}' does not match birth province"),
        (_swap_family, "full_name: .* is not family, middle and given name"),
        (_wrong_middle, "middle_name: '(Thị|Văn)' is not a middle name for a (male|female)"),
        (_move, "address: .* is not in"),
    ],
)
def test_read_checks_fields_against_each_other(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    _, lines = good_csv(tmp_path)
    row = dict(zip(FIELD_NAMES, next(csv.reader([lines[1]])), strict=True))
    edit(row)
    if edit is not _swap_family:
        row["full_name"] = f"{row['family_name']} {row['middle_name']} {row['given_name']}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row.values())
    bad = tmp_path / "bad.csv"
    bad.write_text(lines[0] + "\n" + out.getvalue(), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"bad.csv:2: {message}"):
        read_population(bad)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json}\n", ":1: malformed JSON"),
        ("[1, 2]\n", ":1: each line must be a JSON object"),
        ('{"cccd": "1"}\n', r":1: columns missing"),
        ('{"cccd": "1", "cccd": "2"}\n', r":1: malformed JSON: duplicate keys \['cccd'\]"),
    ],
)
def test_read_reports_a_bad_jsonl_in_one_line(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_population(bad)


def test_read_jsonl_requires_a_numeric_vneid_level(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    write_population(generate_population(3, seed=1), path)
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    record["vneid_level"] = "2"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="vneid_level: must be a number"):
        read_population(path)


def test_read_refuses_missing_file_binary_and_bad_extension(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_population(tmp_path / "nope.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_population(tmp_path / "bin.csv")
    with pytest.raises(ConfigError, match="unknown extension"):
        read_population(tmp_path / "p.parquet")
