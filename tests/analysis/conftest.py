"""Synthetic results folders for the analysis tests, written by the real codec."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis.synthetic import EndpointModel, RunModel, write_synthetic_run

ENDPOINTS = {
    "POST /auth/login": EndpointModel(median_ms=30, rate_per_s=5, tags=("write", "auth")),
    "GET /services": EndpointModel(median_ms=5, rate_per_s=40, tags=("read",)),
    "GET /services/[code]/form": EndpointModel(median_ms=6, rate_per_s=40, tags=("read",)),
    "POST /attachments": EndpointModel(median_ms=14, rate_per_s=30, tags=("write",)),
    "POST /dossiers": EndpointModel(median_ms=10, rate_per_s=40, tags=("write",)),
    "GET /dossiers/[code]": EndpointModel(median_ms=6, rate_per_s=40, tags=("read",)),
    "POST /dossiers/[code]/payments": EndpointModel(
        median_ms=8, rate_per_s=15, failure_ratio=0.02, tags=("write", "payment")
    ),
    "POST /paygov/confirm": EndpointModel(median_ms=45, rate_per_s=15, tags=("write", "payment")),
}
JOURNEYS = {
    "filing": EndpointModel(median_ms=60, rate_per_s=20),
    "payment": EndpointModel(median_ms=120, rate_per_s=8),
    "status": EndpointModel(median_ms=15, rate_per_s=20),
}
SERVICES = {
    "passport": EndpointModel(median_ms=70, rate_per_s=5),
    "tax-settlement": EndpointModel(median_ms=65, rate_per_s=8),
}
PROVINCES = {
    "Hà Nội": EndpointModel(median_ms=50, rate_per_s=10),
    "Cà Mau": EndpointModel(median_ms=55, rate_per_s=4),
    "Huế": EndpointModel(median_ms=52, rate_per_s=3),
}


def run_model(**changes: Any) -> RunModel:
    """The standard synthetic run (30 s, 8 request names), with ``changes`` applied."""
    model = RunModel(
        endpoints=ENDPOINTS,
        journeys=JOURNEYS,
        services=SERVICES,
        provinces=PROVINCES,
        duration_s=30.0,
        scenario="synthetic",
    )
    return dataclasses.replace(model, **changes)


MakeRun = Callable[..., Path]


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """``make_run(name, seed=..., **model changes)`` writes a results folder."""

    def make(name: str = "run", *, seed: int = 1, **changes: Any) -> Path:
        return write_synthetic_run(tmp_path / name, run_model(**changes), rng=seed)

    return make


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic run shared by a module's read-only tests."""
    return write_synthetic_run(tmp_path_factory.mktemp("recorded") / "run", run_model(), rng=7)


@pytest.fixture
def endpoint_models() -> dict[str, EndpointModel]:
    """The standard run's request names and their latency models (a copy)."""
    return dict(ENDPOINTS)
