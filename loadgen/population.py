"""A population of synthetic citizens, generated in bulk with NumPy.

Generation works in blocks of :data:`BLOCK_SIZE` citizens. Block ``b`` draws from two
random streams seeded by ``SeedSequence(seed, spawn_key=(b, 0 or 1))``: the *identity*
stream (residence, birth province, gender, date of birth: what the ID number is made
of) and the *details* stream (names, address, phone, e-mail, segments). Citizen ``i``
is therefore the same whatever the size asked for or the partition taken: a population
of size N is the first N citizens of the seed's endless sequence, and partition ``k``
of ``n`` (0-based) is the contiguous slice ``[N*k//n, N*(k+1)//n)`` of it. The
partitions of one (seed, size) are disjoint and together are exactly the population.

ID numbers are unique by construction (see :mod:`loadgen.cccd`): each citizen's rank
among the earlier citizens with the same six-digit prefix goes through a keyed
permutation. A partition counts the prefixes of the citizens before its slice by
drawing only their identity stream, so workers need no coordination.

There is no per-citizen Faker call: Faker's word lists and the official ward list are
read once (see :mod:`loadgen.names`, :mod:`loadgen.addresses`) and each field is a NumPy
array of indices (``commune`` and ``ward_code`` share one: the ward's name and code);
text is produced in bulk by :mod:`loadgen.render` when written or read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from dvcschema.errors import ConfigError
from loadgen import addresses, ages, emails, geography, names, phones, segments
from loadgen.cccd import SerialAllocator, century_gender_digit, compose_cccd, permute_serials
from loadgen.citizen import FIELD_NAMES, GENDERS, Citizen
from loadgen.render import ROW_SEPARATOR, Coded, Const, Digits, Field, Vocab, render, render_strings
from models._rng import RngLike, as_generator

BLOCK_SIZE = 32_768
MAX_POPULATION = 50_000_000
_N_BIRTH_YEARS = ages.MAX_BIRTH_YEAR - ages.MIN_BIRTH_YEAR + 1
_FIELD_SEPARATOR = "\x1f"
_EPOCH = dt.date(1970, 1, 1)
FEMALE_SHARE = 48_327_923 / 96_208_984
"""Women in the 2019 census (GSO): 48,327,923 of 96,208,984 (50.2%)."""


@dataclass(frozen=True)
class Identity:
    """What the ID number is made of, for a batch of citizens."""

    residence: npt.NDArray[np.uint8]
    birth: npt.NDArray[np.uint8]  # index into geography().birth_codes
    female: npt.NDArray[np.bool_]
    age: npt.NDArray[np.int16]
    birth_day: npt.NDArray[np.int32]  # days since 1970-01-01
    birth_year: npt.NDArray[np.int16]

    def prefix_keys(self) -> npt.NDArray[np.int64]:
        """Dense key of the six-digit ID prefix (birth province, century/gender, year)."""
        birth = self.birth.astype(np.int64) * 2 + self.female
        return birth * _N_BIRTH_YEARS + (self.birth_year.astype(np.int64) - ages.MIN_BIRTH_YEAR)


def sample_identity(size: int, rng: RngLike = None) -> Identity:
    """Draw residence, birth province, gender and date of birth for ``size`` citizens."""
    generator = as_generator(rng)
    residence = geography.sample_residences(size, generator)
    birth = geography.sample_birth_provinces(residence, generator)
    female = generator.random(size) < FEMALE_SHARE
    age = ages.sample_ages(size, generator)
    birth_day = ages.sample_birth_days(age, generator)
    return Identity(residence, birth, female, age, birth_day, ages.birth_years(birth_day))


def _describe_key(key: int) -> str:
    birth, year = divmod(key, _N_BIRTH_YEARS)
    code = geography.geography().birth_codes[birth // 2]
    year += ages.MIN_BIRTH_YEAR
    digit = int(century_gender_digit(year, birth % 2))
    return f"{code}{digit}{year % 100:02d}"


def _details(identity: Identity, rng: RngLike) -> dict[str, npt.NDArray[Any]]:
    generator = as_generator(rng)
    geo = geography.geography()
    family = names.sample_family_names(geo.birth_is_southern[identity.birth], generator)
    middle = names.sample_middle_names(identity.female, identity.birth_year, generator)
    given = names.sample_given_names(identity.female, generator)
    urban = geography.sample_urban(identity.residence, generator)
    address = addresses.sample_addresses(identity.residence, urban, generator)
    phone = phones.sample_phone_numbers(identity.residence.size, generator)
    email = emails.sample_emails(family, middle, given, identity.birth_year, generator)
    literacy = segments.sample_literacy(identity.age, urban, generator)
    return {
        "family": family, "middle": middle, "given": given,
        "ward": address.ward, "house": address.house, "lane": address.lane,
        "street": address.street, "phone": phone, "email_slots": email.slots,
        "email_number": email.number, "email_domain": email.domain, "literacy": literacy,
        "vneid": segments.sample_vneid_levels(literacy, generator),
        "channel": segments.sample_payment_channels(literacy, generator),
    }  # fmt: skip


def _block_generators(seed: int, block: int) -> tuple[np.random.Generator, np.random.Generator]:
    identity, details = (
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, stream)))
        for stream in (0, 1)
    )
    return identity, details


def check_request(size: int, seed: int, partition: tuple[int, int]) -> None:
    """Raise ConfigError unless size, seed and partition describe a population we can make."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_POPULATION:
        raise ConfigError(
            f"must be an integer from 1 to {MAX_POPULATION:,}, got {size!r}", field="size"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"must be a non-negative integer, got {seed!r}", field="seed")
    try:
        k, n = partition
        valid = all(isinstance(x, int) and not isinstance(x, bool) for x in (k, n)) and 0 <= k < n
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ConfigError(
            f"must be (k, n) with 0 <= k < n (k is 0-based), got {partition!r}", field="partition"
        )
    if partition[1] > size:
        raise ConfigError(
            f"{partition[1]} partitions of {size} citizens leave some empty", field="partition"
        )


