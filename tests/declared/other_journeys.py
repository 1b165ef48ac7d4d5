"""The other portal's journeys written in Python (the same as ``other_scenario.py``
declares), for ``journeys: {module: ...}``."""

from __future__ import annotations

import os
import random
from typing import Any

from dvcload.journeys import journey, session_start

RNG = random.Random(5)


@session_start
def login(citizen: Any, http: Any) -> None:
    reply = http.post(
        "/api/v1/auth/token",
        data={"username": citizen["cccd"], "password": os.environ["DVCLOAD_PASSCODE"]},
        expect=200,
    )
    http.headers["Authorization"] = "Bearer " + reply.json()["access_token"]
    http.headers["X-CSRF-Token"] = http.cookies["csrftoken"]


@journey
def filing(citizen: Any, http: Any) -> None:
    services = http.get("/api/v1/thu-tuc").json()
    body = {"ma_thu_tuc": RNG.choice(services)["ma"], "cccd": citizen["cccd"],
            "ho_ten": citizen["full_name"]}  # fmt: skip
    reply = http.post(
        "/api/v1/ho-so",
        json=body,
        expect=201,
        check=lambda r: None if r.json()["trang_thai"] == "moi" else "trang_thai",
    )
    code = reply.json()["ma_ho_so"]
    http.record_dossier(code)
    http.get("/api/v1/ho-so/{code}", values={"code": code}, params={"cccd": citizen["cccd"]})
    http.get(
        "/bien-nhan/{code}",
        values={"code": code},
        check=lambda r: None if f'id="ma">{code}<' in r.text else "receipt",
    )


@journey
def browse(citizen: Any, http: Any) -> None:
    http.get("/api/v1/thu-tuc", check=lambda r: None if r.json()[0]["ma"] == "1.001" else "ma")
