"""Citizens' wards: the official list of the 34 units, drawing, the export and its reading.

The package's own Python API (``Province``, ``Ward``) is the reference here; the
generator reads the package's JSON data, so the two are checked against each other.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from vietnam_provinces import Province, Ward

from dvcschema.errors import ConfigError
from loadgen import addresses
from loadgen.addresses import UNINHABITED_WARD_CODES, official_wards, sample_wards
from loadgen.citizen import FIELD_NAMES
from loadgen.export import read_population, write_population
from loadgen.geography import URBAN_SHARE, geography, match_units, normalised_unit_name
from loadgen.population import Population, generate_population

SEED = 20250701
N_OFFICIAL_WARDS = 3_321  # after the July 2025 arrangement


def official_name(name: str) -> str:
    """The package's name with runs of spaces made one (ten names have two)."""
    return " ".join(name.split())


def package_province_of_unit() -> dict[str, Province]:
    """Each of the 34 residence units -> the package's province of the same name."""
    provinces = {normalised_unit_name(p.name): p for p in Province.iter_all()}
    return {name: provinces[normalised_unit_name(name)] for name in geography().residence_names}


@pytest.fixture(scope="module")
def people() -> Population:
    return generate_population(200_000, seed=SEED)


@pytest.fixture(scope="module")
def columns(people: Population) -> dict[str, np.ndarray]:
    names = ("residence_province", "commune", "ward_code", "address")
    return {name: np.array(people.column(name)) for name in names}


def test_each_of_the_34_units_has_an_official_province_with_urban_and_rural_wards() -> None:
    wards = official_wards()
    geo = geography()
    assert len(wards.names) == N_OFFICIAL_WARDS
    assert len(set(wards.codes)) == N_OFFICIAL_WARDS
    by_unit = package_province_of_unit()
    assert len({p.code for p in by_unit.values()}) == 34
    for unit, name in enumerate(geo.residence_names):
        province = by_unit[name]
        expected = {
            (f"{w.code:05d}", official_name(w.name)) for w in Ward.iter_by_province(province.code)
        }
        mine = {(wards.codes[i], wards.names[i]) for i in np.flatnonzero(wards.unit == unit)}
        assert mine == expected, name
        urban, rural = wards.pool(unit, True), wards.pool(unit, False)
        assert len(urban) > 0 and len(rural) > 0, f"{name} has no ward to draw"
        assert all(wards.names[i].startswith("Phường ") for i in urban), name
        assert not any(wards.names[i].startswith("Phường ") for i in rural), name


def test_units_match_by_code_then_by_normalised_name() -> None:
    geo = geography()
    official = [
        (int(c), f"Tỉnh {n}")
        for n, c in zip(geo.residence_names, geo.residence_admin_codes, strict=True)
    ]
    assert match_units(official, source="test") == tuple(range(34))
    # Codes shuffled (another numbering) and tone marks placed the old way: names decide.
    renamed = [(100 + i, n.replace("Hòa", "Hoà")) for i, (_, n) in enumerate(official)]
    assert match_units(renamed[::-1], source="test") == tuple(range(33, -1, -1))
    # A code that now belongs to another name does not win over the name.
    swapped = [(official[1][0], official[0][1]), (official[0][0], official[1][1]), *official[2:]]
    assert match_units(swapped, source="test") == tuple(range(34))


def test_a_unit_without_an_official_province_fails_loudly() -> None:
    geo = geography()
    official = [
        (int(c), n) for n, c in zip(geo.residence_names, geo.residence_admin_codes, strict=True)
    ]
    with pytest.raises(ConfigError, match=r"src: no province for 'Huế' \(code 46\) among 33"):
        match_units([p for p in official if p[1] != "Huế"], source="src")


def test_a_unit_without_wards_to_draw_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    real = addresses._read_provinces

    def without_wards_of_lai_chau(source: str) -> list[dict[str, object]]:
        provinces = real(source)
        for province in provinces:
            if province["name"] == "Lai Châu":
                province["wards"] = [w for w in province["wards"] if w["division_type"] != "phường"]  # type: ignore[union-attr]
        return provinces

    monkeypatch.setattr(addresses, "_read_provinces", without_wards_of_lai_chau)
    with pytest.raises(ConfigError, match=r"no ward to draw for Lai Châu \(urban\)"):
        official_wards.__wrapped__()


