"""The payment endpoints: create a payment for a dossier, confirm it from PayGov.

``POST /dossiers/{code}/payments`` needs identification level 2 (as VNeID does for
payments) and an ``Idempotency-Key``; ``POST /paygov/confirm`` is the gateway's
confirmation, which passes through the ``payment`` tier. See :mod:`portal.payments`
for how "charged exactly once" is enforced.
"""

from __future__ import annotations

import re

from dvcschema.errors import shown
from portal.jobs import BaseJob, text_of
from portal.payments import CHANNELS, PaymentRequest, confirm_payment, create_payment
from portal.replies import ApiError, Reply

IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,128}")
REQUIRED_LEVEL = 2


class CreatePayment(BaseJob):
    """``POST /dossiers/{code}/payments``: a pending payment, once per key."""

    def prepare(self) -> None:
        session = self.session()
        if session.level < REQUIRED_LEVEL:
            raise ApiError(403, "paying needs VNeID identification level 2")
        key = self.inbound.headers.get("idempotency-key")
        if key is None or not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
            raise ApiError(
                400, "Idempotency-Key must be 1-128 printable ASCII characters", "Idempotency-Key"
            )
        body = self.json_object()
        channel = body.get("channel")
        if channel not in CHANNELS:
            raise ApiError(
                422, f"channel {shown(channel)}; options are {', '.join(CHANNELS)}", "channel"
            )
        amount = body.get("amount_vnd")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ApiError(
                422, f"amount_vnd {shown(amount)} is not a whole number of VND", "amount_vnd"
            )
        self.request = PaymentRequest(
            dossier_code=self.inbound.path_params["code"],
            owner_cccd=session.cccd,
            idempotency_key=key,
            channel=str(channel),
            amount_vnd=amount,
        )

    async def execute(self) -> Reply:
        outcome = await self.state.database.run(create_payment, self.request)
        if outcome.replayed:
            return Reply(200, outcome.payment, {"Idempotent-Replayed": "true"})
        return Reply(201, outcome.payment)


class ConfirmPayment(BaseJob):
    """``POST /paygov/confirm``: the gateway confirms; the payment is charged once."""

    def prepare(self) -> None:
        body = self.json_object()
        self.payment_id = text_of(body, "payment_id", status=400)
        self.gateway_ref = text_of(body, "gateway_ref", status=400)

    async def execute(self) -> Reply:
        charge = await self.state.database.run(confirm_payment, self.payment_id, self.gateway_ref)
        return Reply(200, charge)
