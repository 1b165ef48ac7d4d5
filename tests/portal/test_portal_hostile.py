"""Hostile request bodies and digits through the real portal: always a 4xx, never a 500.

Every JSON body is read by one reader (:mod:`portal.jsonbody`), which answers 400 to
what is not a JSON object: nesting deep enough to exhaust the parser's recursion,
``NaN`` and ``Infinity``, integers of thousands of digits. CCCDs and passcodes are
ASCII digits: ``'٠٠١٢٠٣٠١٢٣٤٥'`` (Arabic-Indic) was a 500, and a passcode in those
digits was accepted.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest
from portal_client import Answer, RunningPortal, admin_portal, cccd_with_level, licence_fields

TOKEN = "test-admin-token-hostile"
ADMIN = {"X-Admin-Token": TOKEN}
LEVEL2 = cccd_with_level(2)
DEEP = b"[" * 30_000 + b"]" * 30_000  # within the admin endpoint's 64 KiB
DEEP_OBJECT = b'{"a": ' * 5_000 + b"1" + b"}" * 5_000
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
OTHER_DIGITS = {
    "arabic-indic": ARABIC_INDIC,
    "extended-arabic-indic": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
    "devanagari": str.maketrans("0123456789", "०१२३४५६७८९"),
    "fullwidth": str.maketrans("0123456789", "０１２３４５６７８９"),
}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortal]:
    """A portal with the admin endpoint on, so that it is tested alongside the others."""
    with admin_portal(tmp_path_factory.mktemp("hostile"), seed=3, token=TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def token(portal: RunningPortal) -> str:
    return portal.api.login(LEVEL2)


def _post(portal: RunningPortal, path: str, body: bytes, token: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json", "Idempotency-Key": "hostile-1", **ADMIN}
    return portal.api.post(path, raw=body, headers=headers, token=token)


def _refused_400(answer: Answer, fragment: str) -> None:
    assert answer.status == 400, answer
    assert fragment in answer.body["error"], answer.body
    assert "\n" not in answer.body["error"] and len(answer.body["error"]) < 300


ENDPOINTS = ["/auth/login", "/dossiers", "/dossiers/X-1/payments", "/paygov/confirm",
             "/admin/faults"]  # fmt: skip


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "fragment"),
    [(DEEP, "nested too deeply"), (DEEP_OBJECT, "nested too deeply"),
     (b'{"cccd": NaN}', "NaN, which is not a JSON number"),
     (b'{"amount_vnd": -Infinity}', "-Infinity, which is not a JSON number"),
     (b'{"amount_vnd": ' + b"9" * 5000 + b"}", "not valid JSON"),
     (b'"just a text"', "must be a JSON object"), (b"\xff\xfe", "not valid JSON")],
    ids=["deep-lists", "deep-objects", "nan", "infinity", "5000-digits", "not-object", "bytes"],
)  # fmt: skip
def test_every_json_endpoint_answers_400_to_a_hostile_body(
    portal: RunningPortal, token: str, path: str, body: bytes, fragment: str
) -> None:
    _refused_400(_post(portal, path, body, token), fragment)
    assert portal.api.get("/health").status == 200  # and it still serves


@pytest.mark.parametrize("script", list(OTHER_DIGITS))
def test_a_cccd_in_other_digits_is_400_not_500(portal: RunningPortal, script: str) -> None:
    cccd = LEVEL2.translate(OTHER_DIGITS[script])
    answer = portal.api.post("/auth/login", json_body={"cccd": cccd, "passcode": "123456"})
    assert (answer.status, answer.body["field"]) == (400, "cccd"), answer
    query = urllib.parse.quote(cccd)
    status = portal.api.get(f"/dossiers/X-1?cccd={query}")
    assert (status.status, status.body["field"]) == (400, "cccd"), status


@pytest.mark.parametrize("script", list(OTHER_DIGITS))
def test_a_passcode_in_other_digits_is_refused(portal: RunningPortal, script: str) -> None:
    passcode = "123456".translate(OTHER_DIGITS[script])
    answer = portal.api.post("/auth/login", json_body={"cccd": LEVEL2, "passcode": passcode})
    assert (answer.status, answer.body["field"]) == (400, "passcode"), answer


def test_a_number_field_of_400_digits_is_a_422_not_a_500(portal: RunningPortal, token: str) -> None:
    body = {
        "service_code": "tax-settlement",
        "fields": {**licence_fields(LEVEL2), "tax_year": 2024, "total_income_vnd": 10**400},
        "attachment_ids": [],
        "province": "Hà Nội",
    }
    answer = portal.api.post("/dossiers", json_body=body, token=token)
    assert answer.status in (201, 422), answer
    arabic = {**body, "fields": {**body["fields"], "tax_year": "٢٠٢٤"}}
    refused = portal.api.post("/dossiers", json_body=arabic, token=token)
    assert (refused.status, refused.body["field"]) == (422, "fields.tax_year"), refused


def test_a_megabyte_value_is_quoted_short(portal: RunningPortal) -> None:
    answer = portal.api.post("/auth/login", json_body={"cccd": "9" * 900_000, "passcode": "1"})
    assert (answer.status, answer.body["field"]) == (400, "cccd")
    assert len(answer.body["error"]) < 200, answer.body


def test_the_admin_endpoint_still_takes_a_good_body(portal: RunningPortal) -> None:
    answer = portal.api.post("/admin/faults", json_body={}, headers=ADMIN)
    assert answer.status == 200 and answer.body["faults"] == {}
