"""The arrival curve of a plan (what-ifs applied) and the load each interval is staffed for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dvcschema.capacity import STEP_S
from dvcschema.errors import ConfigError
from dvcschema.scenario import load_scenario
from models.plan import staffing_grid
from planning import Spike, interval_peak_rates, plan_curve
from planning.curve import apply_spike

REPO = Path(__file__).resolve().parents[2]


def test_mol_rates_interpolated_over_service_times_match_the_exact_ones() -> None:
    t = np.array([0.0, 3599.999, 3600.0, 7199.999, 7200.0, 10800.0])
    r = np.array([10.0, 10.0, 40.0, 40.0, 5.0, 5.0])  # steps (1 ms ramps), where the lag matters
    means = np.random.default_rng(2).uniform(0.003, 0.6, 50)
    got = interval_peak_rates(t, r, means, 0.8, method="mol", interval_s=3600)
    exact = np.array([interval_peak_rates(t, r, [m], 0.8, method="mol")[0] for m in means[:8]])
    assert got[:8] == pytest.approx(exact, rel=1e-3)
    psa = interval_peak_rates(t, r, means, 0.8, method="psa")
    assert np.all(psa == psa[0]) and psa[0].tolist() == [10.0, 40.0, 5.0]


def test_psa_rates_are_the_maximum_of_the_rate_on_the_plans_own_grid() -> None:
    t, r = [0.0, 5400.0, 9000.0], [1.0, 7.0, 2.0]
    grid = staffing_grid(t, interval_s=3600.0, resolution_s=600.0)
    rate = np.interp(grid.times_s, t, r)
    expected = [rate[grid.interval == i].max() for i in range(grid.interval_starts_s.size)]
    got = interval_peak_rates(t, r, [0.1], 1.0, method="psa", interval_s=3600, resolution_s=600)
    assert got[0].tolist() == expected


def test_a_spike_multiplies_inside_its_window_with_steps_as_1ms_ramps() -> None:
    t, r = np.array([0.0, 7200.0]), np.array([10.0, 10.0])
    new_t, new_r = apply_spike(t, r, Spike(3.0, 1800.0, 1800.0))
    assert new_t.tolist() == [0.0, 1800.0 - STEP_S, 1800.0, 3600.0 - STEP_S, 3600.0, 7200.0]
    assert new_r.tolist() == [10.0, 10.0, 30.0, 30.0, 10.0, 10.0]
    assert np.all(np.diff(new_t) > 0)


def test_the_curve_is_the_shape_times_the_derived_peak_with_the_what_ifs() -> None:
    spec = load_scenario(REPO / "scenarios" / "national-deadline.yaml").capacity
    assert spec is not None and spec.derivation is not None
    plain, surged = plan_curve(spec), plan_curve(spec, 2.0)
    assert plain.scale == spec.derivation.central()[spec.derivation.peak] == surged.scale
    assert surged.unit_rate_per_s.tolist() == (2 * plain.unit_rate_per_s).tolist()
    assert plain.rate_per_s.max() == pytest.approx(53.35, abs=0.01)


def test_a_spike_outside_the_arrivals_is_refused_naming_their_span() -> None:
    spec = load_scenario(REPO / "scenarios" / "national-plan.yaml").capacity
    assert spec is not None
    start = spec.arrivals.times_s[0]
    late = Spike(2.0, start + 25 * 3600.0, 600.0)  # after the day the arrivals cover
    with pytest.raises(ConfigError, match=r"is outside the plan \(00:00-24:00\)") as caught:
        plan_curve(spec, 1.0, (late,))
    assert caught.value.field == "--spike"
