"""Run Locust in-process, headless, for a bounded time, and collect what it measured.

Three roles share one set-up: ``local`` (one process), ``master`` (Locust's master
runner; the users run in worker processes that report back) and ``worker``. The
caller must have imported ``locust`` (which monkey-patches the process with gevent)
before starting any thread or subprocess; ``dvcload`` does that at start for the
commands that load.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent.queue import Channel, Full
from locust import events as _global_events  # noqa: F401  (ensures locust is initialised)
from locust.env import Environment
from locust.event import Events
from locust.html import get_html_report
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING, Runner
from locust.stats import (
    CSV_STATS_INTERVAL_SEC,
    PERCENTILES_TO_REPORT,
    StatsCSVFileWriter,
    stats_history,
)

from dvcschema import results
from dvcschema.errors import RunError
from dvcschema.load import Load, OpenLoad, ReplayLoad
from loadgen import eventloop
from loadgen.arrivals import ArrivalStats, Dispatcher, Ticket, poisson_arrivals
from loadgen.distributed import MasterMerger, WorkerReporter, quit_master
from loadgen.shapes import stages_shape
from loadgen.share import accept_shares, announce_shares
from loadgen.timer import precise_sleeper
from loadgen.userclass import locust_user_class
from loadgen.users import CitizenUser, ReplayUser, SessionUser
from loadgen.workload import Workload

PROGRESS_INTERVAL_S = 2.0
START_MESSAGE = "dvcload_start"
START_DELAY_S = 0.5  # workers start dispatching this long after the master's message
# At the planned end, journeys in flight may finish (k6's gracefulStop) for this long, so
# that the slow requests straddling the end are measured, as the target measured them.
# Interruptions and aborts stop at once.
GRACEFUL_STOP_S = 5.0
FINAL_REPORT_TIMEOUT_S = GRACEFUL_STOP_S + 10.0  # a worker finishing its journeys, then reporting
SPAWN_TIMEOUT_S = 60.0
_POLL_S = 0.1
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """One progress line's figures."""

    elapsed_s: float
    total_s: float
    users: int
    rps: float
    p95_ms: float | None
    requests: int
    failures: int


@dataclass(frozen=True)
class MasterOptions:
    """Run as Locust's master; ``start_workers(port)`` launches the workers."""

    expect_workers: int
    bind_host: str = "127.0.0.1"
    bind_port: int = 5557
    start_workers: Callable[[int], None] | None = None
    connect_timeout_s: float = 60.0
    # dead_workers(): descriptions of local worker processes that have exited
    dead_workers: Callable[[], list[str]] = lambda: []


@dataclass
class LoadRun:
    """What a finished (or interrupted) run measured."""

    started_at: float
    ended_at: float
    max_users: int
    environment: Environment
    interrupted: bool
    arrivals: dict[str, Any] | None = None
    workers: list[dict[str, Any]] | None = None
    workers_lost: list[dict[str, Any]] | None = None
    replay: dict[str, Any] | None = None  # a replay's plan: summary.json's ``replay``

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at


def _environment(
    workload: Workload, load: Load, host: str, duration_s: float
) -> tuple[Environment, Channel]:
    tickets: Channel = Channel()
    eventloop.prepare(workload.policy)
    shape = None
    if isinstance(load, ReplayLoad):
        user_class: type = ReplayUser.configure(workload, tickets)
    elif isinstance(load, OpenLoad):
        user_class = SessionUser.configure(workload, tickets)
    else:
        user_class = CitizenUser.configure(workload)
        shape = stages_shape(load.schedule(duration_s))
    if workload.user_class is not None and not isinstance(load, ReplayLoad):
        # the scenario's own Locust User class
        open_tickets = tickets if isinstance(load, OpenLoad) else None
        user_class = locust_user_class(workload, workload.user_class, open_tickets)
    env = Environment(user_classes=[user_class], shape_class=shape, host=host, events=Events())
    env.events.request.add_listener(_recorder_listener(workload))
    env.events.test_stopping.add_listener(lambda **_: _drain(workload, tickets))
    return env, tickets


def _drain(workload: Workload, tickets: Channel) -> None:
    """Start no new session or journey; wake the session users waiting for arrivals."""
    workload.draining = True
    while tickets.getters:
        try:
            tickets.put(None, block=False)
        except Full:
            break


