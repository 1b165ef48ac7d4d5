"""Demands from a web server's log: ``dvcload derive``'s ``derive.json`` as a calibration source.

``dvcload calibrate DIR/derive.json`` (or ``DIR``) writes a calibrated model from the
request times a web server logged (nginx's ``$request_time``, Apache's ``%D``), as
``dvcload derive`` summed them per route. Its source is ``log_response_time``:

- They are **response times measured at the web server, not service demands**: each
  includes the time the request queued for a worker (and, for a large reply, the time
  to send it), so under load they **over-estimate** the demand. The estimate is an
  upper bound, as for the ``response_time`` source of a run (:mod:`analysis.calibrate`).
- Each route is one tier's: the first ``TIER=REGEX`` rule (``--tier``) whose regular
  expression is found in the route's name (``POST /dossiers/[code]/payments``) takes
  it, and the rest go to one tier (``web``, or the bare ``TIER`` given). A request's
  time at the web server covers everything behind it, so a route's whole time is
  counted at its tier.
- A tier's demand per visit is the mean of its routes' mean times, weighted by how
  many requests had a time (``timed``); its visits per session are its routes'
  requests (``count``) over the log's sessions. Routes without times count as visits
  at the tier's mean. The CV is that of the mix of routes, each route's own spread
  from its p50 and p95 as a lognormal (``sigma = ln(p95 / p50) / 1.645``), or 1 when
  the log gives neither.
- With ``--servers TIER=N`` (the servers the tier had when the log was written), the
  demand is corrected for queueing as for a run: the open-model residence time solved
  for ``D`` (Lazowska et al. 1984, ch. 6) at the tier's mean throughput over the log's
  window. Busy hours queue more than the mean throughput says, so the correction is
  partial and the estimate stays an upper bound. Without ``--servers`` the mean
  response time is the demand, uncorrected (assuming one server would under-estimate
  it for a portal with many).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.calibrate import ENTRY_TIER, CalibratedModel, TierCalibration, family_of_cv
from dvcschema import files, results
from dvcschema.errors import ConfigError, shown
from models.calibration import DemandEstimate, demand_from_response_time

SOURCE = "log_response_time"
DERIVE_JSON = "derive.json"
DERIVE_KIND = "dvcload derive"
SUPPORTED_VERSIONS = (1,)
MAX_DERIVE_JSON_BYTES = 64 * 1024 * 1024
MAX_NUMBER = 1e15  # counts and times in derive.json (a larger int would overflow a float)
Z_95 = 1.6448536269514722  # the standard normal's 95th percentile
CAUTION = (
    "response times measured at the web server (queueing included), not service demands:"
    " they over-estimate the demand under load (an upper bound)"
)


@dataclass(frozen=True)
class DerivedRoute:
    """One route of ``derive.json``: requests, how many had a time, and the times (s)."""

    name: str
    count: int
    timed: int
    mean_s: float = math.nan
    p50_s: float = math.nan
    p95_s: float = math.nan

    @property
    def cv(self) -> float:
        """The spread of its times as a lognormal through p50 and p95; 1 when unknown."""
        if not (self.p50_s > 0 and self.p95_s >= self.p50_s):
            return 1.0
        sigma = math.log(self.p95_s / self.p50_s) / Z_95
        return math.sqrt(math.expm1(sigma**2))


@dataclass(frozen=True)
class DerivedLog:
    """What ``derive.json`` says of a log: sessions, its window, and its routes."""

    path: Path
    sessions: int
    duration_s: float
    routes: tuple[DerivedRoute, ...]


def derive_json_of(path: Path) -> Path | None:
    """``path`` itself when it is a file, its ``derive.json`` when it is a folder that has
    one and is not a results folder (no ``manifest.json``); else ``None``."""
    if path.is_dir():
        inside = path / DERIVE_JSON
        return inside if inside.is_file() and not (path / results.MANIFEST).exists() else None
    return path if files.exists(path) else None


def read_derived(path: Path) -> DerivedLog:
    """The routes, sessions and window of a ``derive.json`` (strictly: one line per mistake)."""
    try:
        top = json.loads(files.read_bytes(path, limit=MAX_DERIVE_JSON_BYTES))
    except ValueError as exc:  # not JSON, not UTF-8
        raise ConfigError(f"not a derive.json (JSON): {exc}", source=str(path)) from None
    if not isinstance(top, dict) or top.get("kind") != DERIVE_KIND:
        raise ConfigError(
            f"not a derive.json: 'kind' is {shown(_get(top, 'kind'))}, expected {DERIVE_KIND!r}"
            " (the summary `dvcload derive LOG --out DIR` writes as DIR/derive.json)",
            source=str(path),
        )
    if top.get("version") not in SUPPORTED_VERSIONS:
        raise ConfigError(
            f"version {shown(top.get('version'))} is not supported; allowed: 1",
            source=str(path),
            field="version",
        )
    sessions = _number(top.get("sessions"), path, "sessions", integer=True)
    window = top.get("window")
    duration_s = _number(_get(window, "duration_s"), path, "window.duration_s")
    routes = top.get("routes")
    if not isinstance(routes, dict) or not routes:
        raise ConfigError("no routes; a derive.json lists the log's routes", source=str(path))
    if sessions < 1:
        raise ConfigError("0 sessions: nothing to divide visits by", source=str(path))
    return DerivedLog(
        path, int(sessions), duration_s, tuple(_route(k, v, path) for k, v in routes.items())
    )


def _route(name: str, value: Any, path: Path) -> DerivedRoute:
    where = f"routes.{name}"
    if not isinstance(value, dict):
        raise ConfigError(f"{shown(value)} is not a mapping", source=str(path), field=where)
    count = int(_number(value.get("count"), path, f"{where}.count", integer=True))
    timed = int(_number(value.get("timed", 0), path, f"{where}.timed", integer=True))
    if timed > count:
        raise ConfigError(
            f"timed {timed} is above count {count}", source=str(path), field=f"{where}.timed"
        )
    if timed == 0:
        return DerivedRoute(name, count, 0)
    ms = {
        key: _number(value.get(key), path, f"{where}.{key}") / 1000.0
        for key in ("mean_ms", "p50_ms", "p95_ms")
        if key == "mean_ms" or key in value  # the mean is there whenever timed > 0
    }
    return DerivedRoute(
        name, count, timed, ms["mean_ms"], ms.get("p50_ms", math.nan), ms.get("p95_ms", math.nan)
    )


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _number(value: Any, path: Path, field: str, *, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if ok and not isinstance(value, bool) and 0 <= value <= MAX_NUMBER:  # nan fails too
        return float(value)
    kind = "a whole number" if integer else "a number"
    raise ConfigError(
        f"{shown(value)} is not {kind} in [0, {MAX_NUMBER:g}]", source=str(path), field=field
    )


# -- route -> tier ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TierRule:
    """``TIER=REGEX``: routes whose name has a match of ``pattern`` are ``tier``'s."""

    tier: str
    pattern: re.Pattern[str]


