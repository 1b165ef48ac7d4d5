"""Run a dvcload scenario with Locust's own command line and web UI.

    locust -f locustfile.py --scenario scenarios/smoke.yaml

With ``target: embedded`` the reference portal is started on 127.0.0.1 (an ephemeral
port) and stopped when Locust quits; the scenario's stages drive the user count (the
UI's user fields are then disabled, as for any Locust shape). ``dvcload run`` is the
headless path that also writes dvcload's results folder.
"""

from __future__ import annotations

import atexit
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from dvcload.commands.run import require_load
from dvcschema.errors import DvcloadError
from dvcschema.load import ClosedLoad
from dvcschema.scenario import load_scenario
from dvcschema.settings import Overrides, apply_settings
from dvcschema.target import refusal_reason
from loadgen.export import write_population
from loadgen.population import generate_population
from loadgen.shapes import StagesShape
from loadgen.users import CitizenUser
from loadgen.workload import build_workload

DEFAULT_SCENARIO = "scenarios/smoke.yaml"
_stack = ExitStack()
atexit.register(_stack.close)


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--scenario",
        default=os.environ.get("DVCLOAD_SCENARIO", DEFAULT_SCENARIO),
        help="dvcload scenario YAML (default: scenarios/smoke.yaml)",
    )


class Citizen(CitizenUser):
    """Bound to the scenario's workload when Locust initialises (see ``_init``)."""

    abstract = False


class ScenarioShape(StagesShape):
    """The scenario's stages; filled in by ``_init``."""

    abstract = False


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    try:
        scenario = apply_settings(
            require_load(load_scenario(environment.parsed_options.scenario)),
            Overrides(),
            os.environ,
        )
        reason = refusal_reason(scenario.target, scenario.allow_targets)
        if reason:
            raise DvcloadError(reason)
        if not isinstance(scenario.load, ClosedLoad):
            raise DvcloadError(
                f"{scenario.source}: load.model: open-model scenarios run with 'dvcload run' "
                "(Locust's UI drives a closed pool of users)"
            )
    except DvcloadError as exc:
        raise SystemExit(f"dvcload: error: {exc}") from None
    population = generate_population(scenario.population.size, seed=scenario.seed)
    Citizen.workload = build_workload(scenario, population)
    ScenarioShape.stages = scenario.load.schedule(scenario.duration_s)
    if isinstance(environment.runner, WorkerRunner):
        return
    if scenario.target.embedded and not environment.host:
        environment.host = _start_portal(scenario, population)
    elif scenario.target.url and not environment.host:
        environment.host = scenario.target.url


def _start_portal(scenario: Any, population: Any) -> str:
    from portal.launcher import EmbeddedPortal, resolve_config

    folder = Path(_stack.enter_context(_tempdir()))
    write_population(population, folder / "population.csv")
    portal = _stack.enter_context(
        EmbeddedPortal(
            resolve_config(scenario.portal.config),
            servers=scenario.portal.servers,
            service_time_ms=scenario.portal.service_time_ms,
            population=folder / "population.csv",
            seed=scenario.seed,
        )
    )
    return str(portal.url)


def _tempdir() -> Any:
    import tempfile

    return tempfile.TemporaryDirectory(prefix="dvcload-locust-")


@events.quitting.add_listener
def _stop_portal(**_: Any) -> None:
    _stack.close()
