"""Wards and street addresses, after the 2025 reform (no districts: street, ward, province).

Each citizen lives in a real commune-level unit of their residence province, one of the
3,321 in force since 1 July 2025 (687 wards "Phường ...", 2,621 communes "Xã ..." and
13 special zones "Đặc khu ..."), with its official five-digit code, from the
``vietnam-provinces`` package [1]_ (see :func:`official_wards`). An urban citizen lives
in a ward of the province, a rural one in a commune or special zone, each unit of the
pool equally likely (the list has no populations); :data:`UNINHABITED_WARD_CODES` are
never drawn. The 34 units are matched to the package's provinces by code and name (see
:func:`loadgen.geography.match_units`); the package's ten names with a double space are
written with one.

Street words come from Faker's vi_VN address provider: street names, the street words
"Đường"/"Phố" and the lane words "Ngõ"/"Hẻm". An urban citizen lives at a house number
on a street, sometimes down a lane (:data:`LANE_SHARE`, estimate); a rural citizen in a
numbered hamlet. Lanes and hamlets use northern words (Ngõ; Thôn, Xóm) or southern ones
(Hẻm; Ấp) by the unit's admin code (:data:`SOUTHERN_ADMIN_CODE_FROM`, estimate).

An address is written ``"<house>[ <lane>][ <street>], <ward>, <province label>"``, e.g.
``"Số 12 Ngõ 5 Phố Trần Phú, Phường Hoàn Kiếm, Thành phố Hà Nội"`` or
``"Thôn 3, Xã Tân An, Tỉnh Nghệ An"``. Its parts are kept as indices into small
vocabularies so that a million addresses cost a few bytes each until they are written.

References
----------
.. [1] vietnam-provinces (PyPI), the General Statistics Office's list of administrative
   units after Resolution 202/2025/QH15 and the communal-level arrangement resolutions
   of June 2025; names and codes as in its ``data/nested-divisions.json``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from faker.providers.address.vi_VN import Provider as FakerAddressVi

from dvcschema.errors import ConfigError
from loadgen.geography import geography, match_units
from models._rng import RngLike, as_generator

WARD_PREFIX = "Phường"
COMMUNE_PREFIX = "Xã"
WARD_CODE_DIGITS = 5
UNINHABITED_WARD_CODES = frozenset({"20333"})
"""Đặc khu Hoàng Sa (Đà Nẵng): an official unit with no resident population, never drawn."""
URBAN_DIVISION_TYPE = "phường"
"""The package's division type drawn for urban citizens; every other type is rural."""
WARDS_DISTRIBUTION = "vietnam-provinces"
WARDS_PACKAGE = "vietnam_provinces"
WARDS_DATA_FILE = ("data", "nested-divisions.json")
URBAN_POOL, RURAL_POOL, NEVER_DRAWN = 0, 1, 2
MAX_HOUSE_NUMBER = 300
MAX_LANE_NUMBER = 150
MAX_HAMLET_NUMBER = 20
LANE_SHARE = 0.4
"""Share of urban addresses down a lane (ngõ, hẻm); estimate."""
SOUTHERN_ADMIN_CODE_FROM = "56"
"""Units with admin code from 56 (Khánh Hòa) on use Hẻm and Ấp (estimate)."""
NORTHERN_HAMLET_WORDS = ("Thôn", "Xóm")
SOUTHERN_HAMLET_WORD = "Ấp"
NORTHERN_STREET_WORDS = ("Đường", "Phố")
SOUTHERN_STREET_WORD = "Đường"


@dataclass(frozen=True)
class OfficialWards:
    """The official commune-level units of the 34 provinces, in pools to draw from.

    Units are ordered by residence unit (``geography().residence_names`` order), then
    pool (:data:`URBAN_POOL`, :data:`RURAL_POOL`, :data:`NEVER_DRAWN`), then code, so
    that each pool is the contiguous range of indices :meth:`pool`.
    """

    names: tuple[str, ...]  # "Phường Ba Đình": the official name, runs of spaces made one
    codes: tuple[str, ...]  # "00004": the official code, WARD_CODE_DIGITS digits
    unit: npt.NDArray[np.uint8]  # residence unit of each ward
    pool_start: npt.NDArray[np.int64]  # (34, 3): first index of each unit's pools
    pool_size: npt.NDArray[np.int64]  # (34, 3)
    by_code: Mapping[str, int]  # code -> index
    units_by_name: Mapping[str, frozenset[int]]  # name -> residence units having it
    source: str  # "vietnam-provinces 2025.10.1"

    def pool(self, unit: int, urban: bool) -> range:
        """Indices of the wards drawn for a citizen of ``unit`` living in a ward or not."""
        kind = URBAN_POOL if urban else RURAL_POOL
        start = int(self.pool_start[unit, kind])
        return range(start, start + int(self.pool_size[unit, kind]))

    def __repr__(self) -> str:
        return f"OfficialWards(n={len(self.names)}, source={self.source!r})"


