"""Provinces: where citizens live (the 34 units since 1 July 2025) and were born (the old 63).

Residence is drawn first, from the 34 provincial units weighted by the populations in
``data/provinces.json`` (relative weights only). The birth province, one of the 63
pre-2025 CCCD codes, then follows from migration: a share of each unit's residents
were born elsewhere (:data:`IN_MIGRANT_SHARE`, estimates inspired by the 2019 census
migration results: large for Hồ Chí Minh City with Bình Dương, Hà Nội, Đồng Nai, the
industrial north and the Central Highlands; small elsewhere). A native is born in one
of the old provinces that merged into the unit, weighted by their 2019 populations;
a migrant in any other old province, weighted the same way. The residence frequencies
therefore match the population weights exactly in expectation, and most citizens live
where they were born. :func:`match_units` finds the 34 units in another official list
(the ward list of :mod:`loadgen.addresses`) by admin code and name.

References
----------
.. [1] Resolution 202/2025/QH15 of the National Assembly on the arrangement of
   provincial-level administrative units (the 34 units and their old provinces).
.. [2] General Statistics Office of Viet Nam, Completed results of the 2019 Viet Nam
   Population and Housing Census (populations of the 63 provinces: 96,208,984 in
   total; :data:`OLD_PROVINCE_POPULATION_2019` as transcribed here adds up to
   96,297,172, so treat single figures as approximate).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
from faker.providers.address.vi_VN import Provider as FakerAddressVi

from dvcschema.errors import ConfigError
from loadgen.sampling import Categorical
from loadgen.vntext import fold_diacritics
from models._rng import RngLike, as_generator

OLD_PROVINCE_POPULATION_2019: dict[str, int] = {
    "001": 8053663, "002": 854679, "004": 530341, "006": 313905, "008": 784811,
    "010": 730420, "011": 598856, "012": 460196, "014": 1248415, "015": 821030,
    "017": 854131, "019": 1286751, "020": 781655, "022": 1320324, "024": 1803950,
    "025": 1463726, "026": 1151154, "027": 1368840, "030": 1892254, "031": 2028514,
    "033": 1252731, "034": 1860447, "035": 852800, "036": 1780393, "037": 982487,
    "038": 3640128, "040": 3327791, "042": 1288866, "044": 895430, "045": 632375,
    "046": 1128620, "048": 1134310, "049": 1495812, "051": 1231697, "052": 1486918,
    "054": 961152, "056": 1231107, "058": 590467, "060": 1230808, "062": 540438,
    "064": 1513847, "066": 1869322, "067": 622168, "068": 1296906, "070": 994679,
    "072": 1169165, "074": 2426561, "075": 3097107, "077": 1148313, "079": 8993082,
    "080": 1688547, "082": 1764185, "083": 1288463, "084": 1009168, "086": 1022791,
    "087": 1599504, "089": 1908352, "091": 1723067, "092": 1235171, "093": 733017,
    "094": 1199653, "095": 907236, "096": 1194476,
}  # fmt: skip
"""2019 census population of each old province by CCCD code (see reference [2])."""

IN_MIGRANT_SHARE: dict[str, float] = {
    "Hồ Chí Minh": 0.30, "Đồng Nai": 0.20, "Hà Nội": 0.18, "Bắc Ninh": 0.12,
    "Đà Nẵng": 0.12, "Quảng Ninh": 0.10, "Lâm Đồng": 0.10, "Đắk Lắk": 0.10,
    "Hải Phòng": 0.08, "Khánh Hòa": 0.08, "Tây Ninh": 0.08, "Gia Lai": 0.08,
    "Thái Nguyên": 0.07, "Cần Thơ": 0.06,
}  # fmt: skip
"""Share of a unit's adult residents born in another province (estimates)."""
DEFAULT_IN_MIGRANT_SHARE = 0.04

