"""A small HTTP client for the portal's tests, and helpers to build valid requests.

The pytest process is monkey-patched by gevent (tests/conftest.py imports Locust
first), so the tests talk to a portal started with :class:`EmbeddedPortal` in a child
process, with ``http.client`` (cooperative under gevent), never in-process.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.launcher import EmbeddedPortal
from portal.server import ADMIN_TOKEN_ENV


@dataclass
class Answer:
    """One HTTP response: status, headers (lower-case names) and decoded JSON."""

    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """A minimal JSON client for one portal URL (a new connection per request)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        assert parsed.hostname == "127.0.0.1", url
        self.host, self.port = parsed.hostname, int(parsed.port or 80)
        self.timeout_s = timeout_s

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        body = raw
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            sent.setdefault("Content-Type", "application/json")
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            names = {k.lower(): v for k, v in response.getheaders()}
            decoded = json.loads(data) if data else None
            return Answer(response.status, names, decoded)
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    # -- journeys' building blocks -------------------------------------------------------
    def login(self, cccd: str) -> str:
        answer = self.post("/auth/login", json_body={"cccd": cccd, "passcode": "123456"})
        assert answer.status == 200, answer
        return str(answer.body["access_token"])

    def upload(self, token: str, kind: str, data: bytes = b"%PDF-1.7 test") -> str:
        answer = self.post(
            "/attachments",
            raw=data,
            token=token,
            headers={"Content-Type": "application/pdf", "X-Attachment-Kind": kind},
        )
        assert answer.status == 201, answer
        return str(answer.body["attachment_id"])

    def file_licence_renewal(self, token: str, cccd: str) -> str:
        attachment = self.upload(token, "health-certificate")
        answer = self.post(
            "/dossiers",
            token=token,
            json_body={
                "service_code": "driving-licence-renewal",
                "fields": licence_fields(cccd),
                "attachment_ids": [attachment],
                "province": "Hà Nội",
            },
        )
        assert answer.status == 201, answer
        return str(answer.body["dossier_code"])


def licence_fields(cccd: str) -> dict[str, Any]:
    return {
        "full_name": "Nguyễn Văn An",
        "cccd": cccd,
        "date_of_birth": "2003-04-05",
        "phone": "0912345678",
        "email": "an.nguyen@example.vn",
        "address": "12 Phố Huế, Hà Nội",
        "licence_number": "010203040506",
        "licence_class": "B",
    }


def cccd_with_level(level: int, start: int = 0) -> str:
    """A CCCD that the portal (without a population) gives this identification level."""
    for n in range(start, start + 10_000):
        cccd = f"001203{n:06d}"
        bucket = int(hashlib.sha256(cccd.encode()).hexdigest()[:8], 16) % 100
        if (bucket < 70) == (level == 2):
            return cccd
    raise AssertionError("no CCCD found")


@dataclass
class RunningPortal:
    portal: EmbeddedPortal
    api: Api
    database: Path
    access_log: Path

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the portal's SQLite file directly (WAL allows a concurrent reader)."""
        connection = sqlite3.connect(self.database, timeout=10)
        try:
            return connection.execute(query, params).fetchall()
        finally:
            connection.close()


@contextlib.contextmanager
def admin_portal(folder: Path, *, seed: int, token: str) -> Iterator[RunningPortal]:
    """A portal started with its admin endpoint on (``token``), stopped at the end."""
    database, access_log = folder / "portal.sqlite", folder / "access.jsonl"
    portal = EmbeddedPortal(
        database=database, access_log=access_log, seed=seed, stderr_path=folder / "stderr.log"
    )
    previous = os.environ.get(ADMIN_TOKEN_ENV)
    os.environ[ADMIN_TOKEN_ENV] = token
    try:
        portal.start()
    finally:
        if previous is None:
            os.environ.pop(ADMIN_TOKEN_ENV, None)
        else:
            os.environ[ADMIN_TOKEN_ENV] = previous
    try:
        yield RunningPortal(portal, Api(portal.url), database, access_log)
    finally:
        portal.stop()
