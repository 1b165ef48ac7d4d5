"""Fuzzing the command line: malformed files and arguments for ``dvcload run``,
``population``, ``plan``, ``portal`` and ``gate``, chosen by Hypothesis with a fixed seed.

Each case is first checked in-process with the same functions the command calls
before it creates anything, and kept only if they refuse it (a valid case would start
a load or a portal). Then the command must exit 2 with exactly one line on stderr,
no traceback, and leave no results folder behind.

Every case runs through :func:`dvcload.cli.main` in-process (a refusal needs no gevent,
and a ``python -m dvcload`` start-up costs 1-2 s of imports); should one be accepted
after all, starting the load or binding the portal's socket fails the case instead of
serving. The first case of each command also runs as a real ``python -m dvcload``
process: the exit code and stderr of the process itself.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fuzz_inputs import (
    NASTY_TEXT,
    PORTAL_CONFIGS,
    SCENARIOS,
    loads_or_fails_cleanly,
    mutated_document,
    read_yaml,
    refused_by_argparse,
    resolve_run_arguments,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from inprocess import run_main

from dvcschema.budgets import load_budgets_file
from portal.config import resolve_config

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CASES = {"run": 12, "population": 7, "plan": 7, "portal": 7, "gate": 7}
CASE_TIMEOUT_S = 60
WORKERS = 2
NUMBERS = st.one_of(
    NASTY_TEXT,
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["0", "-1", "1.5", "1e3", "nan", "3/2", "2/2", "0/0", "x"]),
).filter(lambda v: not v.startswith("-h") and "\x00" not in v)


@dataclass
class Case:
    command: str
    argv: list[str]
    folder: Path

    def describe(self) -> str:
        return " ".join(repr(a) if " " in a or not a else a for a in self.argv)[:300]


class Cases:
    """Makes a fresh folder per candidate case; keeps those that are refused."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._numbers = itertools.count()
        self.gate_run = root / "gate-run"

    def folder(self) -> Path:
        path = self.root / f"case-{next(self._numbers)}"
        path.mkdir()
        return path

    def write(self, name: str, text: str) -> Path:
        path = self.folder() / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return path


def _refused(check: Callable[[], object]) -> bool:
    with contextlib.redirect_stdout(io.StringIO()):
        return not loads_or_fails_cleanly(check)


# -- candidates ------------------------------------------------------------------------------
def run_cases(cases: Cases) -> st.SearchStrategy[Case]:
    bases = [read_yaml(p) for p in SCENARIOS if p.stem != "national-plan"]

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        scenario = cases.write(
            "scenario.yaml", draw(st.sampled_from(bases).flatmap(mutated_document))
        )
        argv = ["run", str(scenario), "--out", str(scenario.parent / "out"), "--quiet"]
        if draw(st.booleans()):
            option = draw(st.sampled_from(["--duration", "--users", "--target", "--processes"]))
            argv += [option, draw(NUMBERS)]
        return Case("run", argv, scenario.parent)

    return build().filter(lambda case: _refused(lambda: resolve_run_arguments(case.argv)))


def population_cases(cases: Cases) -> st.SearchStrategy[Case]:
    @st.composite
    def build(draw: st.DrawFn) -> Case:
        folder = cases.folder()
        out = draw(st.sampled_from(["p.csv", "p.jsonl", "p.txt", "missing/p.csv", "p"]))
        argv = ["population", "--size", draw(NUMBERS), "--seed", draw(NUMBERS),
                "--out", str(folder / out), "--partition", draw(NUMBERS)]  # fmt: skip
        return Case("population", argv, folder)

    def refused(case: Case) -> bool:
        from dvcload.commands.population import _check_arguments

        return _refused(lambda: _check_arguments(refused_by_argparse(case.argv)))

    return build().filter(refused)


def plan_cases(cases: Cases) -> st.SearchStrategy[Case]:
    base = read_yaml(next(p for p in SCENARIOS if p.stem == "national-plan"))

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        scenario = cases.write("plan.yaml", draw(mutated_document(base)))
        argv = ["plan", str(scenario), "--surge", draw(st.sampled_from(["1", "2x", "0", "x"]))]
        return Case("plan", argv, scenario.parent)

    def refused(case: Case) -> bool:
        from dvcload.commands import plan

        return _refused(lambda: plan.run(refused_by_argparse(case.argv)))

    return build().filter(refused)


def portal_cases(cases: Cases) -> st.SearchStrategy[Case]:
    bases = [read_yaml(p) for p in PORTAL_CONFIGS]

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        config = cases.write("portal.yaml", draw(st.sampled_from(bases).flatmap(mutated_document)))
        argv = ["portal", "--config", str(config), "--port", "0"]
        if draw(st.booleans()):
            argv += [
                draw(st.sampled_from(["--servers", "--service-time-ms", "--seed"])),
                draw(NUMBERS),
            ]
        return Case("portal", argv, config.parent)

    def refused(case: Case) -> bool:
        def check() -> None:
            args = refused_by_argparse(case.argv)
            resolve_config(
                args.config,
                servers=args.servers,
                service_time_ms=args.service_time_ms,
                seed=args.seed,
            )

        return _refused(check)

    return build().filter(refused)


def gate_cases(cases: Cases) -> st.SearchStrategy[Case]:
    budgets = {"budgets": {"*": ["p99 < 2s"], "POST /dossiers": ["p95 < 800ms"]}}

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        path = cases.write("budgets.yaml", draw(mutated_document(budgets)))
        return Case("gate", ["gate", str(cases.gate_run), "--budgets", str(path)], path.parent)

    return build().filter(lambda case: _refused(lambda: load_budgets_file(case.argv[-1])))


