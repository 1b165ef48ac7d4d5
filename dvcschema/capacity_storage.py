"""The ``storage:`` part of a ``capacity:`` section: what the dossiers upload and keep.

From how many dossiers the sessions file and what each carries, ``dvcload plan`` gives
the upload bandwidth at the peak and the storage per day and per year, before
replication (:mod:`planning.storage`)::

    capacity:
      storage:
        dossiers_per_session: {low: 2.5%, high: 4%, source: "guess: ..."}  # or 3%, or a figure
        dossiers_per_day: online_dossiers_per_day   # a normal working day's, for the year
        attachments: {scan: 0.5, photo: 0.17}       # per dossier, on average
        record_bytes: 20KB                          # the dossier's own rows
        days_per_year: 250                          # working days

``dossiers_per_session`` (dossiers filed per session, a share such as ``3%`` or ``0.03``)
and ``dossiers_per_day`` (a normal working day's dossiers) are each one value, a range
(``{low: ..., high: ..., source: ...}``, as in :mod:`dvcschema.capacity_inputs`) or the
name of a figure of the ``derivation:``. Give at least one:

* ``dossiers_per_session`` alone: the year counts every working day like the planned
  day (an overestimate when the plan is a deadline);
* ``dossiers_per_day`` alone: the share is that day's dossiers over the planned day's
  sessions (right when the planned day is a normal working day);
* both: the share sizes the peak and the planned day, ``dossiers_per_day`` the year.

``attachments`` counts the attachments of each kind (``scan``, ``photo``: the lognormal
profiles of :mod:`dvcschema.attachments`) an average dossier carries; a kind left out
counts 0. Defaults: the reference portal's catalogue (0.5 scans, 0.167 photos; see
:data:`dvcschema.attachments.DEFAULT_PER_DOSSIER`), a 20 KB record (a guess, see
:data:`DEFAULT_RECORD_BYTES`) and 250 working days (:data:`DEFAULT_DAYS_PER_YEAR`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dvcschema.attachments import DEFAULT_PER_DOSSIER, PROFILES
from dvcschema.capacity_inputs import NAME, Derivation, Quantity, parse_amount, take_quantity
from dvcschema.errors import shown
from dvcschema.fields import Fields
from dvcschema.units import parse_number, parse_size_bytes

__all__ = [
    "DEFAULT_DAYS_PER_YEAR",
    "DEFAULT_RECORD_BYTES",
    "Input",
    "StorageSpec",
    "parse_storage",
]

# GUESS: the reference portal's rows for a dossier (the dossier with its form fields as
# JSON, attachment metadata and links, portal/storage.py) are ~1-2 KB; a production
# portal adds a status history, processing steps, an audit log and indexes: ~10x.
DEFAULT_RECORD_BYTES = 20_000
# 365 days - 104 weekend days - 11 public holidays (Labour Code 2019, art. 112; a holiday
# on a weekend is given back on a weekday). The derivation's per-day figures are working
# days; dossiers filed at weekends are left out (online filing never closes).
DEFAULT_DAYS_PER_YEAR = 250
MAX_DOSSIERS_PER_SESSION = 10.0
MAX_DOSSIERS_PER_DAY = 1e9
MAX_ATTACHMENTS = 100.0
MAX_RECORD_BYTES = 100_000_000
SHARE_KEY = "dossiers_per_session"
DAY_KEY = "dossiers_per_day"

Input = Quantity | str  # a value or a range; or the name of a figure of the derivation


@dataclass(frozen=True)
class StorageSpec:
    """A validated ``capacity.storage`` section.

    ``dossiers_per_session`` and ``dossiers_per_day`` are a :class:`Quantity` (one
    value: ``low == high``) or a figure's name; at least one is given. ``attachments``
    maps each kind of :data:`dvcschema.attachments.PROFILES` to its average count per
    dossier; the ``*_given`` flags say what the file gave (the rest are defaults).
    """

    dossiers_per_session: Input | None = None
    dossiers_per_day: Input | None = None
    attachments: tuple[tuple[str, float], ...] = tuple(DEFAULT_PER_DOSSIER.items())
    record_bytes: int = DEFAULT_RECORD_BYTES
    days_per_year: int = DEFAULT_DAYS_PER_YEAR
    attachments_given: bool = field(default=False, compare=False)
    record_bytes_given: bool = field(default=False, compare=False)
    days_per_year_given: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            (SHARE_KEY, self.dossiers_per_session),
            (DAY_KEY, self.dossiers_per_day),
        ):
            if value is not None:
                out[key] = value if isinstance(value, str) else value.as_dict(_plain)
        out["attachments"] = dict(self.attachments)
        out["record_bytes"] = self.record_bytes
        out["days_per_year"] = self.days_per_year
        return out


def parse_storage(fields: Fields, derivation: Derivation | None = None) -> StorageSpec | None:
    """The ``storage`` section of the ``capacity:`` section ``fields``; ``None`` without one.

    ``derivation`` is the capacity section's (figure names are checked against it).
    Every mistake is a one-line :class:`~dvcschema.errors.ConfigError` at its line.
    """
    section = fields.section("storage")
    if section is None:
        return None
    share = _take_input(section, SHARE_KEY, _share, derivation)
    per_day = _take_input(section, DAY_KEY, _dossiers_per_day, derivation)
    if share is None and per_day is None:
        raise fields.error_at(
            "storage",
            f"gives neither {SHARE_KEY} (a share of sessions such as 3%, a range or a"
            f" figure's name) nor {DAY_KEY} (a normal working day's dossiers); give one or both",
        )
    attachments_given = section.has("attachments")
    attachments = _attachments(section) if attachments_given else tuple(DEFAULT_PER_DOSSIER.items())
    spec = StorageSpec(
        share,
        per_day,
        attachments,
        record_bytes=section.take("record_bytes", _record_bytes, DEFAULT_RECORD_BYTES),
        days_per_year=section.take("days_per_year", _days_per_year, DEFAULT_DAYS_PER_YEAR),
        attachments_given=attachments_given,
        record_bytes_given=section.has("record_bytes"),
        days_per_year_given=section.has("days_per_year"),
    )
    section.close()
    return spec


def _take_input(
    fields: Fields,
    key: str,
    parse_one: Callable[[Any], float],
    derivation: Derivation | None,
) -> Input | None:
    """A value, a range or a figure's name (text starting with a letter), or ``None``."""
    raw = fields.take_raw(key, None)
    if raw is None:
        if fields.has(key):
            raise fields.error_at(key, "is empty; give a number, a range or a figure's name")
        return None
    if isinstance(raw, str) and NAME.fullmatch(raw.strip()):
        return _figure_name(fields, key, raw.strip(), derivation)
    central, quantity = take_quantity(fields, key, parse_one)
    return quantity if quantity is not None else Quantity(central, central)


