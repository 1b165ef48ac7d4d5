"""The histogram format shared by the load generator (writer) and the analysis (reader).

Latencies are HdrHistograms in microseconds, 1 µs to 1 h, 3 significant digits
(relative error ≤ 0.1%), stored in HdrHistogram's compressed base64 encoding (V2),
which merges exactly by addition across processes and machines.

References
----------
.. [1] G. Tene, HdrHistogram: A High Dynamic Range Histogram, http://hdrhistogram.org/
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram
from numpy.typing import ArrayLike, NDArray

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is clamped and counted as such
SIGNIFICANT_DIGITS = 3
# An encoded histogram of ours is at most ~23,552 counts x 9 bytes before compression.
MAX_ENCODED_CHARS = 1024 * 1024
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_TOTAL_COUNT = 2**53  # counts beyond this are not exact in float64 figures
_EXTERNAL_HEADER = struct.Struct(">II")  # cookie, compressed length
_PAYLOAD_HEADER = struct.Struct(
    ">IIIIQQd"
)  # cookie, length, offset, digits, lowest, highest, ratio


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def decode(encoded: str) -> HdrHistogram:
    """A histogram from its base64 encoding; ``ValueError`` when it is not one of ours.

    The encoding is checked before HdrHistogram decodes it: strict base64, a compressed
    payload that inflates to at most :data:`MAX_PAYLOAD_BYTES` (a zlib bomb is refused
    unread), and dvcload's own range and precision (another range could ask for counts
    arrays of any size). Whatever HdrHistogram still refuses becomes ``ValueError`` too.
    """
    if not isinstance(encoded, str) or not encoded.isascii():
        raise ValueError("not a histogram: expected base64 text")
    if len(encoded) > MAX_ENCODED_CHARS:
        raise ValueError(f"not a histogram: over {MAX_ENCODED_CHARS:,} characters")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("not a histogram: invalid base64") from None
    _check_payload(raw)
    try:
        histogram = HdrHistogram.decode(encoded.encode("ascii"))
    except Exception as exc:  # hdrh raises its own classes, IndexError, zlib.error, ...
        raise ValueError(f"not a histogram: {type(exc).__name__} while decoding") from None
    if histogram.get_total_count() > MAX_TOTAL_COUNT:
        raise ValueError("not a histogram: counts beyond 2**53")
    return histogram


def _check_payload(raw: bytes) -> None:
    if len(raw) < _EXTERNAL_HEADER.size:
        raise ValueError("not a histogram: too short")
    _cookie, length = _EXTERNAL_HEADER.unpack_from(raw)
    if length != len(raw) - _EXTERNAL_HEADER.size:
        raise ValueError("not a histogram: its length does not match its header")
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(raw[_EXTERNAL_HEADER.size :], MAX_PAYLOAD_BYTES)
    except zlib.error:
        raise ValueError("not a histogram: invalid zlib data") from None
    if inflater.unconsumed_tail:
        raise ValueError(f"not a histogram: inflates to over {MAX_PAYLOAD_BYTES:,} bytes")
    if len(payload) < _PAYLOAD_HEADER.size:
        raise ValueError("not a histogram: payload too short")
    _, _, _, digits, lowest, highest, _ = _PAYLOAD_HEADER.unpack_from(payload)
    if (lowest, highest, digits) != (LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS):
        raise ValueError(
            f"not a dvcload histogram: range {lowest}-{highest} us, {digits} digits; expected"
            f" {LOWEST_US}-{HIGHEST_US} us, {SIGNIFICANT_DIGITS} digits"
        )


def encode(histogram: HdrHistogram) -> str:
    return bytes(histogram.encode()).decode("ascii")


def merged(histograms: Iterable[HdrHistogram]) -> HdrHistogram:
    total = new_histogram()
    for histogram in histograms:
        total.add(histogram)
    return total


@dataclass(frozen=True)
class EndpointHistogram:
    """A decoded histogram with its request and failure counts."""

    histogram: HdrHistogram
    failures: int

    @property
    def count(self) -> int:
        return int(self.histogram.get_total_count())


def load_endpoints(data: Mapping[str, Any]) -> dict[str, EndpointHistogram]:
    """Decode the ``endpoints`` mapping of ``histograms.json`` or of one interval row."""
    return {
        key: EndpointHistogram(decode(entry["histogram"]), int(entry["failures"]))
        for key, entry in data["endpoints"].items()
    }


# -- vectorised access (NumPy) -------------------------------------------------------
# The functions below read and write an HdrHistogram's counts array directly, so that
# millions of values are recorded, and percentiles are read, without a Python loop per
# value or per bucket. They follow HdrHistogram's own index arithmetic exactly [1]_.


def counts_view(histogram: HdrHistogram) -> NDArray[np.uint64]:
    """The histogram's counts array as a NumPy view (writes go into the histogram)."""
    return np.ctypeslib.as_array(histogram.counts)


