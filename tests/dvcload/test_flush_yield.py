"""A flush mid-run yields so that I/O waiting in the load's event loop goes first."""

from __future__ import annotations

from collections.abc import Callable

import gevent
import locust  # noqa: F401  (gevent's monkey-patching, as in a run)
from gevent import socket

from dvcload import run_writer as results


def _order_of_io_among_pieces(pause: Callable[[], object]) -> list[str]:
    """A reader waits for a byte that is already there; a flush of five pieces pauses
    with ``pause`` between them. Returns the order in which the loop ran them."""
    ready, sender = socket.socketpair()
    order: list[str] = []

    def reader() -> None:
        ready.recv(1)
        order.append("io")

    def flush() -> None:
        for i in range(5):
            order.append(f"piece {i}")
            pause()

    try:
        waiting = gevent.spawn(reader)
        gevent.sleep(0.01)  # the reader now waits on the socket
        sender.send(b"x")
        gevent.joinall([waiting, gevent.spawn(flush)], timeout=5, raise_error=True)
    finally:
        ready.close()
        sender.close()
    return order


def test_the_flush_pause_lets_ready_io_run_after_the_first_piece() -> None:
    order = _order_of_io_among_pieces(results._yield)
    assert order.index("io") == 1, order


def test_sleep_zero_would_not_which_is_why_the_pause_is_a_timer() -> None:
    """gevent runs sleep(0) wake-ups as callbacks before polling I/O: the arrival clock
    (an I/O event) waited for the whole flush. If gevent changes this, _yield may go
    back to sleep(0)."""
    order = _order_of_io_among_pieces(lambda: gevent.sleep(0))
    assert order.index("io") == 5, order
    assert results.YIELD_S > 0
