"""The histogram format shared by the load generator (writer) and the analysis (reader).

Latencies are HdrHistograms in microseconds, 1 µs to 1 h, 3 significant digits
(relative error ≤ 0.1%), stored in HdrHistogram's compressed base64 encoding (V2),
which merges exactly by addition across processes and machines.

References
----------
.. [1] G. Tene, HdrHistogram: A High Dynamic Range Histogram, http://hdrhistogram.org/
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is clamped and counted as such
SIGNIFICANT_DIGITS = 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def decode(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded.encode("ascii"))


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
