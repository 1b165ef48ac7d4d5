"""The flow of one run (DESIGN.md): population → target → Locust → results folder.

Imports Locust, so the process must already be monkey-patched by gevent (the
command line does that first for ``dvcload run``).
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from analysis.report import write_report
from analysis.summary import build_summary, section_figures
from dvcschema.errors import ConfigError
from dvcschema.scenario import Scenario
from loadgen.export import write_population
from loadgen.journeys import tag_index
from loadgen.population import generate_population
from loadgen.results import build_manifest, create_run_folder, write_json, write_jsonl
from loadgen.runner import LoadRun, MasterOptions, Progress, run_load
from loadgen.workload import Workload, build_workload

log = logging.getLogger("dvcload")


def execute_run(
    scenario: Scenario,
    *,
    out_root: Path,
    on_progress: Callable[[Progress], None] | None = None,
    distribution: Distribution | None = None,
) -> tuple[Path, bool]:
    """Run ``scenario``; return the results folder and whether any request succeeded."""
    started_at = time.time()
    folder = create_run_folder(out_root, scenario.name, started_at)
    handler = _log_to(folder / "run.log")
    try:
        return folder, _execute(scenario, folder, on_progress, distribution or Distribution())
    except ConfigError:
        shutil.rmtree(folder, ignore_errors=True)  # nothing was measured: leave no folder
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


@dataclass(frozen=True)
class Distribution:
    """Where the users run: here (``processes=1``), in local worker processes
    (``processes=N``, Locust's master/worker protocol over 127.0.0.1), or in workers on
    other machines (``remote_workers=N``: start ``dvcload worker`` there)."""

    processes: int = 1
    remote_workers: int = 0
    bind_host: str = "127.0.0.1"
    bind_port: int | None = None

    def master(self, stack: ExitStack, folder: Path, host: str) -> MasterOptions | None:
        if self.processes <= 1 and self.remote_workers == 0:
            return None
        port = self.bind_port or _free_port(self.bind_host)
        if self.remote_workers:
            return MasterOptions(self.remote_workers, self.bind_host, port)
        return MasterOptions(
            self.processes,
            self.bind_host,
            port,
            start_workers=lambda p: _spawn_workers(stack, folder, host, p, self.processes),
        )


def _execute(
    scenario: Scenario,
    folder: Path,
    on_progress: Callable[[Progress], None] | None,
    distribution: Distribution,
) -> bool:
    assert scenario.load is not None  # dvcload run refuses a scenario without one
    population = generate_population(scenario.population.size, seed=scenario.seed)
    workload = build_workload(scenario, population)
    write_json(folder / "scenario.json", scenario.as_dict())  # what workers load
    process = psutil.Process()
    cpu_before = process.cpu_times()
    with ExitStack() as stack:
        host, target = _start_target(stack, scenario, folder, population)
        load = run_load(
            workload,
            scenario.load,
            host=host,
            duration_s=scenario.duration_s,
            results_dir=folder,
            on_progress=on_progress,
            master=distribution.master(stack, folder, host),
        )
    cpu_after = process.cpu_times()
    cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    summary = _write_results(
        folder, scenario, target=target, load=load, workload=workload, cpu_s=cpu_s
    )
    return bool(summary["requests"] > summary["failures"])


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _spawn_workers(stack: ExitStack, folder: Path, host: str, port: int, n: int) -> None:
    """Start ``n`` ``dvcload worker`` processes; they are stopped by PID at the end."""
    for k in range(n):
        log_file = stack.enter_context((folder / f"worker-{k}.log").open("w", encoding="utf-8"))
        command = [
            sys.executable, "-m", "dvcload", "worker", str(folder / "scenario.json"),
            "--master-host", "127.0.0.1", "--master-port", str(port),
            "--partition", f"{k}/{n}", "--target", host,
        ]  # fmt: skip
        child = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.info("worker %d/%d started (pid %d)", k, n, child.pid)
        stack.callback(_stop_child, child)


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)


def _start_target(
    stack: ExitStack, scenario: Scenario, folder: Path, population: Any
) -> tuple[str, str]:
    if not scenario.target.embedded:
        assert scenario.target.url is not None
        return scenario.target.url, scenario.target.url
    from portal.launcher import EmbeddedPortal, resolve_config

    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dvcload-")))
    population_file = tmp / "population.csv"
    write_population(population, population_file)
    options = scenario.portal
    portal = stack.enter_context(
        EmbeddedPortal(
            config_path=resolve_config(options.config),
            servers=options.servers,
            service_time_ms=options.service_time_ms,
            access_log=folder / "portal_access.jsonl",
            database=folder / "portal.sqlite",
            population=population_file,
            seed=scenario.seed,
            stderr_path=folder / "portal_stderr.log",
        )
    )
    log.info("embedded portal at %s (pid %s)", portal.url, portal.pid)
    return portal.url, f"embedded ({portal.url})"


def _write_results(
    folder: Path,
    scenario: Scenario,
    *,
    target: str,
    load: LoadRun,
    workload: Workload,
    cpu_s: float,
) -> dict[str, Any]:
    recorder, ledger = workload.recorder, workload.ledger
    write_json(folder / "histograms.json", recorder.to_dict())
    write_jsonl(folder / "histograms_intervals.jsonl", recorder.intervals)
    ledger.write(folder)
    summary = build_summary(
        scenario=scenario.name,
        started_at=load.started_at,
        ended_at=load.ended_at,
        target=target,
        endpoints=recorder.endpoints(),
        extra={
            "journeys": section_figures(recorder.section("journeys"), load.duration_s),
            "tags": tag_index(list(recorder.endpoints())),
            "breakdown": {
                "services": section_figures(recorder.section("services"), load.duration_s),
                "provinces": section_figures(recorder.section("provinces"), load.duration_s),
            },
            "partial": load.interrupted,
            **({"workers": load.workers} if load.workers else {}),
            "locust_totals": {
                "requests": load.environment.stats.total.num_requests,
                "failures": load.environment.stats.total.num_failures,
            },
            **({"arrivals": load.arrivals} if load.arrivals else {}),
            **_sessions(recorder, workload),
            "users": {"max": load.max_users},
            "population": {"size": scenario.population.size, "seed": scenario.seed},
            "generator": generator_health(cpu_s, load.duration_s),
            "ledger": {
                "dossiers_acknowledged": len(ledger.dossiers),
                "payments_confirmed": len(ledger.payments),
            },
        },
    )
    write_json(folder / "summary.json", summary)
    manifest = build_manifest(
        scenario=scenario.as_dict(),
        seed=scenario.seed,
        target=target,
        started_at=load.started_at,
        ended_at=load.ended_at,
    )
    write_json(folder / "manifest.json", manifest)
    write_report(folder)
    return summary


GENERATOR_CPU_LIMIT_PERCENT = 90.0


def generator_health(cpu_s: float, duration_s: float) -> dict[str, Any]:
    """The load generator's CPU use; above 90% of a core its timings are suspect."""
    percent = 100.0 * cpu_s / max(duration_s, 1e-9)
    health: dict[str, Any] = {
        "cpu_seconds": round(cpu_s, 3),
        "cpu_percent": round(percent, 1),
        "reliable": percent <= GENERATOR_CPU_LIMIT_PERCENT,
    }
    if not health["reliable"]:
        health["reason"] = (
            f"the load generator used {percent:.0f}% of a CPU core (limit "
            f"{GENERATOR_CPU_LIMIT_PERCENT:.0f}%): response times include time spent waiting "
            "for the generator itself; use --processes or a lighter load"
        )
    return health


def _sessions(recorder: Any, workload: Workload) -> dict[str, Any]:
    """Open-model sessions (raw and from the intended start) and behaviour counters."""
    out: dict[str, Any] = {"behaviour": dict(sorted(workload.counters.items()))}
    sessions = recorder.section("sessions")
    if sessions:
        out["sessions"] = section_figures(sessions, 1.0)
    return out


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
