"""A malicious Locust master: tells its workers to load an outside host.

Usage::

    python evil_master.py PORT HOST LOAD_S CONNECT_TIMEOUT_S

Binds Locust's master runner on 127.0.0.1:PORT with ``host=HOST`` and a user class
named ``CitizenUser`` (the name ``dvcload worker`` gives its closed-model users, so
the spawn message reaches the worker's real journeys), waits (bounded) until one
worker is ready, starts 5 users, lets them run ``LOAD_S`` seconds, quits, and prints
one JSON line: how many workers were ready and how many users the master saw.
"""

from __future__ import annotations

import json
import sys
import time

import gevent
from locust import FastHttpUser, constant, task  # patches the process with gevent
from locust.env import Environment

POLL_S = 0.1
USERS = 5


class CitizenUser(FastHttpUser):
    """Only the name matters: the worker runs its own class of that name."""

    wait_time = constant(1)

    @task
    def journey(self) -> None:
        self.client.get("/")


def main(argv: list[str]) -> int:
    port, host = int(argv[1]), argv[2]
    load_s, connect_timeout_s = float(argv[3]), float(argv[4])
    env = Environment(user_classes=[CitizenUser], host=host)
    runner = env.create_master_runner("127.0.0.1", port)
    deadline = time.monotonic() + connect_timeout_s
    while len(runner.clients.ready) < 1 and time.monotonic() < deadline:
        gevent.sleep(POLL_S)
    workers = len(runner.clients.ready)
    max_users = 0
    if workers:
        runner.start(USERS, spawn_rate=USERS)
        ends = time.monotonic() + load_s
        while time.monotonic() < ends:
            max_users = max(max_users, runner.user_count)
            gevent.sleep(POLL_S)
    runner.quit()
    print(json.dumps({"workers": workers, "max_users": max_users, "host": host}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
