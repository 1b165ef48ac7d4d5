"""``dvcload plan SCENARIO``: servers per tier per hour from a scenario's ``capacity:`` section.

This module parses the arguments, calls :mod:`planning` and prints: the text report
(or JSON with ``--json``, and PNGs with ``--plot``). With ranges or a ``derivation:``,
the plan is made at the central values and spread by Monte Carlo (``--samples``,
``--seed``): P50 and P90 of the servers per tier per hour. What-ifs: ``--surge 2x``
(every arrival rate doubled) and ``--spike 3x@17:00+30m`` (tripled from 17:00 for 30
minutes); ``--model FILE`` takes the tier demands of a calibrated model, and
``--arrivals FILE`` the arrivals of a rate CSV (``dvcload derive``'s ``arrivals.csv``:
session starts per interval, placed on the clock from its first ``start``'s time of
day) instead of the scenario's. Exit code 1 when some interval of the central plan
needs more servers than a tier's ``max_servers``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvcschema.capacity import DEFAULT_SAMPLES
from dvcschema.capacity_resources import PROVISION, parse_lead_time
from dvcschema.errors import ConfigError, shown
from dvcschema.scenario import load_scenario
from dvcschema.settings import Overrides, apply_settings

SIMULATE_CUSTOMERS = 5_000  # per row, tier and replication: ~1.5 min for the national day
SIMULATE_REPLICATIONS = 4

if TYPE_CHECKING:
    from planning import PlanRun

NAME = "plan"
HELP = "Plan servers per tier per hour for a scenario's capacity section (queueing models)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type="path", help="scenario YAML with a capacity: section")
    parser.add_argument("--json", action="store_true", help="print only JSON (plan and inputs)")
    parser.add_argument(
        "--plot",
        type="file_to_write",
        metavar="FILE.png",
        help="write the staffing schedule as a PNG, and latency against servers at the peak"
        " hour as FILE-latency.png",
    )
    parser.add_argument(
        "--method", choices=("mol", "psa"), help="staffing method (overrides capacity.method)"
    )
    parser.add_argument(
        "--surge",
        type="short_text",
        default="1",
        metavar="FACTOR",
        help="what-if: multiply every arrival rate by FACTOR, e.g. 2 or 2x (default 1)",
    )
    parser.add_argument(
        "--spike",
        type="short_text",
        action="append",
        default=[],
        metavar="FACTOR@HH:MM+LENGTH",
        help="what-if: a sudden event, e.g. 3x@17:00+30m (arrivals x3 from 17:00 for 30"
        " minutes); repeatable, overlapping spikes multiply",
    )
    parser.add_argument(
        "--samples",
        type="samples",
        default=DEFAULT_SAMPLES,
        metavar="N",
        help=f"Monte Carlo samples of the ranges (default {DEFAULT_SAMPLES})",
    )
    parser.add_argument(
        "--seed",
        type="seed",
        help="seed of the Monte Carlo samples (default: DVCLOAD_SEED, else the scenario's seed)",
    )
    parser.add_argument(
        "--model",
        metavar="FILE",
        type="path",
        help="a calibrated model (dvcload calibrate): its tier demands replace the scenario's",
    )
    parser.add_argument(
        "--arrivals",
        metavar="FILE.csv",
        type="path",
        help="session starts per interval (dvcload derive's arrivals.csv: start,count)"
        " replacing the scenario's arrivals; rows go on the clock from the first start's"
        " time of day",
    )
    parser.add_argument(
        "--provision",
        choices=PROVISION,
        help="which servers to buy: the central plan, or the P50 or P90 of the samples"
        " (overrides capacity.policy.provision)",
    )
    parser.add_argument(
        "--lead-time",
        type="short_text",
        metavar="DURATION",
        help="autoscaling lead time, from asking for an instance to its serving, e.g. 5m"
        " (overrides capacity.policy.lead_time); with --spike, the backlog while it scales",
    )
    parser.add_argument(
        "--simulate",
        type="customers",
        nargs="?",
        const=SIMULATE_CUSTOMERS,
        metavar="N",
        help="check the schedule hour by hour in a time-varying Ciw simulation: a window"
        f" of N arrivals per tier and hour, {SIMULATE_REPLICATIONS} replications (default"
        f" {SIMULATE_CUSTOMERS:,}), and add servers where a target is missed (iterative"
        " staffing); slow: minutes for a national day",
    )


def run(args: argparse.Namespace) -> int:
    from planning import (  # imported here: SciPy takes a second, and every command pays it
        above_max,
        check_samples,
        describe_model,
        parse_spike,
        parse_surge,
        plan_json,
        plan_scenario,
        report,
        write_plots,
    )

    surge = parse_surge(args.surge)
    spikes = tuple(parse_spike(text) for text in args.spike)
    samples = check_samples(args.samples)
    lead_time_s = _lead_time(args.lead_time)
    plot_path = _plot_path(args.plot)
    scenario = load_scenario(args.scenario)
    seed = apply_settings(scenario, Overrides(seed=args.seed), _seed_env()).seed
    result = plan_scenario(
        scenario,
        model=args.model,
        method=args.method,
        surge=surge,
        spikes=spikes,
        samples=samples,
        seed=seed,
        arrivals=args.arrivals,
        provision=args.provision,
        lead_time_s=lead_time_s,
    )
    written: tuple[Path, ...] = write_plots(result, plot_path) if plot_path else ()
    simulated = _simulate(result, args.simulate, seed) if args.simulate else None
    if args.json:
        doc = plan_json(result)
        if simulated is not None:
            doc["simulation"] = simulated[1]
        print(json.dumps(doc, indent=2))
    else:
        if args.model is not None:
            print(describe_model(args.model))
        print(report(result))
        if simulated is not None:
            print("\n" + "\n".join(simulated[0]))
        for path in written:
            print(f"plot written to {path}")
    over = above_max(result.plan)
    if over and args.json:
        print(f"dvcload plan: {over}", file=sys.stderr)
    return 1 if over else 0


def _simulate(run: PlanRun, customers: int, seed: int) -> tuple[list[str], dict[str, Any]]:
    """The schedule checked by simulation, with the iterative staffing's corrections."""
    from planning.simcheck import iterate_staffing, simulate_plan
    from planning.simcheck_text import lines, to_json

    check = simulate_plan(run, customers=customers, replications=SIMULATE_REPLICATIONS, seed=seed)
    corrections = iterate_staffing(run, check)
    return lines(check, corrections), to_json(check, corrections)


def _lead_time(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_lead_time(text)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--lead-time") from None


def _seed_env() -> dict[str, str]:
    """Only ``DVCLOAD_SEED`` of the environment: the one setting a plan takes from it."""
    return {k: v for k, v in os.environ.items() if k == "DVCLOAD_SEED"}


def _plot_path(path: Path | None) -> Path | None:
    if path is None:
        return None
    text = str(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"{shown(text)} is not a .png file name", field="--plot")
    if not path.parent.is_dir():
        raise ConfigError(f"folder {shown(str(path.parent))} does not exist", field="--plot")
    return path