def _wards_data_path(source: str) -> Path:
    """The package's JSON data file, found without importing the package.

    Importing ``vietnam_provinces`` builds enums of its 3,321 codes (50-90 ms here); its
    JSON file, the package's documented data form, loads in ~10 ms.
    """
    spec = importlib.util.find_spec(WARDS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the {WARDS_DISTRIBUTION} package is not installed; run 'make install'",
            source=source,
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*WARDS_DATA_FILE)


def _read_provinces(source: str) -> list[dict[str, Any]]:
    path = _wards_data_path(source)
    try:
        provinces: list[dict[str, Any]] = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the ward list {str(path)!r}: {exc}", source=source) from exc
    return provinces


def _ward_rows(provinces: list[dict[str, Any]], source: str) -> list[tuple[int, int, str, str]]:
    """``(unit, pool, code, name)`` of every ward of the 34 units, sorted."""
    official = [(int(p["code"]), str(p["name"])) for p in provinces]
    rows = []
    for unit, index in enumerate(match_units(official, source=source)):
        for ward in provinces[index]["wards"]:
            code = f"{int(ward['code']):0{WARD_CODE_DIGITS}d}"
            pool = URBAN_POOL if ward["division_type"] == URBAN_DIVISION_TYPE else RURAL_POOL
            pool = NEVER_DRAWN if code in UNINHABITED_WARD_CODES else pool
            rows.append((unit, pool, code, " ".join(str(ward["name"]).split())))
    return sorted(rows)


@cache
def official_wards() -> OfficialWards:
    """Read the official wards once per process (lazily: generation and validation only).

    Raises
    ------
    ConfigError
        The package is missing or its data unreadable, one of the 34 units has no
        official province, or a unit has no ward to draw for urban or rural citizens.
    """
    source = f"{WARDS_DISTRIBUTION} {_package_version()}"
    rows = _ward_rows(_read_provinces(source), source)
    n_units = len(geography().residence_names)
    unit = np.array([r[0] for r in rows], dtype=np.uint8)
    key = unit.astype(np.int64) * 3 + np.array([r[1] for r in rows], dtype=np.int64)
    size = np.bincount(key, minlength=n_units * 3)
    start = np.cumsum(size) - size
    size, start = size.reshape(n_units, 3), start.reshape(n_units, 3)
    empty = [
        f"{geography().residence_names[u]} ({'urban' if kind == URBAN_POOL else 'rural'})"
        for u, kind in zip(*np.nonzero(size[:, :NEVER_DRAWN] == 0), strict=True)
    ]
    if empty:
        raise ConfigError(f"no ward to draw for {', '.join(empty)}", source=source)
    units_by_name: dict[str, set[int]] = {}
    for u, _, _, name in rows:
        units_by_name.setdefault(name, set()).add(u)
    return OfficialWards(
        names=tuple(r[3] for r in rows),
        codes=tuple(r[2] for r in rows),
        unit=unit,
        pool_start=start,
        pool_size=size,
        by_code={r[2]: i for i, r in enumerate(rows)},
        units_by_name={name: frozenset(units) for name, units in units_by_name.items()},
        source=source,
    )


def _package_version() -> str:
    try:
        return metadata.version(WARDS_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def sample_wards(
    residence: npt.ArrayLike, urban: npt.ArrayLike, rng: RngLike = None
) -> npt.NDArray[np.uint16]:
    """Draw each citizen's ward, uniformly from its unit's urban or rural pool.

    Parameters
    ----------
    residence : array_like of int
        Index of each citizen's unit in ``geography().residence_names``.
    urban : array_like of bool
        True for a ward ("Phường"), False for a commune or special zone.
    rng : int, numpy.random.Generator or None
        Random source, see :func:`models._rng.as_generator`.

    Returns
    -------
    numpy.ndarray of uint16
        Indices into ``official_wards().names`` and ``.codes``; one uniform draw each.

    Examples
    --------
    >>> wards = official_wards()  # unit 0 is Hà Nội
    >>> [wards.names[i].split(" ")[0] for i in sample_wards([0, 0], [True, False], rng=1)]
    ['Phường', 'Xã']
    """
    generator = as_generator(rng)
    first, size, last = _pool_bounds()
    # unit * 3 + pool, with URBAN_POOL == 0 and RURAL_POOL == 1
    slot = np.asarray(residence).astype(np.intp) * 3 + ~np.asarray(urban, dtype=bool)
    position = generator.random(slot.size)
    position *= size.take(slot)
    position += first.take(slot)  # first + U * size, truncated below
    ward = position.astype(np.uint16)
    return np.minimum(ward, last.take(slot), out=ward)  # U * size may round up to size


@cache
def _pool_bounds() -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.uint16]
]:
    """First index, size (as floats) and last index of each pool, by ``unit * 3 + pool``."""
    wards = official_wards()
    first, size = wards.pool_start.ravel(), wards.pool_size.ravel()
    last = np.maximum(first + size - 1, first).astype(np.uint16)
    return first.astype(np.float64), size.astype(np.float64), last


