"""Stages become Locust ticks; histograms keep 3 significant digits and merge exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvcschema.histograms import HIGHEST_US, LOWEST_US, decode, merged, new_histogram
from dvcschema.load import Stage
from loadgen.histograms import LatencyRecorder, record_value
from loadgen.shapes import INSTANT_SPAWN_RATE, stage_at

STAGES = (Stage(10.0, 10), Stage(20.0, 30), Stage(5.0, 30), Stage(10.0, 0))


@pytest.mark.parametrize(
    ("t_s", "expected"),
    [
        (0.0, (10, 1.0)),  # ramp 0 -> 10 over 10 s
        (9.99, (10, 1.0)),
        (10.0, (30, 1.0)),  # ramp 10 -> 30 over 20 s
        (31.0, (30, INSTANT_SPAWN_RATE)),  # hold
        (40.0, (0, 3.0)),  # ramp down 30 -> 0 over 10 s
        (45.0, None),  # after the last stage: stop
    ],
)
def test_stage_at_follows_stage_lengths(t_s: float, expected: object) -> None:
    assert stage_at(STAGES, t_s) == expected


def test_recorder_percentiles_are_within_hdr_precision() -> None:
    rng = np.random.default_rng(1)
    values_ms = rng.lognormal(np.log(40.0), 0.8, 50_000)
    recorder = LatencyRecorder(clock=lambda: 0.0)
    for v in values_ms:
        recorder.record("GET /x", float(v))
    hist = recorder.endpoints()["GET /x"].histogram
    for p in (50, 95, 99):
        exact_us = np.percentile(values_ms * 1000, p, method="inverted_cdf")
        assert hist.get_value_at_percentile(p) == pytest.approx(exact_us, rel=2e-3)


def test_intervals_encode_reset_and_merge_back_to_the_total() -> None:
    now = [0.0]
    recorder = LatencyRecorder(clock=lambda: now[0])
    for i in range(100):
        recorder.record("POST /dossiers", 10.0 + i, failed=i % 10 == 0)
        if i % 25 == 24:
            now[0] += 5.0
            recorder.roll_interval()
    rows = recorder.intervals
    assert [r["endpoints"]["POST /dossiers"]["count"] for r in rows] == [25, 25, 25, 25]
    assert sum(r["endpoints"]["POST /dossiers"]["failures"] for r in rows) == 10
    total = merged(decode(r["endpoints"]["POST /dossiers"]["histogram"]) for r in rows)
    direct = recorder.endpoints()["POST /dossiers"].histogram
    assert total.get_total_count() == direct.get_total_count() == 100
    for p in (50, 90, 99, 100):
        assert total.get_value_at_percentile(p) == direct.get_value_at_percentile(p)


def test_values_beyond_an_hour_are_clamped_and_counted() -> None:
    recorder = LatencyRecorder()
    recorder.record("GET /slow", 5_000_000.0)
    assert recorder.to_dict()["endpoints"]["GET /slow"]["clamped"] == 1


def test_encoding_can_yield_between_histograms_while_the_load_records() -> None:
    """A flush yields between encodings; what greenlets record meanwhile must not break it."""
    recorder = LatencyRecorder()
    for key in ("GET /services", "POST /auth/login", "GET /dossiers/[code]"):
        recorder.record(key, 12.5)
    recorder.record_journey("browse", "1.001234", "Hà Nội", 80.0, ok=True)
    before = recorder.to_dict()
    calls: list[int] = []

    def between() -> None:  # what other greenlets do while the flush yields
        calls.append(1)
        recorder.record("GET /services/[code]/form", 3.0)
        recorder.record_session(start_delay_ms=0.2, raw_ms=50.0, corrected_ms=50.2, ok=True)

    during = recorder.to_dict(between=between)
    encoded = sum(len(v) for v in during.values() if isinstance(v, dict))
    assert len(calls) == encoded - 1
    assert "GET /services/[code]/form" not in during["endpoints"]  # came after its section
    for key, entry in before["endpoints"].items():
        assert during["endpoints"][key] == entry
    assert during["journeys"] == before["journeys"]


@given(st.lists(st.integers(min_value=LOWEST_US, max_value=HIGHEST_US), min_size=1, max_size=60))
def test_the_inline_record_is_hdrhs_own(values: list[int]) -> None:
    """Every count in the same bucket as hdrh's record_value puts it, and the same total,
    minimum and maximum, over the whole range a response time may take."""
    theirs, ours = new_histogram(), new_histogram()
    for value in values:
        theirs.record_value(value)
        record_value(ours, value)
    assert list(ours.counts) == list(theirs.counts)
    assert (ours.total_count, ours.min_value, ours.max_value) == (
        theirs.total_count, theirs.min_value, theirs.max_value,
    )  # fmt: skip
    assert ours.get_value_at_percentile(99.0) == theirs.get_value_at_percentile(99.0)
