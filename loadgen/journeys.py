"""The citizen journeys: log in, file a dossier, pay its fee, check its status.

Journeys: ``browse`` (look a procedure up), ``filing``, ``payment``, ``status``.
Each journey is a function of a :class:`Visit` (one citizen's session with a client).
Every response is checked for content, not only status: a 200 with a wrong body is a
failure ("content check"). Request names are route templates (``/dossiers/[code]``),
so Locust groups them by endpoint rather than one row per dossier.

A payment needs an unpaid dossier with a fee, and a status check needs a dossier: when
the citizen has none yet, the journey files one first, as a real citizen would.
Payment journeys are only chosen for citizens at VNeID identification level 2.

Citizens retry after a 503, a 429 or a timeout (exponential backoff with full jitter, never
sooner than ``Retry-After``; a payment retry keeps its ``Idempotency-Key``), and give
up on a page that takes longer than their patience: the request is recorded as a
failure of kind "abandoned" and the journey ends.
"""

from __future__ import annotations

import random
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from dvcschema import routes
from dvcschema.load import RetryPolicy
from dvcschema.routes import Route
from loadgen.forms import Profile, fill_form

DOSSIER_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4,}")
RETRIED_STATUSES = (503, 429)  # unavailable, too many requests: both say when to come back
DEFAULT_PASSCODE = "123456"  # the reference portal accepts any 6 digits; not a secret


class Response(Protocol):
    status_code: int

    def json(self) -> Any: ...

    def failure(self, exc: Any) -> None: ...

    def success(self) -> None: ...


class Client(Protocol):
    """The part of Locust's ``FastHttpSession`` the journeys use."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


class Ledger(Protocol):
    """Where acknowledged dossiers and confirmed payments are noted (for the audit)."""

    def dossier_acknowledged(self, code: str, cccd: str) -> None: ...

    def payment_confirmed(self, payment_id: str, dossier_code: str) -> None: ...


@dataclass
class Dossier:
    code: str
    service_code: str
    fee_vnd: int
    paid: bool = False


class Abandoned(Exception):  # noqa: N818 - a citizen's act, not a program error
    """The citizen gave up waiting for a page (raised by the patience guard)."""


@dataclass
class Conduct:
    """How this citizen behaves when the portal is slow or overloaded."""

    retries: RetryPolicy = field(default_factory=RetryPolicy)
    patience_s: float | None = None
    sleep: Callable[[float], None] = time.sleep
    # guard(seconds) raises Abandoned inside the block after ``seconds``
    guard: Callable[[float], AbstractContextManager[Any]] = lambda _s: nullcontext()
    # report_abandoned(method, name, waited_ms): record the abandoned request
    report_abandoned: Callable[[str, str, float], None] = lambda _m, _n, _ms: None
    # pace(): wait for the run's ceiling before the patience clock starts (the wait is
    # the generator's, not the portal's: a citizen does not give up on it)
    pace: Callable[[], None] = lambda: None


@dataclass
class Visit:
    """One citizen's session: the client, the profile, and what they have filed."""

    client: Client
    citizen: Profile
    rng: random.Random
    services: Mapping[str, float]
    attachments: Any  # loadgen.attachments.AttachmentFactory
    ledger: Ledger
    passcode: str = DEFAULT_PASSCODE  # from DVCLOAD_PASSCODE; never written to results
    token: str | None = None
    level: int = 0
    service_code: str | None = None  # the service the current journey used
    conduct: Conduct = field(default_factory=Conduct)
    abandoned: bool = False
    retries: int = 0
    catalogue: dict[str, dict[str, Any]] = field(default_factory=dict)
    dossiers: list[Dossier] = field(default_factory=list)
    session: Any = None  # a declared session's state (loadgen.declared.SessionState)
    headers: dict[str, str] = field(default_factory=dict)  # http.headers, this citizen's

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def call(
    visit: Visit,
    route: Route,
    *,
    path: str | None = None,
    expect: int | tuple[int, ...] = 200,
    keys: tuple[str, ...] = (),
    check: Callable[[Any], str | None] | None = None,
    **kwargs: Any,
) -> Any | None:
    """Make a request (with the citizen's retries) and check it; the JSON body or ``None``.

    ``path`` is the route's filled in (:meth:`Route.path`, plus a query string); by
    default the route's own, for routes without placeholders. The request is named
    after the route (``GET /dossiers/[code]``)."""
    expected = (expect,) if isinstance(expect, int) else expect
    return send(
        visit,
        route.method,
        path if path is not None else route.path(),
        route.path_name,
        inspect=lambda resp: _problem(resp, expected, keys, check),
        **kwargs,
    )