def run_load(
    workload: Workload,
    load: Load,
    *,
    host: str,
    duration_s: float,
    results_dir: Path,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    master: MasterOptions | None = None,
    on_flush: Callable[[LoadRun], None] | None = None,
) -> LoadRun:
    """Run the citizens against ``host`` for ``duration_s`` seconds, closed or open.

    Writes Locust's CSV files (``locust_*.csv``) and its HTML report into
    ``results_dir``; the HDR histograms stay in ``workload.recorder`` (merged from the
    workers when ``master`` is given), the arrival counts in the returned run.
    """
    env, tickets = _environment(workload, load, host, duration_s)
    merger = None
    runner: Runner
    if master is None:
        runner = env.create_local_runner()
    else:
        runner = env.create_master_runner(master.bind_host, master.bind_port)
        announce_shares(env, load.max_request_rate, master.expect_workers)
        merger = MasterMerger(workload)
        env.events.worker_report.add_listener(merger.on_worker_report)
        _await_workers(env, master)
    csv_writer = StatsCSVFileWriter(
        env, PERCENTILES_TO_REPORT, str(results_dir / results.LOCUST_CSV_PREFIX), full_history=True
    )
    state = _RunState(
        env, load, merger, master.dead_workers if master else lambda: [], replay=workload.replay
    )
    greenlets = [
        gevent.spawn(csv_writer.stats_writer),
        gevent.spawn(stats_history, runner),
        gevent.spawn(_roll_intervals, workload, lambda: on_flush and on_flush(state.snapshot())),
    ]
    open_run, started_at = None, time.time()
    if isinstance(load, OpenLoad | ReplayLoad):
        _spawn_pool(env, load.max_concurrency)
        if master is None:
            open_run = _start_dispatcher(
                load, workload, tickets, duration_s, lambda: should_stop() or workload.draining
            )
            greenlets.append(open_run.greenlet)
            started_at = open_run.started_at
        else:  # every worker dispatches its share from the same moment
            runner.send_message(START_MESSAGE, {"delay_s": START_DELAY_S})
            started_at = time.time() + START_DELAY_S
            gevent.sleep(START_DELAY_S)
    else:
        runner.start_shape()
    gc.freeze()  # population and setup into the permanent generation: shorter GC pauses
    state.started_at, state.open_run = started_at, open_run
    interrupted = False
    try:
        _wait(state, duration_s, on_progress, should_stop)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        interrupted = interrupted or should_stop()
        if not interrupted:
            env.stop_timeout = GRACEFUL_STOP_S  # let journeys in flight finish
            runner.stop()
        ended_at = time.time()
        _quit(runner, merger)
        workload.recorder.roll_interval()
        _await_next_csv_rows(csv_writer)
        gevent.killall(greenlets, block=True, timeout=5)
        csv_writer.close_files()
    _write_locust_report(env, results_dir)
    if merger is not None:
        for name, value in merger.counters().items():
            workload.count(name, value)
    return state.snapshot(ended_at=ended_at, interrupted=interrupted)


@dataclass
class _RunState:
    """What a run has measured so far, for progress, flushes and the final result."""

    env: Environment
    load: Load
    merger: MasterMerger | None
    dead_workers: Callable[[], list[str]]
    started_at: float = 0.0
    open_run: _OpenRun | None = None
    replay: Any = None  # loadgen.replay.ReplayPlan of a replay (the whole plan)
    max_users: int = 0
    lost: dict[str, float] = field(default_factory=dict)  # worker id -> seconds into the run

    def check_workers(self) -> None:
        """Note workers whose heartbeats stopped (a dead process): the run goes on."""
        if self.merger is None:
            return
        for node in self.env.runner.clients.missing:  # type: ignore[union-attr]
            if node.id not in self.lost:
                self.lost[node.id] = time.time() - self.started_at
                log.warning(
                    "worker %s stopped answering %.0f s into the run; going on without it",
                    node.id,
                    self.lost[node.id],
                )

    def snapshot(self, *, ended_at: float | None = None, interrupted: bool = True) -> LoadRun:
        """The run as of now (``interrupted`` marks a partial flush)."""
        ended_at = time.time() if ended_at is None else ended_at
        arrivals = None
        if isinstance(self.load, OpenLoad | ReplayLoad):
            stats = (
                self.merger.arrival_stats()
                if self.merger
                else (self.open_run.dispatcher.stats if self.open_run else ArrivalStats())
            )
            arrivals = arrival_summary(stats, self.load, self.started_at, ended_at, self.replay)
        workers = self.merger.summary() if self.merger else None
        return LoadRun(
            self.started_at, ended_at, self.max_users, self.env, interrupted, arrivals, workers,
            replay=self.replay.summary if self.replay is not None else None,
        )  # fmt: skip


