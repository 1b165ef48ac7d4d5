"""Fuzzing with raw data: random bytes fed to every file reader, damaged population files
(CSV and JSON Lines), and command-line arguments of ``dvcload run`` parsed and resolved
in-process. Every case loads or fails with one clean line."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fuzz_inputs import (
    NASTY_TEXT,
    NASTY_VALUES,
    SCALARS,
    SCENARIOS,
    Tally,
    fuzz_settings,
    loads_or_fails_cleanly,
    mutate_text,
    resolve_run_arguments,
)
from hypothesis import example, given
from hypothesis import strategies as st

from dvcschema.budgets import load_budgets_file
from dvcschema.scenario import load_scenario
from loadgen.citizen import FIELD_NAMES
from loadgen.export import read_population, write_population
from loadgen.population import generate_population
from portal.config import load_config
from portal.population import load_population
from portal.storage import SCHEMA

YAML_READERS: dict[str, Callable[[Path], object]] = {
    "scenario": load_scenario,
    "budgets": load_budgets_file,
    "portal": load_config,
}
ALIAS_BOMB = (  # "billion laughs": nine levels of nine aliases
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
).encode()


def load_into_portal(path: Path) -> int:
    """``dvcload portal --population FILE``: the portal's own reader, into SQLite."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    try:
        connection.executescript(SCHEMA)
        return load_population(connection, path)
    finally:
        connection.close()


POPULATION_READERS: tuple[Callable[[Path], object], ...] = (read_population, load_into_portal)


@pytest.fixture
def populations(tmp_path: Path) -> dict[str, str]:
    """A small valid population as CSV and as JSON Lines text."""
    population = generate_population(8, seed=5)
    texts = {}
    for suffix in (".csv", ".jsonl"):
        path = tmp_path / f"valid{suffix}"
        write_population(population, path)
        texts[suffix] = path.read_text(encoding="utf-8")
    return texts


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_the_valid_populations_load(
    tmp_path: Path, populations: dict[str, str], suffix: str
) -> None:
    path = tmp_path / f"again{suffix}"
    path.write_text(populations[suffix], encoding="utf-8")
    assert len(read_population(path)) == 8


def test_random_bytes_fail_cleanly_in_every_reader(tmp_path: Path) -> None:
    tally = Tally("random_bytes")

    @fuzz_settings(tally.name)
    @given(
        st.one_of(
            st.binary(max_size=2048),
            st.text(alphabet=":-[]{},#&*!|>'\"%@`\n\t abc19.", max_size=300).map(str.encode),
            st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        )
    )
    @example(b"[" * 900 + b"]" * 900)
    @example(b"a:\n" + b"  " * 3000 + b"b: 1\n")
    @example(ALIAS_BOMB)
    @example(b"\xef\xbb\xbfname: x\n")
    @example(b"name: smoke\x00\n")
    @example(b"\xff\xfe\x00n\x00a")
    @example(b"---\nname: a\n---\nname: b\n")
    def check(data: bytes) -> None:
        tally.count += 1
        for name, reader in YAML_READERS.items():
            path = tmp_path / f"{name}.yaml"
            path.write_bytes(data)
            loads_or_fails_cleanly(lambda reader=reader, path=path: reader(path))
        for suffix in (".csv", ".jsonl", ".txt"):
            path = tmp_path / f"population{suffix}"
            path.write_bytes(data)
            for reader in POPULATION_READERS:
                loads_or_fails_cleanly(lambda reader=reader, path=path: reader(path))

    check()
    tally.check()


def test_readers_refuse_folders_and_missing_files(tmp_path: Path) -> None:
    for reader in (*YAML_READERS.values(), *POPULATION_READERS):
        assert not loads_or_fails_cleanly(lambda reader=reader: reader(tmp_path))
        assert not loads_or_fails_cleanly(lambda reader=reader: reader(tmp_path / "no.csv"))


