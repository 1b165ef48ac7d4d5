"""Unit tests of the citizen record's validators and the ID-number structure."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.cccd import (
    SERIAL_SPACE,
    SerialAllocator,
    SerialSpaceExhaustedError,
    century_gender_digit,
    compose_cccd,
    parse_cccd,
    permute_serials,
)
from loadgen.citizen import (
    Citizen,
    citizen_errors,
    is_valid_address,
    is_valid_birth_province_code,
    is_valid_cccd,
    is_valid_commune,
    is_valid_date_of_birth,
    is_valid_email,
    is_valid_full_name,
    is_valid_gender,
    is_valid_literacy,
    is_valid_middle_name,
    is_valid_payment_channel,
    is_valid_phone,
    is_valid_residence_province,
    is_valid_vneid_level,
    is_valid_ward_code,
)
from loadgen.geography import geography
from loadgen.vntext import ascii_token, fold_diacritics, is_vietnamese_syllable

GOOD = Citizen(
    cccd="079190012345",
    full_name="Trần Thị Hạnh",
    family_name="Trần",
    middle_name="Thị",
    given_name="Hạnh",
    gender="female",
    date_of_birth=dt.date(1990, 3, 14),
    birth_province_code="079",
    residence_province="Hồ Chí Minh",
    commune="Phường Sài Gòn",
    ward_code="26740",
    address="Số 12 Hẻm 5 Đường Lê Lợi, Phường Sài Gòn, Thành phố Hồ Chí Minh",
    phone="0912345678",
    email="hanh.tran1990@gmail.com",
    vneid_level=2,
    payment_channel="vietqr",
    literacy="high",
)


def test_citizen_good_record_has_no_errors() -> None:
    assert citizen_errors(GOOD) == []


def test_citizen_is_frozen_and_slotted() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GOOD.cccd = "001090000000"  # type: ignore[misc]
    assert not hasattr(GOOD, "__dict__")


def test_citizen_as_dict_round_trips_through_from_strings() -> None:
    row = {k: str(v) for k, v in GOOD.as_dict().items()}
    assert Citizen.from_strings(row) == GOOD


@pytest.mark.parametrize(
    ("year", "female", "digit"),
    [
        (1900, False, 0),
        (1999, True, 1),
        (2000, False, 2),
        (2007, True, 3),
        (2100, False, 4),
        (2199, True, 5),
        (2250, False, 6),
        (2399, True, 9),
    ],
)
def test_century_gender_digit_follows_the_published_table(
    year: int, female: bool, digit: int
) -> None:
    assert int(century_gender_digit(year, female)) == digit


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        ({"cccd": "079090012345"}, "cccd"),  # male digit for a woman
        ({"cccd": "001190012345"}, "cccd"),  # birth province disagrees
        ({"cccd": "079191012345"}, "cccd"),  # birth year disagrees
        ({"gender": "male"}, "cccd"),
        ({"date_of_birth": dt.date(2001, 3, 14)}, "cccd"),
        ({"full_name": "Hạnh Thị Trần"}, "full_name"),  # Western order
        ({"middle_name": "Văn", "full_name": "Trần Văn Hạnh"}, "middle_name"),
        ({"given_name": "Jane", "full_name": "Trần Thị Jane"}, "given_name"),
        ({"family_name": "Smith"}, "family_name"),
        ({"gender": "f"}, "gender"),
        ({"date_of_birth": dt.date(2010, 1, 1)}, "date_of_birth"),  # a minor
        ({"birth_province_code": "003"}, "birth_province_code"),  # no such code
        ({"residence_province": "Bình Dương"}, "residence_province"),  # merged away in 2025
        ({"commune": "Quận 1"}, "commune"),
        ({"commune": "Phường Hoàn Kiếm"}, "commune"),  # a real ward, of Hà Nội
        ({"ward_code": "00070"}, "ward_code"),  # Phường Hoàn Kiếm's code
        ({"ward_code": "26743"}, "ward_code"),  # Phường Bến Thành's: same city, other ward
        ({"ward_code": "26740 "}, "ward_code"),
        ({"ward_code": ""}, "ward_code"),
        ({"address": "Số 12 Đường Lê Lợi, Phường Tân An, Thành phố Hà Nội"}, "address"),
        ({"phone": "0123456789"}, "phone"),
        ({"email": "hanh.nguyen1990@gmail.com"}, "email"),
        ({"vneid_level": 3}, "vneid_level"),
        ({"payment_channel": "paypal"}, "payment_channel"),
        ({"literacy": "none"}, "literacy"),
    ],
)
def test_citizen_errors_name_the_broken_field(mutation: dict[str, object], field: str) -> None:
    assert field in citizen_errors(dataclasses.replace(GOOD, **mutation))


@pytest.mark.parametrize(
    "cccd",
    [
        "07919001234",
        "0791900123456",
        "07919001234a",
        "００１０９００１２３４５",
        79190012345,
        None,
        "003090012345",
    ],
)
def test_is_valid_cccd_rejects_malformed(cccd: object) -> None:
    assert not is_valid_cccd(cccd)


def test_is_valid_cccd_checks_each_agreement_separately() -> None:
    born = dt.date(2005, 1, 2)
    assert is_valid_cccd(
        "001305999999", date_of_birth=born, gender="female", birth_province_code="001"
    )
    assert not is_valid_cccd("001305999999", gender="male")
    assert not is_valid_cccd("001305999999", birth_province_code="002")
    assert not is_valid_cccd("001305999999", date_of_birth=dt.date(1905, 1, 2))
    assert not is_valid_cccd("001305999999", date_of_birth=dt.date(1805, 1, 2))


@given(
    code=st.sampled_from(sorted(geography().birth_codes)),
    year=st.integers(1900, 2399),
    female=st.booleans(),
    serial=st.integers(0, SERIAL_SPACE - 1),
)
def test_compose_and_parse_cccd_round_trip(code: str, year: int, female: bool, serial: int) -> None:
    cccd = f"{int(compose_cccd(int(code), year, female, serial)):012d}"
    parts = parse_cccd(cccd)
    assert parts is not None
    assert (parts.province_code, parts.birth_year, parts.female, parts.serial) == (
        code,
        year,
        female,
        serial,
    )
    gender = "female" if female else "male"
    assert is_valid_cccd(
        cccd, date_of_birth=dt.date(year, 6, 1), gender=gender, birth_province_code=code
    )


def test_permute_serials_is_a_bijection_of_the_whole_serial_space() -> None:
    serials = permute_serials(np.arange(SERIAL_SPACE), np.full(SERIAL_SPACE, 1234), seed=99)
    assert np.unique(serials).size == SERIAL_SPACE
    assert serials.min() == 0 and serials.max() == SERIAL_SPACE - 1


@settings(max_examples=50)
@given(
    seed=st.integers(0, 2**63), key=st.integers(0, 20_000), start=st.integers(0, SERIAL_SPACE - 500)
)
def test_permute_serials_gives_distinct_serials_to_distinct_ranks(
    seed: int, key: int, start: int
) -> None:
    ranks = np.arange(start, start + 500)
    serials = permute_serials(ranks, np.full(ranks.size, key), seed=seed)
    assert np.unique(serials).size == ranks.size
    assert not np.array_equal(serials, ranks)  # actually shuffled


def test_permute_serials_depends_on_seed_and_prefix() -> None:
    ranks = np.arange(100)
    a = permute_serials(ranks, np.zeros(100, int), seed=1)
    assert not np.array_equal(a, permute_serials(ranks, np.zeros(100, int), seed=2))
    assert not np.array_equal(a, permute_serials(ranks, np.ones(100, int), seed=1))


def test_serial_allocator_ranks_continue_across_batches() -> None:
    allocator = SerialAllocator(5)
    assert allocator.ranks([3, 3, 1, 3]).tolist() == [0, 1, 0, 2]
    allocator.count([1, 1])
    assert allocator.ranks([1, 3, 0]).tolist() == [3, 3, 0]


def test_serial_allocator_refuses_more_than_the_serial_space() -> None:
    allocator = SerialAllocator(2)
    allocator.count(np.zeros(SERIAL_SPACE, dtype=np.int64))
    with pytest.raises(
        SerialSpaceExhaustedError, match="1,000,000 citizens share the ID-number prefix 079090"
    ):
        allocator.ranks([0], describe_key=lambda key: "079090")


@pytest.mark.parametrize(
    ("name", "gender", "ok"),
    [
        ("Nguyễn Văn An", "male", True),
        ("Nguyễn Văn An", "female", False),
        ("Trần Thị Hạnh", "female", True),
        ("Trần Thị Hạnh", "male", False),
        ("Lê Thị Minh Khai", "female", True),  # two-word middle name
        ("An Nguyễn", None, False),  # Western order, no middle name
        ("Ông Thành Bùi", None, False),  # Faker's honorific and order
        ("Nguyễn Văn John", "male", False),
        ("nguyễn văn an", None, False),
        ("Nguyễn  Văn An", None, False),
    ],
)
def test_is_valid_full_name(name: str, gender: str | None, ok: bool) -> None:
    assert is_valid_full_name(name, gender=gender) is ok


def test_is_valid_full_name_checks_parts_when_given() -> None:
    assert is_valid_full_name(
        "Lê Thị Minh Khai", family_name="Lê", middle_name="Thị Minh", given_name="Khai"
    )
    assert not is_valid_full_name("Lê Thị Minh Khai", middle_name="Thị")


def test_middle_name_never_thi_for_men_nor_van_for_women() -> None:
    assert not is_valid_middle_name("Thị", gender="male")
    assert not is_valid_middle_name("Văn", gender="female")
    assert is_valid_middle_name("Ngọc", gender="male") and is_valid_middle_name(
        "Ngọc", gender="female"
    )


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("0961234567", True), ("0321234567", True), ("0871234567", True), ("0591234567", True),
        ("0311234567", False), ("0123456789", False), ("096123456", False), ("09612345678", False),
        ("+84961234567", False), ("096 1234567", False), ("０９６１２３４５６７", False),
        (961234567, False),
    ],
)  # fmt: skip
def test_is_valid_phone(phone: object, ok: bool) -> None:
    assert is_valid_phone(phone) is ok


@pytest.mark.parametrize(
    ("email", "name", "ok"),
    [
        ("annguyen90@gmail.com", "Nguyễn Văn An", True),
        ("nguyenvanan123@gmail.com", "Nguyễn Văn An", True),
        ("an.nguyen1990@yahoo.com", "Nguyễn Văn An", True),
        ("dangthingoc@gmail.com", "Đặng Thị Ngọc", True),  # đ -> d
        ("đangthingoc@gmail.com", None, False),
        ("AnNguyen@gmail.com", None, False),
        ("an..nguyen@gmail.com", None, False),
        ("annguyen@gmail", None, False),
        ("john90@gmail.com", "Nguyễn Văn An", False),
        ("anan90@gmail.com", "Nguyễn Văn An", False),  # a word used twice
    ],
)
def test_is_valid_email(email: str, name: str | None, ok: bool) -> None:
    assert is_valid_email(email, full_name=name) is ok


def test_is_valid_address_and_commune() -> None:
    assert is_valid_address(
        "Thôn 3, Xã Tân An, Tỉnh Nghệ An", commune="Xã Tân An", residence_province="Nghệ An"
    )
    assert not is_valid_address("Thôn 3, Xã Tân An, Tỉnh Nghệ An", residence_province="Hà Tĩnh")
    assert not is_valid_address(
        "Thôn 3, Xã Tân An, Huyện Nghĩa Đàn, Tỉnh Nghệ An"
    )  # no districts since 2025
    assert not is_valid_address("Thôn 3, Xã Tân An, Nghệ An")
    assert not is_valid_address("Thôn 3, Xã Tân An, Thành phố Hà Nội")  # no Xã Tân An there
    assert not is_valid_address("Thôn 3, Xã Tân An Xa, Tỉnh Nghệ An")  # not an official name


@pytest.mark.parametrize(
    ("commune", "province", "ok"),
    [
        ("Phường Ba Đình", "Hà Nội", True),
        ("Xã Tân An", "Nghệ An", True),
        ("Xã Tân An", "Hà Nội", False),
        ("Phường B'Lao", "Lâm Đồng", True),  # apostrophe
        ("Phường 1 Bảo Lộc", "Lâm Đồng", True),  # digit
        ("Phường Văn Miếu - Quốc Tử Giám", "Hà Nội", True),
        ("Đặc khu Côn Đảo", "Hồ Chí Minh", True),
        ("Phường Rạch Dừa", "Hồ Chí Minh", True),  # two spaces in the package's data
        ("Phường  Rạch Dừa", "Hồ Chí Minh", False),
        ("Phường", None, False),
        ("Quận Tân Phú", None, False),
        ("Phường Tân Phú Đông", None, False),  # merged away in 2025
        (None, None, False),
    ],
)
def test_is_valid_commune_is_an_official_name_of_the_province(
    commune: object, province: str | None, ok: bool
) -> None:
    assert is_valid_commune(commune, residence_province=province) is ok
    if ok:
        assert is_valid_commune(commune)


@pytest.mark.parametrize(
    ("code", "commune", "province", "ok"),
    [
        ("00004", "Phường Ba Đình", "Hà Nội", True),
        ("00004", None, None, True),
        ("4", None, None, False),
        ("00004", "Phường Ngọc Hà", "Hà Nội", False),
        ("00004", "Phường Ba Đình", "Huế", False),
        ("20333", "Đặc khu Hoàng Sa", "Đà Nẵng", True),  # official, though never drawn
        ("99999", None, None, False),
        (4, None, None, False),
    ],
)
def test_is_valid_ward_code_agrees_with_name_and_province(
    code: object, commune: str | None, province: str | None, ok: bool
) -> None:
    assert is_valid_ward_code(code, commune=commune, residence_province=province) is ok


def test_date_of_birth_must_be_an_adult_at_the_reference_date() -> None:
    assert is_valid_date_of_birth(dt.date(2007, 7, 1))
    assert not is_valid_date_of_birth(dt.date(2007, 7, 2))
    assert not is_valid_date_of_birth(dt.datetime(1990, 1, 1))
    assert not is_valid_date_of_birth("1990-01-01")


def test_small_field_validators() -> None:
    assert is_valid_gender("male") and not is_valid_gender("Male")
    assert is_valid_vneid_level(1) and is_valid_vneid_level(2)
    assert not is_valid_vneid_level(True) and not is_valid_vneid_level("2")
    assert all(
        map(
            is_valid_payment_channel,
            ["vietqr", "napas", "account-debit", "momo", "vnpt-pay", "viettel-money"],
        )
    )
    assert is_valid_literacy("low") and not is_valid_literacy("Low")
    assert is_valid_birth_province_code("096") and not is_valid_birth_province_code("96")
    assert is_valid_residence_province("Huế") and not is_valid_residence_province("Thừa Thiên Huế")


@pytest.mark.parametrize(
    ("word", "ok"),
    [("Nguyễn", True), ("Huỳnh", True), ("Quyên", True), ("Giang", True), ("Ngọc", True),
     ("John", False), ("Jane", False), ("Pasteur", False), ("Rhodes", False), ("Wang", False),
     ("abc", False)],
)  # fmt: skip
def test_is_vietnamese_syllable(word: str, ok: bool) -> None:
    assert is_vietnamese_syllable(word) is ok


def test_fold_diacritics_handles_d_with_stroke() -> None:
    assert fold_diacritics("Đặng Thị Ngọc Ánh") == "Dang Thi Ngoc Anh"
    assert ascii_token("Đỗ") == "do"


@given(
    st.text(
        alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxy"
        "àảãáạằẳẵắặầẩẫấậđèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ ",
        max_size=30,
    )
)
def test_ascii_token_output_is_ascii_letters(text: str) -> None:
    folded = ascii_token(text)
    assert folded.isascii() and len(folded) == len(text)
