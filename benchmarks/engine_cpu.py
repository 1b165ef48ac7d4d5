"""dvcload's journey engines alone: CPU per request against canned replies, no network.

The generator benchmark (``bench_generator_cpu``) measures whole Locust processes
making real requests; on a shared machine one run of it varies by 20-25%, more than
the engines' own share of a request. This measures that share by itself: the
reference portal's real replies (the login, the catalogue, every service's form) are
recorded once, and the scenario's declared journeys and the Python journey module run
against a client that answers with them at once, through the same ``send``,
templates, captures, checks and ledger as in a run (Locust's client, the wire and the
socket are what is left out). Best of five rounds of CPU time.

    python -m benchmarks.engine_cpu [--json]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.bench_generator_cpu import CONFIG, DECLARED, SCENARIO
from dvcschema import routes
from dvcschema.scenario import load_scenario
from dvcschema.target import TargetPolicy
from loadgen.population import generate_population
from loadgen.visit import Conduct, Visit
from loadgen.workload import build_workload
from portal.launcher import EmbeddedPortal

JOURNEYS, ROUNDS = 5000, 5
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def recorded_replies(cccd: str) -> dict[str, bytes]:
    """The reference portal's replies by path: the login, the catalogue, each form."""
    with EmbeddedPortal(CONFIG) as portal:
        refusal = TargetPolicy().url_refusal(portal.url)  # loopback, as every request
        if refusal is not None:
            raise RuntimeError(refusal)

        def fetch(path: str, body: dict[str, Any] | None = None, token: str = "") -> bytes:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(portal.url + path, data=data, headers=headers)
            with _DIRECT.open(request, timeout=10) as reply:
                return bytes(reply.read())

        login = routes.LOGIN.path()
        replies = {login: fetch(login, {"cccd": cccd, "passcode": "123456"})}
        token = json.loads(replies[login])["access_token"]
        replies[routes.SERVICES.path()] = fetch(routes.SERVICES.path(), token=token)
        for service in json.loads(replies[routes.SERVICES.path()])["services"]:
            path = routes.SERVICE_FORM.path(code=service["code"])
            replies[path] = fetch(path, token=token)
    return replies


class _Reply:
    """What ``send`` reads of Locust's response (inside ``catch_response``)."""

    def __init__(self, content: bytes) -> None:
        self.status_code, self.content, self.headers, self.error = 200, content, {}, None

    @property
    def text(self) -> str:  # decoded when read, as Locust's response does
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)

    def success(self) -> None:
        pass

    def failure(self, exc: Any) -> None:
        raise AssertionError(f"a canned reply failed a check: {exc}")

    def __enter__(self) -> _Reply:
        return self

    def __exit__(self, *_: object) -> None:
        return None


class CannedClient:
    """Answers each path with its recorded reply, at once."""

    cookiejar = None

    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = replies
        self.requests = 0

    def request(self, method: str, url: str, **_: Any) -> _Reply:
        self.requests += 1
        return _Reply(self.replies[url.split("?", 1)[0]])

    def prepay(self) -> None:
        pass


def cpu_us_per_request(scenario_text: str, replies: dict[str, bytes]) -> float:
    """The engine's CPU per request (best of ``ROUNDS``) for the scenario's browse."""
    with tempfile.TemporaryDirectory(prefix="engine-cpu-") as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(scenario_text, encoding="utf-8")
        scenario = load_scenario(path)
    population = generate_population(200, seed=3)
    workload = build_workload(scenario, population)
    engine, client = workload.engine, CannedClient(replies)
    visit = Visit(client=client, citizen=population.citizen(0), rng=random.Random(1),
                  services=workload.services, attachments=workload.attachments,
                  ledger=workload.ledger, conduct=Conduct(pace=client.prepay))  # fmt: skip
    visit.session = engine.start(visit, visit.citizen.as_dict())
    if visit.session is None:
        raise RuntimeError("the session did not start against the recorded replies")
    best = float("inf")
    for _ in range(ROUNDS):
        client.requests = 0
        started = time.process_time()
        for _ in range(JOURNEYS):
            if not engine.run(visit, visit.session, "browse"):
                raise RuntimeError("a journey failed against the recorded replies")
        best = min(best, (time.process_time() - started) / client.requests * 1e6)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    population = generate_population(1, seed=3)
    replies = recorded_replies(population.citizen(0).cccd)
    result = {
        "declared_us": cpu_us_per_request(DECLARED, replies),
        "python_module_us": cpu_us_per_request(SCENARIO, replies),
    }
    if "--json" in (argv if argv is not None else sys.argv[1:]):
        print(json.dumps(result))
    else:
        print(f"declared journeys: {result['declared_us']:.1f} us of CPU per request")
        print(f"python module:     {result['python_module_us']:.1f} us of CPU per request")
    return result


if __name__ == "__main__":
    main()