# -- cases found by fuzzing ----------------------------------------------------------------
DEEP = b"[" * 100_000
# The same bomb as the value of a field: its repr() (once in every message) is exponential.
BOMB_AS_USERS = b"name: bomb\n" + ALIAS_BOMB.replace(b"\n", b"\n  ").replace(
    b"a:", b"junk:\n  a:", 1
)
BOMB_AS_USERS = BOMB_AS_USERS.rstrip(b" ") + b"load:\n  users: *i\n"
BOMB_AS_BUDGET = ALIAS_BOMB + b"budgets:\n  total: *i\n"
BOMB_AS_SEED = ALIAS_BOMB + b"seed: *i\n"
SURROGATE = b'{"cccd": "001203000001", "full_name": "\\ud800", "vneid_level": 1}\n'
HUGE_FIELD = b"x" * (5 * 1024 * 1024)  # one CSV field over csv's 128 KiB limit; > 4 MiB of YAML
FOUND_CASES = [
    pytest.param("scenario", ".yaml", DEEP, id="deep-yaml-scenario"),
    pytest.param("budgets", ".yaml", DEEP, id="deep-yaml-budgets"),
    pytest.param("portal", ".yaml", DEEP, id="deep-yaml-portal"),
    pytest.param("export", ".csv", DEEP, id="deep-csv-export"),
    pytest.param("export", ".jsonl", DEEP, id="deep-jsonl-export"),
    pytest.param("portal-population", ".jsonl", DEEP, id="deep-jsonl-portal"),
    pytest.param("export", ".jsonl", SURROGATE, id="surrogate-export"),
    pytest.param("portal-population", ".jsonl", SURROGATE, id="surrogate-portal"),
    pytest.param("scenario", ".yaml", HUGE_FIELD, id="huge-yaml-scenario"),
    pytest.param("export", ".csv", HUGE_FIELD, id="huge-csv-export"),
    pytest.param("portal-population", ".csv", HUGE_FIELD, id="huge-csv-portal"),
    pytest.param("scenario", ".yaml", BOMB_AS_USERS, id="alias-bomb-as-load-users"),
    pytest.param("budgets", ".yaml", BOMB_AS_BUDGET, id="alias-bomb-as-a-budget"),
    pytest.param("portal", ".yaml", BOMB_AS_SEED, id="alias-bomb-as-portal-seed"),
]


@pytest.mark.parametrize(("reader", "suffix", "data"), FOUND_CASES)
def test_inputs_found_by_fuzzing_fail_cleanly(
    tmp_path: Path, reader: str, suffix: str, data: bytes
) -> None:
    readers = {**YAML_READERS, "export": read_population, "portal-population": load_into_portal}
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    started = time.perf_counter()
    assert not loads_or_fails_cleanly(lambda: readers[reader](path))
    assert time.perf_counter() - started < 30.0  # a runaway, not a timing


@pytest.mark.parametrize("reader", [*YAML_READERS, "portal-population"])
def test_readers_refuse_a_fifo_and_a_device_at_once(tmp_path: Path, reader: str) -> None:
    """(``loadgen.export.read_population``, which no command uses on a user's path,
    still opens a FIFO and waits for a writer.)"""
    readers = {**YAML_READERS, "portal-population": load_into_portal}
    fifo = tmp_path / "input.csv"
    os.mkfifo(fifo)
    device = tmp_path / "device.csv"
    device.symlink_to("/dev/zero")
    for path in (fifo, device):
        started = time.perf_counter()
        assert not loads_or_fails_cleanly(lambda path=path: readers[reader](path))
        assert time.perf_counter() - started < 30.0  # a runaway, not a timing


