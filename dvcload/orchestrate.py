"""The flow of one run (DESIGN.md): population → target → Locust → results folder.

Imports Locust, so the process must already be monkey-patched by gevent (the
command line does that first for ``dvcload run``).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent

from dvcload.run_setup import prepare_run, start_embedded_portal
from dvcload.run_writer import ResultsWriter
from dvcschema import results
from dvcschema.argtypes import check_out_folder
from dvcschema.budgets import BudgetSet
from dvcschema.errors import ConfigError, shown
from dvcschema.scenario import Scenario, target_policy
from dvcschema.target import TargetPolicy
from loadgen.runner import LoadRun, MasterOptions, Progress, run_load
from loadgen.visit import tag_index
from loadgen.workload import Workload

log = logging.getLogger("dvcload")
OUT_FIELD = "--out (or DVCLOAD_OUT)"


@dataclass(frozen=True)
class RunOutcome:
    """Whether any request succeeded, the signal that stopped the run (if any), and the
    gate's verdict (``None`` without budgets)."""

    ok: bool
    signal: int | None = None
    gate_passed: bool | None = None


class LiveAbort:
    """Abort-on-fail budgets, checked after each 5 s flush (k6's ``abortOnFail``)."""

    def __init__(self, budgets: BudgetSet, workload: Workload) -> None:
        from analysis.live_gate import LiveGate  # imported here: it pulls in the statistics

        tags = workload.endpoint_tags()
        self._gate = LiveGate(budgets, tags=tag_index(list(tags), tags))
        self._recorder = workload.recorder
        self.reason: str | None = None

    def check(self, load: LoadRun) -> None:
        if not self._gate.active or self.reason is not None:
            return
        self.reason = self._gate.check(
            self._recorder.endpoints(), self._recorder.section("journeys"), load.duration_s
        )
        if self.reason:
            log.warning("aborting the run: %s", self.reason)


class StopOnSignal:
    """SIGINT/SIGTERM ask the run to stop (within a poll tick; results are written);
    a second signal exits at once (the last 5 s flush is on disk)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._handlers: list[Any] = []

    def __enter__(self) -> StopOnSignal:
        self._handlers = [
            gevent.signal_handler(sig, self._on_signal, sig)
            for sig in (signal.SIGINT, signal.SIGTERM)
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handler in self._handlers:
            handler.cancel()

    def requested(self) -> bool:
        return self.signal is not None

    def _on_signal(self, sig: int) -> None:
        if self.signal is not None:
            os._exit(128 + sig)
        self.signal = sig
        log.warning("%s received: stopping the load and writing results", signal.Signals(sig).name)


def execute_run(
    scenario: Scenario,
    *,
    out_root: Path,
    on_progress: Callable[[Progress], None] | None = None,
    distribution: Placement | None = None,
    budgets: BudgetSet | None = None,
    policy: TargetPolicy | None = None,
    allow_unreliable: bool = False,
) -> tuple[Path, RunOutcome]:
    """Run ``scenario``; return the results folder and how the run ended.

    ``policy`` is the run's target policy with its allowed names pinned (by default
    worked out from the scenario now)."""
    started_at = time.time()
    folder = _run_folder(out_root, scenario.name, started_at)
    handler = _log_to(folder / results.RUN_LOG)
    try:
        budgets = scenario.budgets if budgets is None else budgets
        policy = target_policy(scenario) if policy is None else policy
        outcome = _execute(
            scenario, folder, on_progress=on_progress,
            distribution=distribution or Placement(), budgets=budgets, policy=policy,
            allow_unreliable=allow_unreliable,
        )  # fmt: skip
        return folder, outcome
    except ConfigError:
        shutil.rmtree(folder, ignore_errors=True)  # nothing was measured: leave no folder
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


@dataclass(frozen=True)
class Placement:
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
        children: list[subprocess.Popen[bytes]] = []

        def dead() -> list[str]:
            return [
                f"process {k}/{self.processes} (pid {c.pid}, exit code {c.returncode})"
                for k, c in enumerate(children)
                if c.poll() is not None
            ]

        return MasterOptions(
            self.processes,
            self.bind_host,
            port,
            start_workers=lambda p: children.extend(
                _spawn_workers(stack, folder, host, p, self.processes)
            ),
            dead_workers=dead,
        )


def _execute(
    scenario: Scenario,
    folder: Path,
    *,
    on_progress: Callable[[Progress], None] | None,
    distribution: Placement,
    budgets: BudgetSet,
    policy: TargetPolicy,
    allow_unreliable: bool = False,
) -> RunOutcome:
    assert scenario.load is not None  # dvcload run refuses a scenario without one
    setup = prepare_run(scenario, policy=policy)
    population, workload = setup.population, setup.workload
    results.write_json(folder / results.SCENARIO, scenario.as_dict())  # what workers load
    with ExitStack() as stack:
        stop = stack.enter_context(StopOnSignal())
        host, target = _start_target(stack, scenario, folder, population)
        writer = ResultsWriter(folder, scenario, target, workload)
        live = LiveAbort(budgets, workload)

        def flush(partial: LoadRun) -> None:
            writer.flush(partial)
            live.check(partial)

        load = run_load(
            workload,
            scenario.load,
            host=host,
            duration_s=scenario.duration_s,
            results_dir=folder,
            on_progress=on_progress,
            should_stop=lambda: stop.requested() or live.reason is not None,
            master=distribution.master(stack, folder, host),
            on_flush=flush,
        )
    summary, gate = writer.final(
        load, budgets=budgets, aborted=live.reason, allow_unreliable=allow_unreliable
    )
    ok = summary.requests > summary.failures
    return RunOutcome(ok, stop.signal, None if gate is None else gate.passed)


def _run_folder(out_root: Path, name: str, started_at: float) -> Path:
    """A new run folder under ``out_root`` (``--out`` or ``DVCLOAD_OUT``), or ConfigError:
    the root of the file system, a path through a file, or no permission."""
    check_out_folder(out_root, error=lambda message: ConfigError(message, field=OUT_FIELD))
    try:
        return results.create_run_folder(out_root, name, started_at)
    except OSError as exc:
        raise ConfigError(
            f"cannot make a run folder under {shown(str(out_root))}: {exc.strerror}",
            field=OUT_FIELD,
        ) from None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind(("" if host == "*" else host, 0))  # "*": every interface, as Locust's
        except OSError as exc:  # an address of another machine, ...
            raise ConfigError(
                f"cannot listen on {shown(host)}: {exc.strerror}", field="--master-bind"
            ) from None
        return int(sock.getsockname()[1])


def _spawn_workers(
    stack: ExitStack, folder: Path, host: str, port: int, n: int
) -> list[subprocess.Popen[bytes]]:
    """Start ``n`` ``dvcload worker`` processes; they are stopped by PID at the end."""
    children = []
    for k in range(n):
        log_file = stack.enter_context((folder / results.worker_log(k)).open("w", encoding="utf-8"))
        command = [
            sys.executable, "-m", "dvcload", "worker", str(folder / results.SCENARIO),
            "--master-host", "127.0.0.1", "--master-port", str(port),
            "--partition", f"{k}/{n}", "--target", host,
        ]  # fmt: skip
        child = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.info("worker %d/%d started (pid %d)", k, n, child.pid)
        stack.callback(_stop_child, child)
        children.append(child)
    return children


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
    portal = start_embedded_portal(stack, scenario, population, folder=folder)
    log.info("embedded portal at %s (pid %s)", portal.url, portal.pid)
    return portal.url, f"embedded ({portal.url})"


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