Inspect = Callable[[Any], tuple[str | None, Any]]


def send(
    visit: Visit, method: str, path: str, name: str, *, inspect: Inspect, **kwargs: Any
) -> Any | None:
    """Make a request with the citizen's retries; what ``inspect`` made of the response,
    or ``None`` when it failed.

    ``inspect(response)`` returns ``(None, result)`` when the response is right, else
    ``(what is wrong, None)``; the wrong ones are recorded as failures with that text.
    A response that never came (timeout, connection error) is a failure of its own
    kind before ``inspect`` sees it. 503 and 429 are retried, never sooner than their
    ``Retry-After``, with full-jitter backoff."""
    if visit.headers:  # the scenario's http.headers; a request's own win
        kwargs["headers"] = {**visit.headers, **(kwargs.get("headers") or {})}
    request = _Request(method, path, name, inspect, kwargs)
    policy = visit.conduct.retries
    for attempt in range(policy.max_retries + 1):
        if visit.abandoned:
            return None
        body, retry_after_s = _attempt(visit, request)
        if body is not None:
            return body
        if retry_after_s is None or attempt == policy.max_retries:
            return None
        visit.retries += 1
        visit.conduct.sleep(max(retry_after_s, backoff_s(policy, attempt + 1, visit.rng)))
    return None


