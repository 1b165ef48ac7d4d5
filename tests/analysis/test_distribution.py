"""Vectorised histogram figures agree exactly with HdrHistogram's own loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.distribution import LatencyDistribution, merge
from dvcschema.histograms import (
    HIGHEST_US,
    counts_view,
    decode,
    encode,
    merged,
    new_histogram,
    record_values,
)

PERCENTILES = [0.0, 1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]
latencies_us = arrays(
    np.int64,
    st.integers(min_value=1, max_value=300),
    elements=st.integers(min_value=1, max_value=HIGHEST_US),
)


@settings(max_examples=60, deadline=None)
@given(values=latencies_us)
def test_record_values_equals_recording_one_by_one(values: np.ndarray) -> None:
    fast, slow = new_histogram(), new_histogram()
    record_values(fast, values)
    for value in values:
        slow.record_value(int(value))
    assert np.array_equal(counts_view(fast), counts_view(slow))
    assert fast.get_total_count() == slow.get_total_count()
    assert (fast.min_value, fast.max_value) == (slow.min_value, slow.max_value)
    assert encode(fast) == encode(slow)


@settings(max_examples=60, deadline=None)
@given(values=latencies_us)
def test_percentiles_mean_and_max_equal_hdrhistogram(values: np.ndarray) -> None:
    hist = new_histogram()
    record_values(hist, values)
    dist = LatencyDistribution.from_histogram(decode(encode(hist)))
    expected = [hist.get_value_at_percentile(p) / 1000.0 for p in PERCENTILES]
    np.testing.assert_array_equal(dist.percentiles_ms(PERCENTILES), expected)
    assert dist.max_ms() == hist.get_max_value() / 1000.0
    assert dist.mean_ms() == pytest.approx(hist.get_mean_value() / 1000.0, rel=1e-12)


def test_record_values_clamps_and_counts_values_out_of_range() -> None:
    hist = new_histogram()
    clamped = record_values(hist, [0.2, 5.0, HIGHEST_US * 2.0])
    assert clamped == 1
    assert hist.get_total_count() == 3
    assert hist.min_value == 1 and hist.max_value == HIGHEST_US
    with pytest.raises(ValueError, match="finite"):
        record_values(hist, [float("nan")])


def test_merge_is_exact_like_hdr_addition() -> None:
    rng = np.random.default_rng(5)
    hists = []
    for scale in (8.0, 10.0, 12.0):
        h = new_histogram()
        record_values(h, rng.lognormal(scale, 1.0, 5000))
        hists.append(h)
    together = merge(LatencyDistribution.from_histogram(h, failures=2) for h in hists)
    reference = LatencyDistribution.from_histogram(merged(hists))
    np.testing.assert_array_equal(together.counts, reference.counts)
    np.testing.assert_array_equal(together.highest_us, reference.highest_us)
    assert together.failures == 6


def test_empty_distribution_has_no_figures() -> None:
    empty = LatencyDistribution.empty()
    assert empty.count == 0 and empty.failure_ratio == 0.0
    assert np.isnan(empty.percentiles_ms([50.0])).all()
    assert np.isnan(empty.mean_ms()) and np.isnan(empty.max_ms())
    assert merge([]).count == 0


def test_cdf_reaches_one_at_the_maximum() -> None:
    hist = new_histogram()
    record_values(hist, np.arange(1, 1001) * 1000)
    x, y = LatencyDistribution.from_histogram(hist).cdf()
    assert y[-1] == 1.0 and np.all(np.diff(y) > 0)
    assert x[-1] == pytest.approx(1000.0, rel=1e-3)
