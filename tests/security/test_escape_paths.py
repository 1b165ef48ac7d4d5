"""Regression tests for the ways a probe sent load outside the loopback range, or faster
than the scenario's request-rate ceiling (``load.max_request_rate``).

The promise: dvcload sends load only to 127.0.0.0/8, ``localhost`` and ``::1`` unless a
host is allowed (``--allow-target HOST`` / ``allow_targets``), judges the host without
DNS, and never sends more than the ceiling (requests/s per run, all processes together).

Each case runs in a network namespace of its own (see ``conftest.py``) where ``lo`` also
carries 203.0.113.7, the "outside" host. A capture server listens there on ports 80,
443 and 8080 and answers HTTP 200, so a client that reached it would keep sending: every
case asserts it received no connection at all. The control case allows 203.0.113.7
explicitly and shows the capture does see such a run (and the login passcode in it).

Where a case checks that DNS is not consulted, a hosts file mapping the names to
203.0.113.7 is bind-mounted over /etc/hosts inside the case's own mount namespace, so a
name that is resolved lands on the capture server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

pytestmark = pytest.mark.integration

OUTSIDE = "203.0.113.7"
OUTSIDE_URL = f"http://{OUTSIDE}:8080"
PASSCODE = "654321"  # DVCLOAD_PASSCODE of every command the driver runs
SMOKE = "scenarios/smoke.yaml"
DVCLOAD = ["@PYTHON@", "-m", "dvcload"]
LOCUST = ["@PYTHON@", "-m", "locust", "-f", "locustfile.py"]
OUT = ["--out", "@WORK@/results"]
LOOPBACK_PORT = 8080  # a port the capture also listens on: a resolved name lands there
HOSTS_FOR_NAMES = [f"{OUTSIDE} localhost.localdomain ip6-localhost localhost. 127.0.0.1."]
HOSTS_FOR_LOCALHOST = [f"{OUTSIDE} localhost"]
# A run against a server that answers every request with a redirect has no successful
# request, so it ends with 3 ("not one request succeeded", README); 0 and 1 are accepted
# too. A crash is told apart by "internal error"/"Traceback" on stderr and by the
# missing summary.json.
FINISHED_CODES = (0, 1, 3)
Report = dict[str, Any]
Spec = tuple[dict[str, Any], float]  # a case's spec for the driver, and its budget in s

SCENARIO = """\
name: {name}
seed: 7
target: {target}
duration: {duration}
population: {{size: {population}}}
{extra}load:
{load}
"""
CLOSED = "  model: closed\n  users: {users}\n  spawn_rate: {users}\n  think_time: {think}\n"
OPEN = "  model: open\n  max_concurrency: 10\n  rate: {constant: 5}\n"


def _scenario(name: str, load: str, *, rate: float | None = None, target: str = "embedded",
              duration: str = "10s", population: int = 50, extra: str = "") -> str:  # fmt: skip
    ceiling = "" if rate is None else f"  max_request_rate: {rate:g}\n"
    return SCENARIO.format(
        name=name, target=target, duration=duration, population=population, extra=extra,
        load=load + ceiling,
    )  # fmt: skip


def _closed(users: int, think: str = "0s") -> str:
    return CLOSED.format(users=users, think=think)


def _step(argv: list[str], timeout_s: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    return {"argv": argv, "timeout_s": timeout_s, "env": env or {}}


def _describe(step: dict[str, Any]) -> str:
    return (
        f"exit {step['returncode']} after {step['elapsed_s']} s"
        f"{' (killed at its timeout)' if step['timed_out'] else ''}; "
        f"stderr: {step['stderr_tail'][-800:]!r}"
    )


def _capture_problems(report: dict[str, Any]) -> list[str]:
    capture = report["capture"]
    if not capture["connections"]:
        return []
    return [
        f"ESCAPE: the capture server on {OUTSIDE} received {capture['connections']} "
        f"connection(s) {capture['by_port']}, {capture['bytes']} bytes; "
        f"first bytes: {capture['head'][:300]!r}"
    ]


def _hosts_note(report: dict[str, Any]) -> str:
    hosts = report.get("hosts")
    return f"hosts file: {hosts}" if hosts else "hosts file: not mounted (no mount namespace)"


def _rate_problems(
    times: list[float], ceiling_per_s: float, *, run_burst: float, second_burst: float
) -> list[str]:
    """The server's arrivals against the ceiling: over the whole span (a token bucket
    allows ``ceiling x span + burst``), and in each whole second from the first one."""
    if len(times) < 2:
        return [f"only {len(times)} request(s) reached the server: no load to judge"]
    span_s = times[-1] - times[0]
    per_second = Counter(int(t - times[0]) for t in times)
    peak = max(per_second.values())
    problems = []
    if len(times) > ceiling_per_s * span_s + run_burst:
        problems.append(
            f"CEILING: {len(times)} requests in {span_s:.2f} s ({len(times) / span_s:.1f}/s) "
            f"> {ceiling_per_s:g}/s x {span_s:.2f} s + {run_burst:g}"
        )
    if peak > ceiling_per_s + second_burst:
        problems.append(
            f"CEILING: {peak} requests in one second > {ceiling_per_s:g} + {second_burst:g}; "
            f"per second: {[per_second[k] for k in sorted(per_second)]}"
        )
    return problems


def _finished_problems(step: dict[str, Any]) -> list[str]:
    """A run that went to its end and wrote its results (not a crash, not a refusal)."""
    problems = []
    if step["timed_out"] or step["returncode"] not in FINISHED_CODES:
        problems.append(f"the run did not finish normally: {_describe(step)}")
    if "Traceback" in step["stderr_tail"] or "internal error" in step["stderr_tail"]:
        problems.append(f"the run broke: {step['stderr_tail'][-800:]!r}")
    if step["summary"] is None:
        problems.append(f"no summary.json in the results folder: {step['stdout_tail'][-300:]!r}")
    elif not step["summary"]["failures"]:
        problems.append(f"summary.json records no failure: {step['summary']}")
    return problems


_Test = TypeVar("_Test", bound=Callable[..., None])


def case(spec: Callable[..., Spec], *, alone: bool = False) -> Callable[[_Test], _Test]:
    """The test reads the report of the case ``spec(**its parameters)`` describes.

    The module's cases run before their tests ask (``case_pool`` in conftest.py): a few
    at a time, each in its namespace, while the tests read the reports in their order;
    a case ``alone`` runs with no other case running (its check counts arrivals per
    second, which a CPU shared with other cases can bunch).
    """

    def mark(test: _Test) -> _Test:
        test.case_spec = spec  # type: ignore[attr-defined]
        test.case_alone = alone  # type: ignore[attr-defined]
        return test

    return mark


# -- control ----------------------------------------------------------------------------


def _control() -> Spec:
    argv = [*DVCLOAD, "run", SMOKE, "--target", OUTSIDE_URL, "--allow-target", OUTSIDE,
            "--duration", "3s", *OUT, "--quiet"]  # fmt: skip
    return {"steps": [_step(argv, 40)], "needles": [PASSCODE]}, 40


@case(_control)
def test_control_an_allowed_outside_target_reaches_the_capture_server(
    case_report: Callable[[], Report],
) -> None:
    """The harness sees an escape: the same run as below, but allowed, is captured."""
    report = case_report()
    step = report["steps"][0]
    assert report["capture"]["connections"] > 0, _describe(step)
    assert report["capture"]["contains"][PASSCODE], report["capture"]["head"]


# -- 1. names that pass a text check and are then resolved by DNS -----------------------


def _refused_name(url: str) -> Spec:
    argv = [*DVCLOAD, "run", SMOKE, "--target", url, "--duration", "3s", *OUT]
    spec = {
        "hosts": HOSTS_FOR_NAMES,
        "loopback": {"kind": "ok", "port": LOOPBACK_PORT},
        "steps": [_step(argv, 30)],
    }
    return spec, 30


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1.:{LOOPBACK_PORT}",
        f"http://localhost.:{LOOPBACK_PORT}",
        f"http://ip6-localhost:{LOOPBACK_PORT}",
        f"http://localhost.localdomain:{LOOPBACK_PORT}",
        "http://LOCALHOST..:9",
    ],
)
@case(_refused_name)
def test_run_with_a_name_dns_would_resolve_is_refused_in_one_line_before_any_connection(
    case_report: Callable[[], Report], url: str
) -> None:
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if step["returncode"] != 2 or step["timed_out"]:
        problems.append(f"not refused with exit code 2: {_describe(step)}")
    if step["stderr_lines"] != 1 or "Traceback" in step["stderr_tail"]:
        problems.append(f"stderr is not exactly one line: {step['stderr_tail'][-800:]!r}")
    assert not problems, "\n".join([*problems, _hosts_note(report)])


def _locust_name() -> Spec:
    argv = [*LOCUST, "--scenario", SMOKE, "--headless",
            "--host", f"http://localhost.localdomain:{LOOPBACK_PORT}", "-t", "3s"]  # fmt: skip
    spec = {
        "hosts": HOSTS_FOR_NAMES,
        "loopback": {"kind": "ok", "port": LOOPBACK_PORT},
        "steps": [_step(argv, 15)],
    }
    return spec, 15


@case(_locust_name)
def test_locust_with_a_host_name_dns_would_resolve_exits_nonzero_before_any_connection(
    case_report: Callable[[], Report],
) -> None:
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if step["timed_out"] or step["returncode"] == 0:
        problems.append(f"locust did not exit nonzero by itself: {_describe(step)}")
    assert not problems, "\n".join([*problems, _hosts_note(report)])


def _localhost_pinned() -> Spec:
    url = f"http://LocalHost:{LOOPBACK_PORT}"
    argv = [*DVCLOAD, "run", SMOKE, "--target", url, "--duration", "3s", *OUT, "--quiet"]
    spec = {
        "hosts": HOSTS_FOR_LOCALHOST,
        "loopback": {"kind": "ok", "port": LOOPBACK_PORT, "ipv6": True},
        "steps": [_step(argv, 30)],
    }
    return spec, 30


@case(_localhost_pinned)
def test_run_with_localhost_in_any_case_is_pinned_to_loopback_without_resolution(
    case_report: Callable[[], Report],
) -> None:
    """``localhost`` stays accepted, but goes to loopback even if /etc/hosts says not."""
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if step["returncode"] == 2 or step["timed_out"]:
        problems.append(f"localhost was not accepted: {_describe(step)}")
    if not report["server"]["requests"]:
        problems.append(f"the loopback server (127.0.0.1 and ::1) got no request: {step}")
    assert not problems, "\n".join([*problems, _hosts_note(report)])


# -- 2. redirects to an outside host are not followed -----------------------------------


def _redirect_outside(status: int, model: str) -> Spec:
    load = _closed(3) if model == "closed" else OPEN
    scenario = _scenario(f"redirect-{model}", load, rate=50)
    argv = [*DVCLOAD, "run", "@WORK@/scenario.yaml", "--target", "@URL@", "--duration", "3s",
            *OUT, "--quiet"]  # fmt: skip
    spec = {
        "loopback": {"kind": "redirect", "status": status, "location": f"http://{OUTSIDE}/"},
        "files": {"scenario.yaml": scenario},
        "steps": [_step(argv, 30)],
        "needles": [PASSCODE],
    }
    return spec, 30


@pytest.mark.parametrize("model", ["closed", "open"])
@pytest.mark.parametrize("status", [302, 307])
@case(_redirect_outside)
def test_run_against_a_server_redirecting_outside_does_not_follow_and_records_failures(
    case_report: Callable[[], Report], status: int, model: str
) -> None:
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if report["capture"]["contains"][PASSCODE]:
        problems.append(f"ESCAPE: the login passcode {PASSCODE} reached {OUTSIDE}")
    if not report["server"]["requests"]:
        problems.append("the redirecting loopback server got no request")
    problems += _finished_problems(step)
    assert not problems, "\n".join(problems)


# -- 3. redirect hops are paced by the ceiling ------------------------------------------


def _redirect_loop(follow: bool) -> Spec:
    extra = "http: {follow_redirects: true}\n" if follow else ""
    scenario = _scenario("redirect-loop", _closed(10), rate=5, extra=extra)
    argv = [*DVCLOAD, "run", "@WORK@/scenario.yaml", "--target", "@URL@", "--duration", "4s",
            *OUT, "--quiet"]  # fmt: skip
    spec = {
        "loopback": {"kind": "loop"},
        "files": {"scenario.yaml": scenario},
        "steps": [_step(argv, 35)],
    }
    return spec, 35


@pytest.mark.parametrize("follow", [True, False], ids=["follow_redirects", "default"])
@case(_redirect_loop, alone=True)
def test_run_against_a_redirect_loop_stays_under_the_ceiling(
    case_report: Callable[[], Report], follow: bool
) -> None:
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if step["returncode"] == 2 or step["timed_out"]:
        problems.append(f"the scenario did not run: {_describe(step)}")
    else:
        times = report["server"]["times"]
        problems += _rate_problems(times, ceiling_per_s=5, run_burst=3, second_burst=2)
    assert not problems, "\n".join(problems)


# -- 4. Locust's own command line and web UI --------------------------------------------


def _locust_outside(via: str) -> Spec:
    argv = [*LOCUST, "--scenario", SMOKE, "--headless", "-t", "5s"]
    env: dict[str, str] = {}
    if via == "--host":
        argv += ["--host", OUTSIDE_URL]
    else:
        env["LOCUST_HOST"] = OUTSIDE_URL
    return {"steps": [_step(argv, 15, env)]}, 15


@pytest.mark.parametrize("via", ["--host", "LOCUST_HOST"])
@case(_locust_outside)
def test_locust_with_an_outside_host_exits_nonzero_naming_loopback(
    case_report: Callable[[], Report], via: str
) -> None:
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if step["timed_out"] or step["returncode"] == 0:
        problems.append(f"locust did not exit nonzero by itself: {_describe(step)}")
    if "loopback" not in (step["stderr_tail"] + step["stdout_tail"]).lower():
        problems.append(f"the output does not mention 'loopback': {_describe(step)}")
    assert not problems, "\n".join(problems)


def _locust_run_time() -> Spec:
    scenario = _scenario("long-shape", _closed(2, think="1s"), target="@URL@", duration="60s")
    argv = [*LOCUST, "--scenario", "@WORK@/scenario.yaml", "--headless", "-t", "3s"]
    spec = {
        "loopback": {"kind": "ok"},
        "files": {"scenario.yaml": scenario},
        "steps": [_step(argv, 20)],
    }
    return spec, 20


@case(_locust_run_time)
def test_locust_run_time_ends_a_run_whose_scenario_shape_is_longer(
    case_report: Callable[[], Report],
) -> None:
    report = case_report()
    step = report["steps"][0]
    problems = _capture_problems(report)
    if step["timed_out"] or step["elapsed_s"] > 15:
        problems.append(f"-t 3s was not honoured: {_describe(step)}")
    if not report["server"]["requests"]:
        problems.append("the loopback target got no request: the run did not load")
    assert not problems, "\n".join(problems)


def _web_ui() -> Spec:
    spec = {
        "flow": "web_ui",
        "argv": [*LOCUST, "--scenario", SMOKE],
        "ready_timeout_s": 30,
        "swarm_form": {"user_count": "5", "spawn_rate": "5", "host": OUTSIDE_URL},
        "watch_s": 5,
    }
    return spec, 60


@case(_web_ui)
def test_locust_web_ui_listens_on_loopback_only_and_swarm_sends_nothing_outside(
    case_report: Callable[[], Report],
) -> None:
    report = case_report()
    assert report["loopback_answered"], _describe(report["locust"])
    problems = _capture_problems(report)
    if report["outside_refused"] is not True:
        how = "accepted" if report["outside_refused"] is False else "neither (timeout)"
        problems.append(f"the web UI on {OUTSIDE}:{report['web_port']} was {how}, not refused")
    assert not problems, "\n".join([*problems, f"/swarm answered {report['swarm']}"])


# -- 5. a worker loads whatever host its master sends -----------------------------------


def _evil_master() -> Spec:
    worker_argv = [*DVCLOAD, "worker", SMOKE, "--partition", "0/1", "--target", "@URL@",
                   "--master-host", "127.0.0.1", "--master-port", "@MASTER_PORT@"]  # fmt: skip
    spec = {
        "flow": "evil_master",
        "loopback": {"kind": "ok"},
        "master_host": OUTSIDE_URL,
        "load_s": 5,
        "connect_timeout_s": 20,
        "master_timeout_s": 40,
        "worker_timeout_s": 15,
        "worker_argv": worker_argv,
    }
    return spec, 60


@case(_evil_master)
def test_worker_told_an_outside_host_by_its_master_refuses_it(
    case_report: Callable[[], Report],
) -> None:
    report = case_report()
    said = report["master_said"]
    assert said and said["workers"] == 1, (
        f"the worker never connected to the master ({said}): {_describe(report['worker'])}"
    )
    problems = _capture_problems(report)
    stderr = report["worker"]["stderr_tail"].lower()
    if not any(word in stderr for word in ("refus", "not allowed", "loopback")):
        problems.append(f"the worker's stderr names no refusal: {_describe(report['worker'])}")
    assert not problems, "\n".join(
        [*problems, f"master: {said}; loopback target: {report['server']['requests']} requests"]
    )


# -- 6. several processes share one ceiling ---------------------------------------------


def _processes_3(tool: str) -> Spec:
    scenario = _scenario(
        "shared-ceiling", _closed(30), rate=10, target="@URL@", duration="5s", population=300
    )
    if tool == "locust":
        argv = [*LOCUST, "--scenario", "@WORK@/scenario.yaml", "--headless",
                "--processes", "3", "-t", "5s"]  # fmt: skip
    else:
        argv = [*DVCLOAD, "run", "@WORK@/scenario.yaml", "--processes", "3",
                "--duration", "5s", *OUT, "--quiet"]  # fmt: skip
    spec = {
        "loopback": {"kind": "portal"},
        "files": {"scenario.yaml": scenario},
        "steps": [_step(argv, 40)],
    }
    return spec, 60


@pytest.mark.parametrize("tool", ["locust", "dvcload"])
@case(_processes_3, alone=True)
def test_processes_3_share_the_ceiling_of_the_scenario(
    case_report: Callable[[], Report], tool: str
) -> None:
    report = case_report()
    step = report["steps"][0]
    times = report["server"]["times"]
    problems = _capture_problems(report)
    if len(times) < 20:
        problems.append(f"only {len(times)} requests reached the portal: {_describe(step)}")
    problems += _rate_problems(times, ceiling_per_s=10, run_burst=5, second_burst=5)
    assert not problems, "\n".join(problems)


def _master_and_workers(tool: str) -> Spec:
    scenario = _scenario(
        "shared-ceiling", _closed(20), rate=10, target="@URL@", duration="5s", population=300
    )
    if tool == "locust":
        master = [
            *LOCUST,
            "--scenario",
            "@WORK@/scenario.yaml",
            "--headless",
            "--master",
            "--expect-workers",
            "2",
            "--master-bind-port",
            "@FREE_PORT@",
            "-t",
            "5s",
        ]
        workers = [[*LOCUST, "--scenario", "@WORK@/scenario.yaml", "--worker",
                    "--master-port", "@FREE_PORT@"] for _ in range(2)]  # fmt: skip
    else:
        master = [
            *DVCLOAD,
            "run",
            "@WORK@/scenario.yaml",
            "--master",
            "2",
            "--master-port",
            "@FREE_PORT@",
            "--duration",
            "5s",
            *OUT,
            "--quiet",
        ]
        workers = [
            [*DVCLOAD, "worker", "@WORK@/scenario.yaml", "--partition", f"{k}/2",
             "--target", "@URL@", "--master-port", "@FREE_PORT@"]
            for k in range(2)
        ]  # fmt: skip
    spec = {
        "flow": "with_background",
        "loopback": {"kind": "portal"},
        "files": {"scenario.yaml": scenario},
        "background": [_step(argv, 40) for argv in workers],
        "steps": [_step(master, 45)],
    }
    return spec, 70


@pytest.mark.parametrize("tool", ["locust", "dvcload"])
@case(_master_and_workers, alone=True)
def test_a_master_and_two_separate_workers_share_the_ceiling(
    case_report: Callable[[], Report], tool: str
) -> None:
    """Workers started on their own: Locust's ``--worker`` does not know how many share
    the run and asks its master; ``dvcload worker --partition K/2`` knows."""
    report = case_report()
    times = report["server"]["times"]
    problems = _capture_problems(report)
    if len(times) < 20:
        problems.append(f"only {len(times)} requests reached the portal: "
                        f"{_describe(report['steps'][0])}")  # fmt: skip
    problems += _rate_problems(times, ceiling_per_s=10, run_burst=4, second_burst=4)
    assert not problems, "\n".join(problems)
