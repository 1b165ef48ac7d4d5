"""``dvcload calibrate RUN [RUN ...]``: service demands per tier and endpoint from runs.

Reads results folders (:mod:`analysis.calibrate` chooses the source per tier: the
portal's access log, else low-load response times, else a regression of utilisation
on throughput), prints the demands with their provenance and writes the calibrated
model file that ``dvcload plan --model FILE`` reads. The servers each tier had come
from the run's manifest (the embedded portal's configuration) unless ``--servers``
gives them.

Or reads one ``derive.json`` (``dvcload derive``'s summary of a web server's log, or
the folder it is in): source ``log_response_time``, the response times the web server
logged per route, which are not service demands (queueing included: an over-estimate
under load; :mod:`analysis.calibrate_derived`). ``--tier TIER=REGEX`` (repeatable)
puts the routes whose name matches in that tier, the rest in ``web`` (or the bare
``--tier TIER`` given).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dvcschema.errors import ConfigError, shown

NAME = "calibrate"
HELP = "Estimate service demands per tier and endpoint from runs; write a calibrated model."
_SERVERS = re.compile(r"([a-z0-9][a-z0-9_-]{0,31})=([0-9]{1,7})")
_TIER = re.compile(r"([a-z0-9][a-z0-9_-]{0,31})(?:=(.+))?", re.DOTALL)
SOURCES = ("auto", "access_log", "response_time", "regression", "log_response_time")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs",
        metavar="RUN",
        nargs="+",
        type="path",
        help="results folders, or one derive.json of dvcload derive (or its folder)",
    )
    parser.add_argument(
        "--out",
        type="file_to_write",
        default=Path("calibrated.yaml"),
        help="the calibrated model file to write (default: calibrated.yaml)",
    )
    parser.add_argument(
        "--servers",
        type="short_text",
        action="append",
        default=[],
        metavar="TIER=N",
        help="servers a tier had during the runs (repeatable; default: from the manifest)",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="auto",
        help="where demands come from (default: the best the runs offer; log_response_time"
        " for a derive.json: response times, not service demands)",
    )
    parser.add_argument(
        "--tier",
        type="short_text",
        action="append",
        default=[],
        metavar="TIER=REGEX",
        help="derive.json only: the routes whose name (e.g. 'POST /paygov/confirm') has a"
        " match of REGEX belong to TIER (repeatable, first match wins); a bare TIER takes"
        " the rest (default: web)",
    )
    parser.add_argument("--json", action="store_true", help="print the model as JSON")


def run(args: argparse.Namespace) -> int:
    if not args.out.parent.is_dir():
        raise ConfigError(f"folder {shown(str(args.out.parent))} does not exist", field="--out")
    derived = _derived_input(args.runs, args.source)
    if derived is not None:
        model = _calibrate_derived(derived, args)
    else:
        from analysis.calibrate import calibrate_runs

        if args.tier:
            raise ConfigError(
                "maps a log's routes to tiers: give it with a derive.json", field="--tier"
            )
        servers = {**servers_from_manifests(args.runs), **parse_servers(args.servers)}
        model = calibrate_runs(args.runs, servers=servers, source=args.source)
    model.write(args.out)
    if args.json:
        print(json.dumps(model.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(report(model))
        print(f"\ncalibrated model written to {args.out}")
    return 0


def _derived_input(paths: Sequence[Path], source: str) -> Path | None:
    """The one derive.json among ``paths`` (``None``: they are results folders)."""
    from analysis.calibrate_derived import SOURCE, derive_json_of

    found = [derive_json_of(p) for p in paths]
    derived = [p for p in found if p is not None]
    if not derived:
        if source == SOURCE:
            raise ConfigError(
                f"{SOURCE} reads a derive.json (dvcload derive LOG --out DIR), not results"
                " folders; give DIR/derive.json",
                field="--source",
            )
        return None
    if len(paths) > 1:
        raise ConfigError(
            f"give one derive.json alone, or results folders; found {len(derived)} derive.json"
            f" among {len(paths)} inputs",
            field="RUN",
        )
    if source not in ("auto", SOURCE):
        raise ConfigError(
            f"{shown(source)} needs results folders; a derive.json gives {SOURCE}"
            " (response times at the web server)",
            field="--source",
        )
    return derived[0]


def _calibrate_derived(path: Path, args: argparse.Namespace) -> Any:
    from analysis.calibrate_derived import calibrate_derived

    rules, rest = parse_tiers(args.tier)
    return calibrate_derived(path, rules=rules, rest=rest, servers=parse_servers(args.servers))


def parse_tiers(items: Sequence[str]) -> tuple[list[Any], str]:
    """``["payment=/paygov|/payments", "app"]`` to the rules and the tier for the rest."""
    from analysis.calibrate_derived import ENTRY_TIER, TierRule

    rules, rest = [], []
    for item in items:
        match = _TIER.fullmatch(item.strip())
        if match is None:
            raise ConfigError(
                f"{shown(item)} is not TIER=REGEX or TIER; a tier name is like 'web' or"
                " 'db-main', e.g. payment=/paygov|/payments",
                field="--tier",
            )
        if match[2] is None:
            rest.append(match[1])
            continue
        try:
            rules.append(TierRule(match[1], re.compile(match[2])))
        except re.error as exc:
            raise ConfigError(
                f"{shown(match[2])} is not a regular expression: {exc}", field="--tier"
            ) from None
    if len(rest) > 1:
        raise ConfigError(
            f"{shown(rest[1])}: one bare TIER takes the rest; give the others as TIER=REGEX",
            field="--tier",
        )
    return rules, rest[0] if rest else ENTRY_TIER


def parse_servers(items: Sequence[str]) -> dict[str, int]:
    """``["web=16", "payment=8"]`` to ``{"web": 16, "payment": 8}``."""
    out: dict[str, int] = {}
    for item in items:
        match = _SERVERS.fullmatch(item.strip())
        if match is None or int(match[2]) < 1:
            raise ConfigError(
                f"{shown(item)} is not TIER=N; allowed: a tier name and a whole number >= 1,"
                " e.g. web=16",
                field="--servers",
            )
        out[match[1]] = int(match[2])
    return out


def servers_from_manifests(runs: Sequence[Path]) -> dict[str, int]:
    """Servers per tier of the embedded portal, from the first run's manifest."""
    for run_folder in runs:
        portal = _portal_options(run_folder)
        if portal is None:
            continue
        from portal.config import resolve_config
        from portal.launcher import resolve_config as config_path

        config = resolve_config(
            config_path(portal.get("config")),
            servers=portal.get("servers"),
            service_time_ms=portal.get("service_time_ms"),
        )
        return {name: tier.servers for name, tier in config.tiers.items()}
    return {}


