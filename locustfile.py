"""Run a dvcload scenario with Locust's own command line and web UI.

    locust -f locustfile.py --scenario scenarios/smoke.yaml

With ``target: embedded`` the reference portal is started on 127.0.0.1 (an ephemeral
port) and stopped when Locust quits; the scenario's stages drive the user count, and
``-t/--run-time`` cuts them short. ``dvcload run`` is the headless path that also
writes dvcload's results folder.

The target policy holds here as everywhere (README, "Where load may go"): ``--host``,
``LOCUST_HOST`` and the web UI's host field are checked against the scenario's
``allow_targets`` before anything is sent, and the users check every request on the
wire. The web UI and the master listen on 127.0.0.1 unless told otherwise
(``--web-host``, ``--master-bind-host``). The ceiling ``load.max_request_rate`` is
for the whole run: with ``--processes N`` or ``--master`` each worker takes its share.
"""

from __future__ import annotations

import atexit
import os
import sys
from contextlib import ExitStack
from typing import Any

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from dvcload.run_setup import prepare_run, resolve_scenario, start_embedded_portal
from dvcschema.errors import DvcloadError, ScenarioError, TargetError, shown
from dvcschema.load import ClosedLoad, ReplayLoad
from dvcschema.scenario import Scenario, load_scenario
from dvcschema.target import TargetPolicy
from dvcschema.userclass import UserClassTraffic
from loadgen import eventloop
from loadgen.pacing import RateCeiling
from loadgen.shapes import StagesShape
from loadgen.share import accept_shares, announce_shares
from loadgen.users import CitizenUser

DEFAULT_SCENARIO = "scenarios/smoke.yaml"
LOOPBACK_BIND = "127.0.0.1"
_stack = ExitStack()
atexit.register(_stack.close)


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--scenario",
        default=os.environ.get("DVCLOAD_SCENARIO", DEFAULT_SCENARIO),
        help="dvcload scenario YAML (default: scenarios/smoke.yaml)",
    )
    # Locust listens on every interface by default, its UI without authentication.
    parser.set_defaults(web_host=LOOPBACK_BIND, master_bind_host=LOOPBACK_BIND)


class ScenarioCitizen(CitizenUser):
    """Bound to the scenario's workload when Locust initialises (see ``_init``)."""

    abstract = False


class ScenarioShape(StagesShape):
    """The scenario's stages; filled in by ``_init``."""

    abstract = False


@events.init.add_listener
def _init(environment: Any, runner: Any = None, web_ui: Any = None, **_: Any) -> None:
    try:
        scenario = _scenario(environment.parsed_options.scenario)
        setup = prepare_run(scenario)
        population, workload = setup.population, setup.workload
        _refuse_host(environment.host, workload.policy)
    except DvcloadError as exc:
        sys.stderr.write(f"dvcload: error: {exc}\n")
        raise SystemExit(2) from None
    eventloop.prepare(workload.policy)
    workload.ceiling = _ceiling(environment, runner, scenario)
    ScenarioCitizen.attach(workload)
    ScenarioShape.stages = scenario.load.schedule(scenario.duration_s)  # type: ignore[union-attr]
    if web_ui is not None:
        _guard_swarm(web_ui, environment, workload.policy)
    if isinstance(runner, WorkerRunner):
        return
    if scenario.target.embedded and not environment.host:
        environment.host = _start_portal(scenario, population)
    elif scenario.target.url and not environment.host:
        environment.host = scenario.target.url


def _scenario(path: str) -> Scenario:
    scenario = resolve_scenario(load_scenario(path))
    refusals = (  # (refused, why, field): what Locust's closed pool of users cannot run
        (
            isinstance(scenario.load, ReplayLoad),
            "replay scenarios run with 'dvcload run' (a replay sends a log's requests at "
            "their recorded times; Locust's UI drives a closed pool of users)",
            "load.model",
        ),
        (
            not isinstance(scenario.load, ClosedLoad | ReplayLoad),
            "open-model scenarios run with 'dvcload run' (Locust's UI drives a closed pool "
            "of users)",
            "load.model",
        ),
        (
            isinstance(scenario.traffic, UserClassTraffic),
            "this scenario runs a Locust User class; run it with 'dvcload run', or its own "
            "file with 'locust -f'",
            "user_class",
        ),
    )
    for refused, why, field in refusals:
        if refused:
            raise ScenarioError(why, source=scenario.source, field=field)
    return scenario


def _refuse_host(host: str | None, policy: TargetPolicy, field: str = "--host") -> None:
    """``--host`` / ``LOCUST_HOST`` (or a UI's host field) must pass the policy too."""
    if not host:
        return
    reason = policy.url_refusal(host)
    if reason is not None:
        raise TargetError(f"{shown(host)}: {reason}", field=field)


def _ceiling(environment: Any, runner: Any, scenario: Scenario) -> RateCeiling:
    """This process's share of the run's ceiling (see :mod:`loadgen.share`)."""
    rate = scenario.load.max_request_rate  # type: ignore[union-attr]
    options = environment.parsed_options
    if isinstance(runner, MasterRunner):
        expected = max(int(options.processes or 0), int(options.expect_workers or 1))
        announce_shares(environment, rate, expected)
    if not isinstance(runner, WorkerRunner):
        return RateCeiling(rate)  # a local runner's users (a master runs none)
    processes = int(options.processes or 0)
    share = rate / processes if processes > 0 else None  # --processes N: known; else ask
    ceiling = RateCeiling(share)
    accept_shares(environment, ceiling, cap_per_s=share or rate)
    return ceiling


def _guard_swarm(web_ui: Any, environment: Any, policy: TargetPolicy) -> None:
    """Refuse a ``POST /swarm`` whose host field is outside the policy (HTTP 400)."""
    from flask import jsonify, request

    @web_ui.app.before_request
    def _check_swarm_host() -> Any:
        if request.method != "POST" or not request.path.endswith("/swarm"):
            return None
        host = request.form.get("host", "")
        try:
            _refuse_host(host, policy, field="host")
        except TargetError as exc:
            body = {"success": False, "message": str(exc), "host": environment.host}
            return jsonify(body), 400
        return None


def _start_portal(scenario: Scenario, population: Any) -> str:
    return str(start_embedded_portal(_stack, scenario, population).url)


@events.quitting.add_listener
def _stop_portal(**_: Any) -> None:
    _stack.close()
