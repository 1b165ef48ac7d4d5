"""The engines' own CPU benchmark: it runs its journeys against the portal's recorded
replies, and a reply that fails a check stops it (it never times failing journeys)."""

from __future__ import annotations

import pytest

from benchmarks import engine_cpu
from benchmarks.bench_generator_cpu import DECLARED, SCENARIO
from dvcschema import routes
from loadgen.population import generate_population


@pytest.fixture(scope="module")
def replies() -> dict[str, bytes]:
    return engine_cpu.recorded_replies(generate_population(1, seed=3).citizen(0).cccd)


def test_the_portals_replies_are_recorded_for_every_form(replies: dict[str, bytes]) -> None:
    forms = [p for p in replies if p.startswith("/services/") and p.endswith("/form")]
    assert routes.LOGIN.path() in replies and routes.SERVICES.path() in replies
    assert len(forms) >= 3 and all(b'"fields"' in replies[p] for p in forms)


@pytest.mark.parametrize("scenario", [DECLARED, SCENARIO], ids=["declared", "python-module"])
def test_each_engine_runs_its_journeys_and_is_timed_per_request(
    replies: dict[str, bytes], scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_cpu, "JOURNEYS", 40)
    monkeypatch.setattr(engine_cpu, "ROUNDS", 2)
    assert 0 < engine_cpu.cpu_us_per_request(scenario, replies) < 10_000


def test_a_reply_that_fails_a_check_stops_the_benchmark(replies: dict[str, bytes]) -> None:
    damaged = {**replies, routes.SERVICES.path(): b'{"services": []}'}
    with pytest.raises((RuntimeError, AssertionError)):
        engine_cpu.cpu_us_per_request(DECLARED, damaged)
