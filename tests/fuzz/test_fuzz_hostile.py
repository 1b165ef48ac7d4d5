"""Hostile inputs through the real command line, one explicit case per finding.

The smaller findings of the security issue, each as the command a user (or an
attacker who controls a file) would run:

1. values echoed whole in messages (a 1.4 KB YAML alias bomb, megabyte values);
2. paths that are not regular files (``/dev/zero``, FIFOs) read without limit;
3. damaged results folders (as the run or as ``--baseline``) that exited 3;
4. command-line values without a range (ports, ``--out``, ``--master-bind``);
5. non-ASCII digits read as numbers (``--duration ١٠s`` was ten seconds).

Every case must exit 2 with one line of at most 300 characters on stderr, no
traceback, within 5 s of work, in bounded memory: the child runs under
``RLIMIT_AS`` of 1.5 GiB and its peak RSS (``os.wait4``) must stay under 400 MB.

The 5 s are counted after start-up: ``dvcload plan`` or ``report`` import NumPy,
SciPy and Matplotlib, which takes 1-3 s alone on these shared machines. So each
command's start-up is measured once, as the same command refusing a file that does
not exist (the least work a refusal can do), and a case may take that plus 5 s.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORK_BUDGET_S = 5.0
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
    code: int
    stderr: str
    elapsed_s: float
    max_rss_mb: float


# The child sets its own address-space limit before anything else, reports its own
# peak RSS when it exits, and runs ``python -m dvcload``. (Not preexec_fn, unsafe in a
# process with threads; not os.wait4: under gevent, as in this test process, gevent's
# SIGCHLD handler reaps every child first.)
LIMITED = (
    "import atexit, os, resource, runpy, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_BYTES}, {ADDRESS_SPACE_BYTES})); "
    "report = os.environ['DVCLOAD_TEST_RSS_FILE']; "
    "atexit.register(lambda: open(report, 'w').write("
    "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))); "
    "sys.argv[0] = 'dvcload'; runpy.run_module('dvcload', run_name='__main__', alter_sys=True)"
)


def run_dvcload(argv: list[str], cwd: Path) -> Result:
    """``python -m dvcload ARGV`` under RLIMIT_AS, with its wall time and peak RSS."""
    rss_file = cwd / ".max_rss_kib"
    rss_file.unlink(missing_ok=True)
    env = {**os.environ, "DVCLOAD_TEST_RSS_FILE": str(rss_file)}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", LIMITED, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=HARD_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {HARD_TIMEOUT_S:.0f} s: dvcload {argv[:3]}")
    elapsed_s = time.perf_counter() - started
    stderr = proc.stderr.decode("utf-8", errors="replace")
    assert rss_file.exists(), f"the child did not exit normally: {stderr[-300:]!r}"
    max_rss_mb = int(rss_file.read_text()) / 1024  # ru_maxrss is in KiB on Linux
    return Result(proc.returncode, stderr, elapsed_s, max_rss_mb)


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


@pytest.fixture(scope="module")
def startup_s(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """Each command's time to refuse a file that does not exist: start-up and imports."""
    folder = tmp_path_factory.mktemp("startup")
    missing = str(folder / "missing")
    commands = {
        "run": ["run", missing], "worker": ["worker", missing, "--partition", "0/1"],
        "portal": ["portal", "--config", missing], "plan": ["plan", missing],
        "gate": ["gate", missing], "report": ["report", missing],
        "calibrate": ["calibrate", missing], "population": ["population", "--size", "1",
        "--seed", "1", "--out", str(folder / "no" / "p.csv")], "validate": ["validate",
        "--out", str(folder / "a"), "--points", "x"],
    }  # fmt: skip
    times = {}
    for name, argv in commands.items():
        results = [run_dvcload(argv, folder) for _ in range(2)]
        assert all(r.code == 2 for r in results), (name, results[0].stderr)
        times[name] = min(r.elapsed_s for r in results)
    return times


@pytest.mark.parametrize(("name", "build", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_input_exits_2_on_one_short_line_quickly_in_bounded_memory(
    tmp_path: Path, startup_s: dict[str, float], name: str, build: Build, fragment: str
) -> None:
    argv = build(tmp_path)
    result = run_dvcload(argv, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    where = f"{name}: {result.stderr[-600:]!r}"
    assert result.code == 2, where
    assert len(lines) == 1, where
    assert "Traceback" not in result.stderr, where
    assert len(lines[0]) <= MAX_LINE_CHARS, where
    assert fragment in lines[0], where
    budget_s = startup_s[argv[0]] + WORK_BUDGET_S
    assert result.elapsed_s < budget_s, (name, result.elapsed_s, budget_s)
    assert result.max_rss_mb < MAX_RSS_MB, (name, result.max_rss_mb)
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), "a results folder was left behind"


def test_the_harness_sees_the_memory_the_limit_and_the_exit_code(tmp_path: Path) -> None:
    """The measurements themselves: a child that fills 300 MB is seen at 300 MB, and one
    that asks for more than the limit fails instead of growing."""
    rss_file = tmp_path / ".max_rss_kib"
    env = {**os.environ, "DVCLOAD_TEST_RSS_FILE": str(rss_file)}
    fat = LIMITED.replace("sys.argv[0] = 'dvcload'; ", "bytearray(300 * 2**20); sys.exit(3); ")
    proc = subprocess.run([sys.executable, "-c", fat], env=env, check=False, timeout=60)
    assert proc.returncode == 3
    assert int(rss_file.read_text()) / 1024 > 250
    huge = LIMITED.replace("sys.argv[0] = 'dvcload'; ", "bytearray(2 * 2**30); ")
    refused = subprocess.run(
        [sys.executable, "-c", huge], env=env, check=False, timeout=60, capture_output=True
    )
    assert refused.returncode == 1 and b"MemoryError" in refused.stderr
    quick = run_dvcload(["--version"], tmp_path)
    assert quick.code == 0 and 0 < quick.max_rss_mb < MAX_RSS_MB
