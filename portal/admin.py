"""Run-time control of the injected faults: ``GET`` and ``POST /admin/faults``.

Both need the header ``X-Admin-Token`` equal to the environment variable
``DVCLOAD_PORTAL_ADMIN_TOKEN`` of the portal process. Without that variable the
endpoints do not exist (404, as any unknown path); with a missing or wrong token they
answer 403. The token is compared in constant time and never logged (the access log
holds no headers).

``POST`` takes a JSON object with the keys of a configuration file's ``faults:``
section (:mod:`portal.faults`) and replaces the whole fault set from that moment
(``{}`` removes every fault); outage times count from the ``POST``. A malformed body
is 400 with the one-line validation message. Both answer the fault set in effect,
the seconds since it took effect and how many faults of each kind were injected
since the portal started.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dvcschema.errors import ConfigError
from portal.faults import faults_from_data
from portal.injector import FaultInjector
from portal.jsonbody import json_object
from portal.replies import ApiError, error_reply

if TYPE_CHECKING:
    from portal.jobs import PortalState

ADMIN_PATH = "/admin/faults"
TOKEN_HEADER = "x-admin-token"
MAX_BODY_BYTES = 64 * 1024


def admin_routes() -> list[Route]:
    return [Route(ADMIN_PATH, _faults, methods=["GET", "POST"])]


async def _faults(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    refusal = _refusal(request, state.admin_token)
    if refusal is not None:
        return refusal
    if request.method == "POST":
        body = await request.body()
        try:
            config = faults_from_data(_json(body), source=f"POST {ADMIN_PATH}")
        except ApiError as exc:
            return exc.reply().to_response()
        except ConfigError as exc:
            return error_reply(400, str(exc)).to_response()
        state.faults.replace(config)
    return JSONResponse(_view(state.faults))


def _refusal(request: Request, token: str | None) -> Response | None:
    if token is None:
        return error_reply(404, f"no such endpoint: {request.method} {ADMIN_PATH}").to_response()
    given = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return error_reply(403, "missing or wrong X-Admin-Token", "X-Admin-Token").to_response()
    return None


def _json(body: bytes) -> object:
    if len(body) > MAX_BODY_BYTES:
        raise ConfigError(f"the body has {len(body)} bytes; at most {MAX_BODY_BYTES} allowed")
    return json_object(body)


def _view(faults: FaultInjector) -> dict[str, object]:
    return {
        "faults": faults.config.as_dict(),
        "since_s": round(faults.since_s(), 3),
        "injected": dict(faults.counts),
    }
