"""``dvcload check SCENARIO [--target URL]``: one slow session of each journey, every
step printed.

What an operator runs first against a new portal: the request, the status and time,
what each declared step captured, and at the first failing step an excerpt of the
response. The requests pass the scenario's target policy and ceiling like a run's.
Exit code 0 when every journey completes, 1 when one fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
from contextlib import ExitStack

from dvcload.run_setup import announced_policy, prepare_run, resolve_scenario, start_embedded_portal
from dvcschema.errors import ScenarioError
from dvcschema.load import ReplayLoad
from dvcschema.scenario import PopulationSpec, load_scenario
from dvcschema.settings import Overrides
from dvcschema.userclass import UserClassTraffic

NAME = "check"
HELP = "Run one slow session of each journey against the target, printing every step."
CITIZENS = 500  # enough to find citizens for every journey's `when`, and quick to make


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type="path", help="scenario YAML file")
    parser.add_argument(
        "--target", type="url", help="'embedded' or a base URL (overrides the scenario)"
    )
    parser.add_argument(
        "--allow-target", action="append", type="host_text", default=[], metavar="HOST",
        help="allow a host outside the loopback range (repeatable)",
    )  # fmt: skip
    parser.add_argument("--seed", type="seed", help="random seed (which citizens)")
    parser.add_argument(
        "--pause", type="pause_s", default=0.3, metavar="SECONDS",
        help="pause before each request (default 0.3)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    overrides = Overrides(
        target=args.target, seed=args.seed, allow_targets=tuple(args.allow_target)
    )
    scenario = resolve_scenario(load_scenario(args.scenario), overrides)
    if isinstance(scenario.load, ReplayLoad):
        raise ScenarioError(
            "check runs one session of each journey, and a replay has none; try a short"
            f" replay: dvcload run {args.scenario} --duration 10s",
            source=scenario.source,
            field="load.model",
        )
    if isinstance(scenario.traffic, UserClassTraffic):
        raise ScenarioError(
            "check runs declared or Python journeys; try a Locust User class with a short"
            f" run: dvcload run {args.scenario} --duration 10s",
            source=scenario.source,
        )
    size = min(scenario.population.size, CITIZENS)
    scenario = dataclasses.replace(scenario, population=PopulationSpec(size))
    policy = announced_policy(scenario)
    from loadgen.check import check_journeys  # imports Locust: after validation

    with ExitStack() as stack:
        setup = prepare_run(scenario, policy=policy)
        if scenario.target.embedded:
            host = str(start_embedded_portal(stack, scenario, setup.population).url)
        else:
            assert scenario.target.url is not None
            host = scenario.target.url
        ok = check_journeys(setup.workload, host, say=print, pause_s=args.pause)
    print(f"dvcload check: {'every journey completed' if ok else 'a journey failed'}")
    return 0 if ok else 1