# -- population files ---------------------------------------------------------------------
def _damage_csv(draw: st.DrawFn, text: str) -> str:
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error:
        rows = []
    if not rows:  # already too damaged to edit by field
        return mutate_text(draw, text)
    row = draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = draw(st.integers(min_value=0, max_value=len(rows[row]) - 1))
    rows[row][column] = str(draw(st.one_of(NASTY_TEXT, SCALARS)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _damage_jsonl(draw: st.DrawFn, text: str) -> str:
    try:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError:
        records = []
    if not records or not all(isinstance(r, dict) for r in records):
        return mutate_text(draw, text)
    record = draw(st.sampled_from(records))
    key = draw(st.sampled_from([*FIELD_NAMES, "extra"]))
    if draw(st.booleans()):
        record[key] = draw(NASTY_VALUES)
    else:
        record.pop(key, None)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


@st.composite
def damaged_population(draw: st.DrawFn, texts: dict[str, str]) -> tuple[str, str]:
    suffix = draw(st.sampled_from([".csv", ".jsonl"]))
    text = texts[suffix]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        damage = _damage_csv if suffix == ".csv" else _damage_jsonl
        choice = draw(st.integers(min_value=0, max_value=2))
        text = damage(draw, text) if choice else mutate_text(draw, text)
    return suffix, text


def test_damaged_population_files_load_or_fail_cleanly(
    tmp_path: Path, populations: dict[str, str]
) -> None:
    tally = Tally("population_files")

    @fuzz_settings(tally.name)
    @given(damaged_population(populations))
    def check(case: tuple[str, str]) -> None:
        suffix, text = case
        path = tmp_path / f"population{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        tally.count += 1
        for reader in POPULATION_READERS:
            loads_or_fails_cleanly(lambda reader=reader: reader(path))

    check()
    tally.check()


# -- command-line arguments ----------------------------------------------------------------
RUN_OPTIONS = ["--target", "--duration", "--users", "--seed", "--out", "--allow-target",
               "--arrival-rate", "--processes", "--master", "--master-bind",
               "--master-port"]  # fmt: skip
OPTION_VALUES = st.one_of(
    NASTY_TEXT,
    st.text(max_size=20),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["0", "1", "2s", "1.5", "1e3", "nan", "-inf", "embedded", "65536"]),
).filter(lambda v: not re.match(r"-+[hv]", v) and "\x00" not in v)


@st.composite
def run_argv(draw: st.DrawFn, scenario: str) -> list[str]:
    argv = ["run", draw(st.sampled_from([scenario, "missing.yaml", "."]))]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        argv += [draw(st.sampled_from(RUN_OPTIONS)), draw(OPTION_VALUES)]
    return argv


def test_run_arguments_resolve_or_fail_cleanly() -> None:
    tally = Tally("run_arguments")
    smoke = str(next(p for p in SCENARIOS if p.stem == "smoke"))

    @fuzz_settings(tally.name)
    @given(run_argv(smoke))
    def check(argv: list[str]) -> None:
        tally.count += 1
        loads_or_fails_cleanly(lambda: resolve_run_arguments(argv))

    check()
    tally.check()


def test_an_argument_with_a_line_break_is_refused_on_one_line() -> None:
    smoke = str(next(p for p in SCENARIOS if p.stem == "smoke"))
    assert not loads_or_fails_cleanly(lambda: resolve_run_arguments(["run", smoke, "a\nb"]))


def test_argument_checks_see_what_the_command_line_refuses() -> None:
    smoke = str(next(p for p in SCENARIOS if p.stem == "smoke"))
    cases: list[list[str]] = [
        ["run", smoke, "--processes", "0"],
        ["run", smoke, "--users", "lots"],
        ["run", smoke, "--duration", "-1s"],
        ["run", smoke, "--target", "http://10.255.255.1:8080"],
        ["run", smoke, "--frobnicate"],
    ]
    for argv in cases:
        assert not loads_or_fails_cleanly(lambda argv=argv: resolve_run_arguments(argv)), argv
    assert loads_or_fails_cleanly(lambda: resolve_run_arguments(["run", smoke, "--users", "3"]))