def tiers_of_routes(
    routes: Sequence[DerivedRoute], rules: Sequence[TierRule], rest: str = ENTRY_TIER
) -> dict[str, list[DerivedRoute]]:
    """The routes of each tier: the first rule that matches, else ``rest``.

    A rule that matches no route is a :class:`ConfigError` (a mistyped pattern would
    otherwise leave its tier silently out of the plan).
    """
    out: dict[str, list[DerivedRoute]] = {}
    used: set[int] = set()
    for route in routes:
        index = next((i for i, r in enumerate(rules) if r.pattern.search(route.name)), None)
        tier = rest if index is None else rules[index].tier
        used.update(() if index is None else (index,))
        out.setdefault(tier, []).append(route)
    for i, rule in enumerate(rules):
        if i not in used:
            names = ", ".join(shown(r.name) for r in routes[:4])
            raise ConfigError(
                f"{rule.tier}={rule.pattern.pattern} takes no route (routes: {names}, ...)",
                field="--tier",
            )
    return out


# -- calibration -----------------------------------------------------------------------------
def calibrate_derived(
    path: Path,
    *,
    rules: Sequence[TierRule] = (),
    rest: str = ENTRY_TIER,
    servers: Mapping[str, int] | None = None,
) -> CalibratedModel:
    """A calibrated model from the ``derive.json`` at ``path`` (see the module docstring).

    Parameters
    ----------
    path
        ``dvcload derive``'s summary of a log.
    rules, rest
        Which tier each route belongs to: the first matching rule, else ``rest``.
    servers
        Servers per tier while the log was written: the demand is then corrected for
        queueing at the log's mean throughput; without, it is the mean response time.
    """
    log = read_derived(path)
    if not any(r.timed for r in log.routes):
        raise ConfigError(
            "has no request times (the log had none); calibrating needs them: nginx's"
            " $request_time or Apache's %D at the end of each line, or a JSON field",
            source=str(path),
        )
    servers = servers or {}
    tiers = tuple(
        _tier(name, routes, log, servers.get(name))
        for name, routes in tiers_of_routes(log.routes, rules, rest).items()
    )
    return CalibratedModel(tiers, (str(path),), log.sessions)