BUILDERS: dict[str, Callable[[Cases], st.SearchStrategy[Case]]] = {
    "run": run_cases,
    "population": population_cases,
    "plan": plan_cases,
    "portal": portal_cases,
    "gate": gate_cases,
}


def collect(strategy: st.SearchStrategy[Case], count: int) -> list[Case]:
    """``count`` cases drawn by Hypothesis with a fixed seed (the same cases every run)."""
    found: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def gather(case: Case) -> None:
        found.append(case)

    gather()
    return found[:count]


# -- running them ------------------------------------------------------------------------------
def run_in_process(case: Case) -> subprocess.CompletedProcess[str]:
    """``dvcload ARGV`` through :func:`main` in this process, in the case's folder, as a
    process would see it: exit code (argparse exits by SystemExit), stdout and stderr.
    A change to the process's state (logging, signal handlers, working folder,
    environment) is reported on stderr, as a problem of the case."""
    return run_main(case.argv, cwd=case.folder)


def run_all(
    cases: list[Case], dvcload_cmd: list[str]
) -> list[tuple[Case, subprocess.CompletedProcess[str]]]:
    """Run the cases as real ``dvcload`` processes, :data:`WORKERS` at a time."""
    pending = list(cases)
    running: list[tuple[Case, subprocess.Popen[str]]] = []
    results = []
    while pending or running:
        while pending and len(running) < WORKERS:
            case = pending.pop(0)
            child = subprocess.Popen(
                [*dvcload_cmd, *case.argv], cwd=case.folder, text=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                errors="replace",
            )  # fmt: skip
            running.append((case, child))
        case, child = running.pop(0)
        try:
            stdout, stderr = child.communicate(timeout=CASE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            stdout, stderr = child.communicate()
        results.append(
            (case, subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr))
        )
    return results


class WouldStartError(AssertionError):
    """A refused case got as far as starting a load or a portal."""


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In this process, starting a load or binding the portal's socket fails instead."""
    import dvcload.orchestrate
    import portal.server

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise WouldStartError("a refused case would have started a load or a portal")

    monkeypatch.setattr(dvcload.orchestrate, "execute_run", refuse)
    monkeypatch.setattr(portal.server, "bind_socket", refuse)
    yield


def _problems(case: Case, proc: subprocess.CompletedProcess[str]) -> list[str]:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    problems = []
    if proc.returncode != 2:
        problems.append(f"exit code {proc.returncode}")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    if "Traceback" in proc.stderr:
        problems.append("a traceback")
    out = case.folder / "out"
    if case.command == "run" and out.exists() and any(out.rglob("summary.json")):
        problems.append("a results folder with a summary.json")
    return [f"{case.describe()}: {', '.join(problems)}: {proc.stderr[-400:]!r}"] if problems else []


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from analysis.synthetic import EndpointModel, RunModel, write_synthetic_run

    model = RunModel(endpoints={"POST /dossiers": EndpointModel(median_ms=10)}, duration_s=10.0)
    return write_synthetic_run(tmp_path_factory.mktemp("gate") / "run", model, rng=1)


@pytest.fixture(scope="module")
def chosen(tmp_path_factory: pytest.TempPathFactory, gate_run: Path) -> list[Case]:
    """The cases (the same every run), each in its own folder."""
    cases = Cases(tmp_path_factory.mktemp("cases"))
    cases.gate_run = gate_run
    return [case for name, n in CASES.items() for case in collect(BUILDERS[name](cases), n)]


def test_malformed_input_through_the_command_line_exits_2_with_one_line(
    chosen: list[Case], nothing_starts: None
) -> None:
    for name, n in CASES.items():
        assert sum(c.command == name for c in chosen) >= n // 2, name
    results = [(case, run_in_process(case)) for case in chosen]
    problems = [p for case, proc in results for p in _problems(case, proc)]
    assert not problems, "\n".join(problems)
    assert len(results) >= 40


def test_malformed_input_through_a_real_process_exits_2_with_one_line(
    chosen: list[Case], dvcload_cmd: list[str]
) -> None:
    """The first case of each command as ``python -m dvcload``: the process's own exit
    code and stderr (start-up and interpreter exit included)."""
    sample = [next(c for c in chosen if c.command == name) for name in CASES]
    results = run_all(sample, dvcload_cmd)
    problems = [p for case, proc in results for p in _problems(case, proc)]
    assert not problems, "\n".join(problems)
    assert sorted(case.command for case, _ in results) == sorted(CASES)


def test_the_checks_catch_a_traceback_a_wrong_code_and_a_complete_folder(tmp_path: Path) -> None:
    case = Case("run", ["run", "x.yaml"], tmp_path)
    (tmp_path / "out" / "20260101T000000Z-x").mkdir(parents=True)
    (tmp_path / "out" / "20260101T000000Z-x" / "summary.json").write_text("{}", encoding="utf-8")
    crashed = subprocess.CompletedProcess([], 1, "", "Traceback (most recent call last):\n  boom\n")
    (problem,) = _problems(case, crashed)
    for part in ("exit code 1", "2 lines on stderr", "a traceback", "summary.json"):
        assert part in problem
    clean = subprocess.CompletedProcess([], 2, "", "dvcload run: error: x.yaml: no such file\n")
    assert _problems(Case("run", ["run"], tmp_path / "elsewhere"), clean) == []