URBAN_SHARE: dict[str, float] = {
    "Hồ Chí Minh": 0.76, "Quảng Ninh": 0.65, "Hà Nội": 0.50, "Huế": 0.50,
    "Đà Nẵng": 0.50, "Khánh Hòa": 0.50, "Hải Phòng": 0.40, "Đồng Nai": 0.40,
    "Cần Thơ": 0.40, "Lâm Đồng": 0.38, "Thái Nguyên": 0.33, "Bắc Ninh": 0.30,
    "An Giang": 0.30, "Gia Lai": 0.28, "Cao Bằng": 0.25, "Quảng Trị": 0.25,
    "Đắk Lắk": 0.25, "Cà Mau": 0.25, "Lào Cai": 0.23, "Hà Tĩnh": 0.22,
    "Lạng Sơn": 0.22, "Phú Thọ": 0.22, "Ninh Bình": 0.20, "Quảng Ngãi": 0.20,
    "Tây Ninh": 0.20, "Điện Biên": 0.18, "Lai Châu": 0.18, "Thanh Hóa": 0.18,
    "Đồng Tháp": 0.18, "Nghệ An": 0.16, "Tuyên Quang": 0.15, "Hưng Yên": 0.15,
    "Vĩnh Long": 0.15, "Sơn La": 0.14,
}  # fmt: skip
"""Share of residents in wards (urban) rather than communes (estimates; national 34.4% in 2019)."""

UNIT_NAME_PREFIXES = ("Thành phố ", "Tỉnh ")
"""Words before a unit's name in official lists ("Thành phố Hà Nội"), dropped to compare."""

SOUTHERN_BIRTH_CODE_FROM = "045"
"""Quảng Trị and further south count as southern for name spellings (see names.py)."""


@dataclass(frozen=True)
class Geography:
    """Province tables, in a fixed order, and the sampling matrices built from them."""

    residence_names: tuple[str, ...]  # the 34, in provinces.json order
    residence_admin_codes: tuple[str, ...]  # "01".."96"
    residence_weights: npt.NDArray[np.float64]
    residence_is_city: npt.NDArray[np.bool_]
    urban_share: npt.NDArray[np.float64]
    in_migrant_share: npt.NDArray[np.float64]
    birth_codes: tuple[str, ...]  # the 63, sorted
    birth_names: tuple[str, ...]
    birth_code_numbers: npt.NDArray[np.int64]
    birth_is_southern: npt.NDArray[np.bool_]
    home_unit: npt.NDArray[np.int64]  # old province index -> index of the unit it merged into
    birth_given_residence: npt.NDArray[np.float64]  # (34, 63) conditional probabilities

    def residence_label(self, index: int) -> str:
        """The unit as written in an address: "Thành phố Hà Nội", "Tỉnh Nghệ An"."""
        prefix = "Thành phố" if self.residence_is_city[index] else "Tỉnh"
        return f"{prefix} {self.residence_names[index]}"


