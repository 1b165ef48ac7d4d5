"""Uploads written in Python against the other portal (``test_uploads.py``)."""

from __future__ import annotations

import os
from typing import Any

from dvcload.journeys import journey, session_start


@session_start
def login(citizen: Any, http: Any) -> None:
    reply = http.post(
        "/api/v1/auth/token",
        data={"username": citizen["cccd"], "password": os.environ["DVCLOAD_PASSCODE"]},
    )
    http.headers["Authorization"] = "Bearer " + reply.json()["access_token"]


@journey
def upload(citizen: Any, http: Any) -> None:
    data, content_type = http.attachment("portrait_photo")
    http.post(
        "/api/v1/tep",
        data={"ghi_chu": "ảnh chân dung"},
        files={"tep": ("anh.jpg", data, content_type)},
        expect=201,
        check=lambda r: None
        if r.json() == {"ten": "anh.jpg", "loai": "image/jpeg", "kich_thuoc": len(data),
                        "ghi_chu": "ảnh chân dung", "hop_le": True}
        else f"the portal read {r.json()}",
    )  # fmt: skip
