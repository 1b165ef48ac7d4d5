"""The portal as an ASGI application (Starlette), and its access-log middleware.

A request's life: the middleware stamps its arrival and counts its bytes; the route
reads the body (before any tier: reading from the network is not service); the job
goes through the tier network (:mod:`portal.network`) while a watcher listens for the
client going away, which abandons the request wherever it waits (logged as 499);
the reply is sent and the middleware appends one access-log record. ``/health``
and the admin endpoints (:mod:`portal.admin`) bypass the tiers and the faults.
Unknown routes (404) and wrong methods (405) visit the web tier with the default
service time, like any other request. Injected faults (:mod:`portal.injector`) are
decided once the body is read: an outage, an early reset or an error answers at once
(:mod:`portal.fault_replies`); delays are held inside the tiers; a reset after commit
replaces the reply once the work is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dvcschema import routes
from portal.access_log import AccessRecord, request_target
from portal.admin import ADMIN_PATH, admin_routes
from portal.endpoints import ENDPOINTS, UNMATCHED, split_key
from portal.fault_replies import early_reply, reset_connection
from portal.handlers import (
    DossierStatus,
    ListServices,
    Login,
    ServiceForm,
    SubmitDossier,
    UploadAttachment,
)
from portal.injector import RESET_AFTER_COMMIT
from portal.jobs import BaseJob, Inbound, PortalState
from portal.payment_handlers import ConfirmPayment, CreatePayment
from portal.protocol import RECEIVED_SCOPE_KEY
from portal.replies import ApiError, Reply, error_reply

RECORD_SCOPE_KEY = "dvcload.access_record"
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that went away

JOBS: dict[str, type[BaseJob]] = {
    routes.LOGIN.key: Login,
    routes.SERVICES.key: ListServices,
    routes.SERVICE_FORM.key: ServiceForm,
    routes.ATTACHMENTS.key: UploadAttachment,
    routes.DOSSIERS.key: SubmitDossier,
    routes.DOSSIER.key: DossierStatus,
    routes.PAYMENTS.key: CreatePayment,
    routes.PAYGOV_CONFIRM.key: ConfirmPayment,
}
if set(JOBS) != set(ENDPOINTS):  # pragma: no cover - a programming error, caught at import
    raise RuntimeError("portal.endpoints.ENDPOINTS and portal.app.JOBS must list the same keys")


def create_app(state: PortalState) -> ASGIApp:
    """The portal's ASGI application for this state (config, stations, database)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        state.access_log.start()
        state.faults.restart()  # outage times count from when the portal serves
        try:
            yield
        finally:
            await state.access_log.stop()
            state.database.close()

    routes = [Route("/health", _health, methods=["GET"]), *admin_routes()]
    for key, job_class in JOBS.items():
        method, template = split_key(key)
        routes.append(Route(template, _endpoint(key, template, job_class), methods=[method]))
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _unmatched, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.portal = state
    return AccessLogMiddleware(app, state)


_OUTSIDE_LOAD = frozenset({"/health", ADMIN_PATH})  # not counted in requests_total


class AccessLogMiddleware:
    """Stamps each request's arrival, counts its bytes, logs it when it is answered."""

    def __init__(self, app: ASGIApp, state: PortalState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t_arrival = scope.get(RECEIVED_SCOPE_KEY) or time.time()
        record = AccessRecord(
            t_arrival=t_arrival, method=scope["method"], target=request_target(scope)
        )
        scope[RECORD_SCOPE_KEY] = record
        if scope["path"] in _OUTSIDE_LOAD:
            record.endpoint = scope["path"]
        else:
            self.state.requests_total += 1

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                record.bytes_in += len(message.get("body", b""))
            return message

        async def status_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, counting_receive, status_send)
        finally:
            record.finish(record.status or 500)
            self.state.access_log.append(record)


# -- endpoints ---------------------------------------------------------------------------
async def _health(request: Request) -> Response:
    state: PortalState = request.app.state.portal
    tiers = {name: s.snapshot().as_dict() for name, s in state.network.stations.items()}
    body = {"status": "ok", "tiers": tiers, "requests_total": state.requests_total}
    return JSONResponse(body)


def _endpoint(key: str, template: str, job_class: type[BaseJob]) -> Any:
    async def endpoint(request: Request) -> Response:
        _record(request).endpoint = template
        try:
            inbound = await _read(request, job_class)
        except ClientDisconnect:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        return await _answer(request, key, job_class(request.app.state.portal, inbound))

    endpoint.__name__ = f"{split_key(key)[0].lower()} {template}"
    return endpoint


async def _unmatched(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    job = _Refusal(request.app.state.portal, _inbound(request), status, request)
    return await _answer(request, UNMATCHED, job)


async def _internal_error(request: Request, exc: Exception) -> Response:
    message = f"internal error ({type(exc).__name__}); see the portal's log"
    return error_reply(500, message).to_response()


class _Refusal(BaseJob):
    """The job of a request that matched no route (404) or no method (405)."""

    uses_database = False

    def __init__(self, state: PortalState, inbound: Inbound, status: int, request: Request) -> None:
        super().__init__(state, inbound)
        self.status = status
        self.target = f"{request.method} {request.url.path}"

    def prepare(self) -> None:
        if self.status == 405:
            raise ApiError(405, f"method not allowed: {self.target}")
        raise ApiError(self.status, f"no such endpoint: {self.target}")

    async def execute(self) -> Reply:  # never reached: prepare always refuses
        raise ApiError(self.status, f"no such endpoint: {self.target}")


# -- request plumbing --------------------------------------------------------------------
def _record(request: Request) -> AccessRecord:
    record: AccessRecord = request.scope[RECORD_SCOPE_KEY]
    return record


def _inbound(
    request: Request, body: bytes = b"", size: int = 0, sha256: str | None = None
) -> Inbound:
    return Inbound(
        headers=request.headers,
        path_params=dict(request.path_params),
        query=request.query_params,
        body=body,
        size_bytes=size,
        sha256=sha256,
    )


async def _read(request: Request, job_class: type[BaseJob]) -> Inbound:
    """Read the body up to the job's limit (+1 byte, to know it is too large)."""
    limit = job_class.body_limit_bytes
    digest = None if job_class.keep_body else hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                break
            if digest is not None:
                digest.update(chunk)
            else:
                chunks.append(chunk)
    finally:
        await stream.aclose()
    sha256 = None if digest is None else digest.hexdigest()
    return _inbound(request, b"".join(chunks), size, sha256)


async def _answer(request: Request, key: str, job: BaseJob) -> Response:
    state: PortalState = request.app.state.portal
    record = _record(request)
    plan = state.faults.plan(key, job.uses_database)
    record.faults = plan.marks
    early = await early_reply(request, plan, state.config.retry_after_s)
    if early is not None:
        return early
    reply = await _unless_disconnected(request, state.network.visit(key, job, record, plan))
    if reply is None:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    if plan.reset == RESET_AFTER_COMMIT:
        return await reset_connection(request, plan)
    return reply.to_response()


async def _unless_disconnected(request: Request, work: Awaitable[Reply]) -> Reply | None:
    """``await work``, but abandon it (``None``) if the client disconnects first."""
    work_task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait({work_task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not work_task.done():
            work_task.cancel()
    if not work_task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await work_task  # let it leave its station's line before answering
    return None if work_task.cancelled() else work_task.result()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
