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
    """Run ``stages`` in order; set ``stages`` on a subclass or the instance.

    Locust's ``-t/--run-time`` is honoured (the shape ends at whichever comes first),
    so ``locust -f locustfile.py -t 30s`` stops after 30 s as a user expects.
    """

    abstract = True
    use_common_options = True  # reads --run-time; Locust would otherwise ignore it
    stages: Sequence[Stage] = ()

    def tick(self) -> tuple[int, float] | None:
        run_time_s = self.get_run_time()
        limit_s = self._run_time_limit_s()
        if limit_s is not None and run_time_s >= limit_s:
            return None
        return stage_at(self.stages, run_time_s)

    def _run_time_limit_s(self) -> float | None:
        runner = getattr(self, "runner", None)
        options = getattr(getattr(runner, "environment", None), "parsed_options", None)
        limit = getattr(options, "run_time", None)
        return float(limit) if limit else None


def stages_shape(stages: Sequence[Stage]) -> StagesShape:
    shape = type("ScenarioShape", (StagesShape,), {"abstract": False, "stages": tuple(stages)})
    return shape()