def test_a_missing_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="vietnam-provinces package is not installed"):
        official_wards.__wrapped__()


def test_every_exported_ward_is_official_and_in_the_residence_province(
    people: Population, tmp_path: Path
) -> None:
    write_population(people, tmp_path / "p.csv")
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(FIELD_NAMES)
    by_unit = package_province_of_unit()
    pairs = Counter(
        (r["ward_code"], r["commune"], r["residence_province"], r["address"].split(", ")[1])
        for r in rows
    )
    for (code, commune, residence, in_address), _ in pairs.items():
        assert len(code) == 5 and code.isdigit(), code
        ward = Ward.from_code(int(code))  # ValueError for a code not in the official list
        assert official_name(ward.name) == commune
        assert ward.province_code == by_unit[residence].code, (commune, residence)
        assert in_address == commune
    assert not {code for code, *_ in pairs} & UNINHABITED_WARD_CODES


def test_wards_follow_the_urban_share_and_spread_over_each_pool(
    columns: dict[str, np.ndarray],
) -> None:
    wards = official_wards()
    residence, commune = columns["residence_province"], columns["commune"]
    code_index = np.array([wards.by_code[c] for c in columns["ward_code"]])
    tested = 0
    for unit, name in enumerate(geography().residence_names):
        mine = residence == name
        urban = np.char.startswith(commune[mine], "Phường ")
        assert urban.mean() == pytest.approx(URBAN_SHARE[name], abs=0.05), name
        drawn = code_index[mine]
        assert len(set(drawn.tolist())) > 1, f"{name}: one ward for {mine.sum()} citizens"
        for is_urban in (True, False):
            pool = wards.pool(unit, is_urban)
            counts = np.bincount(drawn[urban == is_urban] - pool.start, minlength=len(pool))
            assert counts.size == len(pool), name  # nothing outside the pool
            if counts.sum() >= 20 * len(pool):  # enough draws to test uniformity
                assert stats.chisquare(counts).pvalue > 1e-4, (name, is_urban)
                assert counts.min() > 0, (name, is_urban)
                tested += 1
    assert tested >= 60  # pools with enough draws (65 of 68 at this size)


def test_sample_wards_stays_in_its_pool_and_is_reproducible() -> None:
    wards = official_wards()
    rng = np.random.default_rng(1)
    unit = rng.integers(0, 34, 50_000)
    urban = rng.random(50_000) < 0.5
    drawn = sample_wards(unit, urban, 7)
    assert drawn.dtype == np.uint16
    assert np.array_equal(drawn, sample_wards(unit, urban, 7))
    start = wards.pool_start[unit, np.where(urban, 0, 1)]
    size = wards.pool_size[unit, np.where(urban, 0, 1)]
    assert np.all((drawn >= start) & (drawn < start + size))


def test_same_seed_same_file_in_another_process(tmp_path: Path) -> None:
    here = tmp_path / "here.csv"
    write_population(generate_population(40_000, seed=SEED), here)
    for hash_seed in ("1", "2"):
        out = tmp_path / f"cli{hash_seed}.csv"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dvcload",
                "population",
                "--size",
                "40000",
                "--seed",
                str(SEED),
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert out.read_bytes() == here.read_bytes()


def test_the_ward_list_is_read_lazily_and_without_the_package_module() -> None:
    script = (
        "import sys\n"
        "from dvcload.cli import main\n"
        "from loadgen import addresses, export, population\n"
        "assert addresses.official_wards.cache_info().currsize == 0\n"
        "population.generate_population(10, seed=1)\n"
        "assert addresses.official_wards.cache_info().currsize == 1\n"
        "assert 'vietnam_provinces' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_reading_refuses_a_ward_code_of_another_province(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_population(generate_population(50, seed=SEED), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    row = next(csv.reader([lines[1]]))
    index = FIELD_NAMES.index("ward_code")
    row[index] = "00070" if row[index] != "00070" else "26740"  # Hoàn Kiếm or Sài Gòn
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    path.write_text(lines[0] + "\n" + out.getvalue(), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p.csv:2: ward_code: '\d{5}' is not the code of"):
        read_population(path)
