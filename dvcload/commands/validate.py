"""``dvcload validate [--json] [--quick]``: the models' accuracy on the reference portal.

Runs the built-in experiment of :mod:`analysis.validate`: the embedded portal with
known servers and service-time distributions, open-loop load at several
utilisations, models calibrated from the lowest one only, predictions compared with
measurements at every point. Prints a table per set-up (``--json``: only
``{"points": [...]}``), writes ``validate.json``, ``validate.png`` and every run into
``--out``. Exit code 0 when every claimed point (one tier, utilisation <= 0.85) is
within 10% (mean) and 15% (p95) of measured, 1 when one is not, 3 when a run broke.

The default (3 set-ups x 5 points: 27 s at 0.5, 45 s at 0.7, 81 s at 0.85 and 0.95,
108 s at the lowest) takes about 20 minutes on a 2-core machine; ``--quick`` (one
tier, exponential, 0.3 and 0.7) about 1.5.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dvcschema.errors import ConfigError, shown
from dvcschema.units import parse_duration_s

if TYPE_CHECKING:
    from analysis.validate import Options

NAME = "validate"
HELP = "Check calibrated queueing models against the reference portal (predicted vs measured)."
MAX_DURATION_S = 600.0
MAX_SEED = 2**63 - 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help='print only {"points": [...]}')
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one tier (exponential), utilisation 0.3 and 0.7, 12s base (about 1.5 minutes)",
    )
    parser.add_argument(
        "--out", type="out_folder", help="folder for the runs, validate.json and validate.png"
    )
    parser.add_argument(
        "--points",
        type="short_text",
        metavar="U,U,...",
        help="utilisations, e.g. 0.3,0.5,0.7,0.85,0.95",
    )
    parser.add_argument(
        "--duration",
        type="short_text",
        metavar="30s",
        help="load per point up to utilisation 0.5 (default 27s); higher points and the"
        " lowest (calibration) run longer",
    )
    parser.add_argument("--seed", type="seed", default=1, help="seed of every run (default 1)")


def run(args: argparse.Namespace) -> int:
    from analysis.validate import claim_holds, run_experiment
    from analysis.validate_report import plot, report

    options = build_options(args)
    options.out.mkdir(parents=True, exist_ok=True)
    results = run_experiment(options, on_progress=_progress)
    points = [p.as_dict() for r in results for p in r.points]
    (options.out / "validate.json").write_text(
        json.dumps({"points": points}, indent=1) + "\n", encoding="utf-8"
    )
    plot_path = plot(results, options.out / "validate.png")
    if args.json:
        print(json.dumps({"points": points}, indent=1))
    else:
        print(report(results, options, plot_path))
    return 0 if claim_holds(results) else 1


def build_options(args: argparse.Namespace) -> Options:
    """The experiment's options from the command line (bad input: ConfigError)."""
    from analysis.validate import (
        DEFAULT_DURATION_S,
        DEFAULT_POINTS,
        QUICK_DURATION_S,
        QUICK_POINTS,
        QUICK_SETUPS,
        SETUPS,
        Options,
    )

    if not 0 <= args.seed <= MAX_SEED:
        raise ConfigError(
            f"{shown(args.seed)} is out of range; allowed: 0-{MAX_SEED}", field="--seed"
        )
    points: tuple[float, ...] = QUICK_POINTS if args.quick else DEFAULT_POINTS
    if args.points is not None:
        points = parse_points(args.points)
    duration_s = QUICK_DURATION_S if args.quick else DEFAULT_DURATION_S
    if args.duration is not None:
        duration_s = parse_duration(args.duration)
    out = args.out or Path("results") / f"validate-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{shown(str(out))} exists and is not a folder", field="--out")
    setups = QUICK_SETUPS if args.quick else SETUPS
    return Options(
        out=out.resolve(), points=points, duration_s=duration_s, seed=args.seed, setups=setups
    )


def parse_points(text: str) -> tuple[float, ...]:
    """``"0.3,0.5,0.7"`` to ``(0.3, 0.5, 0.7)``."""
    try:
        points = tuple(float(item) for item in text.split(",")) if text.isascii() else ()
    except ValueError:
        points = ()
    if len(set(points)) < 2 or any(not 0 < u < 1 for u in points):
        raise ConfigError(
            f"{shown(text)}: give at least two different utilisations in (0, 1), e.g. 0.3,0.7",
            field="--points",
        )
    return points


def parse_duration(text: str) -> float:
    """``"30s"``, ``"1m"`` or a bare number of seconds."""
    try:
        bare = text.isascii() and text.replace(".", "", 1).isdigit()  # ASCII: float('١٠') is 10
        seconds = float(text) if bare else parse_duration_s(text)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--duration") from None
    if not 0 < seconds <= MAX_DURATION_S:
        raise ConfigError(
            f"{shown(text)} is out of range; allowed: up to {MAX_DURATION_S:g}s", field="--duration"
        )
    return seconds


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
