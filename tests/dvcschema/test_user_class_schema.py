"""A Locust ``User`` class named by a scenario (:mod:`dvcschema.userclass`) is found and
checked before any load: each problem is one located line, exit code 2."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from refusal import ENTRIES, assert_refused_in_one_line

from dvcschema.errors import ScenarioError
from dvcschema.scenario import scenario_from_data
from dvcschema.userclass import UserClassTraffic
from dvcschema.yamlio import parse_yaml

BASE = "name: s\ntarget: http://127.0.0.1:9\nduration: 5s\nload: {users: 1}\n"
LOCUSTFILE = """\
from locust import FastHttpUser, HttpUser, User, between, task


def helper(user):
    user.client.get("/x")


class Portal(FastHttpUser):
    host = "https://elsewhere.example"
    wait_time = between(1, 2)

    @task(3)
    def filing(self):
        self.client.post("/ho-so")

    @task
    def status(self):
        self.client.get("/ho-so/1")


class Weighted(HttpUser):
    tasks = {helper: 2}


class Base(FastHttpUser):
    abstract = True

    @task
    def a(self):
        pass


class Idle(FastHttpUser):
    pass


class Socket(User):
    @task
    def a(self):
        pass


NOT_A_CLASS = 3
"""


@pytest.fixture
def parse(tmp_path: Path) -> Any:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "locustfile.py").write_text(LOCUSTFILE)
    source = str(tmp_path / "s.yaml")

    def parse(extra: str) -> Any:
        return scenario_from_data(parse_yaml(BASE + extra, source), source=source)

    return parse


def test_a_user_class_is_found_with_its_tasks_as_journeys(tmp_path: Path, parse: Any) -> None:
    scenario = parse("journeys: {user_class: 'ops/locustfile.py:Portal'}\n")
    traffic = scenario.traffic
    assert isinstance(traffic, UserClassTraffic)
    assert traffic.names == ("filing", "status") and dict(traffic.weights) == {
        "filing": 3,
        "status": 1,
    }
    assert traffic.user_class.__name__ == "Portal"
    assert parse("journeys: {user_class: 'ops/locustfile.py:Weighted'}\n").traffic.weights == {
        "helper": 2
    }  # tasks = {function: weight}


@pytest.mark.parametrize(
    "extra",
    ["journeys: {user_class: 'ops/locustfile.py:Portal'}", "user_class: ops/locustfile.py:Portal"],
)
def test_the_manifest_carries_the_files_sha256_and_a_worker_loads_it_again(
    tmp_path: Path, parse: Any, extra: str
) -> None:
    path = tmp_path / "ops" / "locustfile.py"
    data = parse(extra + "\n").as_dict()
    assert data["journeys"] == {
        "user_class": f"{path}:Portal",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    again = scenario_from_data(data, source=data.pop("source"))  # as a worker loads it
    assert isinstance(again.traffic, UserClassTraffic) and again.traffic.names == (
        "filing",
        "status",
    )
    path.write_text(LOCUSTFILE + "# edited\n")
    with pytest.raises(ScenarioError, match="changed since the run started"):
        scenario_from_data(data, source="x")  # a worker, after the file changed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("journeys: {user_class: 'ops/missing.py:Portal'}", "'ops/missing.py': no such file"),
        ("journeys: {user_class: 'ops/locustfile.py'}", "is not PATH.py:ClassName"),
        ("journeys: {user_class: 'ops/locustfile.txt:Portal'}", "is not PATH.py:ClassName"),
        ("journeys: {user_class: 'ops/broken.py:Portal'}", "does not load: ModuleNotFoundError"),
        (
            "journeys: {user_class: 'ops/locustfile.py:Nobody'}",
            "no 'Nobody'; its User classes: Idle, Portal, Socket, Weighted",
        ),
        ("journeys: {user_class: 'ops/locustfile.py:NOT_A_CLASS'}", "is not a Locust User"),
        ("journeys: {user_class: 'ops/locustfile.py:Socket'}", "neither an HttpUser nor"),
        ("journeys: {user_class: 'ops/locustfile.py:Base'}", "is abstract"),
        ("journeys: {user_class: 'ops/locustfile.py:Idle'}", "has no task"),
        ("journeys: {user_class: 'ops/locustfile.py:Portal', sha256: 'ab'}", "changed since"),
        ("journeys: {user_class: 'ops/locustfile.py:Portal', x: 1}", "unknown key 'x'"),
        ("user_class: ops/locustfile.py:Portal\njourneys: {a: {steps: []}}", "not both"),
        ("user_class: ops/locustfile.py:Portal\nsession: {steps: []}", "on_start"),
        (
            "user_class: ops/locustfile.py:Portal\nmix: {journeys: {filing: 1}}",
            r"weights its own tasks \(filing: 3, status: 1, from @task\)",
        ),
    ],
)
def test_a_bad_user_class_is_one_located_line(
    tmp_path: Path, parse: Any, extra: str, message: str
) -> None:
    (tmp_path / "ops" / "broken.py").write_text("import no_such_module_here\n")
    with pytest.raises(ScenarioError, match=message) as caught:
        parse(extra + "\n")
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(tmp_path / "s.yaml"))


def test_a_runs_scenario_has_no_journey_mix_and_services_stay_allowed(parse: Any) -> None:
    scenario = parse("user_class: ops/locustfile.py:Portal\nmix: {services: {passport: 1}}\n")
    data = scenario.as_dict()
    assert data["mix"] == {"services": {"passport": 1.0}}  # the class weights its tasks
    with pytest.raises(ScenarioError, match="weights its own tasks"):
        parse("user_class: ops/locustfile.py:Portal\nmix: {journeys: {filing: 1, status: 1}}\n")


@pytest.mark.parametrize("entry", ENTRIES)
def test_what_does_not_run_a_user_class_says_so_in_one_line(
    tmp_path: Path, dvcload_cmd: list[str], entry: str
) -> None:
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "s.yaml").write_text(BASE + "user_class: locustfile.py:Portal\n")
    repo = Path(__file__).resolve().parents[2]
    assert_refused_in_one_line(entry, tmp_path / "s.yaml", dvcload_cmd, repo)


def test_dvcload_run_refuses_a_bad_user_class_with_exit_code_2(
    tmp_path: Path, dvcload_cmd: list[str]
) -> None:
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "s.yaml").write_text(BASE + "user_class: locustfile.py:Base\n")
    proc = subprocess.run(
        [*dvcload_cmd, "run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "'Base' is abstract" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing ran
