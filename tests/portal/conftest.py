"""Fixtures for the portal's tests: a real portal over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from portal_client import Api, RunningPortal

from portal.launcher import EmbeddedPortal


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortal]:
    """The default portal, shared by the tests of one module."""
    folder = tmp_path_factory.mktemp("portal")
    database, access_log = folder / "portal.sqlite", folder / "access.jsonl"
    with EmbeddedPortal(database=database, access_log=access_log, seed=7) as portal:
        yield RunningPortal(portal, Api(portal.url), database, access_log)


@pytest.fixture
def api(running: RunningPortal) -> Api:
    return running.api