def backoff_s(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Full-jitter backoff before retry ``retry`` (1-based): U(0, min(cap, base·2^(k-1)))."""
    return rng.uniform(0.0, min(policy.backoff_max_s, policy.backoff_s * 2 ** (retry - 1)))


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    name: str
    inspect: Inspect
    kwargs: dict[str, Any]


def _attempt(visit: Visit, r: _Request) -> tuple[Any | None, float | None]:
    """One request: ``(body, None)`` on success, ``(None, retry_after_s)`` when worth a
    retry (503 or timeout/connection error), ``(None, None)`` otherwise."""
    visit.conduct.pace()
    patience_s = visit.conduct.patience_s
    started = time.perf_counter()
    try:
        with visit.conduct.guard(patience_s) if patience_s else nullcontext():
            resp_cm = visit.client.request(
                r.method, r.path, name=r.name, catch_response=True, **r.kwargs
            )
            with resp_cm as resp:
                problem: str | None
                if resp.status_code == 0:  # no response: timeout or connection error
                    problem, body = failure_kind(getattr(resp, "error", None)), None
                else:
                    problem, body = r.inspect(resp)
                if problem is None:
                    resp.success()
                    return body, None
                resp.failure(problem)
                return None, _retry_after(resp)
    except Abandoned:
        visit.abandoned = True
        waited_ms = (time.perf_counter() - started) * 1000.0
        visit.conduct.report_abandoned(r.method, r.name, waited_ms)
        return None, None


def _retry_after(resp: Any) -> float | None:
    """Seconds to wait before a retry, or ``None`` when the failure is not retryable."""
    if resp.status_code == 0:  # no HTTP response: timeout or connection error
        return 0.0
    if resp.status_code not in RETRIED_STATUSES:
        return None
    try:
        return max(float(resp.headers.get("Retry-After", 0) or 0), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _problem(
    resp: Response,
    expected: tuple[int, ...],
    keys: tuple[str, ...],
    check: Callable[[Any], str | None] | None,
) -> tuple[str | None, Any]:
    """``(None, body)`` when the response is right, else ``(what is wrong, None)``.

    The body is parsed once, here (parsing twice cost ~10% of the generator's CPU).
    """
    if resp.status_code not in expected:
        return f"HTTP {resp.status_code}", None
    try:
        body = resp.json()
    except ValueError:
        return "content check: body is not JSON", None
    if not isinstance(body, dict):
        return "content check: body is not a JSON object", None
    missing = [k for k in keys if k not in body]
    if missing:
        return f"content check: body lacks {', '.join(missing)}", None
    problem = check(body) if check else None
    return problem, (body if problem is None else None)


def failure_kind(error: BaseException | None) -> str:
    """``timeout: ...`` or ``connection error: ...`` for a request without a response."""
    if isinstance(error, socket.timeout | TimeoutError) or "timed out" in str(error).lower():
        return f"timeout: {type(error).__name__}"
    return f"connection error: {type(error).__name__}: {error}"


# -- the journeys ---------------------------------------------------------------------
def login(visit: Visit) -> bool:
    """Log in with the citizen's ID number, as on VNeID."""
    body = call(
        visit,
        routes.LOGIN,
        json={"cccd": visit.citizen.cccd, "passcode": visit.passcode},
        keys=("access_token", "identification_level"),
        check=lambda b: (
            None
            if b["identification_level"] in (1, 2)
            else f"content check: identification_level {b['identification_level']!r}"
        ),
    )
    if body is None:
        return False
    visit.token = body["access_token"]
    visit.level = int(body["identification_level"])
    return True


def file_dossier(visit: Visit, *, paid_service: bool = False) -> Dossier | None:
    """Browse the catalogue, open a form, upload attachments, submit: a dossier code."""
    if not _load_catalogue(visit):
        return None
    service = _choose_service(visit, paid_service)
    if service is None:
        return None
    visit.service_code = service
    form = _open_form(visit, service)
    if form is None:
        return None
    try:
        fields = fill_form(form, visit.citizen, visit.rng)
    except (KeyError, TypeError, IndexError):
        return None
    attachment_ids = _upload_attachments(visit, form["attachments"])
    if attachment_ids is None:
        return None
    body = call(
        visit,
        routes.DOSSIERS,
        expect=201,
        headers=visit.auth,
        json={
            "service_code": service,
            "fields": fields,
            "attachment_ids": attachment_ids,
            "province": visit.citizen.residence_province,
        },
        keys=("dossier_code", "status", "fee_vnd"),
        check=_check_dossier_code,
    )
    if body is None:
        return None
    dossier = Dossier(body["dossier_code"], service, int(body["fee_vnd"]))
    visit.dossiers.append(dossier)
    visit.ledger.dossier_acknowledged(dossier.code, visit.citizen.cccd)
    return dossier


def pay_fee(visit: Visit) -> bool:
    """Pay an unpaid dossier's fee through PayGov, exactly once, then see it paid."""
    dossier = next((d for d in visit.dossiers if d.fee_vnd > 0 and not d.paid), None)
    if dossier is None:
        dossier = file_dossier(visit, paid_service=True)
        if dossier is None or dossier.fee_vnd <= 0:
            return False
    visit.service_code = dossier.service_code
    channel = getattr(visit.citizen, "payment_channel", "vietqr")
    payment = call(
        visit,
        routes.PAYMENTS,
        path=routes.PAYMENTS.path(code=dossier.code),
        expect=(200, 201),
        # unique across workers and runs (a staging portal keeps its keys), not from the seed
        headers={**visit.auth, "Idempotency-Key": str(uuid.uuid4())},
        json={"channel": channel, "amount_vnd": dossier.fee_vnd},
        keys=("payment_id", "gateway_ref", "status"),
    )
    if payment is None:
        return False
    confirmation = call(
        visit,
        routes.PAYGOV_CONFIRM,
        json={"payment_id": payment["payment_id"], "gateway_ref": payment["gateway_ref"]},
        keys=("status", "transaction_id"),
        check=lambda b: None if b["status"] == "paid" else f"content check: status {b['status']!r}",
    )
    if confirmation is None:
        return False
    dossier.paid = True
    visit.ledger.payment_confirmed(payment["payment_id"], dossier.code)
    return check_status(visit, dossier)


def check_status(visit: Visit, dossier: Dossier | None = None) -> bool:
    """Look a dossier up by its code and the citizen's ID number."""
    if dossier is None:
        dossier = visit.rng.choice(visit.dossiers) if visit.dossiers else file_dossier(visit)
        if dossier is None:
            return False
    visit.service_code = dossier.service_code
    expected_paid = dossier.paid
    body = call(
        visit,
        routes.DOSSIER,
        path=routes.DOSSIER.path(code=dossier.code) + f"?cccd={visit.citizen.cccd}",
        keys=("dossier_code", "status", "paid"),
        check=lambda b: _check_status_body(b, dossier.code, expected_paid),
    )
    return body is not None


# Tags group request names for budgets (``tag:write``) and reports.
ENDPOINT_TAGS: dict[str, tuple[str, ...]] = {r.name: r.tags for r in routes.REFERENCE_PORTAL}


def tag_index(
    endpoints: list[str], tags: Mapping[str, tuple[str, ...]] = ENDPOINT_TAGS
) -> dict[str, list[str]]:
    """``{tag: [request names]}`` for the request names seen in a run, from ``tags``
    (``{request name: its tags}``: the built-in journeys' by default)."""
    index: dict[str, list[str]] = {}
    for key in endpoints:
        for tag in tags.get(key, ()):
            index.setdefault(tag, []).append(key)
    return index


def browse(visit: Visit) -> bool:
    """Look a procedure up: the catalogue, then one service's form (no filing)."""
    if not _load_catalogue(visit):
        return False
    service = _choose_service(visit, paid_only=False)
    if service is None:
        return False
    visit.service_code = service
    return _open_form(visit, service) is not None


JOURNEYS: dict[str, Callable[[Visit], Any]] = {
    "browse": browse,
    "filing": file_dossier,
    "payment": pay_fee,
    "status": check_status,
}


# -- helpers ----------------------------------------------------------------------------
def _load_catalogue(visit: Visit) -> bool:
    body = call(visit, routes.SERVICES, keys=("services",))
    if body is None:
        return False
    visit.catalogue = {s["code"]: s for s in body["services"] if "code" in s}
    return bool(visit.catalogue)


def _open_form(visit: Visit, service: str) -> Any | None:
    """The service's form, as a citizen opens it before filing (or just to read it)."""
    return call(
        visit,
        routes.SERVICE_FORM,
        path=routes.SERVICE_FORM.path(code=service),
        keys=("fields", "attachments"),
    )


def _choose_service(visit: Visit, paid_only: bool) -> str | None:
    weights = {
        code: weight
        for code, weight in (visit.services or dict.fromkeys(visit.catalogue, 1.0)).items()
        if code in visit.catalogue
        and (not paid_only or int(visit.catalogue[code].get("fee_vnd", 0)) > 0)
    }
    if not weights or sum(weights.values()) <= 0:
        return None
    codes = list(weights)
    return visit.rng.choices(codes, weights=[weights[c] for c in codes])[0]


def _upload_attachments(visit: Visit, specs: list[dict[str, Any]]) -> list[str] | None:
    ids = []
    for spec in specs:
        if not spec.get("required", False):
            continue
        data, content_type = visit.attachments.body(
            spec["kind"], int(spec.get("max_bytes", 5_000_000)), visit.rng
        )
        body = call(
            visit,
            routes.ATTACHMENTS,
            expect=201,
            headers={
                **visit.auth,
                "Content-Type": content_type,
                "X-Attachment-Kind": spec["kind"],
            },
            data=data,
            keys=("attachment_id", "size_bytes"),
            check=_size_check(len(data)),
        )
        if body is None:
            return None
        ids.append(body["attachment_id"])
    return ids


def _size_check(sent: int) -> Callable[[Mapping[str, Any]], str | None]:
    def check(body: Mapping[str, Any]) -> str | None:
        if body["size_bytes"] == sent:
            return None
        return f"content check: size_bytes {body['size_bytes']!r}, sent {sent}"

    return check


def _check_dossier_code(body: Mapping[str, Any]) -> str | None:
    code = body["dossier_code"]
    if isinstance(code, str) and DOSSIER_CODE.fullmatch(code):
        return None
    return f"content check: dossier_code {code!r} is not of the agency-date-sequence shape"


def _check_status_body(body: Mapping[str, Any], code: str, paid: bool) -> str | None:
    if body["dossier_code"] != code:
        return f"content check: asked for {code}, got {body['dossier_code']!r}"
    if paid and body["paid"] is not True:
        return "content check: a confirmed payment is not shown as paid"
    return None
