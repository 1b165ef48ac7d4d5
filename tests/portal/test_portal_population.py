"""Reading population files (CSV, JSON Lines) into the citizens table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dvcschema.errors import ConfigError
from portal.population import load_population, read_population
from portal.storage import Database

CSV = """\
cccd,full_name,vneid_level,gender
001203000111,Nguyễn Văn An,2,male
079305000222,Trần Thị Hạnh,1,female
001190000333,Lê Văn Bình,0,male
"""


def test_csv_population_is_read_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")  # a BOM is tolerated
    rows = list(read_population(path))
    assert [line for line, _ in rows] == [2, 3, 4]
    assert rows[1][1].full_name == "Trần Thị Hạnh"
    assert [c.vneid_level for _, c in rows] == [2, 1, 0]


def test_load_population_replaces_the_citizens_table(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    rows = [
        {"cccd": "001203000111", "full_name": "Nguyễn Văn An", "vneid_level": 2},
        {"cccd": "079305000222", "full_name": "Trần Thị Hạnh", "vneid_level": "1", "x": 5},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")
    database = Database(tmp_path / "db.sqlite")
    try:
        database.call(lambda c: c.execute("INSERT INTO citizens VALUES ('1', 'old', 1)"))
        assert database.call(load_population, path) == 2
        stored = database.call(lambda c: c.execute("SELECT * FROM citizens ORDER BY 1").fetchall())
    finally:
        database.close()
    assert stored == [("001203000111", "Nguyễn Văn An", 2), ("079305000222", "Trần Thị Hạnh", 1)]


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("p.csv", "cccd,full_name\n001203000111,An\n", "p.csv:1: missing column(s) vneid_level"),
        ("p.csv", CSV.replace("079305000222", "0793050"), "p.csv:3: cccd: '0793050' is not 12"),
        ("p.csv", CSV.replace(",1,female", ",3,female"), "p.csv:3: vneid_level: '3' is not"),
        ("p.csv", CSV.replace(",1,female", ",,female"), "p.csv:3: vneid_level: missing value"),
        ("p.csv", CSV + "001203000111,Again,1,male\n", "p.csv:5: cccd: '001203000111' appears"),
        ("p.csv", "cccd,full_name,vneid_level\n", "p.csv: the population file has no citizens"),
        ("p.jsonl", '{"cccd": "001203000111"\n', "p.jsonl:1: bad JSON"),
        ("p.jsonl", "[1, 2]\n", "p.jsonl:1: expected one JSON object per line"),
        ("p.txt", "anything", "p.txt: --population: unknown population format '.txt'"),
    ],
)
def test_malformed_population_is_one_located_line(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    database = Database(None)
    try:
        with pytest.raises(ConfigError) as caught:
            database.call(load_population, path)
    finally:
        database.close()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path)), message
    assert needle in message, message


def test_population_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"cccd,full_name,vneid_level\n001203000111,Nguy\xe1n,1\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        list(read_population(path))
