"""What a handler answers: a :class:`Reply`, or an :class:`ApiError` raised.

Every error body is JSON ``{"error": "<one line>", "field": <name or null>}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response


@dataclass(frozen=True)
class Reply:
    """A JSON answer: status, body and extra headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=dict(self.headers))


class ApiError(Exception):
    """A request the portal refuses; becomes a JSON error reply."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())
        self.field = field
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        return error_reply(self.status, self.message, self.field, self.headers)


def error_reply(
    status: int, message: str, field: str | None = None, headers: Mapping[str, str] | None = None
) -> Reply:
    """``{"error": message, "field": field}`` with this status."""
    return Reply(status, {"error": message, "field": field}, headers or {})
