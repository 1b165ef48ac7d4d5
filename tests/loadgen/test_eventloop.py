"""The generator's loop: names answered from the policy's pins in place, pooled sockets
polled without a yield, the manifest's environment read once (not in every flush)."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import gevent
import pytest
from geventhttpclient import connectionpool

from dvcschema.target import TargetPolicy
from loadgen import eventloop
from loadgen import provenance as run_results
from loadgen.wire import PinnedResolver


def test_prepare_makes_the_hub_resolve_from_pins_in_place_and_stays_idempotent() -> None:
    eventloop.prepare(TargetPolicy())
    first = gevent.get_hub().resolver
    eventloop.prepare(TargetPolicy())
    hub = gevent.get_hub()
    assert isinstance(hub.resolver, PinnedResolver) and hub.resolver is first
    assert gevent.socket.getaddrinfo("127.0.0.1", 80, 0, socket.SOCK_STREAM)[0][4] == (
        "127.0.0.1",
        80,
    )
    pinned = {info[4][0] for info in gevent.socket.getaddrinfo("localhost", 80)}
    assert pinned == {"127.0.0.1", "::1"}
    with pytest.raises(socket.gaierror, match="not pinned"):
        gevent.socket.getaddrinfo("localhost.localdomain", 80)


def test_a_pooled_socket_is_polled_without_yielding_to_other_greenlets() -> None:
    eventloop.prepare(TargetPolicy())
    ran: list[str] = []
    left, right = socket.socketpair()
    try:
        pool = connectionpool.ConnectionPool("127.0.0.1", 1, "127.0.0.1", 1)
        gevent.spawn(ran.append, "other greenlet")
        assert pool._is_socket_alive(left)  # an idle socket: nothing to read
        assert ran == []  # the check did not hand the loop to the other greenlet
        right.send(b"x")
        assert not pool._is_socket_alive(left)  # readable while idle: not reusable
        gevent.sleep(0)
        assert ran == ["other greenlet"]
    finally:
        left.close()
        right.close()


def test_the_manifest_reads_git_and_versions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real_run = subprocess.run

    def counting_run(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real_run(*args, **kwargs)

    run_results.run_environment.cache_clear()
    monkeypatch.setattr(run_results.subprocess, "run", counting_run)
    first = run_results.build_manifest(
        scenario={}, seed=1, target="http://127.0.0.1:1", started_at=0.0, ended_at=1.0
    )
    second = run_results.build_manifest(
        scenario={}, seed=1, target="http://127.0.0.1:1", started_at=0.0, ended_at=2.0
    )
    assert len(calls) == 2  # rev-parse and status, for the first manifest only
    assert first.git_revision == second.git_revision
    assert first.versions and first.versions["locust"] and second.ended_at != first.ended_at
    run_results.run_environment.cache_clear()
