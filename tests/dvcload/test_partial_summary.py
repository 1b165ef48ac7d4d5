"""A partial summary is read while the load goes on: it must say "as of" a time by
which every request it counts had finished (the SIGKILL test compares it with the
portal's access log)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dvcload import run_writer
from dvcload.run_writer import summarise
from dvcschema.results import GeneratorHealth
from loadgen.histograms import LatencyRecorder
from loadgen.runner import LoadRun

SCENARIO = SimpleNamespace(name="s", seed=1, population=SimpleNamespace(size=10))


def _workload(recorder: LatencyRecorder) -> Any:
    return SimpleNamespace(
        recorder=recorder,
        ledger=SimpleNamespace(dossiers={}, payments={}),
        behaviour_counters=dict,
        endpoint_tags=dict,
    )


def _load(started_at: float, ended_at: float) -> LoadRun:
    stats = SimpleNamespace(total=SimpleNamespace(num_requests=0, num_failures=0))
    return LoadRun(started_at, ended_at, 1, SimpleNamespace(stats=stats), False)  # type: ignore[arg-type]


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.parametrize("complete", [False, True])
def test_requests_finishing_during_the_flush_are_counted_before_ended_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, complete: bool
) -> None:
    recorder = LatencyRecorder()
    recorder.record("GET /services", 10.0)
    for journey in ("browse", "status"):  # two entries: the flush yields between them
        recorder.record(journey, 50.0, section="journeys")
    snapshot = time.time() - 1.0
    finished: list[float] = []

    def yield_while_a_request_finishes() -> None:
        if not finished:
            time.sleep(0.01)
            recorder.record("GET /services", 12.0)
            finished.append(time.time())

    monkeypatch.setattr(run_writer, "_yield", yield_while_a_request_finishes)
    summary = summarise(
        _load(snapshot - 9.0, snapshot),
        _workload(recorder),
        SCENARIO,  # type: ignore[arg-type]
        "embedded",
        complete=complete,
        generator=GeneratorHealth.measure(0.1, 9.0),
    ).as_dict()
    assert finished, "the flush never yielded"
    assert summary["requests"] == 2
    if complete:  # after the load: the run's own end, nothing finishes later
        assert _unix(summary["ended_at"]) == pytest.approx(snapshot, abs=1e-3)
    else:
        assert _unix(summary["ended_at"]) >= finished[0] - 1e-3
