"""Every endpoint of the reference portal over real HTTP: happy paths and errors."""

from __future__ import annotations

import hashlib
import re

import pytest
from portal_client import Api, RunningPortal, cccd_with_level, licence_fields

DOSSIER_CODE = re.compile(r"000\.00\.\d{2}\.H\d{2}-\d{6}-\d{4,}")
LEVEL2 = cccd_with_level(2)
OTHER = cccd_with_level(2, start=5000)


# -- /health -------------------------------------------------------------------------------
def test_health_lists_tiers_and_counts_requests(api: Api) -> None:
    before = api.get("/health").body
    api.get("/services")
    after = api.get("/health")
    assert after.status == 200
    assert after.body["status"] == "ok"
    web = after.body["tiers"]["web"]
    assert web == {"servers": 64, "busy": 0, "waiting": 0, "queue_limit": 4096}
    assert set(after.body["tiers"]) == {"web", "db", "payment"}
    assert after.body["requests_total"] == before["requests_total"] + 1  # /health not counted


# -- login -----------------------------------------------------------------------------------
def test_login_returns_a_bearer_token_and_a_deterministic_level(api: Api) -> None:
    answer = api.post("/auth/login", json_body={"cccd": LEVEL2, "passcode": "123456"})
    assert answer.status == 200
    assert answer.body["token_type"] == "bearer"
    assert answer.body["expires_in"] == 3600
    assert answer.body["identification_level"] == 2
    assert answer.body["full_name"] is None
    assert len(answer.body["access_token"]) >= 32
    level1 = cccd_with_level(1)
    again = api.post("/auth/login", json_body={"cccd": level1, "passcode": "654321"})
    assert again.body["identification_level"] == 1
    bucket = int(hashlib.sha256(level1.encode()).hexdigest()[:8], 16) % 100
    assert bucket >= 70


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cccd": "12345", "passcode": "123456"}, "cccd"),
        ({"cccd": 1203012345, "passcode": "123456"}, "cccd"),
        ({"cccd": "00120301234a", "passcode": "123456"}, "cccd"),
        ({"cccd": "001203012345", "passcode": "12345"}, "passcode"),
        ({"cccd": "001203012345"}, "passcode"),
    ],
)
def test_login_refuses_malformed_credentials_with_400(api: Api, body: dict, field: str) -> None:
    answer = api.post("/auth/login", json_body=body)
    assert answer.status == 400
    assert answer.body["field"] == field
    assert "\n" not in answer.body["error"]


def test_login_refuses_a_body_that_is_not_json(api: Api) -> None:
    answer = api.post(
        "/auth/login", raw=b"cccd=001203012345", headers={"Content-Type": "text/plain"}
    )
    assert answer.status == 400
    assert answer.body == {"error": "the body is not valid JSON (UTF-8)", "field": None}


# -- catalogue and forms ---------------------------------------------------------------
def test_services_lists_the_catalogue_with_fees(api: Api) -> None:
    answer = api.get("/services")
    assert answer.status == 200
    by_code = {s["code"]: s for s in answer.body["services"]}
    assert by_code["driving-licence-renewal"]["fee_vnd"] == 135_000
    assert by_code["driving-licence-renewal"]["name"] == "Cấp đổi giấy phép lái xe"
    assert by_code["passport"]["fee_vnd"] == 200_000
    assert by_code["tax-settlement"]["fee_vnd"] == 0
    assert {"vehicle-registration", "promotion-notification", "birth-registration-bundle"} <= set(
        by_code
    )
    for service in by_code.values():
        assert set(service) == {"code", "name", "group", "agency_code", "fee_vnd", "fully_online"}
        assert re.fullmatch(r"\d{2}", service["agency_code"])


@pytest.mark.parametrize(
    ("code", "specific"),
    [
        ("driving-licence-renewal", {"licence_number", "licence_class"}),
        ("tax-settlement", {"tax_year", "total_income_vnd"}),
        ("birth-registration-bundle", {"child_full_name", "child_date_of_birth"}),
    ],
)
def test_form_has_common_and_specific_fields(api: Api, code: str, specific: set[str]) -> None:
    answer = api.get(f"/services/{code}/form")
    assert answer.status == 200
    assert answer.body["service_code"] == code
    names = {f["name"] for f in answer.body["fields"]}
    assert {"full_name", "cccd", "date_of_birth", "phone", "email", "address"} | specific <= names
    for field in answer.body["fields"]:
        assert field["type"] in ("text", "date", "select", "number")
        assert ("options" in field) == (field["type"] == "select")
    for attachment in answer.body["attachments"]:
        assert set(attachment) == {"kind", "label", "required", "max_bytes"}