def generate_population(size: int, *, seed: int, partition: tuple[int, int] = (0, 1)) -> Population:
    """Generate partition ``k`` of ``n`` of the population of ``size`` citizens for ``seed``.

    Parameters
    ----------
    size : int
        Citizens in the whole population (all partitions), 1 to :data:`MAX_POPULATION`.
    seed : int
        Non-negative seed; the same seed and size always give the same citizens.
    partition : tuple of int
        ``(k, n)``: worker ``k`` (0-based) of ``n`` takes citizens
        ``[size*k//n, size*(k+1)//n)``. Partitions are disjoint, their ID numbers are
        unique across partitions, and together they are the whole population.

    Returns
    -------
    Population
        ``len()`` is the number of citizens in the partition.

    Examples
    --------
    >>> people = generate_population(1000, seed=1)
    >>> len(people), people.citizen(0).cccd == people.column("cccd")[0]
    (1000, True)
    """
    check_request(size, seed, partition)
    k, n = partition
    lo, hi = size * k // n, size * (k + 1) // n
    allocator = SerialAllocator(len(geography.geography().birth_codes) * 2 * _N_BIRTH_YEARS)
    chunks: list[dict[str, npt.NDArray[Any]]] = []
    for block in range((hi + BLOCK_SIZE - 1) // BLOCK_SIZE):
        start = block * BLOCK_SIZE
        identity_rng, details_rng = _block_generators(seed, block)
        identity = sample_identity(BLOCK_SIZE, identity_rng)
        keys = identity.prefix_keys()
        first, last = max(lo - start, 0), min(hi - start, BLOCK_SIZE)
        allocator.count(keys[: min(first, BLOCK_SIZE)])
        if first >= last:
            continue
        rows = slice(first, last)
        serial = permute_serials(
            allocator.ranks(keys[rows], describe_key=_describe_key), keys[rows], seed
        )
        code = geography.geography().birth_code_numbers[identity.birth[rows]]
        chunk = {k: v[rows] for k, v in _details(identity, details_rng).items()}
        chunk["cccd"] = compose_cccd(code, identity.birth_year[rows], identity.female[rows], serial)
        chunk |= {
            k: getattr(identity, k)[rows] for k in ("residence", "birth", "female", "birth_day")
        }
        chunks.append(chunk)
    arrays = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
    return Population(_fields(arrays), hi - lo, seed=seed, partition=(k, n), first_index=lo)


@cache
def _vocabs() -> dict[str, Vocab]:
    geo = geography.geography()
    tables = names.name_tables()
    address = addresses.address_tables()
    wards = addresses.official_wards()
    mail = emails.email_tables()
    days = np.arange(
        np.datetime64(ages.EARLIEST_BIRTH_DATE), np.datetime64(ages.LATEST_BIRTH_DATE) + 1
    )
    return {
        "family": Vocab.of(tables.family), "middle": Vocab.of(tables.middle),
        "given": Vocab.of(tables.given), "gender": Vocab.of(GENDERS),
        "day": Vocab.of(days.astype(str).tolist()), "birth": Vocab.of(geo.birth_codes),
        "residence": Vocab.of(geo.residence_names),
        "label": Vocab.of([geo.residence_label(i) for i in range(len(geo.residence_names))]),
        "commune": Vocab.of(wards.names), "ward_code": Vocab.of(wards.codes),
        "house": Vocab.of(address.houses),
        "lane": Vocab.of(address.lanes), "street": Vocab.of(address.streets),
        "token": Vocab.of(mail.tokens), "number": Vocab.of(mail.numbers),
        "domain": Vocab.of(mail.domains),
        "vneid": Vocab.of([str(v) for v in segments.VNEID_LEVELS]),
        "channel": Vocab.of(segments.PAYMENT_CHANNELS),
        "literacy": Vocab.of(segments.LITERACY_LEVELS),
    }  # fmt: skip


def _fields(a: Mapping[str, npt.NDArray[Any]]) -> dict[str, Field]:
    v = _vocabs()
    first_day = (ages.EARLIEST_BIRTH_DATE - _EPOCH).days
    family, middle, given = (Coded(v[k], a[k]) for k in ("family", "middle", "given"))
    commune = Coded(v["commune"], a["ward"])
    slots = a["email_slots"]
    return {
        "cccd": Field((Digits(a["cccd"], 12),)),
        "full_name": Field((family, Const(" "), middle, Const(" "), given)),
        "family_name": Field((family,)),
        "middle_name": Field((middle,)),
        "given_name": Field((given,)),
        "gender": Field((Coded(v["gender"], a["female"].view(np.uint8)),)),
        "date_of_birth": Field((Coded(v["day"], a["birth_day"] - first_day),)),
        "birth_province_code": Field((Coded(v["birth"], a["birth"]),)),
        "residence_province": Field((Coded(v["residence"], a["residence"]),)),
        "commune": Field((commune,)),
        "ward_code": Field((Coded(v["ward_code"], a["ward"]),)),
        "address": Field(
            (
                *(Coded(v[k], a[k]) for k in ("house", "lane", "street")),
                Const(", "), commune, Const(", "), Coded(v["label"], a["residence"]),
            )
        ),
        "phone": Field((Digits(a["phone"], phones.PHONE_DIGITS),)),
        "email": Field(
            (
                *(Coded(v["token"], slots[:, i]) for i in range(slots.shape[1])),
                Coded(v["number"], a["email_number"]), Const("@"),
                Coded(v["domain"], a["email_domain"]),
            )
        ),
        "vneid_level": Field((Coded(v["vneid"], a["vneid"] - 1),), numeric=True),
        "payment_channel": Field((Coded(v["channel"], a["channel"]),)),
        "literacy": Field((Coded(v["literacy"], a["literacy"]),)),
    }  # fmt: skip


class Population:
    """Citizens stored by column: each field a few small arrays of indices or numbers.

    ``len()`` is the number of citizens; :meth:`citizen` builds one record in O(1);
    iteration yields records in order; :meth:`column` gives a field as strings.
    """

    def __init__(
        self,
        fields: Mapping[str, Field],
        size: int,
        *,
        seed: int | None = None,
        partition: tuple[int, int] = (0, 1),
        first_index: int = 0,
    ) -> None:
        missing = [name for name in FIELD_NAMES if name not in fields]
        if missing:
            raise ValueError(f"population fields missing: {missing}")
        self.fields: dict[str, Field] = {name: fields[name] for name in FIELD_NAMES}
        self._size = size
        self.seed = seed
        self.partition = partition
        self.first_index = first_index
        """Index of this partition's first citizen in the whole population."""

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"Population(size={self._size}, seed={self.seed}, partition={self.partition})"

    def _index(self, index: int) -> int:
        position = index + self._size if index < 0 else index
        if not 0 <= position < self._size:
            raise IndexError(f"citizen index {index} out of range for {self._size} citizens")
        return position

    def citizen(self, index: int) -> Citizen:
        """The citizen at ``index`` (negative counts from the end)."""
        i = self._index(index)
        return _citizen([self.fields[name].value(i) for name in FIELD_NAMES])

    def citizens(self, start: int = 0, stop: int | None = None) -> list[Citizen]:
        """Citizens ``start:stop`` built in bulk (faster than calling :meth:`citizen`)."""
        stop = self._size if stop is None else min(stop, self._size)
        if stop <= start:
            return []
        parts = []
        for name in FIELD_NAMES:
            parts += [*self.fields[name].parts, Const(_FIELD_SEPARATOR)]
        parts[-1] = Const(ROW_SEPARATOR)
        text = render(parts, start, stop).decode("utf-8")
        return [_citizen(row.split(_FIELD_SEPARATOR)) for row in text.split(ROW_SEPARATOR)[:-1]]

    def __iter__(self) -> Iterator[Citizen]:
        for start in range(0, self._size, BLOCK_SIZE):
            yield from self.citizens(start, start + BLOCK_SIZE)

    def column(self, name: str, start: int = 0, stop: int | None = None) -> list[str]:
        """Field ``name`` of citizens ``start:stop`` as exported text."""
        if name not in self.fields:
            raise KeyError(f"unknown field {name!r}; fields are {', '.join(FIELD_NAMES)}")
        stop = self._size if stop is None else min(stop, self._size)
        return render_strings(self.fields[name], start, stop)

    @property
    def nbytes(self) -> int:
        """Bytes held by the population's arrays (shared vocabularies counted once)."""
        seen: dict[int, int] = {}
        for fld in self.fields.values():
            for part in fld.parts:
                for array in (getattr(part, "codes", None), getattr(part, "values", None)):
                    if array is not None:
                        seen[id(array)] = array.nbytes
                vocab = getattr(part, "vocab", None)
                if vocab is not None:
                    seen[id(vocab)] = vocab.matrix.nbytes
        return sum(seen.values())


def _citizen(values: list[str]) -> Citizen:
    return Citizen.from_strings(dict(zip(FIELD_NAMES, values, strict=True)))
