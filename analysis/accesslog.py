"""The portal's access log as arrays: one entry per request, timings per tier.

The reference portal writes one JSON line per request (``portal/access_log.py``):
``t_arrival``, ``method``, ``endpoint``, ``status``, and per tier ``wait_ms`` and
``service_ms``, the time the request waited for and then held a server there. These
are the ground truth that calibration (:mod:`analysis.calibrate`) and the validation
experiment (:mod:`analysis.validate`) read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.runfolder import RunFolder
from dvcschema import files, routes, runschema
from dvcschema.errors import ConfigError, shown

FloatArray = NDArray[np.float64]
MAX_ACCESS_LOG_BYTES = 2 * 1024**3  # ~200 bytes a request: ten million requests
ABANDONED = (444, 499)  # reset, client went away: the service was cut short


@dataclass(frozen=True)
class AccessLog:
    """A portal access log as arrays, one entry per request (``/health`` left out).

    ``wait_s[tier]`` and ``service_s[tier]`` are NaN where a request did not visit
    the tier; ``ok`` is false for refused, faulted and 5xx requests.
    """

    t_arrival: FloatArray
    response_s: FloatArray
    endpoints: NDArray[np.str_]
    ok: NDArray[np.bool_]
    wait_s: Mapping[str, FloatArray]
    service_s: Mapping[str, FloatArray]

    @property
    def size(self) -> int:
        return int(self.t_arrival.size)

    def between(self, t0: float, t1: float) -> AccessLog:
        """The requests that arrived in ``[t0, t1)`` (Unix seconds)."""
        keep = (self.t_arrival >= t0) & (self.t_arrival < t1)
        return self._subset(keep)

    def completed_between(self, t0: float, t1: float) -> AccessLog:
        """The requests answered in ``[t0, t1)``: the set a load generator's histograms
        of that interval hold (they record a request when its response arrives)."""
        done = self.t_arrival + self.response_s
        return self._subset((done >= t0) & (done < t1))

    def server_time_s(self) -> FloatArray:
        """Per request: wait + service summed over its tiers (the models' response)."""
        total = np.zeros(self.size)
        for tier in self.wait_s:
            total += np.nan_to_num(self.wait_s[tier]) + np.nan_to_num(self.service_s[tier])
        return total

    def _subset(self, keep: NDArray[np.bool_]) -> AccessLog:
        return AccessLog(
            self.t_arrival[keep],
            self.response_s[keep],
            self.endpoints[keep],
            self.ok[keep],
            {t: v[keep] for t, v in self.wait_s.items()},
            {t: v[keep] for t, v in self.service_s.items()},
        )


def read_access_log(path: Path) -> AccessLog:
    """Read ``portal_access.jsonl`` into arrays (a clear error when unreadable)."""
    text = files.read_text(path, limit=MAX_ACCESS_LOG_BYTES)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(runschema.loads(line, source=str(path), line=number))
        except ConfigError as exc:
            raise ConfigError(
                f"unreadable access log: {exc.message}", source=str(path), line=number
            ) from None
    rows = [r for r in rows if isinstance(r, dict) and r.get("endpoint") != "/health"]
    tiers = list(dict.fromkeys(t for r in rows for t in (r.get("tiers") or {})))
    try:
        return AccessLog(
            np.array([float(r["t_arrival"]) for r in rows]),
            np.array([float(r.get("response_ms", 0.0)) for r in rows]) / 1000.0,
            np.array([f"{r['method']} {r['endpoint']}" for r in rows], dtype=np.str_),
            np.array([_ok(r) for r in rows], dtype=bool),
            {t: _tier_column(rows, t, "wait_ms") for t in tiers},
            {t: _tier_column(rows, t, "service_ms") for t in tiers},
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        why = f"{type(exc).__name__}: {shown(str(exc))}"
        raise ConfigError(f"not a portal access log: {why}", source=str(path)) from None


def _ok(row: Mapping[str, Any]) -> bool:
    """Served: not refused, faulted, abandoned (499), reset (444) or a server error."""
    status = int(row.get("status", 0))
    served = 200 <= status < 500 and status not in ABANDONED
    return served and "rejected_at" not in row and "fault" not in row


def _tier_column(rows: list[dict[str, Any]], tier: str, key: str) -> FloatArray:
    values = [(r.get("tiers") or {}).get(tier, {}).get(key, math.nan) for r in rows]
    return np.asarray(values, dtype=np.float64) / 1000.0


def sessions_of(folder: RunFolder, log: AccessLog | None) -> int:
    """Sessions in a run: sessions started (open model), else logins, else journeys."""
    started = (folder.summary.get("arrivals") or {}).get("started")
    if started:
        return int(started)
    if log is not None and log.size:
        logins = int(np.sum(log.endpoints == routes.LOGIN.key))
        if logins:
            return logins
    journeys = folder.summary.get("journeys") or {}
    return int(sum(int(j.get("count", 0)) for j in journeys.values())) or 1
