"""The 34 provincial units (since 1 July 2025) and their administrative codes.

Copied from ``loadgen/data/provinces.json`` (``new_34[].name`` and ``admin_code``) so
that the portal does not import the load generator; a test checks the two agree.
A dossier code carries the code of the province that received it (``H01`` Hà Nội).

Names are matched after Unicode NFC normalisation and case folding, and both ways of
placing the tone mark on "oa", "oe" and "uy" are accepted ("Thanh Hóa" and
"Thanh Hoá", "Khánh Hòa" and "Khánh Hoà"), because both are in everyday use.
"""

from __future__ import annotations

import unicodedata

PROVINCE_CODES: dict[str, str] = {
    "Hà Nội": "01",
    "Huế": "46",
    "Cao Bằng": "04",
    "Điện Biên": "11",
    "Hà Tĩnh": "42",
    "Lai Châu": "12",
    "Lạng Sơn": "20",
    "Nghệ An": "40",
    "Quảng Ninh": "22",
    "Thanh Hóa": "38",
    "Sơn La": "14",
    "Tuyên Quang": "08",
    "Lào Cai": "15",
    "Thái Nguyên": "19",
    "Phú Thọ": "25",
    "Bắc Ninh": "24",
    "Hưng Yên": "33",
    "Hải Phòng": "31",
    "Ninh Bình": "37",
    "Quảng Trị": "44",
    "Đà Nẵng": "48",
    "Quảng Ngãi": "51",
    "Gia Lai": "52",
    "Khánh Hòa": "56",
    "Lâm Đồng": "68",
    "Đắk Lắk": "66",
    "Hồ Chí Minh": "79",
    "Đồng Nai": "75",
    "Tây Ninh": "80",
    "Cần Thơ": "92",
    "Vĩnh Long": "86",
    "Đồng Tháp": "82",
    "An Giang": "91",
    "Cà Mau": "96",
}

# Tone mark on the second vowel ("oá") -> on the first ("óa"), as PROVINCE_CODES writes it.
_TONE_PLACEMENT = {
    old: new
    for first, second in (("o", "a"), ("o", "e"), ("u", "y"))
    for old, new in (
        (
            first + unicodedata.normalize("NFC", second + mark),
            unicodedata.normalize("NFC", first + mark) + second,
        )
        for mark in ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
    )
}


def _key(name: str) -> str:
    text = unicodedata.normalize("NFC", name.strip()).casefold()
    for old, new in _TONE_PLACEMENT.items():
        text = text.replace(old, new)
    return " ".join(text.split())


_BY_KEY: dict[str, tuple[str, str]] = {_key(n): (n, c) for n, c in PROVINCE_CODES.items()}


def lookup_province(name: str) -> tuple[str, str] | None:
    """``(canonical name, admin code)`` for a province name, or ``None``.

    >>> lookup_province("thanh hoá")
    ('Thanh Hóa', '38')
    """
    return _BY_KEY.get(_key(name))