def test_form_of_an_unknown_service_is_404(api: Api) -> None:
    answer = api.get("/services/no-such-service/form")
    assert answer.status == 404
    assert answer.body["field"] == "code"


def test_unknown_route_and_method_get_json_errors(api: Api) -> None:
    assert api.get("/no/such/route").status == 404
    wrong_method = api.request("DELETE", "/services")
    assert wrong_method.status == 405
    assert set(wrong_method.body) == {"error", "field"}


# -- attachments ------------------------------------------------------------------------
def test_attachment_upload_returns_size_and_sha256(running: RunningPortal) -> None:
    api = running.api
    token = api.login(LEVEL2)
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    answer = api.post(
        "/attachments",
        raw=data,
        token=token,
        headers={"Content-Type": "image/png", "X-Attachment-Kind": "portrait-photo"},
    )
    assert answer.status == 201
    assert answer.body["size_bytes"] == len(data)
    assert answer.body["sha256"] == hashlib.sha256(data).hexdigest()
    rows = running.sql(
        "SELECT owner_cccd, kind, size_bytes FROM attachments WHERE attachment_id = ?",
        answer.body["attachment_id"],
    )
    assert rows == [(LEVEL2, "portrait-photo", len(data))]
    columns = [row[1] for row in running.sql("PRAGMA table_info(attachments)")]
    assert not any("data" in c or c == "bytes" for c in columns)  # metadata only


@pytest.mark.parametrize(
    ("content_type", "data", "kind", "status"),
    [
        ("text/plain", b"hello", "portrait-photo", 415),
        ("application/pdf", b"", "portrait-photo", 400),
        ("application/pdf", b"%PDF", "", 400),
        ("application/pdf", b"%PDF", "no-such-kind", 400),
        ("image/jpeg", b"\xff" * (10 * 1024 * 1024 + 1), "portrait-photo", 413),
    ],
)
def test_attachment_errors(
    api: Api, content_type: str, data: bytes, kind: str, status: int
) -> None:
    token = api.login(LEVEL2)
    headers = {"Content-Type": content_type}
    if kind:
        headers["X-Attachment-Kind"] = kind
    answer = api.post("/attachments", raw=data, token=token, headers=headers)
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error", "field"}


def test_attachment_of_exactly_10_mib_is_accepted(api: Api) -> None:
    token = api.login(LEVEL2)
    answer = api.post(
        "/attachments",
        raw=b"\0" * (10 * 1024 * 1024),
        token=token,
        headers={"Content-Type": "application/pdf", "X-Attachment-Kind": "licence-scan"},
    )
    assert answer.status == 201


@pytest.mark.parametrize("token", [None, "not-a-real-token"])
def test_endpoints_needing_auth_refuse_missing_or_unknown_tokens(
    api: Api, token: str | None
) -> None:
    upload = api.post(
        "/attachments",
        raw=b"%PDF",
        token=token,
        headers={"Content-Type": "application/pdf", "X-Attachment-Kind": "portrait-photo"},
    )
    dossier = api.post("/dossiers", json_body={"service_code": "passport"}, token=token)
    payment = api.post(
        "/dossiers/000.00.15.H01-250101-0001/payments",
        json_body={"channel": "vietqr", "amount_vnd": 135000},
        token=token,
        headers={"Idempotency-Key": "k"},
    )
    assert (upload.status, dossier.status, payment.status) == (401, 401, 401)
    assert upload.headers["www-authenticate"] == "Bearer"


