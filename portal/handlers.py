"""The citizen-facing endpoints: login, catalogue, forms, attachments, dossiers.

Each endpoint is a job class (see :mod:`portal.jobs`): ``prepare`` checks the
request on the web tier, ``execute`` does the SQLite work on the db tier. Payments
are in :mod:`portal.payment_handlers`.
"""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from dvcschema.errors import shown
from portal.auth import CCCD_PATTERN, PASSCODE_PATTERN, derived_level
from portal.catalogue import (
    ATTACHMENT_KINDS,
    MAX_ATTACHMENT_BYTES,
    SERVICES,
    Service,
    find_service,
)
from portal.dossiers import (
    NewAttachment,
    NewDossier,
    find_dossier,
    insert_attachment,
    insert_dossier,
)
from portal.forms import check_form
from portal.jobs import BaseJob
from portal.provinces import lookup_province
from portal.replies import ApiError, Reply

ATTACHMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_ATTACHMENTS = 50


class Login(BaseJob):
    """``POST /auth/login``: a VNeID login by CCCD and a 6-digit passcode.

    The portal keeps no passcodes: any 6 digits are accepted. Who may log in, and at
    which level, comes from the population file when one is loaded.
    """

    def prepare(self) -> None:
        body = self.json_object()
        cccd, passcode = body.get("cccd"), body.get("passcode")
        if not isinstance(cccd, str) or not CCCD_PATTERN.fullmatch(cccd):
            raise ApiError(400, f"cccd {shown(cccd)} is not 12 digits (0-9)", "cccd")
        if not isinstance(passcode, str) or not PASSCODE_PATTERN.fullmatch(passcode):
            raise ApiError(400, "passcode is not 6 digits (0-9)", "passcode")
        self.cccd = cccd

    async def execute(self) -> Reply:
        full_name, level = await self.state.database.run(
            _identify, self.cccd, self.state.population_loaded
        )
        token = self.state.tokens.issue(self.cccd, level, full_name)
        return Reply(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(self.state.tokens.lifetime_s),
                "identification_level": level,
                "full_name": full_name,
            },
        )


def _identify(
    connection: sqlite3.Connection, cccd: str, population_loaded: bool
) -> tuple[str | None, int]:
    if not population_loaded:
        return None, derived_level(cccd)
    row = connection.execute(
        "SELECT full_name, vneid_level FROM citizens WHERE cccd = ?", (cccd,)
    ).fetchone()
    if row is None:
        raise ApiError(401, f"cccd {shown(cccd)} is not in the population database", "cccd")
    if int(row[1]) == 0:
        raise ApiError(401, "this citizen has no activated VNeID account", "cccd")
    return str(row[0]), int(row[1])


_SERVICES_BODY = {"services": [service.summary() for service in SERVICES]}


class ListServices(BaseJob):
    """``GET /services``: the catalogue."""

    uses_database = False

    async def execute(self) -> Reply:
        return Reply(200, _SERVICES_BODY)


class ServiceForm(BaseJob):
    """``GET /services/{code}/form``: a service's fields and attachments."""

    uses_database = False

    def prepare(self) -> None:
        code = self.inbound.path_params["code"]
        service = find_service(code)
        if service is None:
            raise ApiError(404, f"no service {shown(code)}", "code")
        self.service = service

    async def execute(self) -> Reply:
        return Reply(200, self.service.form())


class UploadAttachment(BaseJob):
    """``POST /attachments``: a PDF, JPEG or PNG; only its metadata is stored."""

    body_limit_bytes = MAX_ATTACHMENT_BYTES
    keep_body: ClassVar[bool] = False

    def prepare(self) -> None:
        session = self.session()
        content_type = self.inbound.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ATTACHMENT_TYPES:
            raise ApiError(
                415,
                f"Content-Type {shown(content_type)}; allowed: {', '.join(ATTACHMENT_TYPES)}",
                "Content-Type",
            )
        self.check_size()
        if self.inbound.size_bytes == 0:
            raise ApiError(400, "the attachment is empty")
        kind = self.inbound.headers.get("x-attachment-kind", "")
        if kind not in ATTACHMENT_KINDS:
            raise ApiError(
                400,
                f"X-Attachment-Kind {shown(kind)} is not a kind of any form; "
                f"kinds are {', '.join(sorted(ATTACHMENT_KINDS))}",
                "X-Attachment-Kind",
            )
        assert self.inbound.sha256 is not None  # hashed while reading
        self.item = NewAttachment(
            session.cccd, kind, content_type, self.inbound.size_bytes, self.inbound.sha256
        )

    async def execute(self) -> Reply:
        attachment_id = await self.state.database.run(insert_attachment, self.item)
        body = {
            "attachment_id": attachment_id,
            "size_bytes": self.item.size_bytes,
            "sha256": self.item.sha256,
        }
        return Reply(201, body)


class SubmitDossier(BaseJob):
    """``POST /dossiers``: file a dossier; the reply carries its code."""

    def prepare(self) -> None:
        session = self.session()
        body = self.json_object()
        service = _service_of(body)
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise ApiError(422, "'fields' must be an object of form values", "fields")
        check_form(service, fields)
        if fields.get("cccd") != session.cccd:
            raise ApiError(
                422, "fields.cccd differs from the logged-in citizen's cccd", "fields.cccd"
            )
        province, province_code = _province_of(body)
        self.item = NewDossier(
            service_code=service.code,
            agency_code=service.agency_code,
            owner_cccd=session.cccd,
            province=province,
            province_code=province_code,
            fee_vnd=service.fee_vnd,
            fields=fields,
            attachment_ids=_attachment_ids(body),
            required_kinds=[a.kind for a in service.attachments if a.required],
        )

    async def execute(self) -> Reply:
        code, received_at = await self.state.database.run(insert_dossier, self.item)
        body = {
            "dossier_code": code,
            "status": "received",
            "fee_vnd": self.item.fee_vnd,
            "received_at": received_at,
        }
        return Reply(201, body)


class DossierStatus(BaseJob):
    """``GET /dossiers/{code}?cccd=...``: look a dossier up by its code and owner."""

    def prepare(self) -> None:
        cccd = self.inbound.query.get("cccd")
        if cccd is None or not CCCD_PATTERN.fullmatch(cccd):
            raise ApiError(
                400, f"query parameter cccd {shown(cccd)} is not 12 digits (0-9)", "cccd"
            )
        self.cccd = cccd
        self.code = self.inbound.path_params["code"]

    async def execute(self) -> Reply:
        found = await self.state.database.run(find_dossier, self.code, self.cccd)
        if found is None:
            raise ApiError(404, f"no dossier {shown(self.code)} for this cccd", "code")
        return Reply(200, found)


def _service_of(body: dict[str, Any]) -> Service:
    code = body.get("service_code")
    service = find_service(code) if isinstance(code, str) else None
    if service is None:
        raise ApiError(422, f"unknown service_code {shown(code)}", "service_code")
    return service


def _province_of(body: dict[str, Any]) -> tuple[str, str]:
    name = body.get("province")
    found = lookup_province(name) if isinstance(name, str) else None
    if found is None:
        raise ApiError(
            422, f"province {shown(name)} is not one of the 34 provincial units", "province"
        )
    return found


def _attachment_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("attachment_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(422, "'attachment_ids' must be a list of attachment ids", "attachment_ids")
    if len(ids) > MAX_ATTACHMENTS:
        raise ApiError(
            422, f"{len(ids)} attachments; at most {MAX_ATTACHMENTS} allowed", "attachment_ids"
        )
    return ids