def run_worker(
    workload: Workload,
    load: Load,
    *,
    host: str,
    master_host: str,
    master_port: int,
    partition: tuple[int, int],
    duration_s: float,
) -> None:
    """Serve a master until it says quit: run users, report measurements with each
    Locust report. For the open model, dispatch this worker's share of the arrivals."""
    env, tickets = _environment(workload, load, host, duration_s)
    env.stop_timeout = GRACEFUL_STOP_S  # the master decides when; journeys in flight finish
    runner = env.create_worker_runner(master_host, master_port)
    if workload.ceiling is not None:
        accept_shares(env, workload.ceiling, cap_per_s=load.max_request_rate / partition[1])
    reporter = WorkerReporter(workload, partition, stopped=lambda: runner.state == STATE_STOPPED)
    env.events.report_to_master.add_listener(reporter.on_report_to_master)
    if isinstance(load, OpenLoad | ReplayLoad):
        k, n = partition
        share: OpenLoad | ReplayLoad = load  # a replay's plan is already this worker's share
        if isinstance(load, OpenLoad):
            share = OpenLoad(
                load.profile.scaled(1.0 / n), load.max_concurrency, load.rate_spec, load.behaviour
            )

        def on_start(environment: Environment, msg: Any, **_: Any) -> None:
            run = _start_dispatcher(
                share, workload, tickets, duration_s, lambda: False,
                seed_offset=k + 1, started_at=time.time() + float(msg.data["delay_s"]),
            )  # fmt: skip
            reporter.arrivals = run.dispatcher.stats

        runner.register_message(START_MESSAGE, on_start)
    gc.freeze()
    runner.greenlet.join()


def _quit(runner: Runner, merger: MasterMerger | None) -> None:
    """Quit; a master after every worker's final report (:func:`quit_master`)."""
    if merger is None:
        runner.quit()
        return
    missed = quit_master(runner, merger, timeout_s=FINAL_REPORT_TIMEOUT_S)
    if missed:
        log.warning("no final report from workers %s: their last interval is lost", missed)


def _await_next_csv_rows(csv_writer: StatsCSVFileWriter) -> None:
    """Let Locust's CSV writer write its rows once more, now that the load has stopped.

    It writes every ``CSV_STATS_INTERVAL_SEC`` (1 s), appending to the history file each
    time; waiting for that file to grow ends as soon as it has, 0.5 s on average instead
    of a fixed 1.1 s at the end of every run."""
    history = csv_writer.stats_history_csv_filehandle
    written = history.tell()
    deadline = time.monotonic() + CSV_STATS_INTERVAL_SEC + 0.5
    while history.tell() == written and time.monotonic() < deadline:
        gevent.sleep(0.02)


def arrival_summary(
    stats: ArrivalStats,
    load: OpenLoad | ReplayLoad,
    started_at: float,
    ended_at: float,
    plan: Any = None,
) -> dict[str, Any]:
    """``summary.json``'s ``arrivals``: target versus achieved, dropped, late.

    For a replay, each recorded request sent is one arrival: ``expected`` counts the
    requests of ``plan`` (:class:`loadgen.replay.ReplayPlan`) due by the end of the run,
    and ``scheduled`` all of them."""
    elapsed_s = max(ended_at - started_at, 1e-9)
    out: dict[str, Any] = {"model": "open"}
    if isinstance(load, ReplayLoad):
        expected: float = plan.expected(elapsed_s) if plan is not None else 0
        out = {"model": "replay", "scheduled": plan.scheduled_total if plan is not None else 0}
    else:
        expected = load.profile.expected_arrivals(0.0, elapsed_s)
    return {
        "model": out.pop("model"),
        "target_rate": expected / elapsed_s,
        "achieved_rate": stats.started / elapsed_s,
        "offered_rate": stats.offered / elapsed_s,
        "expected": expected,
        **out,
        "offered": stats.offered,
        "started": stats.started,
        "dropped": stats.dropped,
        "dropped_ratio": stats.dropped / stats.offered if stats.offered else 0.0,
        "late": stats.late,
        "max_concurrency": load.max_concurrency,
    }


@dataclass
class _OpenRun:
    dispatcher: Dispatcher
    greenlet: gevent.Greenlet
    started_at: float


