"""The one reader of JSON request bodies: every endpoint, the admin's included.

A body is a JSON object or the request is refused with 400 and one line: not UTF-8
JSON, nested too deeply for the parser (``json.loads`` raises ``RecursionError`` near
Python's recursion limit, which was a 500 with a traceback on ``/auth/login``),
``NaN`` or ``Infinity`` (not JSON, though Python's parser takes them), or not an
object. Size limits stay with the caller (413 for the citizens' endpoints).
"""

from __future__ import annotations

import json
from typing import Any

from portal.replies import ApiError

NOT_JSON = "the body is not valid JSON (UTF-8)"


def json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object; :class:`ApiError` 400 otherwise."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(400, "the body is nested too deeply") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer of 4,300+ digits
        raise ApiError(400, NOT_JSON) from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body must be a JSON object")
    return value


def _refuse_constant(name: str) -> Any:
    raise ApiError(400, f"the body has {name}, which is not a JSON number")
