"""Calibrate queueing models from runs: service demands per tier and per endpoint.

``dvcload calibrate RUN [RUN ...]`` reads results folders and writes a calibrated
model file (``calibrated.yaml``) that ``dvcload plan --model FILE`` reads. Each tier's
demand comes from the best source the runs offer (:mod:`models.calibration` has the
estimators and their references):

1. ``access_log``: the reference portal's access log (``portal_access.jsonl``), the
   ground truth: how long each request held a server of each tier. Samples are
   pooled over the runs; requests refused, faulted or answered 5xx are left out.
2. ``response_time``: without an access log, the mean response time and throughput
   of the lowest-load run, through the utilisation law and the open-model residence
   time (Lazowska et al. 1984, ch. 3 and 6). The whole request is one station as
   seen from outside (tier ``web``); network and client time are included, so the
   demand is an upper bound. Used when that run is at low load (``U <= 0.3``).
3. ``regression``: otherwise, when at least two runs carry a ``utilization.json``
   (the operator's monitoring: ``{"web": 0.42}``, utilisation per server), the
   regression of busy servers on throughput (Zhang, Cherkasova & Smirni 2007).

Without runs, a web server's log summed by ``dvcload derive`` (``derive.json``) is a
fourth source, ``log_response_time``: response times, not service demands
(:mod:`analysis.calibrate_derived`).

The file speaks the vocabulary of a scenario's ``capacity: tiers:`` section
(``service_time``, ``cv``, ``visits``) plus what was measured (``servers``, ``dist``,
``n``, ``source``, ``why``, ...); see :data:`FILE_HEADER`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from analysis.accesslog import AccessLog, read_access_log, sessions_of
from analysis.distribution import LatencyDistribution
from analysis.runfolder import RunFolder
from dvcschema import files, results
from dvcschema.errors import ConfigError, shown
from models.calibration import (
    DemandEstimate,
    demand_from_response_time,
    demand_from_samples,
    regress_demands,
)

FloatArray = NDArray[np.float64]
CALIBRATED_FILE = "calibrated.yaml"
SOURCES = ("auto", "access_log", "response_time", "regression")
LOW_LOAD_UTILIZATION = 0.3
ENTRY_TIER = "web"
FILE_VERSION = 1
FILE_HEADER = """\
# A calibrated model written by `dvcload calibrate`; `dvcload plan --model FILE` reads it.
# Per tier, in the words of a scenario's `capacity: tiers:` section:
#   service_time  mean service time per visit      cv      its coefficient of variation
#   visits        visits per session (one citizen's login + journey)
# and what was measured: servers (as run), dist (best fit), sample_cv, std_error (of
# service_time), n (requests), utilization, source (access_log | response_time |
# regression | log_response_time) and why; `endpoints` breaks the tier down per
# "METHOD /route". log_response_time: a web server's logged response times (dvcload
# derive), queueing included, not service demands: an over-estimate under load.
"""


@dataclass(frozen=True)
class TierCalibration:
    """One tier's calibrated demand per visit, visits per session, and provenance."""

    name: str
    demand: DemandEstimate
    visits: float
    source: str
    why: str
    servers: int | None = None
    utilization: float | None = None
    endpoints: Mapping[str, DemandEstimate] = field(default_factory=dict)
    endpoint_visits: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibratedModel:
    """Every tier's calibration, from which runs, and the harness's own overhead."""

    tiers: tuple[TierCalibration, ...]
    runs: tuple[str, ...]
    sessions: int
    client_overhead_ms: float | None = None

    def tier(self, name: str) -> TierCalibration:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise ConfigError(f"no tier {shown(name)} in the calibration; tiers: {self.tier_names}")

    @property
    def tier_names(self) -> str:
        return ", ".join(t.name for t in self.tiers)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": FILE_VERSION, "runs": list(self.runs)}
        out["sessions"] = self.sessions
        if self.client_overhead_ms is not None:
            out["client_overhead_ms"] = round(self.client_overhead_ms, 3)
        out["tiers"] = {t.name: _tier_dict(t) for t in self.tiers}
        return out

    def to_yaml(self) -> str:
        body = yaml.safe_dump(self.as_dict(), sort_keys=False, allow_unicode=True, width=100)
        return FILE_HEADER + body

    def write(self, path: Path) -> None:
        path.write_text(self.to_yaml(), encoding="utf-8")