@dataclass(frozen=True)
class AddressTables:
    """Vocabularies of address parts; index 0 of lane and street is the empty string."""

    houses: tuple[str, ...]  # "Số n", then hamlets
    lanes: tuple[str, ...]  # "", " Ngõ k", " Hẻm k"
    streets: tuple[str, ...]  # "", " Đường X", " Phố X"
    n_street_names: int
    southern_unit: npt.NDArray[np.bool_]  # per residence unit


def _lane_words() -> tuple[str, str]:
    words = [w.capitalize() for w in FakerAddressVi.sub_street_prefixes]
    return ("Ngõ" if "Ngõ" in words else words[0], "Hẻm" if "Hẻm" in words else words[1])


@cache
def address_tables() -> AddressTables:
    """Build the address vocabularies once per process."""
    streets = tuple(dict.fromkeys(FakerAddressVi.streets))
    street_words = {w.capitalize() for w in FakerAddressVi.street_prefixes}
    north_words = [w for w in NORTHERN_STREET_WORDS if w in street_words] or ["Đường"]
    ngo, hem = _lane_words()
    houses = [f"Số {n}" for n in range(1, MAX_HOUSE_NUMBER + 1)]
    for word in (*NORTHERN_HAMLET_WORDS, SOUTHERN_HAMLET_WORD):
        houses += [f"{word} {k}" for k in range(1, MAX_HAMLET_NUMBER + 1)]
    lanes = [""] + [f" {w} {k}" for w in (ngo, hem) for k in range(1, MAX_LANE_NUMBER + 1)]
    street_parts = [""] + [
        f" {w} {s}" for w in (SOUTHERN_STREET_WORD, *north_words[1:]) for s in streets
    ]
    geo = geography()
    return AddressTables(
        houses=tuple(houses),
        lanes=tuple(lanes),
        streets=tuple(street_parts),
        n_street_names=len(streets),
        southern_unit=np.array([c >= SOUTHERN_ADMIN_CODE_FROM for c in geo.residence_admin_codes]),
    )


@dataclass(frozen=True)
class AddressCodes:
    """Per-citizen indices: ``ward`` into :func:`official_wards`, the rest into the tables."""

    ward: npt.NDArray[np.uint16]
    house: npt.NDArray[np.uint16]
    lane: npt.NDArray[np.uint16]
    street: npt.NDArray[np.uint16]


def sample_addresses(
    residence: npt.ArrayLike, urban: npt.ArrayLike, rng: RngLike = None
) -> AddressCodes:
    """Draw wards and street addresses for citizens of the given units.

    Parameters
    ----------
    residence : array_like of int
        Index of each citizen's unit in ``geography().residence_names``.
    urban : array_like of bool
        True for a ward (street address), False for a commune (hamlet address).
    rng : int, numpy.random.Generator or None
        Random source, see :func:`models._rng.as_generator`.
    """
    generator = as_generator(rng)
    tables = address_tables()
    unit = np.asarray(residence, dtype=np.int64)
    town = np.asarray(urban, dtype=bool)
    south = tables.southern_unit[unit]
    size = unit.size
    ward = sample_wards(unit, town, generator)

    number = generator.integers(0, MAX_HOUSE_NUMBER, size)
    hamlet_kind = np.where(south, len(NORTHERN_HAMLET_WORDS), generator.integers(0, 2, size))
    hamlet = MAX_HOUSE_NUMBER + hamlet_kind * MAX_HAMLET_NUMBER
    hamlet += generator.integers(0, MAX_HAMLET_NUMBER, size)
    house = np.where(town, number, hamlet)

    has_lane = town & (generator.random(size) < LANE_SHARE)
    lane_number = generator.integers(1, MAX_LANE_NUMBER + 1, size)
    lane = np.where(has_lane, lane_number + np.where(south, MAX_LANE_NUMBER, 0), 0)

    n_words = (len(tables.streets) - 1) // tables.n_street_names
    street_word = np.where(south, 0, generator.integers(0, n_words, size))
    street_name = generator.integers(0, tables.n_street_names, size)
    street = np.where(town, 1 + street_word * tables.n_street_names + street_name, 0)
    return AddressCodes(
        ward=ward,
        house=house.astype(np.uint16),
        lane=lane.astype(np.uint16),
        street=street.astype(np.uint16),
    )
