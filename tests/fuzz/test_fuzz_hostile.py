"""Hostile inputs through the real command line, one explicit case per finding.

The smaller findings of the security issue, each as the command a user (or an
attacker who controls a file) would run:

1. values echoed whole in messages (a 1.4 KB YAML alias bomb, megabyte values);
2. paths that are not regular files (``/dev/zero``, FIFOs) read without limit;
3. damaged results folders (as the run or as ``--baseline``) that exited 3;
4. command-line values without a range (ports, ``--out``, ``--master-bind``);
5. non-ASCII digits read as numbers (``--duration ١٠s`` was ten seconds).

Every case must exit 2 with one line of at most 300 characters on stderr, no
traceback, within 5 s of work (CPU seconds: the same on a busy machine as on a quiet
one; the wall clock only has a generous 30 s), in bounded memory: the child runs
under ``RLIMIT_AS`` of 1.5 GiB and its peak RSS must stay under 400 MB.

The work is counted after start-up: ``dvcload plan`` or ``report`` import NumPy,
SciPy and Matplotlib, which takes 1-3 s alone on these shared machines. So one server
process (a fork server, as ``multiprocessing``'s ``forkserver`` is one) first runs
every command's start-up, each refusing a file that does not exist (the least work a
refusal can do: its imports, and it must exit 2 too), and then forks a child per case
that runs ``python -m dvcload``'s main module with the case's arguments, working
folder and environment, under the limit; the work is the child's life, its CPU and
peak RSS the kernel's account of it (``wait4``). A case then costs its work, not a
new interpreter and its imports, and the work's figures do not depend on how busy
the machine was while some other process imported.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORK_BUDGET_S = 5.0  # CPU seconds
WORK_WALL_S = 30.0  # the wall clock's, for a machine shared with other tests
ADDRESS_SPACE_BYTES = 1536 * 1024 * 1024
MAX_RSS_MB = 400
MAX_LINE_CHARS = 300
HARD_TIMEOUT_S = 60.0

SCENARIO = "name: hostile\ntarget: embedded\nduration: 5s\nload: {users: 1}\n"
BUDGETS = 'budgets:\n  "*": ["p99 < 2s"]\n'


def alias_bomb(levels: int = 9) -> tuple[str, str]:
    """ "Billion laughs": 9**(levels+1) values in ~1.4 KB, as a ``junk:`` section, and the
    name of its last level (``*j`` for nine levels)."""
    names = "abcdefghijklmnopqrstuvwxy"[: levels + 1]
    lines = [f"  {names[0]}: &{names[0]} [x, x, x, x, x, x, x, x, x]"]
    for last, name in itertools.pairwise(names):
        lines.append(f"  {name}: &{name} [{', '.join([f'*{last}'] * 9)}]")
    return "junk:\n" + "\n".join(lines) + "\n", names[-1]


@dataclass(frozen=True)
class Result:
    code: int | None  # None: still running after its time limit, killed
    stderr: str
    work_s: float  # the child's life, from its fork to its exit
    work_cpu_s: float  # the CPU seconds of that work (user + system)
    max_rss_mb: float
    startup_code: int | None  # its command's start-up refusal: 2, or None without one
    startup_stderr: str
    reported: bool  # the child ended by itself (not killed after its time limit)


# The fork server: runs each command's start-up once (argv[1]: {command: argv}) and
# prints their exit codes and stderr; then, for each case read from stdin (one JSON
# line), forks a child that points stdin at /dev/null and stdout and stderr at the
# case's files, moves to its folder and environment, limits its address space and
# runs the case's code (``CHILD``: dvcload's main module); reaps it with wait4,
# killing it after the case's timeout_s; and prints its exit code, seconds, CPU seconds and
# peak RSS. Stdin closed: it ends. The start-ups gevent-patch the server, as they do
# every dvcload process: the child is forked as gevent forks (its loop made anew,
# ``fork_gevent``) but without gevent's child watcher, and the server never runs
# gevent's loop (the original ``sleep``), whose SIGCHLD handler would reap the child
# before wait4 could.
SERVER = f"""
import atexit, contextlib, io, json, os, resource, runpy, sys, time, traceback
from gevent import monkey
from gevent.os import fork_gevent
from dvcload.cli import main
startups = {{}}
for command, argv in json.loads(sys.argv[1]).items():
    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    startups[command] = [code, err.getvalue()]
