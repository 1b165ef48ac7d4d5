"""Checking a dossier's form values against its service's form.

Required fields must be present and not blank; a value that is present must fit
its type (``date``: an ISO date ``YYYY-MM-DD``; ``select``: one of the options;
``number``: a number or a numeric text; ``text``: a text or a number). Fields the
form does not list are kept as they are. Every refusal is a 422 naming the field as
``fields.<name>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from dvcschema.errors import shown
from portal.catalogue import FormField, Service
from portal.replies import ApiError

MAX_TEXT_LENGTH = 1000


def check_form(service: Service, values: Mapping[str, Any]) -> None:
    """Refuse (422) a missing required field or a value of the wrong type."""
    for form_field in service.fields:
        value = values.get(form_field.name)
        if _blank(value):
            if form_field.required:
                raise ApiError(
                    422,
                    f"required field {shown(form_field.name)} ({form_field.label}) is missing",
                    f"fields.{form_field.name}",
                )
            continue
        problem = _problem(form_field, value)
        if problem is not None:
            raise ApiError(422, f"{shown(value)} {problem}", f"fields.{form_field.name}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _problem(form_field: FormField, value: Any) -> str | None:
    if form_field.type == "date":
        return None if _is_iso_date(value) else "is not an ISO date (YYYY-MM-DD)"
    if form_field.type == "select":
        if value in form_field.options:
            return None
        return f"is not an option; options are {', '.join(form_field.options)}"
    if form_field.type == "number":
        return None if _is_number(value) else "is not a number"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "is not a text"
    return None if len(str(value)) <= MAX_TEXT_LENGTH else "is too long"


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True  # math.isfinite() of an int of 400 digits raises OverflowError
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        if not value.isascii():  # float('١٠') is 10: digits are ASCII only
            return False
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False