def _figure_name(fields: Fields, key: str, name: str, derivation: Derivation | None) -> str:
    if derivation is None:
        raise fields.error_at(
            key,
            f"{shown(name)} names a figure, but the capacity section has no derivation;"
            " give a number such as 3% or a range {low: ..., high: ...}",
        )
    names = [f.name for f in derivation.figures]
    if name not in names:
        raise fields.error_at(
            key, f"{shown(name)} is not a figure of the derivation; figures: {', '.join(names)}"
        )
    if not derivation.central()[name] > 0:
        raise fields.error_at(key, f"the figure {shown(name)} is not above 0 at the central values")
    return name


def _share(value: Any) -> float:
    number = parse_amount(value)
    if not 0 < number <= MAX_DOSSIERS_PER_SESSION:
        raise ValueError(
            f"{shown(value)} is out of range; allowed: dossiers per session > 0 and at most"
            f" {MAX_DOSSIERS_PER_SESSION:g} (e.g. 3% or 0.03)"
        )
    return number


def _dossiers_per_day(value: Any) -> float:
    number = parse_amount(value)
    if not 0 < number <= MAX_DOSSIERS_PER_DAY:
        raise ValueError(
            f"{shown(value)} is out of range; allowed: > 0 and at most {MAX_DOSSIERS_PER_DAY:g}"
            " dossiers a day"
        )
    return number


def _attachments(section: Fields) -> tuple[tuple[str, float], ...]:
    fields = section.section("attachments")
    assert fields is not None
    if not fields.remaining():
        raise section.error_at(
            "attachments", "an empty mapping; give counts per dossier such as {scan: 2, photo: 1}"
        )
    counts = tuple(
        (kind, fields.take(kind, _count, 0.0)) for kind in PROFILES
    )  # unknown kinds: close() lists the allowed ones
    fields.close()
    return counts


def _count(value: Any) -> float:
    if isinstance(value, list | dict):
        raise ValueError(f"{shown(value)} is a range or a mapping; give one average count")
    return parse_number(value, minimum=0.0, maximum=MAX_ATTACHMENTS)


def _record_bytes(value: Any) -> int:
    if isinstance(value, list | dict):
        raise ValueError(f"{shown(value)} is a range or a mapping; give one size such as '20KB'")
    size = parse_size_bytes(value)
    if size > MAX_RECORD_BYTES:
        raise ValueError(f"{shown(value)} is out of range; allowed: 0 to 100MB")
    return size


def _days_per_year(value: Any) -> int:
    if isinstance(value, list | dict):
        raise ValueError(f"{shown(value)} is a range or a mapping; give one whole number of days")
    return int(parse_number(value, minimum=1, maximum=366, integer=True))


def _plain(x: float) -> float | int:
    return int(x) if x == int(x) and abs(x) < 2**53 else x
