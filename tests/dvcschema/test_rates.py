"""Rate profiles: exact integrals and maxima, compression, deadline and CSV shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dvcschema import rates


def test_stages_ramp_and_step() -> None:
    p = rates.stages([(10.0, 50.0, False), (10.0, 200.0, True), (5.0, 20.0, False)])
    assert p.rate_at(5.0) == pytest.approx(25.0)  # halfway up the first ramp
    assert p.rate_at(10.0) == pytest.approx(200.0)  # the step
    assert p.rate_at(22.5) == pytest.approx(110.0)
    assert p.duration_s == 25.0
    # ∫: ramp 0->50 over 10 s (250) + 200 for 10 s (2000) + ramp 200->20 over 5 s (550)
    assert p.expected_arrivals() == pytest.approx(2800.0)
    assert p.max_rate(9.0, 11.0) == 200.0
    assert p.max_rate(0.0, 4.0) == pytest.approx(20.0)


def test_rate_is_zero_after_the_end() -> None:
    p = rates.constant(50.0, 10.0)
    assert p.rate_at(10.0) == 0.0 and p.rate_at(11.0) == 0.0
    assert p.expected_arrivals(0.0, 20.0) == pytest.approx(500.0)


def test_max_rate_bounds_the_rate_everywhere() -> None:
    p = rates.day_profile("diurnal", peak=40, trough=2, start_s=0, length_s=86400, speed=60)
    grid = np.linspace(0, p.duration_s, 20001)
    values = p.rate_at(grid)
    for a, b in [(0, 100), (300, 700), (1000, 1440)]:
        inside = values[(grid >= a) & (grid <= b)]
        assert p.max_rate(a, b) >= inside.max() - 1e-9


def test_compression_shortens_time_not_rates() -> None:
    slow = rates.day_profile("diurnal", peak=40, trough=2, start_s=0, length_s=86400, speed=1)
    fast = rates.day_profile("diurnal", peak=40, trough=2, start_s=0, length_s=86400, speed=60)
    assert fast.duration_s == pytest.approx(slow.duration_s / 60)
    assert fast.max_rate(0, fast.duration_s) == pytest.approx(slow.max_rate(0, slow.duration_s))
    assert fast.rate_at(600.0) == pytest.approx(slow.rate_at(36000.0))  # 10:00


def test_diurnal_shape_is_between_trough_and_peak_with_office_hours_highest() -> None:
    hours = np.linspace(0, 24, 241)
    r = rates.diurnal_rate(hours, peak=40, trough=2)
    assert r.min() == pytest.approx(2.0, abs=0.3) and r.max() == pytest.approx(40.0, abs=0.5)
    assert rates.diurnal_rate(10.0, 40, 2) > rates.diurnal_rate(3.0, 40, 2) * 5


def test_deadline_rises_to_the_surge_then_drops() -> None:
    p = rates.day_profile(
        "deadline",
        peak=10,
        trough=1,
        start_s=8 * 3600,
        length_s=10 * 3600,
        speed=1,
        deadline=(17 * 3600, 4.0, 3 * 3600, 0.2),
    )
    at = 9 * 3600  # 17:00 is 9 h into the profile
    before, after = p.rate_at(at - 1.0), p.rate_at(at + 1.0)
    base = rates.diurnal_rate(17.0, 10, 1)
    assert before == pytest.approx(base * 4.0, rel=1e-3)
    assert after == pytest.approx(base * 0.2, rel=1e-3)
    # three hours earlier the factor is 1 + 3/e ≈ 2.10 of the deadline's 4 (diurnal ≈ equal)
    assert p.rate_at(at - 3 * 3600) < before * 0.6


def test_csv_counts_become_piecewise_constant_rates(tmp_path: Path) -> None:
    path = tmp_path / "per_minute.csv"
    path.write_text("minute,count\n0,600\n1,1200\n2,0\n", encoding="utf-8")
    per_s, _ = rates.read_counts_csv(path, 60.0)
    p = rates.csv_profile(per_s, 60.0, start_s=0.0, speed=2.0)
    assert p.duration_s == pytest.approx(90.0)
    assert p.rate_at(10.0) == pytest.approx(10.0)
    assert p.rate_at(40.0) == pytest.approx(20.0)
    assert p.rate_at(70.0) == pytest.approx(0.0)
    assert p.expected_arrivals() == pytest.approx((600 + 1200) / 2)  # compressed 2x


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("minute,n\n0,1\n", "'count' column"),
        ("count\nlots\n", "line 2"),
        ("count\n-1\n", "line 2"),
        ("count\n", "no data rows"),
    ],
)
def test_bad_csv_names_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=fragment):
        rates.read_counts_csv(path, 60.0)
