"""Users making the same requests: dvcload's journey users (a Python journey module, the
reference portal's own, and the same requests declared in YAML) and a bare FastHttpUser.

Used by bench_generator_cpu.py (selected with ``--class-picker``-free positional user
class names on Locust's command line). Host and population come from the environment.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import resource
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant_pacing, events, task

from dvcschema import routes
from dvcschema.scenario import load_scenario
from loadgen.pacing import RateCeiling
from loadgen.population import generate_population
from loadgen.users import CitizenUser
from loadgen.wire import GuardedHttpUser
from loadgen.workload import build_workload

_scenario = load_scenario(os.environ["DVCLOAD_BENCH_SCENARIO"])
_declared = load_scenario(os.environ["DVCLOAD_BENCH_DECLARED"])
_population = generate_population(_scenario.population.size, seed=_scenario.seed)
_ids = itertools.count()


class JourneyUser(CitizenUser):
    """dvcload's user running a Python journey module (the reference portal's browse):
    content checks, HDR recording, and every request through the target policy and
    the ceiling (loadgen.wire)."""

    abstract = False


class DeclaredUser(CitizenUser):
    """dvcload's user running the same requests declared in the scenario (YAML steps
    with captures as content checks)."""

    abstract = False


JourneyUser.attach(build_workload(_scenario, _population))
DeclaredUser.attach(build_workload(_declared, _population))


_cpu_at_start: list[float] = []


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@events.test_start.add_listener
def _started(**_: object) -> None:
    gc.freeze()  # as dvcload run does once set up: the population out of the collector's way
    _cpu_at_start.append(_cpu_s())


@events.test_stop.add_listener
def _stopped(environment: Any, **_: object) -> None:
    """CPU seconds of the load phase alone (no start-up, no population, no shutdown),
    its requests and its failures, for bench_generator_cpu.py."""
    cpu_s = _cpu_s() - _cpu_at_start[0]
    total = environment.stats.total
    Path(os.environ["DVCLOAD_BENCH_OUT"]).write_text(
        json.dumps([cpu_s, total.num_requests, total.num_failures])
    )


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, exception: object = None, **_: object
) -> None:
    JourneyUser.workload.recorder.record(  # type: ignore[union-attr]
        f"{request_type} {name}", response_time, failed=exception is not None
    )


class BareUser(FastHttpUser):
    """The same requests with nothing else: login once, then catalogue + one form, each
    with the session's bearer token (as the declared session's ``headers:`` sends it).
    The form is a random service's, as the declared journey picks it (forms differ in
    size: 860 to 1,129 bytes); the codes are read once, at the start."""

    abstract = False
    auth: dict[str, str]
    codes: list[str]

    def on_start(self) -> None:
        citizen = _population.citizen(next(_ids) % len(_population))
        login = routes.LOGIN
        reply = self.client.post(
            login.path(), json={"cccd": citizen.cccd, "passcode": "123456"}, name=login.path_name
        )
        self.auth = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        services = self.client.get(routes.SERVICES.path(), name="start", headers=self.auth)
        self.codes = [s["code"] for s in services.json()["services"]]
        self.rng = random.Random(next(_ids))

    @task
    def browse(self) -> None:
        self.client.get(routes.SERVICES.path(), name=routes.SERVICES.path_name, headers=self.auth)
        form, code = routes.SERVICE_FORM, self.rng.choice(self.codes)
        self.client.get(form.path(code=code), name=form.path_name, headers=self.auth)


class GuardedUser(GuardedHttpUser, BareUser):  # type: ignore[misc]
    """BareUser's requests through the wire guard: the target policy and the ceiling."""

    abstract = False
    ceiling = RateCeiling(_scenario.load.max_request_rate)  # type: ignore[union-attr]


class CheckedUser(BareUser):
    """BareUser's requests checked as a careful hand-written Locust user checks them
    (``catch_response``, the JSON body parsed and its keys looked at): where the
    cost of content checks lies, apart from dvcload's own."""

    abstract = False

    @task
    def browse(self) -> None:
        services, form = routes.SERVICES, routes.SERVICE_FORM
        with self.client.get(
            services.path(), name=services.path_name, headers=self.auth, catch_response=True
        ) as reply:
            codes = [s["code"] for s in reply.json()["services"]]
            if not codes:
                reply.failure("no service")
        with self.client.get(
            form.path(code=self.rng.choice(codes)),
            name=form.path_name,
            headers=self.auth,
            catch_response=True,
        ) as reply:
            if "fields" not in reply.json():
                reply.failure("no fields")


# The same pace for every user (a journey, or the bare users' two requests, every
# PACING_S seconds each), so that each class makes the same requests at the same rate,
# below what saturates the generator or the portal: the CPU per request is then the
# work of a request, not how a saturated event loop batches them.
PACING_S = float(os.environ.get("DVCLOAD_BENCH_PACING_S", "0") or 0)
if PACING_S > 0:
    for _user in (JourneyUser, DeclaredUser, BareUser):
        _user.wait_time = constant_pacing(PACING_S)  # type: ignore[method-assign,assignment]
