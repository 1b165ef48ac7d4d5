"""Routes: one spelling of each path, for the server that serves it and the load that calls it.

A :class:`Route` is a method and a path template in Starlette's spelling
(``/dossiers/{code}``), which is also the key of a portal configuration's ``endpoints``
and of its access log. Three spellings derive from it and from nothing else:

- :attr:`Route.key`: ``"GET /dossiers/{code}"`` (the portal's configuration and log);
- :attr:`Route.name`: ``"GET /dossiers/[code]"``, the request name in every result
  (Locust's name, budgets, the summary), placeholders in brackets so that a budget key
  never looks like a template to fill;
- :meth:`Route.path`: ``/dossiers/H01-261207-0001``, the path of one request, each value
  percent-encoded.

:data:`REFERENCE_PORTAL` lists the reference portal's routes, read by the portal
(:mod:`portal.endpoints`, :mod:`portal.app`) and by its journeys
(:mod:`portal.journeys`), with the tags its budgets and reports group them by.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """One route: ``Route("GET", "/dossiers/{code}", tags=("read",))``.

    Examples
    --------
    >>> r = Route("POST", "/dossiers/{code}/payments")
    >>> r.key, r.name
    ('POST /dossiers/{code}/payments', 'POST /dossiers/[code]/payments')
    >>> r.path(code="H01 1")
    '/dossiers/H01%201/payments'
    """

    method: str
    template: str
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.template.startswith("/"):
            raise ValueError(f"a route's path starts with '/': {self.template!r}")
        fields = [f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None]
        if any(not _PLACEHOLDER.fullmatch("{" + f + "}") for f in fields):
            raise ValueError(f"a route's placeholders are {{name}}: {self.template!r}")

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @cached_property
    def path_name(self) -> str:
        """The template with its placeholders in brackets: ``/dossiers/[code]``."""
        return _PLACEHOLDER.sub(r"[\1]", self.template)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path_name}"

    @cached_property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.template))

    def path(self, **values: object) -> str:
        """The path of one request: each placeholder replaced by its value, encoded."""
        if not self.placeholders:
            return self.template  # nothing to fill (the common case: said once, here)
        missing = set(self.placeholders) - set(values)
        if missing:
            raise KeyError(f"{self.key} needs {', '.join(sorted(missing))}")
        return _PLACEHOLDER.sub(lambda m: quote(str(values[m[1]]), safe=""), self.template)


LOGIN = Route("POST", "/auth/login", ("auth", "write"))
SERVICES = Route("GET", "/services", ("read", "catalogue"))
SERVICE_FORM = Route("GET", "/services/{code}/form", ("read", "catalogue"))
ATTACHMENTS = Route("POST", "/attachments", ("write", "upload"))
DOSSIERS = Route("POST", "/dossiers", ("write", "filing"))
DOSSIER = Route("GET", "/dossiers/{code}", ("read", "status"))
PAYMENTS = Route("POST", "/dossiers/{code}/payments", ("write", "payment"))
PAYGOV_CONFIRM = Route("POST", "/paygov/confirm", ("write", "payment"))

REFERENCE_PORTAL: tuple[Route, ...] = (
    LOGIN,
    SERVICES,
    SERVICE_FORM,
    ATTACHMENTS,
    DOSSIERS,
    DOSSIER,
    PAYMENTS,
    PAYGOV_CONFIRM,
)