# -- calibration ---------------------------------------------------------------------------
def calibrate_runs(
    paths: Sequence[Path],
    *,
    servers: Mapping[str, int] | None = None,
    source: str = "auto",
) -> CalibratedModel:
    """Calibrate every tier from the runs in ``paths`` (see the module docstring).

    Parameters
    ----------
    paths
        Results folders of ``dvcload run``.
    servers
        Servers per tier during the runs (for utilisations; the response-time source
        needs the entry tier's, else it assumes one).
    source
        ``'auto'`` (best available) or one of ``access_log``, ``response_time``,
        ``regression``.
    """
    if source not in SOURCES:
        raise ConfigError(f"unknown source {shown(source)}; options are {', '.join(SOURCES)}")
    if not paths:
        raise ConfigError("give at least one results folder")
    folders = [RunFolder.open(p) for p in paths]
    servers = dict(servers or {})
    logs = [_log_of(f) for f in folders]
    runs = tuple(str(f.path) for f in folders)
    if source in ("auto", "access_log") and all(log is not None for log in logs):
        return _from_access_logs(folders, [log for log in logs if log is not None], servers, runs)
    if source == "access_log":
        missing = next(f.path for f, log in zip(folders, logs, strict=True) if log is None)
        raise ConfigError(
            f"no {results.PORTAL_ACCESS_LOG} with tier timings in this run", source=str(missing)
        )
    sessions = sum(sessions_of(f, None) for f in folders)
    tier = _from_outside(folders, servers, source, sessions)
    return CalibratedModel((tier,), runs, sessions)


def _log_of(folder: RunFolder) -> AccessLog | None:
    path = folder.path / results.PORTAL_ACCESS_LOG
    if not files.exists(path):
        return None
    log = read_access_log(path)
    return log if log.size and log.service_s else None


def _from_access_logs(
    folders: list[RunFolder],
    logs: list[AccessLog],
    servers: Mapping[str, int],
    runs: tuple[str, ...],
) -> CalibratedModel:
    sessions = sum(sessions_of(f, log) for f, log in zip(folders, logs, strict=True))
    duration_s = sum(f.duration_s for f in folders)
    names = list(dict.fromkeys(t for log in logs for t in log.service_s))
    tiers = tuple(
        tier_from_logs(name, logs, sessions=sessions, servers=servers.get(name),
                       duration_s=duration_s)
        for name in names
    )  # fmt: skip
    overheads = [client_overhead_ms(f, log) for f, log in zip(folders, logs, strict=True)]
    known = [o for o in overheads if o is not None]
    overhead = float(np.mean(known)) if known else None
    return CalibratedModel(tiers, runs, sessions, overhead)


def tier_from_logs(
    name: str,
    logs: Sequence[AccessLog],
    *,
    sessions: int,
    servers: int | None = None,
    duration_s: float | None = None,
) -> TierCalibration:
    """One tier's demand from the service times its access logs recorded."""
    service, keys = _tier_samples(name, logs)
    if service.size < 2:
        raise ConfigError(f"tier {shown(name)}: fewer than 2 successful requests in the access log")
    endpoints = {
        key: demand_from_samples(service[keys == key])
        for key in sorted(set(keys.tolist()))
        if int(np.sum(keys == key)) >= 2
    }
    visits = {key: float(np.sum(keys == key)) / sessions for key in endpoints}
    utilization = None
    if servers and duration_s:
        utilization = float(service.sum()) / (servers * duration_s)
    why = (
        f"per-request service times in the portal's access log (ground truth):"
        f" {service.size} requests in {len(logs)} run(s)"
    )
    return TierCalibration(
        name, demand_from_samples(service), service.size / sessions, "access_log", why,
        servers, utilization, endpoints, visits,
    )  # fmt: skip


