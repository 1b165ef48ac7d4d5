"""A closed-loop probe for benchmarks/bench_portal_capacity.py: no think time.

Each Locust user sends ``GET /services`` again as soon as the previous answer
arrives, so N users keep N requests in the portal at all times.
"""

from __future__ import annotations

from locust import FastHttpUser, constant, task


class CapacityProbe(FastHttpUser):
    wait_time = constant(0)

    @task
    def services(self) -> None:
        self.client.get("/services", name="/services")
