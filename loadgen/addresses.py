"""Communes and street addresses, after the 2025 reform (no districts: street, commune, province).

Words come from Faker's vi_VN address provider: commune names, street names, the street
words "Đường"/"Phố" and the lane words "Ngõ"/"Hẻm". An urban citizen lives in a ward
("Phường ...") at a house number on a street, sometimes down a lane (:data:`LANE_SHARE`,
estimate); a rural citizen lives in a commune ("Xã ...") in a numbered hamlet. Lanes and
hamlets use northern words (Ngõ; Thôn, Xóm) or southern ones (Hẻm; Ấp) by the unit's
admin code (:data:`SOUTHERN_ADMIN_CODE_FROM`, estimate). Faker's commune names are
generic (18 names), not the real 3,321 communes of each province.

An address is written ``"<house>[ <lane>][ <street>], <commune>, <province label>"``, e.g.
``"Số 12 Ngõ 5 Phố Trần Phú, Phường An Phú, Thành phố Hà Nội"`` or
``"Thôn 3, Xã Tân An, Tỉnh Nghệ An"``. Its parts are kept as indices into small
vocabularies so that a million addresses cost a few bytes each until they are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
from faker.providers.address.vi_VN import Provider as FakerAddressVi

from loadgen.geography import geography
from models._rng import RngLike, as_generator

WARD_PREFIX = "Phường"
COMMUNE_PREFIX = "Xã"
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
class AddressTables:
    """Vocabularies of address parts; index 0 of lane and street is the empty string."""

    communes: tuple[str, ...]  # wards first, then communes
    houses: tuple[str, ...]  # "Số n", then hamlets
    lanes: tuple[str, ...]  # "", " Ngõ k", " Hẻm k"
    streets: tuple[str, ...]  # "", " Đường X", " Phố X"
    n_wards: int
    n_street_names: int
    southern_unit: npt.NDArray[np.bool_]  # per residence unit


def _lane_words() -> tuple[str, str]:
    words = [w.capitalize() for w in FakerAddressVi.sub_street_prefixes]
    return ("Ngõ" if "Ngõ" in words else words[0], "Hẻm" if "Hẻm" in words else words[1])


@cache
def address_tables() -> AddressTables:
    """Build the address vocabularies once per process."""
    names = tuple(dict.fromkeys(FakerAddressVi.communes))
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
        communes=tuple(f"{WARD_PREFIX} {n}" for n in names)
        + tuple(f"{COMMUNE_PREFIX} {n}" for n in names),
        houses=tuple(houses),
        lanes=tuple(lanes),
        streets=tuple(street_parts),
        n_wards=len(names),
        n_street_names=len(streets),
        southern_unit=np.array([c >= SOUTHERN_ADMIN_CODE_FROM for c in geo.residence_admin_codes]),
    )


@dataclass(frozen=True)
class AddressCodes:
    """Per-citizen indices into :class:`AddressTables`."""

    commune: npt.NDArray[np.uint8]
    house: npt.NDArray[np.uint16]
    lane: npt.NDArray[np.uint16]
    street: npt.NDArray[np.uint16]


def sample_addresses(
    residence: npt.ArrayLike, urban: npt.ArrayLike, rng: RngLike = None
) -> AddressCodes:
    """Draw communes and street addresses for citizens of the given units.

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
    name = generator.integers(0, tables.n_wards, size)
    commune = np.where(town, name, name + tables.n_wards)

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
        commune=commune.astype(np.uint8),
        house=house.astype(np.uint16),
        lane=lane.astype(np.uint16),
        street=street.astype(np.uint16),
    )
