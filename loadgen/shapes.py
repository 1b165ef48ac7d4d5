"""Load shapes: a scenario's stages as a Locust ``LoadTestShape``.

Each stage ramps linearly from the previous stage's user count to its own ``target``
over its own ``duration`` (stage lengths, not cumulative end times).
"""

from __future__ import annotations

from collections.abc import Sequence

from locust import LoadTestShape

from dvcschema.load import Stage

# Spawn rate for a hold stage (no change in users): Locust warns above 100 users/s.
INSTANT_SPAWN_RATE = 100.0


def stage_at(stages: Sequence[Stage], t_s: float) -> tuple[int, float] | None:
    """``(users, spawn_rate)`` at ``t_s`` seconds into the run, ``None`` after the end."""
    start_s, previous = 0.0, 0
    for stage in stages:
        if t_s < start_s + stage.duration_s:
            change = abs(stage.target - previous)
            rate = change / stage.duration_s if change else INSTANT_SPAWN_RATE
            return stage.target, max(rate, 0.01)
        start_s += stage.duration_s
        previous = stage.target
    return None


class StagesShape(LoadTestShape):
    """Run ``stages`` in order; set ``stages`` on a subclass or the instance."""

    abstract = True
    stages: Sequence[Stage] = ()

    def tick(self) -> tuple[int, float] | None:
        return stage_at(self.stages, self.get_run_time())


def stages_shape(stages: Sequence[Stage]) -> StagesShape:
    shape = type("ScenarioShape", (StagesShape,), {"abstract": False, "stages": tuple(stages)})
    return shape()
