"""What an injected fault looks like on the wire.

* outage: ``503`` with ``Retry-After`` (whole seconds until the outage ends) and an
  HTML maintenance page, "Hệ thống đang bảo trì", as the real portal shows;
* error: the configured status with a JSON error body (``503`` also carries the
  portal's ``Retry-After``); no tier is visited and nothing is stored;
* connection reset: the TCP connection is closed with ``SO_LINGER`` 0, so the
  client's next read fails with ``ECONNRESET`` ("connection reset by peer") and no
  byte of a response. HTTP clients retry a broken *idempotent* request on their own
  (RFC 9110 §9.2.2); a ``POST`` is not retried for them, so the harness sees it as a
  "connection error" and its own retry (same ``Idempotency-Key``) must be replayed.

The reset needs the connection's transport, which :mod:`portal.protocol` puts in the
scope (uvicorn's httptools protocol, a dependency); without it the reset degrades to
an empty ``502``, logged with the same ``reset`` mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from portal.injector import RESET_BEFORE, FaultPlan
from portal.protocol import TRANSPORT_SCOPE_KEY
from portal.replies import error_reply

CLOSED_WITHOUT_RESPONSE = 444  # nginx's status for a connection closed without a response
DISCONNECT_WAIT_S = 1.0
MAINTENANCE_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Bảo trì hệ thống</title></head>
<body><h1>Hệ thống đang bảo trì</h1>
<p>Cổng Dịch vụ công Quốc gia đang bảo trì. Xin vui lòng quay lại sau.</p>
<p>The National Public Service Portal is under maintenance. Please come back later.</p>
</body></html>
"""


async def early_reply(request: Request, plan: FaultPlan, retry_after_s: int) -> Response | None:
    """The answer to a request that a fault stops before any tier, or ``None``."""
    if plan.retry_after_s is not None:
        plan.applied("outage")
        headers = {"Retry-After": str(plan.retry_after_s)}
        return HTMLResponse(MAINTENANCE_PAGE, status_code=503, headers=headers)
    if plan.reset == RESET_BEFORE:
        return await reset_connection(request, plan)
    if plan.error_status is not None:
        plan.applied("error")
        status = plan.error_status
        headers = {"Retry-After": str(retry_after_s)} if status == 503 else {}
        reply = error_reply(status, f"injected fault: HTTP {status}", headers=headers)
        return reply.to_response()
    return None


async def reset_connection(request: Request, plan: FaultPlan) -> Response:
    """Reset the client's TCP connection; the returned response is never sent."""
    plan.applied("reset")
    transport: Any = request.scope.get(TRANSPORT_SCOPE_KEY)
    if transport is None:
        return Response(status_code=502)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    with contextlib.suppress(TimeoutError):
        # uvicorn learns of the lost connection on a later loop turn; once it has, it
        # drops whatever the app sends and logs nothing.
        await asyncio.wait_for(_until_disconnected(request), DISCONNECT_WAIT_S)
    return Response(status_code=CLOSED_WITHOUT_RESPONSE)


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