def _await_workers(env: Environment, master: MasterOptions) -> None:
    assert env.runner is not None
    if master.start_workers is not None:
        master.start_workers(master.bind_port)
    deadline = time.time() + master.connect_timeout_s
    while len(env.runner.clients.ready) < master.expect_workers:  # type: ignore[attr-defined]
        if time.time() > deadline:
            ready = len(env.runner.clients.ready)  # type: ignore[attr-defined]
            raise RunError(
                f"only {ready} of {master.expect_workers} workers connected within "
                f"{master.connect_timeout_s:.0f} s"
            )
        gevent.sleep(_POLL_S)


def _spawn_pool(env: Environment, pool: int) -> None:
    """Start the open model's session users (all of them, before the first arrival)."""
    assert env.runner is not None
    env.runner.start(pool, spawn_rate=pool)
    deadline = time.time() + SPAWN_TIMEOUT_S
    while env.runner.user_count < pool and time.time() < deadline:
        gevent.sleep(_POLL_S)


def _start_dispatcher(
    load: OpenLoad | ReplayLoad,
    workload: Workload,
    tickets: Channel,
    duration_s: float,
    should_stop: Callable[[], bool],
    *,
    seed_offset: int = 0,
    started_at: float | None = None,
) -> _OpenRun:
    def offer(ticket: Ticket) -> bool:
        try:
            tickets.put(ticket, block=False)
        except Full:
            return False
        return True

    if isinstance(load, ReplayLoad):
        assert workload.replay is not None  # built with the workload
        arrivals = workload.replay.chunks()  # the recorded send times, cut at duration_s
    else:
        arrivals = poisson_arrivals(load.profile, duration_s, rng=workload.seed + seed_offset)
    sleeper = precise_sleeper()
    dispatcher = Dispatcher(arrivals, offer, sleep=sleeper.sleep)
    started_at = time.time() if started_at is None else started_at

    def dispatch() -> None:
        with sleeper:
            dispatcher.run(started_at, should_stop)

    greenlet = gevent.spawn(dispatch)
    return _OpenRun(dispatcher, greenlet, started_at)


def _wait(
    state: _RunState,
    duration_s: float,
    on_progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool],
) -> None:
    env, started_at = state.env, state.started_at
    assert env.runner is not None
    next_report = started_at + PROGRESS_INTERVAL_S
    last = (started_at, 0)
    while True:
        now = time.time()
        state.max_users = max(state.max_users, env.runner.user_count)
        state.check_workers()
        if now - started_at >= duration_s or should_stop():
            break
        if env.runner.state in (STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP):
            break
        if on_progress is not None and now >= next_report:
            on_progress(_progress(env, now, started_at, duration_s, last))
            last = (now, env.stats.total.num_requests)
            next_report += PROGRESS_INTERVAL_S
        gevent.sleep(_POLL_S)
    if on_progress is not None:
        on_progress(_progress(env, time.time(), started_at, duration_s, last))


def _progress(
    env: Environment, now: float, started_at: float, total_s: float, last: tuple[float, int]
) -> Progress:
    """Figures for a progress line; the rate is over the time since the previous line."""
    assert env.runner is not None
    total = env.stats.total
    p95 = total.get_current_response_time_percentile(0.95) if total.num_requests else None
    last_t, last_requests = last
    return Progress(
        elapsed_s=min(now - started_at, total_s),
        total_s=total_s,
        users=env.runner.user_count,
        rps=(total.num_requests - last_requests) / max(now - last_t, 1e-9),
        p95_ms=float(p95) if p95 is not None else None,
        requests=total.num_requests,
        failures=total.num_failures,
    )


def _recorder_listener(workload: Workload) -> Callable[..., None]:
    record = workload.recorder.record

    def on_request(
        request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
    ) -> None:
        record(f"{request_type} {name}", response_time, failed=exception is not None)

    return on_request


def _roll_intervals(workload: Workload, after: Callable[[], object]) -> None:
    recorder = workload.recorder
    while True:
        gevent.sleep(recorder.interval_s)
        recorder.roll_interval()
        try:
            after()
        except Exception:  # a failed flush must not stop the measuring; the next one retries
            log.exception("flushing partial results failed")


def _write_locust_report(env: Environment, results_dir: Path) -> None:
    try:
        html = get_html_report(env, show_download_link=False)
    except Exception as exc:  # Locust's own report is a bonus; never lose the run for it
        log.warning("could not write Locust's HTML report: %s", exc)
        return
    (results_dir / results.LOCUST_REPORT).write_text(html, encoding="utf-8")
