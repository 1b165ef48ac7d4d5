"""One run set-up for every way load starts: ``dvcload run``, ``dvcload worker`` and
``locust -f locustfile.py``.

Each of them resolves the scenario the same way (a ``load:`` section, then the
environment's and the command line's settings, then the target policy's verdict on the
target), pins the allowed hosts once and says so, generates its share of the citizens,
builds its workload, and, for ``target: embedded``, starts the reference portal the
same way. Written once here, the three cannot drift apart (they had: the worker built
its policy without announcing the pins, and the Locust file started a portal of its
own).

Nothing here imports Locust at module level: ``dvcload run`` resolves its scenario
before gevent patches the process.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import sys
import tempfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dvcschema import results
from dvcschema.errors import ScenarioError, TargetError
from dvcschema.scenario import Scenario, target_policy
from dvcschema.settings import Overrides, apply_settings
from dvcschema.target import TargetPolicy, describe_pins, refusal_reason

if TYPE_CHECKING:
    from loadgen.population import Population
    from loadgen.workload import Workload
    from portal.launcher import EmbeddedPortal


def require_load(scenario: Scenario) -> Scenario:
    """A scenario to run needs a ``load:`` section (a capacity-only one is for ``plan``)."""
    if scenario.load is None:
        raise ScenarioError(
            "has no 'load' section; 'dvcload run' needs one (this scenario is for 'dvcload plan')",
            source=scenario.source,
        )
    return scenario


def resolve_scenario(
    scenario: Scenario,
    overrides: Overrides | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    field: str = "target",
) -> Scenario:
    """The scenario as it will run: with a load, its settings applied, its target
    allowed by its policy (else :class:`TargetError`, naming ``field``)."""
    scenario = apply_settings(require_load(scenario), overrides or Overrides(), environ)
    reason = refusal_reason(scenario.target, scenario.allow_targets)
    if reason is not None:
        raise TargetError(reason, source=scenario.source, field=field)
    return scenario


def say_on_stderr(line: str) -> None:
    print(f"dvcload: {line}", file=sys.stderr)


def announced_policy(
    scenario: Scenario, say: Callable[[str], None] = say_on_stderr
) -> TargetPolicy:
    """The scenario's target policy, allowed names resolved once, now, and pinned; the
    pins are said (``allowed host X pinned to A, B``)."""
    policy = target_policy(scenario)
    for line in describe_pins(policy):
        say(line)
    return policy


@dataclass(frozen=True)
class RunSetup:
    """What one load-generating process runs: its scenario, policy, citizens, workload."""

    scenario: Scenario
    policy: TargetPolicy
    population: Population
    workload: Workload


def prepare_run(
    scenario: Scenario,
    *,
    policy: TargetPolicy | None = None,
    partition: tuple[int, int] = (0, 1),
    say: Callable[[str], None] = say_on_stderr,
) -> RunSetup:
    """Citizens and workload for partition ``k`` of ``n`` (the whole run by default).

    ``policy`` is the run's, already announced (by default worked out and announced
    now)."""
    from loadgen.population import generate_population  # imports Faker and NumPy
    from loadgen.workload import build_workload

    policy = announced_policy(scenario, say) if policy is None else policy
    check_certificate(scenario, policy)
    population = generate_population(
        scenario.population.size, seed=scenario.seed, partition=partition
    )
    workload = build_workload(scenario, population, partition, policy=policy)
    return RunSetup(scenario, policy, population, workload)


def check_certificate(scenario: Scenario, policy: TargetPolicy, timeout_s: float = 10.0) -> None:
    """Before any load, an https target's certificate is checked as the load will check
    it (``http.tls``); a certificate problem is one :class:`TargetError` naming it.

    Only a TLS handshake is made (no request), to the address the policy pinned for
    the host; a target that does not answer is left for the run to report."""
    url = scenario.target.url
    tls = scenario.http.tls
    if url is None or not url.lower().startswith("https://") or not tls.verify:
        return
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    address = host if _is_ip(host) else (policy.pins.get(host.lower()) or (host,))[0]
    context = ssl.create_default_context(cafile=tls.ca_file)
    try:
        with (
            socket.create_connection((address, port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return
    except ssl.SSLCertVerificationError as exc:
        hint = (
            "give http.tls.ca_file, the authority that signed it"
            if tls.ca_file is None
            else f"{tls.ca_file} did not sign it"
        )
        raise TargetError(
            f"{url}: certificate not trusted: {exc.verify_message}; {hint} "
            "(or http.tls.verify: false)",
            source=scenario.source,
            field="target",
        ) from None
    except (OSError, ssl.SSLError):
        return  # not answering, or not TLS: the run reports it, request by request


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def start_embedded_portal(
    stack: ExitStack, scenario: Scenario, population: Any, *, folder: Path | None = None
) -> EmbeddedPortal:
    """Start the reference portal for ``target: embedded`` on 127.0.0.1 (an ephemeral
    port), with the run's citizens; ``stack`` stops it. With a results ``folder`` its
    access log, database and standard error are kept there."""
    from loadgen.export import write_population
    from portal.launcher import EmbeddedPortal, resolve_config

    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dvcload-")))
    population_file = tmp / "population.csv"
    write_population(population, population_file)
    kept: dict[str, Path] = {}
    if folder is not None:
        kept = {
            "access_log": folder / results.PORTAL_ACCESS_LOG,
            "database": folder / results.PORTAL_DATABASE,
            "stderr_path": folder / results.PORTAL_STDERR,
        }
    options = scenario.portal
    return stack.enter_context(
        EmbeddedPortal(
            config_path=resolve_config(options.config),
            servers=options.servers,
            service_time_ms=options.service_time_ms,
            population=population_file,
            seed=scenario.seed,
            **kept,  # type: ignore[arg-type]
        )
    )
