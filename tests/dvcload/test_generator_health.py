"""Generator health: the busiest generator process decides, workers included."""

from __future__ import annotations

from dvcload.results import generator_health


def test_one_process_over_the_limit_is_flagged_with_the_reason() -> None:
    calm = generator_health(cpu_s=30.0, duration_s=60.0)
    assert calm == {"cpu_seconds": 30.0, "cpu_percent": 50.0, "reliable": True}
    busy = generator_health(cpu_s=57.0, duration_s=60.0)
    assert busy["cpu_percent"] == 95.0 and not busy["reliable"]
    assert busy["reason"].startswith("the load generator used 95% of a CPU core")


def test_with_workers_the_busiest_worker_decides_not_the_master() -> None:
    workers = [
        {"worker": "w0", "cpu_seconds": 33.0},
        {"worker": "w1", "cpu_seconds": 55.2},
    ]
    health = generator_health(cpu_s=3.0, duration_s=60.0, workers=workers)
    assert health["processes"] == {"master": 5.0, "w0": 55.0, "w1": 92.0}
    assert health["cpu_percent"] == 92.0 and not health["reliable"]
    assert "worker w1 used 92%" in health["reason"]
    fine = generator_health(cpu_s=3.0, duration_s=60.0, workers=workers[:1])
    assert fine["cpu_percent"] == 55.0 and fine["reliable"] and "reason" not in fine
