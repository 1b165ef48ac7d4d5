"""A small portal whose API is deliberately unlike the reference portal's.

- ``POST /api/v1/auth/token``: a form-encoded login (``username`` = ID number,
  ``password``) answering ``{"access_token": ...}`` and setting a ``csrftoken`` cookie;
- ``GET /api/v1/thu-tuc``: the procedures as a top-level JSON list;
- ``POST /api/v1/ho-so``: files a dossier (JSON), only with the bearer token and the
  CSRF cookie echoed in ``X-CSRF-Token``; answers 201 with a server-issued code;
- ``GET /api/v1/ho-so/{code}?cccd=...``: a dossier's status, only for its owner;
- ``GET /bien-nhan/{code}``: an HTML receipt;
- ``POST /api/v1/tep``: a multipart upload (``tep``: the file, ``ghi_chu``: a note),
  parsed with the standard library's MIME parser; answers the file's name, type, size
  and whether its first bytes are a PDF's or a JPEG's.

It keeps its own request log (one JSON line per request: ``method``, ``route``,
``path``, ``status``, ``user``, and the ``X-Api-Key`` and ``X-Citizen`` headers it got)
and, at exit, its store (``{code: cccd}``), so that a test can hold dvcload's figures
against the server's.

Run: ``python other_portal.py --log LOG --store STORE [--certfile PEM --keyfile PEM]``
prints ``PORT`` when listening on 127.0.0.1 (an ephemeral port), with https when given
a certificate.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import itertools
import json
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

FORM = "application/x-www-form-urlencoded"
PROCEDURES = [{"ma": "1.001", "ten": "Cấp hộ chiếu"}, {"ma": "2.002", "ten": "Đăng ký khai sinh"}]


class State:
    def __init__(self, log: Path, store: Path) -> None:
        self.log = log.open("a", encoding="utf-8")
        self.store_path = store
        self.tokens: dict[str, tuple[str, str]] = {}  # token -> (cccd, csrf)
        self.dossiers: dict[str, str] = {}  # code -> cccd
        self.numbers = itertools.count(1)

    def write(
        self, request: Request, route: str, status: int, user: str = "", **extra: Any
    ) -> None:
        row = {"method": request.method, "route": route, "path": request.url.path,
               "query": request.url.query, "status": status, "user": user,
               "api_key": request.headers.get("x-api-key"),
               "citizen": request.headers.get("x-citizen"), **extra}  # fmt: skip
        self.log.write(json.dumps(row) + "\n")
        self.log.flush()

    def save(self) -> None:
        self.store_path.write_text(json.dumps(self.dossiers), encoding="utf-8")


def _text(part: Any) -> str:
    """A text field of a form, UTF-8 as browsers send it (no charset of its own)."""
    return bytes(part.get_payload(decode=True) or b"").decode("utf-8")


def app(state: State) -> Starlette:
    def user_of(request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        return state.tokens.get(header.removeprefix("Bearer "))

    async def token(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0] != FORM:
            state.write(request, "/api/v1/auth/token", 415)
            return JSONResponse({"loi": "form"}, status_code=415)
        form = parse_qs((await request.body()).decode("utf-8"))
        cccd, password = form.get("username", [""])[0], form.get("password", [""])[0]
        if len(cccd) != 12 or not cccd.isdigit() or not password:
            state.write(request, "/api/v1/auth/token", 401)
            return JSONResponse({"loi": "sai thông tin"}, status_code=401)
        access, csrf = secrets.token_hex(8), secrets.token_hex(6)
        state.tokens[access] = (cccd, csrf)
        state.write(request, "/api/v1/auth/token", 200, cccd)
        response = JSONResponse({"access_token": access, "token_type": "bearer"})
        response.set_cookie("csrftoken", csrf)
        return response

    async def procedures(request: Request) -> Response:
        user = user_of(request)
        status = 200 if user else 401
        state.write(request, "/api/v1/thu-tuc", status, user[0] if user else "")
        return JSONResponse(PROCEDURES if user else {"loi": "chưa đăng nhập"}, status_code=status)

    async def file_dossier(request: Request) -> Response:
        user = user_of(request)
        if user is None or request.headers.get("x-csrf-token") != user[1]:
            state.write(request, "/api/v1/ho-so", 403, user[0] if user else "")
            return JSONResponse({"loi": "CSRF"}, status_code=403)
        if request.cookies.get("csrftoken") != user[1]:
            state.write(request, "/api/v1/ho-so", 403, user[0])
            return JSONResponse({"loi": "cookie"}, status_code=403)
        body = await request.json()
        if body.get("cccd") != user[0] or body.get("ma_thu_tuc") not in {
            p["ma"] for p in PROCEDURES
        }:
            state.write(request, "/api/v1/ho-so", 422, user[0])
            return JSONResponse({"loi": "dữ liệu"}, status_code=422)
        code = f"HS-{next(state.numbers):06d}-{secrets.token_hex(2).upper()}"
        state.dossiers[code] = user[0]
        state.write(request, "/api/v1/ho-so", 201, user[0])
        return JSONResponse({"ma_ho_so": code, "trang_thai": "moi"}, status_code=201)

    async def dossier(request: Request) -> Response:
        code = request.path_params["code"]
        owner = state.dossiers.get(code)
        ok = owner is not None and request.query_params.get("cccd") == owner
        state.write(request, "/api/v1/ho-so/{code}", 200 if ok else 404, owner or "")
        if not ok:
            return JSONResponse({"loi": "không tìm thấy"}, status_code=404)
        return JSONResponse({"ma_ho_so": code, "trang_thai": "moi"})

    async def receipt(request: Request) -> Response:
        code = request.path_params["code"]
        ok = code in state.dossiers
        state.write(request, "/bien-nhan/{code}", 200 if ok else 404)
        page = f'<html><body><p>Biên nhận</p><span id="ma">{code}</span></body></html>'
        return HTMLResponse(page if ok else "<p>không có</p>", status_code=200 if ok else 404)

    async def upload(request: Request) -> Response:
        user = user_of(request)
        kind = request.headers.get("content-type", "")
        if user is None or not kind.startswith("multipart/form-data"):
            state.write(request, "/api/v1/tep", 400, user[0] if user else "")
            return JSONResponse({"loi": "multipart"}, status_code=400)
        raw = f"Content-Type: {kind}\r\n\r\n".encode() + await request.body()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        upload = parts.get("tep")
        if upload is None:
            state.write(request, "/api/v1/tep", 422, user[0])
            return JSONResponse({"loi": "thiếu tệp"}, status_code=422)
        data = upload.get_payload(decode=True) or b""
        note = _text(parts["ghi_chu"]) if "ghi_chu" in parts else None
        state.write(request, "/api/v1/tep", 201, user[0], size=len(data))
        return JSONResponse(
            {"ten": upload.get_filename(), "loai": upload.get_content_type(),
             "kich_thuoc": len(data), "ghi_chu": note,
             "hop_le": data.startswith((b"%PDF", b"\xff\xd8\xff"))},
            status_code=201,
        )  # fmt: skip

    return Starlette(
        routes=[
            Route("/api/v1/tep", upload, methods=["POST"]),
            Route("/api/v1/auth/token", token, methods=["POST"]),
            Route("/api/v1/thu-tuc", procedures, methods=["GET"]),
            Route("/api/v1/ho-so", file_dossier, methods=["POST"]),
            Route("/api/v1/ho-so/{code}", dossier, methods=["GET"]),
            Route("/bien-nhan/{code}", receipt, methods=["GET"]),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--certfile", help="serve https with this certificate chain (PEM)")
    parser.add_argument("--keyfile", help="and this private key (PEM)")
    args = parser.parse_args()
    state = State(args.log, args.store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        app(state), log_level="warning", lifespan="off",
        ssl_certfile=args.certfile, ssl_keyfile=args.keyfile,
    )  # fmt: skip
    server = uvicorn.Server(config)

    def stop(*_: Any) -> None:
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run(sockets=[sock])
    finally:
        state.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
