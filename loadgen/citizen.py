"""The synthetic citizen record and a validator for each of its fields.

Every validator returns a bool and never raises on wrong types. Keyword arguments
check agreement with other fields of the same record, e.g. the ID number against the
date of birth, gender and birth province. :func:`citizen_errors` applies them all.

>>> is_valid_cccd("079090123456", date_of_birth=dt.date(1990, 5, 1), gender="male")
True
>>> is_valid_full_name("Trần Văn Hạnh", gender="female")
False
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import Any

from loadgen.addresses import official_wards
from loadgen.ages import MAX_AGE, MIN_AGE, REFERENCE_DATE, age_on
from loadgen.cccd import FIRST_CENTURY, LAST_CENTURY, parse_cccd
from loadgen.geography import geography
from loadgen.names import FEMALE_ONLY_MIDDLE, MALE_ONLY_MIDDLE, name_tables
from loadgen.phones import carrier_of
from loadgen.segments import LITERACY_LEVELS, PAYMENT_CHANNELS, VNEID_LEVELS
from loadgen.vntext import ascii_token, is_name_word

GENDERS = ("male", "female")
FIELD_NAMES = (
    "cccd", "full_name", "family_name", "middle_name", "given_name", "gender",
    "date_of_birth", "birth_province_code", "residence_province", "commune", "ward_code",
    "address", "phone", "email", "vneid_level", "payment_channel", "literacy",
)  # fmt: skip
"""Column order of exports (the order of :class:`Citizen`'s fields)."""

_EMAIL = re.compile(r"(?P<local>[a-z0-9]+(?:\.[a-z0-9]+)*)@(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)+)")
_HOUSE = re.compile(r"(?:Số \d{1,4}|(?:Thôn|Xóm|Ấp) \d{1,3})(?: (?:Ngõ|Hẻm) \d{1,4})?(?: .+)?")


@dataclass(frozen=True, slots=True)
class Citizen:
    """One synthetic citizen, as the load generator logs in, files and pays with it."""

    cccd: str
    full_name: str
    family_name: str
    middle_name: str
    given_name: str
    gender: str  # "male" | "female"
    date_of_birth: dt.date
    birth_province_code: str  # "001".."096", one of the old 63
    residence_province: str  # one of the 34 names in provinces.json
    commune: str  # official name of the ward, commune or special zone: "Phường Ba Đình"
    ward_code: str  # its official code, 5 digits: "00004"
    address: str
    phone: str
    email: str
    vneid_level: int  # 1 or 2
    payment_channel: str  # one of PAYMENT_CHANNELS
    literacy: str  # "high" | "medium" | "low"

    def as_dict(self) -> dict[str, Any]:
        """Field name to value, with the date in ISO form (as exported)."""
        row = asdict(self)
        row["date_of_birth"] = self.date_of_birth.isoformat()
        return row

    @classmethod
    def from_strings(cls, row: dict[str, str]) -> Citizen:
        """Build from exported text values (raises ValueError on a bad date or level)."""
        values: dict[str, Any] = {f.name: row[f.name] for f in fields(cls)}
        values["date_of_birth"] = dt.date.fromisoformat(row["date_of_birth"])
        values["vneid_level"] = int(row["vneid_level"])
        return cls(**values)


def is_valid_cccd(
    cccd: object,
    *,
    date_of_birth: dt.date | None = None,
    gender: str | None = None,
    birth_province_code: str | None = None,
) -> bool:
    """12 digits with a known birth-province code, agreeing with the other fields given."""
    if not (isinstance(cccd, str) and len(cccd) == 12 and cccd.isascii() and cccd.isdigit()):
        return False
    if cccd[:3] not in _birth_codes():
        return False
    if date_of_birth is None and gender is None and birth_province_code is None:
        return True
    parts = parse_cccd(cccd)
    if parts is None:
        return False
    if date_of_birth is not None:
        year = date_of_birth.year
        if not FIRST_CENTURY <= year < LAST_CENTURY + 100:
            return False
        expected = 2 * (year // 100 - 19) + parts.female  # see cccd.century_gender_digit
        if parts.century_gender != expected or parts.birth_year != year:
            return False
    if gender is not None and parts.female != (gender == "female"):
        return False
    return birth_province_code is None or parts.province_code == birth_province_code


def is_valid_family_name(name: object) -> bool:
    return isinstance(name, str) and name in name_tables().family


def is_valid_middle_name(name: object, *, gender: str | None = None) -> bool:
    """A middle name of one or more name words; never Thị for men nor Văn for women."""
    if not isinstance(name, str) or not name or not all(map(is_name_word, name.split(" "))):
        return False
    first = name.split(" ")[0]
    if gender == "male" and first == FEMALE_ONLY_MIDDLE:
        return False
    return not (gender == "female" and first == MALE_ONLY_MIDDLE)


def is_valid_given_name(name: object) -> bool:
    return isinstance(name, str) and is_name_word(name)


def is_valid_full_name(
    full_name: object,
    *,
    gender: str | None = None,
    family_name: str | None = None,
    middle_name: str | None = None,
    given_name: str | None = None,
) -> bool:
    """Vietnamese order (family, middle, given), middle name matching the gender."""
    if not isinstance(full_name, str):
        return False
    words = full_name.split(" ")
    if len(words) < 3 or not is_valid_family_name(words[0]):
        return False
    middle = " ".join(words[1:-1])
    if not (is_valid_middle_name(middle, gender=gender) and is_valid_given_name(words[-1])):
        return False
    expected = (family_name, middle_name, given_name)
    return all(
        e is None or e == a for e, a in zip(expected, (words[0], middle, words[-1]), strict=True)
    )


def is_valid_gender(gender: object) -> bool:
    return gender in GENDERS


def is_valid_date_of_birth(date_of_birth: object, *, on: dt.date = REFERENCE_DATE) -> bool:
    """An adult: aged MIN_AGE..MAX_AGE on ``on``."""
    if not isinstance(date_of_birth, dt.date) or isinstance(date_of_birth, dt.datetime):
        return False
    return MIN_AGE <= age_on(date_of_birth, on) <= MAX_AGE


def is_valid_birth_province_code(code: object) -> bool:
    return isinstance(code, str) and code in _birth_codes()


def is_valid_residence_province(name: object) -> bool:
    return isinstance(name, str) and name in geography().residence_names


def is_valid_commune(commune: object, *, residence_province: str | None = None) -> bool:
    """An official commune-level unit's name ("Phường Ba Đình", "Xã Tân An", "Đặc khu Côn
    Đảo"), of the 34-unit ``residence_province`` when given (see :mod:`loadgen.addresses`)."""
    if not isinstance(commune, str):
        return False
    units = official_wards().units_by_name.get(commune)
    if units is None:
        return False
    return residence_province is None or _residence_index().get(residence_province) in units


def is_valid_ward_code(
    code: object, *, commune: str | None = None, residence_province: str | None = None
) -> bool:
    """The official code (5 digits) of a commune-level unit, named ``commune`` and in
    ``residence_province`` when they are given."""
    wards = official_wards()
    index = wards.by_code.get(code) if isinstance(code, str) else None
    if index is None:
        return False
    if commune is not None and wards.names[index] != commune:
        return False
    return residence_province is None or _residence_index().get(residence_province) == int(
        wards.unit[index]
    )


def is_valid_address(
    address: object, *, commune: str | None = None, residence_province: str | None = None
) -> bool:
    """ "<house[ lane][ street]>, <commune>, <Thành phố|Tỉnh> <unit>", the commune in that unit,
    agreeing with the fields given."""
    if not isinstance(address, str):
        return False
    pieces = address.split(", ")
    if len(pieces) != 3 or _HOUSE.fullmatch(pieces[0]) is None:
        return False
    unit = _residence_labels().get(pieces[2])
    if unit is None or not is_valid_commune(pieces[1], residence_province=unit):
        return False
    if commune is not None and pieces[1] != commune:
        return False
    return residence_province is None or unit == residence_province


def is_valid_phone(phone: object) -> bool:
    """10 digits starting with a mobile carrier's prefix."""
    return (
        isinstance(phone, str)
        and phone.isascii()
        and phone.isdigit()
        and carrier_of(phone) is not None
    )


def is_valid_email(email: object, *, full_name: str | None = None) -> bool:
    """Lowercase ASCII; with ``full_name``, the letters are the name's words without diacritics."""
    if not isinstance(email, str):
        return False
    match = _EMAIL.fullmatch(email)
    if match is None:
        return False
    if full_name is None:
        return True
    letters = re.sub(r"[^a-z]", "", match["local"])
    return _spells(letters, [ascii_token(w) for w in full_name.split(" ")])


def _spells(letters: str, tokens: list[str]) -> bool:
    """True when ``letters`` is a concatenation of distinct ``tokens`` (any order)."""
    if not letters:
        return True
    for i, token in enumerate(tokens):
        rest = tokens[:i] + tokens[i + 1 :]
        if token and letters.startswith(token) and _spells(letters[len(token) :], rest):
            return True
    return False


def is_valid_vneid_level(level: object) -> bool:
    return isinstance(level, int) and not isinstance(level, bool) and level in VNEID_LEVELS


def is_valid_payment_channel(channel: object) -> bool:
    return channel in PAYMENT_CHANNELS


def is_valid_literacy(literacy: object) -> bool:
    return literacy in LITERACY_LEVELS


def citizen_errors(citizen: Citizen) -> list[str]:
    """Names of the fields that fail validation, each checked against the others."""
    c = citizen
    checks = {
        "cccd": is_valid_cccd(
            c.cccd,
            date_of_birth=c.date_of_birth,
            gender=c.gender,
            birth_province_code=c.birth_province_code,
        ),
        "full_name": is_valid_full_name(
            c.full_name,
            gender=c.gender,
            family_name=c.family_name,
            middle_name=c.middle_name,
            given_name=c.given_name,
        ),
        "family_name": is_valid_family_name(c.family_name),
        "middle_name": is_valid_middle_name(c.middle_name, gender=c.gender),
        "given_name": is_valid_given_name(c.given_name),
        "gender": is_valid_gender(c.gender),
        "date_of_birth": is_valid_date_of_birth(c.date_of_birth),
        "birth_province_code": is_valid_birth_province_code(c.birth_province_code),
        "residence_province": is_valid_residence_province(c.residence_province),
        "commune": is_valid_commune(c.commune, residence_province=c.residence_province),
        "ward_code": is_valid_ward_code(
            c.ward_code, commune=c.commune, residence_province=c.residence_province
        ),
        "address": is_valid_address(
            c.address, commune=c.commune, residence_province=c.residence_province
        ),
        "phone": is_valid_phone(c.phone),
        "email": is_valid_email(c.email, full_name=c.full_name),
        "vneid_level": is_valid_vneid_level(c.vneid_level),
        "payment_channel": is_valid_payment_channel(c.payment_channel),
        "literacy": is_valid_literacy(c.literacy),
    }
    return [name for name, ok in checks.items() if not ok]


def is_valid_citizen(citizen: Citizen) -> bool:
    return not citizen_errors(citizen)


@cache
def _birth_codes() -> frozenset[str]:
    return frozenset(geography().birth_codes)


@cache
def _residence_index() -> dict[str, int]:
    return {name: i for i, name in enumerate(geography().residence_names)}


@cache
def _residence_labels() -> dict[str, str]:
    geo = geography()
    return {geo.residence_label(i): name for i, name in enumerate(geo.residence_names)}
