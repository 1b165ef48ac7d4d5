"""Vietnamese text helpers: syllable shape, capitalisation and removing diacritics.

Vietnamese writes one syllable per word: an optional onset consonant, a vowel nucleus
of one to three vowels and an optional coda from a short list. Checking that shape is
how the Faker word lists are cleaned of non-Vietnamese entries (Faker's vi_VN
``first_name()`` returns "John" and "Jane"), and how the name validators work.

References
----------
.. [1] Vietnamese alphabet and syllable structure,
   https://en.wikipedia.org/wiki/Vietnamese_phonology#Syllables
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_BASE_VOWELS = "aăâeêioôơuưy"
_TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # ngang huyền sắc hỏi ngã nặng


def _vietnamese_vowels() -> str:
    """The 72 lowercase Vietnamese vowels: 12 vowel letters times 6 tones, precomposed."""
    return "".join(
        unicodedata.normalize("NFC", vowel + tone) for vowel in _BASE_VOWELS for tone in _TONE_MARKS
    )


VOWELS = _vietnamese_vowels()
"""Lowercase Vietnamese vowels, plain and with every tone and vowel mark."""

_SYLLABLE = re.compile(
    rf"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    rf"[{VOWELS}]{{1,3}}"
    rf"(?:ch|ng|nh|[cmnpt])?"
)


def is_vietnamese_syllable(word: str) -> bool:
    """Return True when ``word`` (any case) has the shape of one Vietnamese syllable.

    >>> is_vietnamese_syllable("Nguyễn"), is_vietnamese_syllable("John")
    (True, False)
    """
    normalised = unicodedata.normalize("NFC", word).lower()
    return _SYLLABLE.fullmatch(normalised) is not None


@lru_cache(maxsize=1 << 16)
def is_name_word(word: str) -> bool:
    """One capitalised Vietnamese syllable, as in a person's name ("Thị", not "thị")."""
    return (
        is_vietnamese_syllable(word)
        and word[:1].isupper()
        and (len(word) == 1 or word[1:].islower())
    )


_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})


def fold_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics: "Đặng Thị Ngọc" -> "Dang Thi Ngoc".

    ``đ`` is a separate letter in Unicode (not d plus a mark), so it is mapped to ``d``
    explicitly; every combining mark left after NFD decomposition is dropped.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 16)
def ascii_token(word: str) -> str:
    """Lowercase ASCII form of a name word, as used in e-mail addresses ("Đặng" -> "dang")."""
    return fold_diacritics(word).lower()
