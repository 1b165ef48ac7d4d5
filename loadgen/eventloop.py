"""Two changes to how the generator's gevent loop serves the HTTP client, both measured.

In the open model a session's first request should leave at its arrival time. Two
library defaults put a trip round gevent's run queue (every other ready greenlet
first) between the request and the wire:

* **Host resolution.** gevent's default resolver hands every ``getaddrinfo`` to a
  native thread, and the HTTP client resolves the host on each new connection:
  1.1 ms median, 9 ms p99 per new session at 200 sessions/s. No name is resolved
  during a run at all: the hub answers from the target policy's pins and from IP
  literals, in place (:class:`loadgen.wire.PinnedResolver`), in microseconds.
* **The pooled connection's liveness check.** geventhttpclient polls a kept-alive
  socket with ``select(..., 0)`` before reusing it. A zero-timeout ``select`` never
  blocks, but gevent's version yields to the hub on purpose, so every request waited
  for the whole run queue: 2.4 ms median at 500 sessions/s (1,500 requests/s). The
  original ``select`` gives the same answer without yielding; the request still
  yields at its first real I/O.

With both (and the results flush no longer running ``git`` every 5 s), 500 sessions/s
reached the portal at +0.85% of target with 22 arrivals dropped, against -25.9% and
1,869 dropped before (``python -m benchmarks arrivals``).
"""

from __future__ import annotations

import types

from dvcschema.target import TargetPolicy


def prepare(policy: TargetPolicy) -> None:
    """Apply both changes to this process's hub and HTTP client (idempotent)."""
    from loadgen.wire import pin_process

    pin_process(policy)
    _poll_pooled_sockets_in_place()


def _poll_pooled_sockets_in_place() -> None:
    from gevent.monkey import get_original
    from geventhttpclient import connectionpool

    original = get_original("select", "select")
    if getattr(connectionpool.select, "select", None) is not original:
        connectionpool.select = types.SimpleNamespace(select=original)  # type: ignore[assignment]
