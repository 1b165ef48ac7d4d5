"""Filling one of the reference portal's forms from a citizen's exported fields.

The portal describes each form (``GET /services/{code}/form``); its journeys
(:mod:`portal.journeys`) fill the fields a real citizen would: identity fields from
the citizen, service-specific ones with plausible values, selects from their options.
Unknown fields are filled by type, so a portal that adds a field does not break the
journeys.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import Any

Citizen = Mapping[str, Any]  # the population export's fields, by name


_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng")
_CHILD_GIVEN = ("An", "Bình", "Minh", "Khánh", "Ngọc", "Phúc", "Hà", "Linh")


def _child_name(citizen: Citizen, rng: random.Random) -> str:
    return f"{citizen['full_name'].split()[0]} {rng.choice(_CHILD_GIVEN)}"


def _child_birth_date(rng: random.Random, today: dt.date) -> str:
    return (today - dt.timedelta(days=rng.randint(1, 59))).isoformat()


_BY_NAME: dict[str, Callable[[Citizen, random.Random, dt.date], Any]] = {
    "full_name": lambda c, r, t: c["full_name"],
    "cccd": lambda c, r, t: c["cccd"],
    "date_of_birth": lambda c, r, t: str(c["date_of_birth"]),
    "phone": lambda c, r, t: c["phone"],
    "email": lambda c, r, t: c["email"],
    "address": lambda c, r, t: c["address"],
    "province": lambda c, r, t: c["residence_province"],
    "gender": lambda c, r, t: c["gender"],
    "licence_number": lambda c, r, t: f"{r.randrange(10**11, 10**12)}",
    "tax_year": lambda c, r, t: t.year - 1,
    "total_income_vnd": lambda c, r, t: r.randrange(60, 1_200) * 1_000_000,
    "tax_withheld_vnd": lambda c, r, t: r.randrange(0, 60) * 1_000_000,
    "tax_code": lambda c, r, t: c["cccd"],
    "child_full_name": lambda c, r, t: _child_name(c, r),
    "child_date_of_birth": lambda c, r, t: _child_birth_date(r, t),
    "child_name": lambda c, r, t: _child_name(c, r),
    "engine_number": lambda c, r, t: f"E{r.randrange(10**8, 10**9)}",
    "chassis_number": lambda c, r, t: f"RL{r.randrange(10**12, 10**13)}",
    "business_name": lambda c, r, t: f"Công ty TNHH {r.choice(_FAMILY)} {r.randint(1, 99)}",
    "promotion_start": lambda c, r, t: (t + dt.timedelta(days=7)).isoformat(),
    "promotion_end": lambda c, r, t: (t + dt.timedelta(days=37)).isoformat(),
}


def fill_form(
    form: Mapping[str, Any], citizen: Citizen, rng: random.Random, today: dt.date | None = None
) -> dict[str, Any]:
    """Values for every field of ``form`` (required and optional, as a careful citizen).

    Raises ``KeyError``/``TypeError`` when the form itself is malformed; the journey
    turns that into a content-check failure.
    """
    today = today or dt.date.today()
    values: dict[str, Any] = {}
    for spec in form["fields"]:
        name = spec["name"]
        filler = _BY_NAME.get(name)
        values[name] = filler(citizen, rng, today) if filler else _by_type(spec, rng, today)
    return values


def _by_type(spec: Mapping[str, Any], rng: random.Random, today: dt.date) -> Any:
    kind = spec.get("type", "text")
    if kind == "select":
        return rng.choice(list(spec["options"]))
    if kind == "date":
        return (today - dt.timedelta(days=rng.randint(0, 3650))).isoformat()
    if kind == "number":
        return rng.randint(1, 100)
    return f"{spec.get('label', spec['name'])} {rng.randint(1, 999)}"
