"""Payments: idempotency keys, exactly-once charging, and their refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from portal_client import Answer, Api, RunningPortal, cccd_with_level

LEVEL2 = cccd_with_level(2, start=100)
LEVEL1 = cccd_with_level(1, start=100)
FEE = 135_000


def _pay(api: Api, token: str, code: str, key: str, **body: object) -> Answer:
    return api.post(
        f"/dossiers/{code}/payments",
        token=token,
        headers={"Idempotency-Key": key},
        json_body={"channel": "vietqr", "amount_vnd": FEE, **body},
    )


def _confirm(api: Api, payment: dict) -> Answer:
    return api.post(
        "/paygov/confirm",
        json_body={"payment_id": payment["payment_id"], "gateway_ref": payment["gateway_ref"]},
    )


@pytest.fixture
def citizen(api: Api) -> tuple[str, str]:
    """A level-2 citizen's token and a fresh unpaid licence-renewal dossier."""
    token = api.login(LEVEL2)
    return token, api.file_licence_renewal(token, LEVEL2)


def test_payment_then_confirmation_marks_the_dossier_paid(
    running: RunningPortal, citizen: tuple[str, str]
) -> None:
    api, (token, code) = running.api, citizen
    created = _pay(api, token, code, f"pay-{code}")
    assert created.status == 201
    payment = created.body
    assert payment["status"] == "pending"
    assert (payment["amount_vnd"], payment["channel"]) == (FEE, "vietqr")
    confirmed = _confirm(api, payment)
    assert confirmed.status == 200
    assert confirmed.body["status"] == "paid"
    assert confirmed.body["payment_id"] == payment["payment_id"]
    assert confirmed.body["transaction_id"]
    assert confirmed.body["charged_at"].endswith("Z")
    assert api.get(f"/dossiers/{code}?cccd={LEVEL2}").body["paid"] is True


def test_same_key_and_body_replays_the_same_payment(
    running: RunningPortal, citizen: tuple[str, str]
) -> None:
    api, (token, code) = running.api, citizen
    first = _pay(api, token, code, "replay-key-1")
    second = _pay(api, token, code, "replay-key-1")
    assert (first.status, second.status) == (201, 200)
    assert second.body == first.body
    assert second.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert _confirm(api, first.body).status == 200
    assert _confirm(api, second.body).status == 200
    rows = running.sql(
        "SELECT COUNT(*) FROM charges JOIN payments USING (payment_id) WHERE dossier_code = ?", code
    )
    assert rows == [(1,)]


def test_same_key_with_a_different_body_is_422(api: Api, citizen: tuple[str, str]) -> None:
    token, code = citizen
    assert _pay(api, token, code, "changing-key").status == 201
    changed = _pay(api, token, code, "changing-key", channel="momo")
    assert (changed.status, changed.body["field"]) == (422, "Idempotency-Key")


def test_concurrent_retries_with_one_key_make_one_payment_and_one_charge(
    running: RunningPortal, citizen: tuple[str, str]
) -> None:
    api, (token, code) = running.api, citizen
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: _pay(api, token, code, f"storm-{code}"), range(24)))
    assert sorted(a.status for a in answers) == [200] * 23 + [201]
    assert len({a.body["payment_id"] for a in answers}) == 1
    with ThreadPoolExecutor(max_workers=12) as pool:
        confirmations = list(pool.map(lambda a: _confirm(api, a.body), answers))
    assert {c.status for c in confirmations} == {200}
    assert len({c.body["transaction_id"] for c in confirmations}) == 1
    assert running.sql("SELECT COUNT(*) FROM payments WHERE dossier_code = ?", code) == [(1,)]
    charges = running.sql(
        "SELECT COUNT(*), SUM(c.amount_vnd) FROM charges c JOIN payments p USING (payment_id)"
        " WHERE p.dossier_code = ?",
        code,
    )
    assert charges == [(1, FEE)]


def test_double_confirmation_returns_the_same_charge(
    running: RunningPortal, citizen: tuple[str, str]
) -> None:
    api, (token, code) = running.api, citizen
    payment = _pay(api, token, code, f"double-{code}").body
    first, second = _confirm(api, payment), _confirm(api, payment)
    assert (first.status, second.status) == (200, 200)
    assert first.body == second.body
    assert running.sql(
        "SELECT COUNT(*) FROM charges WHERE payment_id = ?", payment["payment_id"]
    ) == [(1,)]


def test_two_payments_of_one_dossier_charge_only_once(
    running: RunningPortal, citizen: tuple[str, str]
) -> None:
    api, (token, code) = running.api, citizen
    first = _pay(api, token, code, f"a-{code}").body
    second = _pay(api, token, code, f"b-{code}").body
    assert first["payment_id"] != second["payment_id"]
    assert _confirm(api, first).status == 200
    assert _confirm(api, second).status == 409
    assert _pay(api, token, code, f"c-{code}").status == 409  # already paid
    assert running.sql(
        "SELECT COUNT(*) FROM charges c JOIN payments p USING (payment_id) WHERE dossier_code = ?",
        code,
    ) == [(1,)]


def test_payment_refusals(api: Api, citizen: tuple[str, str]) -> None:
    token, code = citizen
    assert _pay(api, token, code, "k-amount", amount_vnd=FEE - 1).status == 422
    assert _pay(api, token, code, "k-bool", amount_vnd=True).status == 422
    assert _pay(api, token, code, "k-channel", channel="cash").status == 422
    assert _pay(api, token, "000.00.15.H01-200101-9999", "k-unknown").status == 404
    stranger = api.login(cccd_with_level(2, start=7000))
    assert _pay(api, stranger, code, "k-stranger").status == 404  # not the caller's
    for key in ("", "x" * 129, "tab\there", "caf\u00e9"):
        answer = _pay(api, token, code, key)
        assert (answer.status, answer.body["field"]) == (400, "Idempotency-Key"), repr(key)
    no_key = api.post(
        f"/dossiers/{code}/payments",
        token=token,
        json_body={"channel": "vietqr", "amount_vnd": FEE},
    )
    assert no_key.status == 400


def test_payment_needs_identification_level_2(api: Api) -> None:
    token = api.login(LEVEL1)
    code = api.file_licence_renewal(token, LEVEL1)
    assert _pay(api, token, code, f"level1-{code}").status == 403


def test_a_dossier_without_fee_cannot_be_paid(api: Api) -> None:
    token = api.login(LEVEL2)
    fields = {
        "full_name": "Trần Thị Hạnh",
        "cccd": LEVEL2,
        "date_of_birth": "1990-01-01",
        "phone": "0981234567",
        "address": "Cần Thơ",
        "tax_year": 2025,
        "total_income_vnd": 300_000_000,
    }
    filed = api.post(
        "/dossiers",
        token=token,
        json_body={"service_code": "tax-settlement", "fields": fields, "province": "Cần Thơ"},
    )
    assert filed.status == 201, filed.body
    assert _pay(api, token, filed.body["dossier_code"], "free", amount_vnd=0).status == 409


def test_confirmation_of_an_unknown_payment_or_ref_is_404(
    api: Api, citizen: tuple[str, str]
) -> None:
    token, code = citizen
    payment = _pay(api, token, code, f"ref-{code}").body
    assert _confirm(api, {**payment, "gateway_ref": "PAYGOV-WRONG"}).status == 404
    assert _confirm(api, {**payment, "payment_id": "pay_nope"}).status == 404
    assert api.post("/paygov/confirm", json_body={"payment_id": 5}).status == 400
