"""The Locust user: one citizen at a time, running journeys in the scenario's mix."""

from __future__ import annotations

import time
from typing import ClassVar

from locust import FastHttpUser, task

from loadgen.journeys import JOURNEYS, Visit, login
from loadgen.workload import Workload


class CitizenUser(FastHttpUser):
    """A citizen on the portal. Configure with :meth:`configure` before the run."""

    abstract = True
    workload: ClassVar[Workload | None] = None
    connection_timeout = 10.0
    network_timeout = 30.0
    insecure = False

    @classmethod
    def configure(cls, workload: Workload) -> type[CitizenUser]:
        """A concrete subclass bound to ``workload`` (one per run, no global state)."""
        return type("CitizenUser", (cls,), {"abstract": False, "workload": workload})

    def _workload(self) -> Workload:
        if self.workload is None:
            raise RuntimeError("CitizenUser.configure(workload) was not called")
        return self.workload

    def on_start(self) -> None:
        workload = self._workload()
        self.visit = Visit(
            client=self.client,
            citizen=workload.next_citizen(),
            rng=workload.new_user_rng(),
            services=workload.services,
            attachments=workload.attachments,
            ledger=workload.ledger,
        )
        login(self.visit)

    def wait_time(self) -> float:
        return self._workload().think_s(self.visit.rng)

    @task
    def journey(self) -> None:
        if self.visit.token is None:
            login(self.visit)
            return
        workload = self._workload()
        name = workload.choose_journey(self.visit.rng, self.visit.level)
        self.visit.service_code = None
        started = time.perf_counter()
        ok = bool(JOURNEYS[name](self.visit))
        workload.recorder.record_journey(
            name,
            self.visit.service_code,
            self.visit.citizen.residence_province,
            (time.perf_counter() - started) * 1000.0,
            ok=ok,
        )