sleep = monkey.get_original("time", "sleep")  # never gevent's: its loop would reap the child
print(json.dumps(startups), flush=True)
for line in sys.stdin:
    case = json.loads(line)
    started = time.monotonic()
    pid = fork_gevent()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, name in ((1, case["stdout"]), (2, case["stderr"])):
            os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        os.chdir(case["cwd"])
        os.environ.clear()
        os.environ.update(case["env"])
        resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_BYTES}, {ADDRESS_SPACE_BYTES}))
        sys.argv = ["dvcload", *case["argv"]]
        try:
            exec(case["child"])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # as Python exits, less the teardown of the server's modules
    code = None
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() - started > case["timeout_s"]:
            os.kill(pid, 9)
            _, status, usage = os.wait4(pid, 0)
            break
        sleep(0.005)
    print(json.dumps({{"code": code, "work_s": time.monotonic() - started,
                      "work_cpu_s": usage.ru_utime + usage.ru_stime,
                      "max_rss_kib": usage.ru_maxrss}}), flush=True)
"""
CHILD = 'runpy.run_module("dvcload", run_name="__main__", alter_sys=True)\n'


def startup_argvs(folder: Path) -> dict[str, list[str]]:
    """Each command refusing a file that does not exist (under ``folder``)."""
    missing = str(folder / "missing")
    return {
        "run": ["run", missing], "worker": ["worker", missing, "--partition", "0/1"],
        "portal": ["portal", "--config", missing], "plan": ["plan", missing],
        "gate": ["gate", missing], "report": ["report", missing],
        "calibrate": ["calibrate", missing], "population": ["population", "--size", "1",
        "--seed", "1", "--out", str(folder / "no" / "p.csv")], "validate": ["validate",
        "--out", str(folder / "a"), "--points", "x"],
    }  # fmt: skip


class ForkServer:
    """The server process (``SERVER``) and the cases sent to it, one at a time."""

    def __init__(self, folder: Path) -> None:
        startups = startup_argvs(folder)
        self.log = folder / "fork-server.stderr"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVER, json.dumps(startups)], cwd=folder,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip
        self.startups: dict[str, list[Any]] = json.loads(self._reply())

    def run(
        self, argv: list[str], cwd: Path, *, child: str = CHILD, timeout_s: float = HARD_TIMEOUT_S
    ) -> Result:
        """``python -m dvcload ARGV`` in ``cwd`` (or ``child``'s code), as a child of the
        server under RLIMIT_AS, with the seconds and CPU of its work and its peak RSS;
        killed after ``timeout_s``."""
        stdout, stderr = cwd / ".child-stdout", cwd / ".child-stderr"
        case = {"argv": argv, "cwd": str(cwd), "env": dict(os.environ), "child": child,
                "stdout": str(stdout), "stderr": str(stderr), "timeout_s": timeout_s}  # fmt: skip
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        report = json.loads(self._reply())
        startup = self.startups.get(argv[0]) if argv else None
        code, text = startup if startup is not None else (None, "")
        return Result(
            report["code"], stderr.read_text(encoding="utf-8", errors="replace"),
            work_s=report["work_s"], work_cpu_s=report["work_cpu_s"],
            max_rss_mb=report["max_rss_kib"] / 1024,  # ru_maxrss is in KiB on Linux
            startup_code=code, startup_stderr=text, reported=report["code"] is not None,
        )  # fmt: skip

    def _reply(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server ended: {self.log.read_text()[-2000:]}")
        return line

    def close(self) -> None:
        """Stdin closed, the server ends; killed if it has not within 10 s."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    forks = ForkServer(tmp_path_factory.mktemp("fork-server"))
    try:
        yield forks
    finally:
        forks.close()


# -- what the cases need on disk ------------------------------------------------------------
def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _fifo(folder: Path, name: str) -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


def _run_folder(folder: Path, name: str = "run") -> Path:
    from analysis.synthetic import EndpointModel, RunModel, write_synthetic_run

    model = RunModel(endpoints={"POST /dossiers": EndpointModel(median_ms=10)}, duration_s=10.0)
    return write_synthetic_run(folder / name, model, rng=1)


def _damaged_run(folder: Path, damage: Callable[[Path], None]) -> Path:
    run = _run_folder(folder, "damaged")
    damage(run)
    return run


def _set_histogram(value: str | None) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        data = json.loads((run / "histograms.json").read_text(encoding="utf-8"))
        entry = data["endpoints"]["POST /dossiers"]
        if value is None:
            del entry["histogram"]
        else:
            entry["histogram"] = value
        (run / "histograms.json").write_text(json.dumps(data), encoding="utf-8")

    return damage


def _replace(name: str, text: str) -> Callable[[Path], None]:
    return lambda run: (run / name).write_text(text, encoding="utf-8")


def _unreadable(name: str, kind: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink()
        if kind == "fifo":
            os.mkfifo(run / name)
        else:
            (run / name).symlink_to("/dev/zero")

    return damage


NOT_ZLIB = base64.b64encode(struct.pack(">II", 0x1C849304, 8) + b"not zlib").decode()
DEEP = "[" * 100_000 + "]" * 100_000


# -- the cases: (finding, argv builder, fragment of the one line) ---------------------------
Build = Callable[[Path], list[str]]


def _bomb_scenario(field: str) -> Build:
    def build(d: Path) -> list[str]:
        bomb, last = alias_bomb()
        text = SCENARIO.replace("load: {users: 1}\n", "") + bomb
        text += "load:\n  users: 1\n" if field != "load.users" else ""
        text += {"load.users": f"load:\n  users: *{last}\n", "seed": f"seed: *{last}\n",
                 "budgets": f"budgets:\n  total: *{last}\n"}[field]  # fmt: skip
        return ["run", str(_write(d, "bomb.yaml", text)), "--out", str(d / "out")]

    return build


def _bomb_budgets(d: Path) -> list[str]:
    bomb, last = alias_bomb()
    budgets = _write(d, "budgets.yaml", f"{bomb}budgets:\n  total: *{last}\n")
    return ["run", str(_write(d, "s.yaml", SCENARIO)), "--budgets", str(budgets),
            "--out", str(d / "out")]  # fmt: skip


def _bomb_portal_config(d: Path) -> list[str]:
    bomb, last = alias_bomb()
    return ["portal", "--config", str(_write(d, "portal.yaml", f"{bomb}seed: *{last}\n"))]


def _bomb_plan(d: Path) -> list[str]:
    bomb, last = alias_bomb()
    text = (REPO / "scenarios" / "national-plan.yaml").read_text(encoding="utf-8")
    text = bomb + text.replace("  interval: 1h\n", f"  interval: *{last}\n")
    return ["plan", str(_write(d, "plan.yaml", text))]


def _scenario_with(line: str) -> Build:
    def build(d: Path) -> list[str]:
        text = SCENARIO.replace("duration: 5s\n", "duration: 5s\n" + line)
        return ["run", str(_write(d, "s.yaml", text)), "--out", str(d / "out")]

    return build


def _csv_rate(kind: str) -> Build:
    def build(d: Path) -> list[str]:
        (d / "counts.csv").symlink_to("/dev/zero") if kind == "device" else _fifo(d, "counts.csv")
        text = ("name: csv\nload:\n  model: open\n  max_concurrency: 5\n"
                "  rate: {csv: {file: counts.csv, interval: 10s}}\n")  # fmt: skip
        return ["run", str(_write(d, "s.yaml", text)), "--out", str(d / "out")]

    return build


def _gate(damage: Callable[[Path], None], *, baseline: bool = False) -> Build:
    def build(d: Path) -> list[str]:
        damaged = _damaged_run(d, damage)
        budgets = str(_write(d, "budgets.yaml", BUDGETS))
        if baseline:
            return ["gate", str(_run_folder(d)), "--baseline", str(damaged), "--budgets", budgets]
        return ["gate", str(damaged), "--budgets", budgets, "--quiet"]

    return build


def _with_scenario(*args: str) -> Build:
    return lambda d: ["run", str(_write(d, "s.yaml", SCENARIO)), "--out", str(d / "out"), *args]


def _worker(*args: str) -> Build:
    return lambda d: ["worker", str(_write(d, "s.yaml", SCENARIO)), "--partition", "0/1", *args]


def _file(d: Path) -> Path:
    return _write(d, "a-file", "x")


CASES: list[tuple[str, Build, str]] = [
    # 1. values in messages: alias bombs anywhere, and megabyte values
    ("bomb-load-users", _bomb_scenario("load.users"), "anchors and aliases"),
    ("bomb-seed", _bomb_scenario("seed"), "anchors and aliases"),
    ("bomb-budget-in-scenario", _bomb_scenario("budgets"), "anchors and aliases"),
    ("bomb-budgets-file", _bomb_budgets, "anchors and aliases"),
    ("bomb-portal-config", _bomb_portal_config, "anchors and aliases"),
    ("bomb-plan-interval", _bomb_plan, "anchors and aliases"),
    ("megabyte-seed", _scenario_with(f"seed: '{'9' * 1_000_000}'\n"), "not a whole number"),
    ("wide-list-seed", _scenario_with(f"seed: [{'x, ' * 300_000}x]\n"), "not a whole number"),
    ("5000-digit-seed", _scenario_with(f"seed: 0x{'f' * 5000}\n"), "out of range"),
    (
        "megabyte-budget",
        lambda d: [
            "run",
            str(_write(d, "s.yaml", SCENARIO)),
            "--budgets",
            str(_write(d, "b.yaml", f'budgets:\n  "*": ["p95 < {"9" * 1_000_000}"]\n')),
        ],
        "needs a unit",
    ),
    ("megabyte-argument", lambda d: ["gate", "x" * 100_000], "at most 4,096 are allowed"),
    ("megabyte-choice", lambda d: ["plan", "x.yaml", "--method", "m" * 100_000], "invalid choice"),
    ("megabyte-extra", lambda d: ["report", "x", "y" * 100_000], "unrecognized arguments"),
    # 2. paths that are not regular files, and files too large
    ("scenario-dev-zero", lambda d: ["run", "/dev/zero"], "is a character device"),
    ("scenario-fifo", lambda d: ["run", str(_fifo(d, "s.yaml"))], "is a FIFO"),
    (
        "scenario-5MiB",
        lambda d: ["run", str(_write(d, "s.yaml", "#" * 5 * 2**20))],
        "at most 4,194,304",
    ),
    ("budgets-dev-zero", _with_scenario("--budgets", "/dev/zero"), "is a character device"),
    (
        "gate-budgets-fifo",
        lambda d: ["gate", str(_run_folder(d)), "--budgets", str(_fifo(d, "b.yaml"))],
        "is a FIFO",
    ),
    ("rate-csv-fifo", _csv_rate("fifo"), "is a FIFO"),
    ("rate-csv-dev-zero", _csv_rate("device"), "is a character device"),
    (
        "plan-model-fifo",
        lambda d: [
            "plan",
            str(REPO / "scenarios" / "national-plan.yaml"),
            "--model",
            str(_fifo(d, "model.yaml")),
        ],
        "is a FIFO",
    ),
    ("portal-config-dev-zero", lambda d: ["portal", "--config", "/dev/zero"], "character device"),
    (
        "portal-population-fifo",
        lambda d: ["portal", "--population", str(_fifo(d, "p.csv"))],
        "is a FIFO",
    ),
    ("gate-summary-fifo", _gate(_unreadable("summary.json", "fifo")), "is a FIFO"),
    (
        "report-histograms-dev-zero",
        lambda d: ["report", str(_damaged_run(d, _unreadable("histograms.json", "device")))],
        "character device",
    ),
    (
        "calibrate-summary-fifo",
        lambda d: [
            "calibrate",
            str(_damaged_run(d, _unreadable("summary.json", "fifo"))),
            "--out",
            str(d / "m.yaml"),
        ],
        "is a FIFO",
    ),
    # 3. damaged results folders, as the run and as the baseline
    ("gate-nan", _gate(_replace("summary.json", '{"endpoints": {}, "duration_s": NaN}')), "NaN"),
    ("gate-deep-summary", _gate(_replace("summary.json", DEEP)), "nested too deeply"),
    ("gate-deep-histograms", _gate(_replace("histograms.json", DEEP)), "nested too deeply"),
    ("gate-bad-base64", _gate(_set_histogram("HISTF!!not base64")), "invalid base64"),
    ("gate-bad-zlib", _gate(_set_histogram(NOT_ZLIB)), "invalid zlib data"),
    ("gate-missing-key", _gate(_set_histogram(None)), "no 'histogram'"),
    (
        "baseline-nan",
        _gate(_replace("summary.json", '{"endpoints": {}, "duration_s": NaN}'), baseline=True),
        "NaN",
    ),
    ("baseline-deep", _gate(_replace("histograms.json", DEEP), baseline=True), "nested too"),
    ("baseline-bad-zlib", _gate(_set_histogram(NOT_ZLIB), baseline=True), "invalid zlib"),
    ("baseline-missing-key", _gate(_set_histogram(None), baseline=True), "no 'histogram'"),
    # 4. command-line values out of range
    (
        "out-is-a-file",
        lambda d: ["run", str(_write(d, "s.yaml", SCENARIO)), "--out", str(_file(d))],
        "is not a folder",
    ),
    (
        "out-under-a-file",
        lambda d: ["run", str(_write(d, "s.yaml", SCENARIO)), "--out", str(_file(d) / "sub")],
        "which is not a folder",
    ),
    ("out-is-the-root", _with_scenario("--out", "/"), "root of the file system"),
    (
        "master-bind-a-name",
        _with_scenario("--master", "1", "--master-bind", "no such host"),
        "an IP address",
    ),
    ("master-port-70000", _with_scenario("--master-port", "70000"), "out of range"),
    ("worker-master-port-70000", _worker("--master-port", "70000"), "out of range"),
    ("worker-master-port-0", _worker("--master-port", "0"), "out of range"),
    ("portal-port-70000", lambda d: ["portal", "--port", "70000"], "out of range"),
    ("users-10e25", _with_scenario("--users", "1" + "0" * 25), "out of range"),
    (
        "population-size-0",
        lambda d: ["population", "--size", "0", "--seed", "1", "--out", str(d / "p.csv")],
        "out of range",
    ),
    ("plan-samples-0", lambda d: ["plan", "x.yaml", "--samples", "0"], "out of range"),
    ("validate-seed-negative", lambda d: ["validate", "--seed", "-1"], "out of range"),
    ("portal-servers-0", lambda d: ["portal", "--servers", "0"], "out of range"),
    # 5. digits are ASCII
    ("duration-arabic-indic", _with_scenario("--duration", "١٠s"), "is not a duration"),
    ("users-arabic-indic", _with_scenario("--users", "٣"), "a whole number"),
    ("seed-devanagari", _with_scenario("--seed", "१"), "a whole number"),
    ("arrival-rate-fullwidth", _with_scenario("--arrival-rate", "１０"), "a number"),
    ("processes-arabic-indic", _with_scenario("--processes", "٢"), "a whole number"),
    ("portal-port-arabic-indic", lambda d: ["portal", "--port", "٨٠٨٠"], "a whole number"),
    (
        "population-partition",
        lambda d: [
            "population",
            "--size",
            "10",
            "--seed",
            "1",
            "--partition",
            "٠/٢",
            "--out",
            str(d / "p.csv"),
        ],
        "K/N",
    ),
    ("worker-partition", lambda d: ["worker", "s.yaml", "--partition", "٠/٢"], "K/N"),
    (
        "plan-surge",
        lambda d: ["plan", str(REPO / "scenarios" / "national-plan.yaml"), "--surge", "٢x"],
        "is not a factor",
    ),
    (
        "scenario-duration",
        lambda d: [
            "run",
            str(_write(d, "s.yaml", SCENARIO.replace("5s", "٥s"))),
            "--out",
            str(d / "out"),
        ],
        "is not a duration",
    ),
    (
        "budget-percentile",
        lambda d: [
            "run",
            str(_write(d, "s.yaml", SCENARIO + 'budgets:\n  "*": ["p٩٩ < 2s"]\n')),
            "--out",
            str(d / "out"),
        ],
        "not an expression",
    ),
]


@pytest.mark.parametrize(("name", "build", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_input_exits_2_on_one_short_line_quickly_in_bounded_memory(
    server: ForkServer, tmp_path: Path, name: str, build: Build, fragment: str
) -> None:
    argv = build(tmp_path)
    result = server.run(argv, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    where = f"{name}: {result.stderr[-600:]!r}"
    assert result.code is not None, f"still running after {HARD_TIMEOUT_S:.0f} s: {argv[:3]}"
    assert result.reported, f"the child did not exit normally: {result.stderr[-300:]!r}"
    assert result.startup_code == 2, (name, result.startup_stderr)
    assert result.code == 2, where
    assert len(lines) == 1, where
    assert "Traceback" not in result.stderr, where
    assert len(lines[0]) <= MAX_LINE_CHARS, where
    assert fragment in lines[0], where
    assert result.work_cpu_s < WORK_BUDGET_S, (name, result.work_cpu_s, WORK_BUDGET_S)
    assert result.work_s < WORK_WALL_S, (name, result.work_s, WORK_WALL_S)
    assert result.max_rss_mb < MAX_RSS_MB, (name, result.max_rss_mb)
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), "a results folder was left behind"


def test_the_harness_sees_the_memory_the_limit_the_exit_code_and_the_work(
    server: ForkServer, tmp_path: Path
) -> None:
    """The measurements themselves: a child that fills 300 MB is seen at 300 MB, one that
    asks for more than the limit fails instead of growing, the start-up's refusal is
    seen and kept off stderr, a child that sleeps shows seconds without CPU and one
    that spins shows its CPU, a child that hangs is killed, and every case is a child
    of its own (a case's state does not reach the next)."""
    gate = ["gate", "missing"]
    fat = server.run(gate, tmp_path, child="bytearray(300 * 2**20); time.sleep(0.5); sys.exit(3)")
    assert fat.code == 3 and fat.reported and fat.max_rss_mb > 250
    assert fat.startup_code == 2 and "missing" in fat.startup_stderr and not fat.stderr
    assert fat.work_s >= 0.5 and fat.work_cpu_s <= fat.work_s - 0.45  # it slept: no CPU
    spin = "t = time.process_time()\nwhile time.process_time() - t < 0.5: pass\n"
    busy = server.run(gate, tmp_path, child=spin + CHILD)
    assert busy.code == 2 and busy.work_cpu_s >= 0.5  # it worked: CPU seconds
    assert "no such results folder" in busy.stderr and busy.work_s >= 0.5
    huge = server.run(gate, tmp_path, child="bytearray(2 * 2**30)")
    assert huge.code == 1 and "MemoryError" in huge.stderr
    quick = server.run(["--version"], tmp_path)
    assert quick.code == 0 and quick.startup_code is None and 0 < quick.max_rss_mb < MAX_RSS_MB
    mark = server.run(gate, tmp_path, child="os.environ['LEAK'] = '1'; json.LEAK = 1")
    after = server.run(gate, tmp_path, child="sys.exit(4 if hasattr(json, 'LEAK') else 5)")
    assert mark.code == 0 and after.code == 5


def test_a_case_that_hangs_is_killed_and_said_so(server: ForkServer, tmp_path: Path) -> None:
    hung = server.run(["gate", "missing"], tmp_path, child="time.sleep(30)", timeout_s=1.0)
    assert hung.code is None and not hung.reported and 1.0 <= hung.work_s < 10
    assert server.run(["gate", "missing"], tmp_path).code == 2  # and the server goes on
