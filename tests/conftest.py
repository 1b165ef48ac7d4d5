"""Shared fixtures.

Locust monkey-patches the process with gevent when it is imported. Importing it here,
before anything else, makes every test run under the same (patched) conditions as
``dvcload run`` and avoids gevent's warning about patching ``ssl`` after its import.
"""

from __future__ import annotations

import sys
from pathlib import Path

import locust  # noqa: F401  (must stay the first import: gevent monkey-patching)
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def dvcload_cmd() -> list[str]:
    """The command line to run dvcload in a subprocess, with this interpreter."""
    return [sys.executable, "-m", "dvcload"]