@cache
def provinces_data() -> dict[str, object]:
    """The parsed ``loadgen/data/provinces.json``."""
    text = resources.files("loadgen").joinpath("data/provinces.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


@cache
def geography() -> Geography:
    """Build the province tables once per process."""
    data = provinces_data()
    units: list[dict[str, object]] = data["new_34"]  # type: ignore[assignment]
    old: dict[str, str] = data["old_63_cccd_codes"]  # type: ignore[assignment]
    names = tuple(str(u["name"]) for u in units)
    population = np.array([float(u["population"]) for u in units])  # type: ignore[arg-type]
    codes = tuple(sorted(old))
    old_population = np.array([OLD_PROVINCE_POPULATION_2019[c] for c in codes], dtype=float)
    home = np.empty(len(codes), dtype=np.int64)
    for unit_index, unit in enumerate(units):
        for code in unit["cccd_birth_codes"]:  # type: ignore[attr-defined]
            home[codes.index(code)] = unit_index
    migrant_share = np.array([IN_MIGRANT_SHARE.get(n, DEFAULT_IN_MIGRANT_SHARE) for n in names])
    conditional = np.zeros((len(names), len(codes)))
    for unit_index in range(len(names)):
        native = home == unit_index
        native_w = np.where(native, old_population, 0.0)
        migrant_w = np.where(native, 0.0, old_population)
        conditional[unit_index] = (1 - migrant_share[unit_index]) * native_w / native_w.sum()
        conditional[unit_index] += migrant_share[unit_index] * migrant_w / migrant_w.sum()
    cities = set(FakerAddressVi.cities)
    return Geography(
        residence_names=names,
        residence_admin_codes=tuple(str(u["admin_code"]) for u in units),
        residence_weights=population / population.sum(),
        residence_is_city=np.array([n in cities for n in names]),
        urban_share=np.array([URBAN_SHARE[n] for n in names]),
        in_migrant_share=migrant_share,
        birth_codes=codes,
        birth_names=tuple(old[c] for c in codes),
        birth_code_numbers=np.array([int(c) for c in codes], dtype=np.int64),
        birth_is_southern=np.array([c >= SOUTHERN_BIRTH_CODE_FROM for c in codes]),
        home_unit=home,
        birth_given_residence=conditional,
    )


def residence_weights() -> dict[str, float]:
    """Target share (0..1) of residents of each of the 34 units."""
    geo = geography()
    return dict(zip(geo.residence_names, geo.residence_weights.tolist(), strict=True))


def expected_birth_weights() -> dict[str, float]:
    """Expected share (0..1) of citizens born in each old province (by CCCD code)."""
    geo = geography()
    weights = geo.residence_weights @ geo.birth_given_residence
    return dict(zip(geo.birth_codes, weights.tolist(), strict=True))


def sample_residences(size: int, rng: RngLike = None) -> npt.NDArray[np.uint8]:
    """Indices into ``geography().residence_names``, weighted by population."""
    return _residence_distribution().sample(size, rng).astype(np.uint8)


@cache
def _residence_distribution() -> Categorical:
    return Categorical(geography().residence_weights)


def sample_birth_provinces(residence: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.uint8]:
    """Indices into ``geography().birth_codes`` given each citizen's residence index."""
    generator = as_generator(rng)
    geo = geography()
    unit = np.asarray(residence, dtype=np.int64)
    n_codes = len(geo.birth_codes)
    # The 34 conditional distributions side by side, each with mass 1/34: a uniform in
    # [r/34, (r+1)/34) lands in row r. One draw for all units.
    joint = _joint_birth_distribution()
    index = joint.index((unit + generator.random(unit.size)) / len(geo.residence_names))
    return np.clip(index - unit * n_codes, 0, n_codes - 1).astype(np.uint8)


@cache
def _joint_birth_distribution() -> Categorical:
    conditional = geography().birth_given_residence
    return Categorical((conditional / conditional.sum(axis=1, keepdims=True)).ravel())


def sample_urban(residence: npt.ArrayLike, rng: RngLike = None) -> npt.NDArray[np.bool_]:
    """True for citizens living in a ward (urban), from the unit's urban share."""
    generator = as_generator(rng)
    unit = np.asarray(residence, dtype=np.int64)
    return generator.random(unit.size) < geography().urban_share[unit]


def normalised_unit_name(name: str) -> str:
    """A unit's name for comparison: no "Thành phố"/"Tỉnh", no diacritics, one space, lowercase.

    Tone marks placed differently ("Khánh Hòa", "Khánh Hoà") and decomposed Unicode
    compare equal.

    >>> normalised_unit_name("Thành phố  Hồ Chí Minh"), normalised_unit_name("Khánh Hoà")
    ('ho chi minh', 'khanh hoa')
    """
    text = " ".join(name.split())
    for prefix in UNIT_NAME_PREFIXES:
        text = text.removeprefix(prefix)
    return fold_diacritics(text).casefold()


def match_units(official: Sequence[tuple[int, str]], *, source: str) -> tuple[int, ...]:
    """Position in ``official`` of each of the 34 units, in ``geography().residence_names`` order.

    A unit matches the official province with its admin code when their names agree
    (see :func:`normalised_unit_name`); otherwise the one with its name, whatever the
    code. Raises ConfigError naming every unit left without a match or matched twice.

    Parameters
    ----------
    official : sequence of (int, str)
        ``(code, name)`` of each province in an official list, e.g. ``(1, "Thành phố Hà Nội")``.
    source : str
        Where the list comes from, for the error message.
    """
    geo = geography()
    by_code = {code: i for i, (code, _) in enumerate(official)}
    by_name = {normalised_unit_name(name): i for i, (_, name) in enumerate(official)}
    matches: list[int] = []
    missing: list[str] = []
    for name, code in zip(geo.residence_names, geo.residence_admin_codes, strict=True):
        wanted = normalised_unit_name(name)
        index = by_code.get(int(code))
        if index is None or normalised_unit_name(official[index][1]) != wanted:
            index = by_name.get(wanted)
        if index is None:
            missing.append(f"{name!r} (code {code})")
        else:
            matches.append(index)
    if missing:
        raise ConfigError(
            f"no province for {', '.join(missing)} among {len(official)} official provinces",
            source=source,
        )
    twice = sorted({official[i][1] for i in matches if matches.count(i) > 1})
    if twice:
        raise ConfigError(f"provinces matched by two units: {twice}", source=source)
    return tuple(matches)
