"""Per-interval series from ``histograms_intervals.jsonl``: throughput, errors, percentiles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dvcschema.histograms import decode, merged


@dataclass(frozen=True)
class Series:
    """Aligned arrays, one value per reporting interval (seconds since the first)."""

    t_s: NDArray[np.float64]
    rps: NDArray[np.float64]
    failures_per_s: NDArray[np.float64]
    p50_ms: NDArray[np.float64]
    p95_ms: NDArray[np.float64]
    p99_ms: NDArray[np.float64]


def read_intervals(path: Path) -> Series:
    """All endpoints merged per interval; NaN percentiles where an interval is empty."""
    rows = []
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    n = len(rows)
    out = {k: np.full(n, np.nan) for k in ("t", "rps", "fail", "p50", "p95", "p99")}
    t0 = rows[0]["t_start"] if rows else 0.0
    for i, row in enumerate(rows):
        width_s = max(row["t_end"] - row["t_start"], 1e-9)
        entries = row["endpoints"].values()
        hist = merged(decode(e["histogram"]) for e in entries)
        count = hist.get_total_count()
        out["t"][i] = row["t_end"] - t0
        out["rps"][i] = count / width_s
        out["fail"][i] = sum(e["failures"] for e in entries) / width_s
        if count:
            for p in (50, 95, 99):
                out[f"p{p}"][i] = hist.get_value_at_percentile(p) / 1000.0
    return Series(out["t"], out["rps"], out["fail"], out["p50"], out["p95"], out["p99"])
