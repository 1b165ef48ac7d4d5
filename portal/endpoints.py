"""The portal's API surface as ``"METHOD /route/template"`` keys.

These keys name endpoints in three places that must agree (and do, being derived from
one list of routes, :data:`dvcschema.routes.REFERENCE_PORTAL`): the routes of
:mod:`portal.app`, the ``endpoints`` section of a portal configuration file, and the
access log's ``method`` + ``endpoint`` fields. ``GET /health`` bypasses the tiers and
so is not configurable. Requests that match no route are logged (and configured)
under :data:`UNMATCHED`.
"""

from __future__ import annotations

from dvcschema.routes import REFERENCE_PORTAL

ENDPOINTS: tuple[str, ...] = tuple(route.key for route in REFERENCE_PORTAL)
"""The keys of :data:`dvcschema.routes.REFERENCE_PORTAL`, where the routes are spelled."""

UNMATCHED = "(unmatched)"
"""The endpoint template logged for a request that matches no route (404 or 405)."""


def split_key(key: str) -> tuple[str, str]:
    """``"GET /services"`` -> ``("GET", "/services")``."""
    method, _, path = key.partition(" ")
    return method, path