def _tier(
    name: str, routes: list[DerivedRoute], log: DerivedLog, servers: int | None
) -> TierCalibration:
    timed = [r for r in routes if r.timed]
    n = sum(r.timed for r in timed)
    if not n:
        raise ConfigError(
            f"tier {shown(name)}: none of its {len(routes)} route(s) has request times",
            source=str(log.path),
        )
    response_s = sum(r.timed * r.mean_s for r in timed) / n
    if response_s <= 0:
        raise ConfigError(
            f"tier {shown(name)}: its mean request time is 0 ms; nothing to calibrate from",
            source=str(log.path),
        )
    requests = sum(r.count for r in routes)
    throughput_per_s = requests / log.duration_s if log.duration_s > 0 else 0.0
    demand_s = response_s
    if servers:
        demand_s = demand_from_response_time(response_s, throughput_per_s, servers)
    wait_s = response_s - demand_s
    cv = _mix_cv(timed)
    estimate = DemandEstimate(demand_s, cv, n, math.nan, SOURCE, family_of_cv(cv), cv)
    endpoints = {
        r.name: DemandEstimate(
            max(r.mean_s - wait_s, 1e-9), r.cv, r.timed, math.nan, SOURCE, family_of_cv(r.cv), r.cv
        )
        for r in timed
    }
    visits = {r.name: r.count / log.sessions for r in routes}
    utilization = throughput_per_s * demand_s / servers if servers else None
    why = _why(
        routes, log, timed=n, response_s=response_s, throughput_per_s=throughput_per_s,
        servers=servers,
    )  # fmt: skip
    return TierCalibration(
        name, estimate, requests / log.sessions, SOURCE, why, servers, utilization,
        endpoints, visits,
    )  # fmt: skip


def _mix_cv(routes: Sequence[DerivedRoute]) -> float:
    """The CV of the mix of the routes' times (each with its own mean and CV)."""
    n = sum(r.timed for r in routes)
    mean = sum(r.timed * r.mean_s for r in routes) / n
    second = sum(r.timed * r.mean_s**2 * (1.0 + r.cv**2) for r in routes) / n
    return math.sqrt(max(second - mean**2, 0.0)) / mean if mean > 0 else 1.0


def _why(
    routes: Sequence[DerivedRoute],
    log: DerivedLog,
    *,
    timed: int,
    response_s: float,
    throughput_per_s: float,
    servers: int | None,
) -> str:
    untimed = sum(1 for r in routes if not r.timed and r.count)
    correction = (
        f"corrected for queueing by the open-model residence time (Lazowska et al. 1984,"
        f" ch. 6) at the log's mean {throughput_per_s:.2f} requests/s with {servers}"
        f" server(s), partly: busy hours queue more"
        if servers
        else "taken as the demand, uncorrected (no --servers)"
    )
    return (
        f"{CAUTION}. Mean request time {response_s * 1000:.2f} ms over {timed:,} timed"
        f" requests of {len(routes)} route(s) in {log.path} (dvcload derive), {correction};"
        f" cv from each route's p50 and p95 as a lognormal"
        + (f"; {untimed} route(s) without times counted at the mean" if untimed else "")
    )
