"""Generating populations: validity, ID structure, uniqueness, partitions, reproducibility."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dvcschema.errors import ConfigError
from loadgen import cccd
from loadgen.citizen import (
    FIELD_NAMES,
    citizen_errors,
    is_valid_cccd,
    is_valid_email,
    is_valid_full_name,
    is_valid_phone,
)
from loadgen.population import BLOCK_SIZE, Population, generate_population

SEED = 20250701


@pytest.fixture(scope="module")
def people() -> Population:
    return generate_population(100_000, seed=SEED)


@pytest.fixture(scope="module")
def columns(people: Population) -> dict[str, list[str]]:
    return {name: people.column(name) for name in FIELD_NAMES}


def test_every_citizen_of_100k_passes_every_validator(people: Population) -> None:
    failures = [(c.cccd, errors) for c in people if (errors := citizen_errors(c))]
    assert failures == []
    assert len(people) == 100_000


def test_each_field_validator_accepts_the_whole_column(columns: dict[str, list[str]]) -> None:
    assert all(map(is_valid_cccd, columns["cccd"]))
    assert all(map(is_valid_phone, columns["phone"]))
    assert all(map(is_valid_full_name, columns["full_name"]))
    assert all(map(is_valid_email, columns["email"]))


def test_cccd_structure_matches_birth_year_gender_and_province(
    columns: dict[str, list[str]],
) -> None:
    cccd = np.array(columns["cccd"])
    born = np.array(columns["date_of_birth"])
    female = np.array(columns["gender"]) == "female"
    years = born.astype("datetime64[Y]").astype(int) + 1970
    expected_digit4 = (years // 100 - 19) * 2 + female
    assert np.all(np.char.str_len(cccd) == 12)
    assert np.array_equal(cccd.astype("U3"), np.array(columns["birth_province_code"]))
    assert np.array_equal(np.array([int(c[3]) for c in columns["cccd"]]), expected_digit4)
    assert np.array_equal(np.array([int(c[4:6]) for c in columns["cccd"]]), years % 100)
    assert set(expected_digit4.tolist()) == {0, 1, 2, 3}  # both centuries and genders occur


def test_no_woman_is_van_and_no_man_is_thi(columns: dict[str, list[str]]) -> None:
    pairs = set(zip(columns["gender"], columns["middle_name"], strict=True))
    assert ("female", "Văn") not in pairs and ("male", "Thị") not in pairs
    assert ("male", "Văn") in pairs and ("female", "Thị") in pairs


def test_full_name_is_family_middle_given(columns: dict[str, list[str]]) -> None:
    parts = zip(columns["family_name"], columns["middle_name"], columns["given_name"], strict=True)
    assert columns["full_name"] == [f"{f} {m} {g}" for f, m, g in parts]


def test_citizen_by_index_matches_iteration_and_columns(
    people: Population, columns: dict[str, list[str]]
) -> None:
    listed = people.citizens(BLOCK_SIZE - 10, BLOCK_SIZE + 10)  # across a block boundary
    assert listed == [people.citizen(i) for i in range(BLOCK_SIZE - 10, BLOCK_SIZE + 10)]
    assert people.citizens(99_990) == [people.citizen(i) for i in range(-10, 0)]
    for i in [0, 1, 777, BLOCK_SIZE - 1, BLOCK_SIZE, 99_999, -1]:
        c = people.citizen(i)
        assert c.as_dict() == {
            name: columns[name][i] if name != "vneid_level" else int(columns[name][i])
            for name in FIELD_NAMES
        }
    with pytest.raises(IndexError):
        people.citizen(100_000)


def test_cccd_unique_in_a_million_and_across_four_partitions() -> None:
    whole = generate_population(1_000_000, seed=SEED)
    numbers = whole.column("cccd")
    assert len(set(numbers)) == 1_000_000
    parts = [generate_population(1_000_000, seed=SEED, partition=(k, 4)) for k in range(4)]
    assert [len(p) for p in parts] == [250_000] * 4
    from_parts = [c for p in parts for c in p.column("cccd")]
    assert len(set(from_parts)) == 1_000_000
    assert from_parts == numbers  # the partitions are exactly the population, in order


def test_partitions_are_slices_of_the_population() -> None:
    whole = generate_population(10_001, seed=7)
    parts = [generate_population(10_001, seed=7, partition=(k, 3)) for k in range(3)]
    assert [p.first_index for p in parts] == [0, 3333, 6667]
    assert sum(len(p) for p in parts) == len(whole)
    for p in parts:
        assert p.citizens() == whole.citizens(p.first_index, p.first_index + len(p))


def test_smaller_population_is_a_prefix_of_a_larger_one() -> None:
    small = generate_population(1_000, seed=3)
    large = generate_population(BLOCK_SIZE + 5_000, seed=3)
    assert small.citizens() == large.citizens(0, 1_000)


def test_same_seed_same_citizens_other_seed_others() -> None:
    a = generate_population(5_000, seed=1)
    assert a.citizens() == generate_population(5_000, seed=1).citizens()
    other = generate_population(5_000, seed=2).column("cccd")
    assert len(set(a.column("cccd")) & set(other)) < 10


def test_serials_run_out_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cccd, "SERIAL_SPACE", 3)
    with pytest.raises(ConfigError, match=r"more than 3 citizens share the ID-number prefix \d{6}"):
        generate_population(20_000, seed=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, "size: must be an integer from 1 to 50,000,000"),
        ({"size": 50_000_001}, "size: must be an integer"),
        ({"size": 10.0}, "size: must be an integer"),
        ({"seed": -1}, "seed: must be a non-negative integer"),
        ({"seed": True}, "seed: must be a non-negative integer"),
        ({"partition": (4, 4)}, r"partition: must be \(k, n\) with 0 <= k < n"),
        ({"partition": (-1, 4)}, "partition: must be"),
        ({"partition": (0, 0)}, "partition: must be"),
        ({"partition": (0,)}, "partition: must be"),
        ({"size": 3, "partition": (0, 4)}, "leave some empty"),
    ],
)
def test_generate_population_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"size": 100, "seed": 1} | kwargs
    with pytest.raises(ConfigError, match=message):
        generate_population(**arguments)  # type: ignore[arg-type]


def test_population_repr_len_and_memory() -> None:
    p = generate_population(1_000, seed=4, partition=(1, 2))
    assert repr(p) == "Population(size=500, seed=4, partition=(1, 2))"
    assert len(p) == 500 == len(list(p))
    assert 0 < p.nbytes < 10_000_000
    assert p.column("gender", 10, 10) == [] and p.citizens(5, 2) == []
    with pytest.raises(KeyError, match="unknown field 'name'"):
        p.column("name")


def test_dates_of_birth_are_adults_at_the_reference_date(columns: dict[str, list[str]]) -> None:
    born = [dt.date.fromisoformat(d) for d in columns["date_of_birth"]]
    assert min(born) >= dt.date(1924, 7, 2) and max(born) <= dt.date(2007, 7, 1)