def _tier_samples(name: str, logs: Sequence[AccessLog]) -> tuple[FloatArray, NDArray[np.str_]]:
    service, keys = [], []
    for log in logs:
        if name not in log.service_s:
            continue
        column = log.service_s[name]
        keep = log.ok & ~np.isnan(column)
        service.append(column[keep])
        keys.append(log.endpoints[keep])
    if not service:
        return np.empty(0), np.empty(0, dtype=np.str_)
    return np.concatenate(service), np.concatenate(keys)


def client_overhead_ms(folder: RunFolder, log: AccessLog) -> float | None:
    """The harness's mean response minus the portal's mean wait + service (ms):
    loopback, HTTP parsing on both sides and the client's own time."""
    mean_ms = (folder.summary.get("total") or {}).get("mean_ms")
    server = log.server_time_s()[log.ok]
    if mean_ms is None or not server.size:
        return None
    return float(mean_ms) - float(server.mean()) * 1000.0


def _from_outside(
    folders: list[RunFolder], servers: Mapping[str, int], source: str, sessions: int
) -> TierCalibration:
    """The entry tier from what the load generator saw (no access log)."""
    low = min(folders, key=lambda f: float(f.summary.get("rps") or 0.0))
    c = int(servers.get(ENTRY_TIER, 1))
    by_response = _by_response_time(low, c, sessions=sum(sessions_of(f, None) for f in [low]))
    regression_ok = sum((f.path / results.UTILIZATION).is_file() for f in folders) >= 2
    low_load = (by_response.utilization or 0.0) <= LOW_LOAD_UTILIZATION
    if source == "regression" or (source == "auto" and not low_load and regression_ok):
        return _by_regression(folders, c, sessions)
    if not low_load:
        why = by_response.why + f"; note: not at low load (U = {by_response.utilization:.2f})"
        return TierCalibration(**{**by_response.__dict__, "why": why})
    return by_response


def _by_response_time(folder: RunFolder, servers: int, *, sessions: int) -> TierCalibration:
    total = folder.summary.get("total") or {}
    rps = float(folder.summary.get("rps") or 0.0)
    mean_ms = total.get("mean_ms")
    if mean_ms is None or rps <= 0:
        raise ConfigError(
            "no mean response time or throughput in summary.json", source=str(folder.path)
        )
    demand_s = demand_from_response_time(float(mean_ms) / 1000, rps, servers)
    hist = folder.section("endpoints")
    wait_s = float(mean_ms) / 1000 - demand_s
    endpoints = {
        key: _outside_estimate(max(d.mean_ms() / 1000 - wait_s, 1e-9), d)
        for key, d in hist.items()
        if d.count >= 2
    }
    requests = int(folder.summary.get("requests") or sum(d.count for d in hist.values()))
    cv = _response_cv(hist)
    estimate = DemandEstimate(
        demand_s, cv, requests, math.nan, "response_time", family_of_cv(cv), cv
    )
    why = (
        f"no access log: mean response {float(mean_ms):.1f} ms at {rps:.1f} requests/s in the"
        f" lowest-load run, solved for the demand by the open-model residence time"
        f" (Lazowska et al. 1984, ch. 6) with {servers} server(s); includes network and"
        f" client time (an upper bound); cv from the response-time histograms"
    )
    visits = {key: d.count / sessions for key, d in hist.items()}
    utilization = rps * demand_s / servers
    return TierCalibration(
        ENTRY_TIER, estimate, requests / sessions, "response_time", why, servers, utilization,
        endpoints, visits,
    )  # fmt: skip