# -- dossiers ---------------------------------------------------------------------------
def test_dossier_submission_and_status(running: RunningPortal) -> None:
    api = running.api
    token = api.login(LEVEL2)
    attachment = api.upload(token, "health-certificate")
    answer = api.post(
        "/dossiers",
        token=token,
        json_body={
            "service_code": "driving-licence-renewal",
            "fields": licence_fields(LEVEL2),
            "attachment_ids": [attachment],
            "province": "Thanh Hoá",
        },
    )
    assert answer.status == 201, answer.body
    code = answer.body["dossier_code"]
    assert DOSSIER_CODE.fullmatch(code)
    assert code.startswith("000.00.15.H38-")
    assert answer.body["status"] == "received"
    assert answer.body["fee_vnd"] == 135_000
    assert answer.body["received_at"].endswith("Z")
    status = api.get(f"/dossiers/{code}?cccd={LEVEL2}")
    assert status.status == 200
    assert status.body == {
        "dossier_code": code,
        "service_code": "driving-licence-renewal",
        "status": "received",
        "fee_vnd": 135_000,
        "paid": False,
        "received_at": answer.body["received_at"],
    }
    assert running.sql("SELECT owner_cccd FROM dossiers WHERE dossier_code = ?", code) == [
        (LEVEL2,)
    ]


def test_dossier_sequence_increases_per_agency_province_and_day(api: Api) -> None:
    token = api.login(OTHER)
    codes = [api.file_licence_renewal(token, OTHER) for _ in range(3)]
    sequences = [int(code.rsplit("-", 1)[1]) for code in codes]
    prefixes = {code.rsplit("-", 1)[0] for code in codes}
    assert len(prefixes) == 1
    assert sequences == list(range(sequences[0], sequences[0] + 3))


def test_free_service_dossier_needs_no_attachment(api: Api) -> None:
    token = api.login(LEVEL2)
    fields = {k: v for k, v in licence_fields(LEVEL2).items() if not k.startswith("licence")}
    fields |= {"tax_year": 2025, "total_income_vnd": "250000000"}
    answer = api.post(
        "/dossiers",
        token=token,
        json_body={"service_code": "tax-settlement", "fields": fields, "province": "Cần Thơ"},
    )
    assert answer.status == 201, answer.body
    assert answer.body["fee_vnd"] == 0
    assert ".30.H92-" in answer.body["dossier_code"]


def _dossier_body(cccd: str, attachment: str, **changes: object) -> dict:
    body: dict = {
        "service_code": "driving-licence-renewal",
        "fields": licence_fields(cccd),
        "attachment_ids": [attachment],
        "province": "Hà Nội",
    }
    body.update(changes)
    return body


def test_dossier_422_errors_name_the_field(api: Api) -> None:
    token = api.login(LEVEL2)
    mine = api.upload(token, "health-certificate")
    theirs = api.upload(api.login(OTHER), "health-certificate")
    wrong_kind = api.upload(token, "licence-scan")
    no_phone = {k: v for k, v in licence_fields(LEVEL2).items() if k != "phone"}
    cases = {
        "service_code": _dossier_body(LEVEL2, mine, service_code="no-such-service"),
        "fields.phone": _dossier_body(LEVEL2, mine, fields=no_phone),
        "fields.cccd": _dossier_body(LEVEL2, mine, fields=licence_fields(OTHER)),
        "fields.date_of_birth": _dossier_body(
            LEVEL2, mine, fields={**licence_fields(LEVEL2), "date_of_birth": "05/04/2003"}
        ),
        "fields.licence_class": _dossier_body(
            LEVEL2, mine, fields={**licence_fields(LEVEL2), "licence_class": "Z9"}
        ),
        "province": _dossier_body(LEVEL2, mine, province="Hà Tây"),
        "attachment_ids": _dossier_body(LEVEL2, "no-such-attachment"),
    }
    for field, body in cases.items():
        answer = api.post("/dossiers", json_body=body, token=token)
        assert (answer.status, answer.body["field"]) == (422, field), (field, answer.body)
    others = api.post("/dossiers", json_body=_dossier_body(LEVEL2, theirs), token=token)
    assert (others.status, others.body["field"]) == (422, "attachment_ids")
    missing_kind = api.post("/dossiers", json_body=_dossier_body(LEVEL2, wrong_kind), token=token)
    assert missing_kind.status == 422
    assert "health-certificate" in missing_kind.body["error"]


def test_dossier_status_hides_other_citizens_dossiers(api: Api) -> None:
    token = api.login(LEVEL2)
    code = api.file_licence_renewal(token, LEVEL2)
    assert api.get(f"/dossiers/{code}?cccd={OTHER}").status == 404
    assert api.get(f"/dossiers/000.00.15.H01-200101-9999?cccd={LEVEL2}").status == 404
    for query in ("", "?cccd=123", "?cccd=abcdefghijkl"):
        answer = api.get(f"/dossiers/{code}{query}")
        assert (answer.status, answer.body["field"]) == (400, "cccd")
