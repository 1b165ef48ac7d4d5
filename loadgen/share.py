"""One ceiling per run, shared by the processes that send its requests.

The master divides ``load.max_request_rate`` equally among its workers and tells each
its share over Locust's own message channel, when a worker connects and whenever the
number of workers changes (it counts at least the workers it expects, so that an
early worker does not take the whole rate). A message sent on connection arrives
before any spawn message (one ordered connection per worker), so a worker knows its
share before its users start. A worker that has no share sends nothing
(:class:`~loadgen.pacing.RateCeiling` with no rate waits).

Workers that lose their master keep their last share; a lost worker's share is not
handed out again (the run stays under the ceiling).
"""

from __future__ import annotations

import logging
from typing import Any

from loadgen.pacing import RateCeiling

CEILING_MESSAGE = "dvcload_ceiling"  # master -> worker: {"rate_per_s": share}
REQUEST_MESSAGE = "dvcload_ceiling_request"  # worker -> master, once its handler is ready
log = logging.getLogger(__name__)


def share_per_worker(rate_per_s: float, expected: int, connected: int) -> float:
    """Each worker's share of ``rate_per_s`` (requests/s)."""
    return rate_per_s / max(expected, connected, 1)


def announce_shares(environment: Any, rate_per_s: float, expected: int) -> None:
    """Master: answer each worker's request for its share, and lower the shares of
    the workers already connected when more connect than were expected."""
    runner = environment.runner

    def share(workers: int) -> float:
        return share_per_worker(rate_per_s, expected, workers)

    def on_request(environment: Any, msg: Any, **_: Any) -> None:
        workers = {*runner.clients, msg.node_id}
        runner.send_message(CEILING_MESSAGE, {"rate_per_s": share(len(workers))}, msg.node_id)

    def on_connect(client_id: str, **_: Any) -> None:
        others = [c for c in runner.clients if c != client_id]  # it asks for its own
        if len(others) + 1 > expected:
            for worker in others:
                runner.send_message(CEILING_MESSAGE, {"rate_per_s": share(len(others) + 1)}, worker)

    runner.register_message(REQUEST_MESSAGE, on_request)
    environment.events.worker_connect.add_listener(on_connect)


def accept_shares(environment: Any, ceiling: RateCeiling, cap_per_s: float) -> None:
    """Worker: ask the master for this worker's share and take it (and any later
    change), never above ``cap_per_s``: the worker's own share when it knows how many
    processes share the run, else the whole rate, so that no master can raise a
    worker above its own scenario's ceiling."""

    def on_share(environment: Any, msg: Any, **_: Any) -> None:
        try:
            rate = float(msg.data["rate_per_s"])
        except (KeyError, TypeError, ValueError):
            rate = float("nan")
        if not 0 < rate < float("inf"):
            log.error("ignoring a malformed ceiling share from the master: %.80r", msg.data)
            return
        ceiling.set_rate(min(rate, cap_per_s))

    environment.runner.register_message(CEILING_MESSAGE, on_share)
    environment.runner.send_message(REQUEST_MESSAGE, None)