def _outside_estimate(mean_s: float, dist: LatencyDistribution) -> DemandEstimate:
    cv = math.sqrt(dist.variance_ms2()) / dist.mean_ms() if dist.mean_ms() > 0 else 1.0
    return DemandEstimate(mean_s, cv, dist.count, math.nan, "response_time", family_of_cv(cv), cv)


def _response_cv(hist: Mapping[str, LatencyDistribution]) -> float:
    counts = np.array([d.count for d in hist.values()], dtype=np.float64)
    means = np.array([d.mean_ms() for d in hist.values()])
    second = np.array([d.variance_ms2() + d.mean_ms() ** 2 for d in hist.values()])
    mean = float(np.sum(counts * means) / counts.sum())
    var = float(np.sum(counts * second) / counts.sum()) - mean**2
    return math.sqrt(max(var, 0.0)) / mean if mean > 0 else 1.0


def family_of_cv(cv: float) -> str:
    """The distribution family the models use for a CV: deterministic, exponential, lognormal."""
    if cv < 0.05:
        return "deterministic"
    return "exponential" if abs(cv - 1.0) <= 0.1 else "lognormal"


def _by_regression(folders: list[RunFolder], servers: int, sessions: int) -> TierCalibration:
    usable = [f for f in folders if (f.path / results.UTILIZATION).is_file()]
    if len(usable) < 2:
        raise ConfigError(
            f"regression needs at least 2 runs with {results.UTILIZATION}; found {len(usable)}"
        )
    rps = [float(f.summary.get("rps") or 0.0) for f in usable]
    busy = [_utilization(f) * servers for f in usable]
    fit = regress_demands(rps, busy)
    demand = float(fit.demands_s[0])
    estimate = DemandEstimate(demand, 1.0, fit.levels, float(fit.std_errors_s[0]), "regression")
    requests = sum(int(f.summary.get("requests") or 0) for f in folders)
    why = (
        f"regression of busy servers on throughput over {fit.levels} runs (Zhang, Cherkasova"
        f" & Smirni 2007), R² = {fit.r_squared:.3f}, background {fit.background:.3f} servers;"
        f" demand per request; cv not identified (1 assumed)"
    )
    return TierCalibration(ENTRY_TIER, estimate, requests / max(sessions, 1), "regression", why,
                           servers)  # fmt: skip


def _utilization(folder: RunFolder) -> float:
    path = folder.path / results.UTILIZATION
    value = folder.files.read_json(results.UTILIZATION, required=True).get(ENTRY_TIER)
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(
            f"{shown(ENTRY_TIER)} utilisation {shown(value)}; allowed: a number in [0, 1]",
            source=str(path),
        )
    return float(value)


# -- the file ------------------------------------------------------------------------------
def _tier_dict(tier: TierCalibration) -> dict[str, Any]:
    d = tier.demand
    out: dict[str, Any] = {
        "service_time": ms_text(d.mean_s),
        "cv": round(d.cv, 4),
        "visits": round(tier.visits, 4),
        "servers": tier.servers,
        "dist": d.family,
        "sample_cv": None if math.isnan(d.sample_cv) else round(d.sample_cv, 4),
        "std_error": None if math.isnan(d.std_error_s) else ms_text(d.std_error_s),
        "n": d.n,
        "utilization": None if tier.utilization is None else round(tier.utilization, 4),
        "source": tier.source,
        "why": tier.why,
    }
    if tier.endpoints:
        out["endpoints"] = {
            key: {
                "service_time": ms_text(e.mean_s),
                "cv": round(e.cv, 4),
                "dist": e.family,
                "n": e.n,
                "visits": round(tier.endpoint_visits.get(key, 0.0), 4),
            }
            for key, e in tier.endpoints.items()
        }
    return out


def ms_text(seconds: float) -> str:
    """``0.1608345`` -> ``'160.835ms'`` (a duration the scenario parser reads)."""
    return f"{round(seconds * 1000.0, 3):g}ms"
