"""``dvcload run SCENARIO``: validate, generate citizens, start the target, load it,
write the results folder, print its path."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from dvcload.run_setup import announced_policy, resolve_scenario
from dvcschema.budgets import load_budgets_file
from dvcschema.errors import ConfigError
from dvcschema.scenario import Scenario, load_scenario
from dvcschema.settings import Overrides

NAME = "run"
HELP = "Run a scenario against its target and write a results folder."
DEFAULT_RESULTS_ROOT = Path("results")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", type="path", help="scenario YAML file, e.g. scenarios/smoke.yaml"
    )
    parser.add_argument(
        "--target", type="url", help="'embedded' or a base URL (overrides the scenario)"
    )
    parser.add_argument(
        "--duration", type="short_text",
        help="length of the load, e.g. 30s or 2m (bare = seconds)",
    )  # fmt: skip
    parser.add_argument(
        "--users", type="users", help="constant number of users (replaces the scenario's stages)"
    )
    parser.add_argument(
        "--seed", type="seed", help="random seed (population, journeys, service times)"
    )
    parser.add_argument(
        "--out",
        type="out_folder",
        default=None,
        help="folder under which the run's folder is made (default: results/)",
    )
    parser.add_argument(
        "--allow-target",
        action="append",
        type="host_text",
        default=[],
        metavar="HOST",
        help="allow load to a host outside the loopback range (repeatable)",
    )
    parser.add_argument(
        "--arrival-rate", type="arrival_rate",
        help="open model: a constant rate in sessions/s (replaces the profile)",
    )  # fmt: skip
    parser.add_argument(
        "--processes", type="processes", default=1, metavar="N",
        help="run the users in N local worker processes (Locust master/worker on 127.0.0.1)",
    )  # fmt: skip
    parser.add_argument(
        "--master", type="workers", default=0, metavar="N",
        help="be the master of N workers started elsewhere with 'dvcload worker'",
    )  # fmt: skip
    parser.add_argument(
        "--master-bind", type="bind_address", default="127.0.0.1",
        help="address workers connect to",
    )  # fmt: skip
    parser.add_argument("--master-port", type="port", default=None, help="port workers connect to")
    parser.add_argument(
        "--budgets", type="path", metavar="FILE",
        help="a budgets YAML file; its keys override the scenario's budgets",
    )  # fmt: skip
    parser.add_argument(
        "--allow-unreliable", action="store_true",
        help="gate the run on its budgets even if the load generator was saturated",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    scenario = _resolve(args)
    out_root = args.out or Path(os.environ.get("DVCLOAD_OUT", DEFAULT_RESULTS_ROOT))
    distribution = _distribution(args)
    budgets = scenario.budgets
    if args.budgets is not None:
        budgets = load_budgets_file(args.budgets).merged_over(scenario.budgets)
    policy = announced_policy(scenario)  # allowed names resolved once, now, and pinned
    from dvcload.orchestrate import Placement, execute_run  # imports Locust: after validation

    progress = None if args.quiet else _print_progress
    folder, outcome = execute_run(
        scenario, out_root=out_root, on_progress=progress,
        distribution=Placement(**distribution), budgets=budgets, policy=policy,
        allow_unreliable=args.allow_unreliable,
    )  # fmt: skip
    print(folder)
    if outcome.signal is not None:
        return 128 + outcome.signal  # 130 after Ctrl-C, 143 after SIGTERM; results written
    if not outcome.ok:
        return 3
    return 1 if outcome.gate_passed is False else 0


MAX_PROCESSES = 64


def _distribution(args: argparse.Namespace) -> dict[str, Any]:
    if not 1 <= args.processes <= MAX_PROCESSES:
        raise ConfigError(
            f"{args.processes!r} is out of range; allowed: 1-{MAX_PROCESSES}", field="--processes"
        )
    if args.master < 0 or (args.master and args.processes > 1):
        raise ConfigError("give either --processes N or --master N, not both", field="--master")
    if args.master_port is not None and not 1 <= args.master_port <= 65535:
        raise ConfigError(
            f"{args.master_port!r} is out of range; allowed: 1-65535", field="--master-port"
        )
    return {
        "processes": args.processes,
        "remote_workers": args.master,
        "bind_host": args.master_bind,
        "bind_port": args.master_port,
    }


def _resolve(args: argparse.Namespace) -> Scenario:
    duration = args.duration
    if duration is not None and duration.replace(".", "", 1).isdigit():
        duration = f"{duration}s"
    overrides = Overrides(
        target=args.target,
        duration=duration,
        users=args.users,
        seed=args.seed,
        arrival_rate=args.arrival_rate,
        allow_targets=tuple(args.allow_target),
    )
    return resolve_scenario(load_scenario(args.scenario), overrides)


def _print_progress(p: Any) -> None:
    p95 = "-" if p.p95_ms is None else f"{p.p95_ms:.0f} ms"
    ratio = p.failures / p.requests if p.requests else 0.0
    print(
        f"[{p.elapsed_s:5.0f}s / {p.total_s:.0f}s] users {p.users:4d} | "
        f"{p.rps:7.1f} req/s | p95 {p95:>8} | requests {p.requests:,} | "
        f"failures {p.failures:,} ({ratio:.2%})",
        file=sys.stderr,
        flush=True,
    )
