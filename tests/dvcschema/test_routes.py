"""The reference portal's routes are spelled once (:mod:`dvcschema.routes`): the portal
serves them, its configuration and log key them, and its journeys name their requests
after them."""

from __future__ import annotations

import pytest

from dvcschema import routes
from dvcschema.routes import Route
from portal.app import JOBS
from portal.endpoints import ENDPOINTS
from portal.journeys import TAGS as ENDPOINT_TAGS


def test_the_portal_and_the_journeys_read_the_same_routes() -> None:
    assert ENDPOINTS == tuple(r.key for r in routes.REFERENCE_PORTAL) == tuple(JOBS)
    assert list(ENDPOINT_TAGS) == [r.name for r in routes.REFERENCE_PORTAL]
    assert "GET /dossiers/[code]" in ENDPOINT_TAGS and "GET /dossiers/{code}" in ENDPOINTS


@pytest.mark.parametrize(
    ("template", "values", "path"),
    [
        ("/services", {}, "/services"),
        (
            "/dossiers/{code}",
            {"code": "000.00.H01-261207-0001"},
            "/dossiers/000.00.H01-261207-0001",
        ),
        ("/a/{x}/b/{y}", {"x": "1/2", "y": "ă b"}, "/a/1%2F2/b/%C4%83%20b"),
    ],
)
def test_a_path_fills_every_placeholder_encoded(
    template: str, values: dict[str, str], path: str
) -> None:
    assert Route("GET", template).path(**values) == path


def test_a_missing_value_or_a_bad_template_is_refused() -> None:
    with pytest.raises(KeyError, match="needs code"):
        routes.DOSSIER.path()
    for bad in ("dossiers", "/a/{1x}", "/a/{}"):
        with pytest.raises(ValueError, match="route"):
            Route("GET", bad)
