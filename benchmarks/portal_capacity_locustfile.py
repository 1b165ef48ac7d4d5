"""A closed-loop probe for benchmarks/bench_portal_capacity.py: no think time.

Each Locust user sends ``GET /services`` again as soon as the previous answer
arrives, so N users keep N requests in the portal at all times. A guarded user: its
requests pass the loopback-only target policy like every other dvcload request.
"""

from __future__ import annotations

from locust import constant, task

from dvcschema import routes
from loadgen.wire import GuardedHttpUser


class CapacityProbe(GuardedHttpUser):
    abstract = False
    wait_time = constant(0)

    @task
    def services(self) -> None:
        self.client.get(routes.SERVICES.path(), name=routes.SERVICES.path_name)
