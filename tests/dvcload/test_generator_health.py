"""Generator health: the busiest generator process decides, workers included."""

from __future__ import annotations

from dvcschema.results import GeneratorHealth


def test_one_process_over_the_limit_is_flagged_with_the_reason() -> None:
    calm = GeneratorHealth.measure(cpu_s=30.0, duration_s=60.0).as_dict()
    assert calm == {"cpu_seconds": 30.0, "cpu_percent": 50.0, "reliable": True}
    busy = GeneratorHealth.measure(cpu_s=57.0, duration_s=60.0)
    assert busy.cpu_percent == 95.0 and not busy.reliable
    assert (busy.reason or "").startswith("the load generator used 95% of a CPU core")


def test_with_workers_the_busiest_worker_decides_not_the_master() -> None:
    workers = [
        {"worker": "w0", "cpu_seconds": 33.0},
        {"worker": "w1", "cpu_seconds": 55.2},
    ]
    health = GeneratorHealth.measure(cpu_s=3.0, duration_s=60.0, workers=workers)
    assert health.processes == {"master": 5.0, "w0": 55.0, "w1": 92.0}
    assert health.cpu_percent == 92.0 and not health.reliable
    assert "worker w1 used 92%" in (health.reason or "")
    fine = GeneratorHealth.measure(cpu_s=3.0, duration_s=60.0, workers=workers[:1]).as_dict()
    assert fine["cpu_percent"] == 55.0 and fine["reliable"] and "reason" not in fine


def test_health_reads_back_as_written_and_older_summaries_are_judged_on_cpu() -> None:
    health = GeneratorHealth.measure(cpu_s=57.0, duration_s=60.0)
    assert GeneratorHealth.from_dict(health.as_dict()) == health
    older = GeneratorHealth.from_dict({"cpu_seconds": 57.0, "cpu_percent": 95.0})
    assert not older.reliable and older.reason == (
        "the load generator used 95% of a CPU core (limit 90%)"
    )
    assert GeneratorHealth.from_dict({"cpu_percent": "high", "reliable": "no"}).reliable
