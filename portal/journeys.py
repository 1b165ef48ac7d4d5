"""The reference portal's journeys: a journey module like any operator's.

``scenarios/*.yaml`` name it (``journeys: {module: portal.journeys}``), and a scenario
that declares no journeys runs it. The load generator knows nothing of these paths:
it runs what this module marks, through the same ``http`` interface as any module
(:mod:`loadgen.pyjourneys`), so every request passes the target policy, the ceiling,
the retries and the citizen's patience.

- the session starts with a VNeID-style login (``POST /auth/login``), whose reply
  says the citizen's identification level;
- ``browse``: the catalogue, then one service's form;
- ``filing``: the catalogue, a service by ``mix.services``, its form filled from the
  citizen, the required attachments uploaded (sizes from the attachment profiles),
  the dossier submitted; the portal's code goes into the audit ledger;
- ``payment`` (identification level 2 only, the VNeID rule): an unpaid dossier's fee
  paid through PayGov exactly once (an ``Idempotency-Key`` per payment), then its
  status seen as paid; a citizen without an unpaid dossier files one first;
- ``status``: a dossier looked up by its code and the citizen's ID number (filed
  first when the citizen has none).

Every reply is checked for content, not only status: a 200 with a wrong body is a
failure ("content check").
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from typing import Any

from dvcschema import routes
from dvcschema.pyjourneys import journey, session_start
from portal.form_filling import fill_form

DOSSIER_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4,}")
DEFAULT_PASSCODE = "123456"  # the reference portal accepts any 6 digits; not a secret
DEFAULT_MAX_BYTES = 5_000_000

# ``{request name: tags}`` for ``tag:NAME`` budgets and the report's groups.
TAGS = {route.name: route.tags for route in routes.REFERENCE_PORTAL}


def _keys(*names: str, then: Any = None) -> Any:
    """A check that the JSON object has ``names`` (and passes ``then(body)``)."""

    def check(reply: Any) -> str | None:
        try:
            body = reply.json()
        except ValueError:
            return "body is not JSON"
        if not isinstance(body, dict):
            return "body is not a JSON object"
        missing = [k for k in names if k not in body]
        if missing:
            return f"body lacks {', '.join(missing)}"
        return then(body) if then is not None else None

    return check


@session_start
def login(citizen: Mapping[str, Any], http: Any) -> None:
    """Log in with the citizen's ID number, as on VNeID."""
    passcode = os.environ.get("DVCLOAD_PASSCODE", DEFAULT_PASSCODE)
    body = http.request(
        routes.LOGIN.method,
        routes.LOGIN.template,
        json={"cccd": citizen["cccd"], "passcode": passcode},
        check=LOGIN_CHECK,
    ).json()
    http.headers["Authorization"] = f"Bearer {body['access_token']}"
    http.state["level"] = int(body["identification_level"])
    http.state["dossiers"] = []


def _level_check(body: Mapping[str, Any]) -> str | None:
    level = body["identification_level"]
    return None if level in (1, 2) else f"identification_level {level!r}"