def counts_indices(histogram: HdrHistogram, values_us: NDArray[np.int64]) -> NDArray[np.int64]:
    """The counts index of each value, as ``HdrHistogram.record_value`` computes it.

    ``values_us`` must be integers within the histogram's trackable range.
    """
    values = np.asarray(values_us, dtype=np.int64)
    masked = values | np.int64(histogram.sub_bucket_mask)
    bit_length = np.frexp(masked.astype(np.float64))[1].astype(np.int64)  # exact below 2**53
    bucket = bit_length - histogram.unit_magnitude - (histogram.sub_bucket_half_count_magnitude + 1)
    sub_bucket = values >> (bucket + histogram.unit_magnitude)
    base = (bucket + 1) << histogram.sub_bucket_half_count_magnitude
    return base + sub_bucket - histogram.sub_bucket_half_count


def record_values(histogram: HdrHistogram, values_us: ArrayLike) -> int:
    """Record many latencies (µs) at once; returns how many were clamped to the range.

    Values are truncated to whole microseconds; values below ``LOWEST_US`` are recorded
    as ``LOWEST_US`` and values above ``HIGHEST_US`` as ``HIGHEST_US`` (and counted as
    clamped), exactly as the load generator's recorder does one by one.

    >>> h = new_histogram()
    >>> record_values(h, [1500, 2500, 7_200_000_000])
    1
    >>> h.get_total_count()
    3
    """
    raw = np.asarray(values_us, dtype=np.float64).ravel()
    if raw.size == 0:
        return 0
    if not np.all(np.isfinite(raw)):
        raise ValueError("latencies must be finite numbers of microseconds")
    values = raw.astype(np.int64)
    clamped = int(np.count_nonzero(values > HIGHEST_US))
    np.clip(values, LOWEST_US, HIGHEST_US, out=values)
    indices = counts_indices(histogram, values)
    added = np.bincount(indices, minlength=histogram.counts_len)
    counts = counts_view(histogram)
    counts += added[: histogram.counts_len].astype(np.uint64)
    histogram.total_count += int(values.size)
    histogram.min_value = min(histogram.min_value, int(values.min()))
    histogram.max_value = max(histogram.max_value, int(values.max()))
    return clamped


@lru_cache(maxsize=8)
def _bin_bounds(
    counts_len: int, unit_magnitude: int, half_count_magnitude: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    index = np.arange(counts_len, dtype=np.int64)
    half_count = 1 << half_count_magnitude
    bucket = (index >> half_count_magnitude) - 1
    sub_bucket = (index & (half_count - 1)) + half_count
    first = bucket < 0
    sub_bucket[first] -= half_count
    bucket[first] = 0
    lowest = sub_bucket << (bucket + unit_magnitude)
    width = np.left_shift(np.int64(1), bucket + unit_magnitude)
    lowest.setflags(write=False)
    highest = lowest + width - 1
    highest.setflags(write=False)
    return lowest, highest


def bin_bounds_us(histogram: HdrHistogram) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Lowest and highest equivalent value (µs) of every counts index (read-only arrays).

    HdrHistogram reports a percentile as the highest equivalent value of the bucket it
    falls in, and the maximum likewise; the mean uses the bucket's midpoint.
    """
    return _bin_bounds(
        int(histogram.counts_len),
        int(histogram.unit_magnitude),
        int(histogram.sub_bucket_half_count_magnitude),
    )
