"""What every endpoint's job shares: the request as read, the portal's state, helpers.

A job is built once the request body has been read (:class:`Inbound`); the tier
network then calls :meth:`BaseJob.prepare` while holding a web server and
:meth:`BaseJob.execute` while holding a db server (see :mod:`portal.network`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dvcschema.errors import shown
from portal.access_log import AccessLogWriter
from portal.auth import Session, TokenStore
from portal.config import PortalConfig
from portal.faults import FaultConfig
from portal.injector import FaultInjector
from portal.jsonbody import json_object
from portal.network import TierNetwork
from portal.replies import ApiError, Reply
from portal.storage import Database

MAX_JSON_BYTES = 1024 * 1024


@dataclass
class PortalState:
    """Everything a running portal holds, shared by all requests."""

    config: PortalConfig
    network: TierNetwork
    database: Database
    tokens: TokenStore
    access_log: AccessLogWriter
    population_loaded: bool
    population_size: int = 0
    requests_total: int = 0
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(FaultConfig()))
    # DVCLOAD_PORTAL_ADMIN_TOKEN (None: no admin endpoints); never shown or logged
    admin_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Inbound:
    """A request as read from the wire, before any tier."""

    headers: Mapping[str, str]
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes = b""
    size_bytes: int = 0
    sha256: str | None = None


class BaseJob:
    """One request's work; subclasses override :meth:`prepare` and :meth:`execute`.

    ``body_limit_bytes`` is the largest body accepted (413 above it); with
    ``keep_body = False`` the body is hashed and counted as it arrives, not kept;
    ``uses_database = False`` marks a job whose :meth:`execute` runs no SQL (an injected
    slow database does not touch it).
    """

    body_limit_bytes: ClassVar[int] = MAX_JSON_BYTES
    keep_body: ClassVar[bool] = True
    uses_database: ClassVar[bool] = True

    def __init__(self, state: PortalState, inbound: Inbound) -> None:
        self.state = state
        self.inbound = inbound

    def prepare(self) -> None:
        """Parse, authenticate and validate (web tier); raise ApiError to refuse."""

    async def execute(self) -> Reply:
        """Storage work and the reply (db tier); raise ApiError to refuse."""
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------
    def session(self) -> Session:
        """The caller's session, or 401."""
        session = self.state.tokens.session(self.inbound.headers.get("authorization"))
        if session is None:
            raise ApiError(
                401,
                "missing, unknown or expired bearer token",
                "Authorization",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return session

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or 413/400 (:func:`portal.jsonbody.json_object`)."""
        self.check_size()
        return json_object(self.inbound.body)

    def check_size(self) -> None:
        if self.inbound.size_bytes > self.body_limit_bytes:
            raise ApiError(
                413,
                f"the body has {self.inbound.size_bytes} bytes; "
                f"at most {self.body_limit_bytes} are allowed",
            )


def text_of(body: Mapping[str, Any], name: str, status: int = 422) -> str:
    """A non-empty string field of a JSON body, or an error naming it."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(status, f"{shown(name)} must be a non-empty text", name)
    return value
