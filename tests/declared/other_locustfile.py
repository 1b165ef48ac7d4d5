"""A plain Locust file for the other portal (``other_portal.py``), written as anyone
would write one for Locust, run by dvcload with ``journeys: {user_class:
other_locustfile.py:PortalUser}``.

- ``PortalUser``: a ``FastHttpUser``; logs in on start, then files dossiers (weight 7)
  and browses the procedures (weight 3);
- ``RequestsPortalUser``: the same on Locust's requests-based ``HttpUser``;
- ``StrayUser`` (an ``HttpUser``): also asks a host outside the target policy (never
  sent).
"""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, HttpUser, between, task

RNG = random.Random(5)
STRAY_URL = "http://192.0.2.10:8080/api/v1/thu-tuc"  # TEST-NET-1: not the target


def log_in(user: Any) -> None:
    """A form login with a fresh 12-digit ID number; the token and the CSRF cookie's
    value go with every later request."""
    user.cccd = f"0{RNG.randrange(10**10, 10**11)}"
    reply = user.client.post(
        "/api/v1/auth/token", data={"username": user.cccd, "password": "secret"}
    )
    csrf = cookie(user, "csrftoken")
    user.auth = {"Authorization": "Bearer " + reply.json()["access_token"], "X-CSRF-Token": csrf}


def cookie(user: Any, name: str) -> str:
    jar = getattr(user.client, "cookiejar", None)  # FastHttpSession
    if jar is None:
        jar = user.client.cookies  # requests
    return next(c.value for c in jar if c.name == name)


def file_dossier(user: Any) -> None:
    services = user.client.get("/api/v1/thu-tuc", headers=user.auth).json()
    body = {"ma_thu_tuc": RNG.choice(services)["ma"], "cccd": user.cccd, "ho_ten": "Nguyễn Văn A"}
    reply = user.client.post("/api/v1/ho-so", json=body, headers=user.auth)
    code = reply.json()["ma_ho_so"]
    user.client.get(
        f"/api/v1/ho-so/{code}?cccd={user.cccd}", name="/api/v1/ho-so/[code]", headers=user.auth
    )
    with user.client.get(
        f"/bien-nhan/{code}", name="/bien-nhan/[code]", catch_response=True
    ) as receipt:
        if f'id="ma">{code}<' not in receipt.text:
            receipt.failure("the receipt does not show the dossier's code")


def browse(user: Any) -> None:
    user.client.get("/api/v1/thu-tuc", headers=user.auth)


class PortalUser(FastHttpUser):
    host = "https://portal.example.vn"  # dvcload runs against the scenario's target
    wait_time = between(0.05, 0.1)

    def on_start(self) -> None:
        log_in(self)

    @task(7)
    def filing(self) -> None:
        file_dossier(self)

    @task(3)
    def browsing(self) -> None:
        browse(self)


class RequestsPortalUser(HttpUser):
    wait_time = between(0.05, 0.1)

    def on_start(self) -> None:
        log_in(self)

    @task(7)
    def filing(self) -> None:
        file_dossier(self)

    @task(3)
    def browsing(self) -> None:
        browse(self)


class StrayUser(HttpUser):
    """Asks the target, then a host outside the policy: that request is refused (never
    sent, recorded as failed) and the user stops."""

    wait_time = between(0.05, 0.1)

    def on_start(self) -> None:
        log_in(self)

    @task
    def stray(self) -> None:
        browse(self)
        self.client.get(STRAY_URL, name="stray")
