"""A Faker provider for one Vietnamese citizen at a time, with the same rules as the bulk generator.

``fake.add_provider(VietnameseCitizenProvider)`` then ``fake.vn_citizen()`` gives a
:class:`~loadgen.citizen.Citizen` built field by field with Faker calls
(``random_element`` with weights, ``numerify``, ``date_between_dates``...) from the same
word lists, weights and ID-number rules as :func:`loadgen.population.generate_population`.
It is handy for a few records in a test or a notebook, and it is the baseline the
benchmark compares the vectorised generator with. Unlike the bulk generator it does
not guarantee unique ID numbers: the serial is six random digits.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from typing import Any

from faker.providers import BaseProvider

from loadgen import addresses, ages, emails, names, phones, segments
from loadgen.cccd import century_gender_digit
from loadgen.citizen import Citizen
from loadgen.geography import geography
from loadgen.population import FEMALE_SHARE


def _weighted(keys: Iterable[object], weights: Iterable[float]) -> OrderedDict[object, float]:
    return OrderedDict(zip(keys, (float(w) for w in weights), strict=True))


@cache
def _tables() -> dict[str, Any]:
    """Weighted choices and lists, built once (the provider is the baseline, not a straw man)."""
    geo = geography()
    prefixes, prefix_distribution, _ = phones.prefix_table()
    streets = addresses.address_tables().streets[1:]
    return {
        "residence": _weighted(range(len(geo.residence_names)), geo.residence_weights),
        "birth": [_weighted(range(row.size), row) for row in geo.birth_given_residence],
        "family": OrderedDict(names.family_name_weights()),
        "age": _weighted(range(ages.MIN_AGE, ages.MAX_AGE + 1), ages.age_weights()),
        "prefix": _weighted(prefixes.tolist(), prefix_distribution.probabilities),
        "streets": {False: streets, True: tuple(s for s in streets if s.startswith(" Đường"))},
        "pattern": OrderedDict(emails.EMAIL_PATTERNS),
        "domain": OrderedDict(emails.EMAIL_DOMAINS),
        "channels": {
            level: _weighted(segments.PAYMENT_CHANNELS, shares)
            for level, shares in segments.PAYMENT_CHANNEL_SHARES.items()
        },
    }


class VietnameseCitizenProvider(BaseProvider):
    """Faker provider: ``vn_citizen()`` and the fields it is made of."""

    def vn_residence(self) -> int:
        return int(self.random_element(_tables()["residence"]))

    def vn_birth_province(self, residence: int) -> int:
        return int(self.random_element(_tables()["birth"][residence]))

    def vn_family_name(self, southern_born: bool) -> str:
        tables = names.name_tables()
        group = str(self.random_element(_tables()["family"]))
        share = (
            names.SOUTHERN_SPELLING_SHARE
            if southern_born
            else names.NORTHERN_SOUTHERN_SPELLING_SHARE
        )
        if self.generator.random.random() < share:
            return tables.family[int(tables.southern_spelling[tables.family.index(group)])]
        return group

    def vn_middle_name(self, gender: str, birth_year: int) -> str:
        band = next(row for row in names.TRADITIONAL_MIDDLE_SHARE if birth_year < row[0])
        p_traditional = band[2] if gender == "female" else band[1]
        options = names.middle_names_for(gender)
        if self.generator.random.random() < p_traditional:
            return options[0]
        return str(self.random_element(options[1:]))

    def vn_given_name(self, gender: str) -> str:
        return str(self.random_element(names.given_names_for(gender)))

    def vn_date_of_birth(self) -> dt.date:
        age = int(self.random_element(_tables()["age"]))
        latest = ages.REFERENCE_DATE.replace(year=ages.REFERENCE_DATE.year - age)
        earliest = ages.REFERENCE_DATE.replace(year=latest.year - 1) + dt.timedelta(days=1)
        return self.generator.date_between_dates(earliest, latest)

    def cccd(self, birth_province_code: str, date_of_birth: dt.date, gender: str) -> str:
        digit = int(century_gender_digit(date_of_birth.year, gender == "female"))
        return f"{birth_province_code}{digit}{date_of_birth.year % 100:02d}" + self.numerify(
            "######"
        )

    def vn_phone(self) -> str:
        prefix = int(self.random_element(_tables()["prefix"]))
        return f"0{prefix:02d}" + self.numerify("#######")

    def vn_address(self, residence: int, urban: bool) -> tuple[str, str, str]:
        """(official ward name, its code, address) in the unit ``residence``."""
        tables = addresses.address_tables()
        wards = addresses.official_wards()
        south = bool(tables.southern_unit[residence])
        ward = int(self.random_element(wards.pool(residence, urban)))
        commune = wards.names[ward]
        if urban:
            house = f"Số {self.random_int(1, addresses.MAX_HOUSE_NUMBER)}"
            if self.generator.random.random() < addresses.LANE_SHARE:
                house += (
                    f" {'Hẻm' if south else 'Ngõ'} {self.random_int(1, addresses.MAX_LANE_NUMBER)}"
                )
            house += str(self.random_element(_tables()["streets"][south]))
        else:
            word = (
                addresses.SOUTHERN_HAMLET_WORD
                if south
                else self.random_element(addresses.NORTHERN_HAMLET_WORDS)
            )
            house = f"{word} {self.random_int(1, addresses.MAX_HAMLET_NUMBER)}"
        label = geography().residence_label(residence)
        return commune, wards.codes[ward], f"{house}, {commune}, {label}"

    def vn_email(self, family: str, middle: str, given: str, birth_year: int) -> str:
        pattern = str(self.random_element(_tables()["pattern"]))
        letters, kind = pattern.split("+")
        words = {"g": given, "m": middle, "f": family, ".": "."}
        local = "".join(emails.ascii_token(words[c]) for c in letters)
        number = {"yy": birth_year % 100, "yyyy": birth_year, "n": self.random_int(1, 999)}[kind]
        domain = self.random_element(_tables()["domain"])
        return f"{local}{number:02d}@{domain}"

    def vn_citizen(self) -> Citizen:
        """One citizen, every field drawn with Faker calls."""
        geo = geography()
        residence = self.vn_residence()
        birth = self.vn_birth_province(residence)
        gender = "female" if self.generator.random.random() < FEMALE_SHARE else "male"
        born = self.vn_date_of_birth()
        family = self.vn_family_name(bool(geo.birth_is_southern[birth]))
        middle = self.vn_middle_name(gender, born.year)
        given = self.vn_given_name(gender)
        urban = self.generator.random.random() < geo.urban_share[residence]
        commune, ward_code, address = self.vn_address(residence, urban)
        shares = segments.expected_literacy_shares(ages.age_on(born), urban)
        literacy = str(self.random_element(OrderedDict(shares)))
        level2 = self.generator.random.random() < segments.VNEID_LEVEL2_SHARE[literacy]
        return Citizen(
            cccd=self.cccd(geo.birth_codes[birth], born, gender),
            full_name=f"{family} {middle} {given}",
            family_name=family,
            middle_name=middle,
            given_name=given,
            gender=gender,
            date_of_birth=born,
            birth_province_code=geo.birth_codes[birth],
            residence_province=geo.residence_names[residence],
            commune=commune,
            ward_code=ward_code,
            address=address,
            phone=self.vn_phone(),
            email=self.vn_email(family, middle, given, born.year),
            vneid_level=2 if level2 else 1,
            payment_channel=str(self.random_element(_tables()["channels"][literacy])),
            literacy=literacy,
        )