def verified(citizen: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """Identification level 2, as the login said: needed to pay (VNeID rule)."""
    return int(state.get("level", 0)) >= 2


@journey
def browse(citizen: Mapping[str, Any], http: Any) -> bool:
    """Look a procedure up: the catalogue, then one service's form (no filing)."""
    catalogue = _catalogue(http)
    service = _choose_service(http, catalogue, paid_only=False)
    if service is None:
        return False
    http.service = service
    _form(http, service)
    return True


@journey
def filing(citizen: Mapping[str, Any], http: Any) -> bool:
    """Browse the catalogue, open a form, upload attachments, submit."""
    return _file(citizen, http, paid_service=False) is not None


@journey(when=verified)
def payment(citizen: Mapping[str, Any], http: Any) -> bool:
    """Pay an unpaid dossier's fee through PayGov, exactly once, then see it paid."""
    dossiers = http.state.setdefault("dossiers", [])
    dossier = next((d for d in dossiers if d["fee_vnd"] > 0 and not d["paid"]), None)
    if dossier is None:
        dossier = _file(citizen, http, paid_service=True)
        if dossier is None or dossier["fee_vnd"] <= 0:
            return False
    http.service = dossier["service_code"]
    paid = http.request(
        routes.PAYMENTS.method,
        routes.PAYMENTS.template,
        values={"code": dossier["code"]},
        expect=(200, 201),
        # unique across workers and runs (a staging portal keeps its keys), not from the seed
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={
            "channel": citizen.get("payment_channel") or "vietqr",
            "amount_vnd": dossier["fee_vnd"],
        },
        check=PAYMENT_CHECK,
    ).json()
    http.request(
        routes.PAYGOV_CONFIRM.method,
        routes.PAYGOV_CONFIRM.template,
        json={"payment_id": paid["payment_id"], "gateway_ref": paid["gateway_ref"]},
        check=CONFIRM_CHECK,
    )
    dossier["paid"] = True
    http.record_payment(paid["payment_id"], dossier["code"])
    return _status(citizen, http, dossier)


@journey
def status(citizen: Mapping[str, Any], http: Any) -> bool:
    """Look a dossier up by its code and the citizen's ID number."""
    dossiers = http.state.setdefault("dossiers", [])
    dossier = http.rng.choice(dossiers) if dossiers else _file(citizen, http, paid_service=False)
    return dossier is not None and _status(citizen, http, dossier)


# -- the steps ---------------------------------------------------------------------------
def _catalogue(http: Any) -> dict[str, dict[str, Any]]:
    body = http.request(
        routes.SERVICES.method, routes.SERVICES.template, check=SERVICES_CHECK
    ).json()
    return {s["code"]: s for s in body["services"] if "code" in s}


def _form(http: Any, service: str) -> dict[str, Any]:
    """The service's form, as a citizen opens it before filing (or just to read it)."""
    route = routes.SERVICE_FORM
    reply = http.request(route.method, route.template, values={"code": service}, check=FORM_CHECK)
    form: dict[str, Any] = reply.json()
    return form


def _choose_service(http: Any, catalogue: Mapping[str, Any], paid_only: bool) -> str | None:
    """A service by the scenario's ``mix.services`` weights (all alike when none)."""
    weights = {
        code: weight
        for code, weight in (http.services or dict.fromkeys(catalogue, 1.0)).items()
        if code in catalogue and (not paid_only or int(catalogue[code].get("fee_vnd", 0)) > 0)
    }
    if not weights or sum(weights.values()) <= 0:
        return None
    codes = list(weights)
    return str(http.rng.choices(codes, weights=[weights[c] for c in codes])[0])


def _file(citizen: Mapping[str, Any], http: Any, *, paid_service: bool) -> dict[str, Any] | None:
    """Catalogue, form, attachments, submission: the dossier the portal acknowledged."""
    catalogue = _catalogue(http)
    service = _choose_service(http, catalogue, paid_service)
    if service is None:
        return None
    http.service = service
    form = _form(http, service)
    try:
        fields = fill_form(form, citizen, http.rng)
    except (KeyError, TypeError, IndexError):
        return None
    attachment_ids = [_upload(http, spec) for spec in form["attachments"] if spec.get("required")]
    route = routes.DOSSIERS
    body = http.request(
        route.method,
        route.template,
        expect=201,
        json={
            "service_code": service,
            "fields": fields,
            "attachment_ids": attachment_ids,
            "province": citizen["residence_province"],
        },
        check=DOSSIER_CHECK,
    ).json()
    dossier = {"code": body["dossier_code"], "service_code": service,
               "fee_vnd": int(body["fee_vnd"]), "paid": False}  # fmt: skip
    http.state.setdefault("dossiers", []).append(dossier)
    http.record_dossier(dossier["code"])
    return dossier


def _upload(http: Any, spec: Mapping[str, Any]) -> str:
    data, content_type = http.attachment(
        spec["kind"], int(spec.get("max_bytes", DEFAULT_MAX_BYTES))
    )
    route = routes.ATTACHMENTS
    body = http.request(
        route.method,
        route.template,
        expect=201,
        headers={"Content-Type": content_type, "X-Attachment-Kind": spec["kind"]},
        data=data,
        check=_keys("attachment_id", "size_bytes", then=_size_check(len(data))),
    ).json()
    return str(body["attachment_id"])


def _status(citizen: Mapping[str, Any], http: Any, dossier: Mapping[str, Any]) -> bool:
    http.service = dossier["service_code"]
    code, paid = dossier["code"], dossier["paid"]

    def right(body: Mapping[str, Any]) -> str | None:
        if body["dossier_code"] != code:
            return f"asked for {code}, got {body['dossier_code']!r}"
        if paid and body["paid"] is not True:
            return "a confirmed payment is not shown as paid"
        return None

    route = routes.DOSSIER
    http.request(
        route.method,
        route.template,
        values={"code": code},
        params={"cccd": citizen["cccd"]},
        check=_keys("dossier_code", "status", "paid", then=right),
    )
    return True


def _size_check(sent: int) -> Any:
    def check(body: Mapping[str, Any]) -> str | None:
        if body["size_bytes"] == sent:
            return None
        return f"size_bytes {body['size_bytes']!r}, sent {sent}"

    return check


def _dossier_code_check(body: Mapping[str, Any]) -> str | None:
    code = body["dossier_code"]
    if isinstance(code, str) and DOSSIER_CODE.fullmatch(code):
        return None
    return f"dossier_code {code!r} is not of the agency-date-sequence shape"


def _paid_check(body: Mapping[str, Any]) -> str | None:
    return None if body["status"] == "paid" else f"status {body['status']!r}"


# The checks that do not depend on the request, built once.
LOGIN_CHECK = _keys("access_token", "identification_level", then=_level_check)
SERVICES_CHECK = _keys("services")
FORM_CHECK = _keys("fields", "attachments")
DOSSIER_CHECK = _keys("dossier_code", "status", "fee_vnd", then=_dossier_code_check)
PAYMENT_CHECK = _keys("payment_id", "gateway_ref", "status")
CONFIRM_CHECK = _keys("status", "transaction_id", then=_paid_check)