def _portal_options(folder: Path) -> Mapping[str, Any] | None:
    from dvcschema.results import RunFiles  # a regular file, strict JSON, an object

    manifest = RunFiles(folder).read_manifest()
    scenario = manifest.get("scenario")
    if not isinstance(scenario, dict) or scenario.get("target") != "embedded":
        return None
    portal = scenario.get("portal") or {}
    return portal if isinstance(portal, dict) else None


def report(model: Any) -> str:
    """The demands as a table: one row per tier, then its endpoints."""
    from analysis.calibrate_derived import CAUTION, SOURCE

    derived = any(t.source == SOURCE for t in model.tiers)
    what = f"{model.runs[0]} (dvcload derive)" if derived else f"{len(model.runs)} run(s)"
    lines = [
        f"Calibrated from {what}, {model.sessions:,} sessions",
        f"  {'tier':<9}{'service time':>16}{'cv':>7} {'dist':<12}{'visits':>7}{'servers':>8}"
        f"{'util':>7}{'n':>8}  source",
    ]
    for tier in model.tiers:
        d = tier.demand
        se = "" if math.isnan(d.std_error_s) else f" ± {d.std_error_s * 1000:.2f}"
        util = "-" if tier.utilization is None else f"{tier.utilization:.2f}"
        lines.append(
            f"  {tier.name:<9}{f'{d.mean_s * 1000:.2f}{se} ms':>16}{d.cv:>7.2f} {d.family:<12}"
            f"{tier.visits:>7.2f}{tier.servers or '-':>8}{util:>7}{d.n:>8}  {tier.source}"
        )
        for key, e in tier.endpoints.items():
            lines.append(
                f"    {key:<34}{e.mean_s * 1000:>9.2f} ms  cv {e.cv:.2f}  n {e.n}"
                f"  visits/session {tier.endpoint_visits.get(key, 0.0):.2f}"
            )
        lines.append(f"    why: {tier.why}")
    if model.client_overhead_ms is not None:
        lines.append(
            f"Harness overhead (client mean minus the portal's wait + service):"
            f" {model.client_overhead_ms:.2f} ms"
        )
    if derived:
        lines.append(f"Caution: {SOURCE}: {CAUTION}.")
    return "\n".join(lines)
