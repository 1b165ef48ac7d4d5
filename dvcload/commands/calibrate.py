"""``dvcload calibrate RUN [RUN ...]``: service demands per tier and endpoint from runs.

Reads results folders (:mod:`analysis.calibrate` chooses the source per tier: the
portal's access log, else low-load response times, else a regression of utilisation
on throughput), prints the demands with their provenance and writes the calibrated
model file that ``dvcload plan --model FILE`` reads. The servers each tier had come
from the run's manifest (the embedded portal's configuration) unless ``--servers``
gives them.
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


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUN", nargs="+", type="path", help="results folders")
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
        choices=("auto", "access_log", "response_time", "regression"),
        default="auto",
        help="where demands come from (default: the best the runs offer)",
    )
    parser.add_argument("--json", action="store_true", help="print the model as JSON")


def run(args: argparse.Namespace) -> int:
    from analysis.calibrate import calibrate_runs

    if not args.out.parent.is_dir():
        raise ConfigError(f"folder {shown(str(args.out.parent))} does not exist", field="--out")
    servers = {**servers_from_manifests(args.runs), **parse_servers(args.servers)}
    model = calibrate_runs(args.runs, servers=servers, source=args.source)
    model.write(args.out)
    if args.json:
        print(json.dumps(model.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(report(model))
        print(f"\ncalibrated model written to {args.out}")
    return 0


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
    lines = [
        f"Calibrated from {len(model.runs)} run(s), {model.sessions:,} sessions",
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
    return "\n".join(lines)
