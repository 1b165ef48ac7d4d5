"""``planning.make_plan``: one entry point from Python, the arrival curve computed once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import planning.plan
from dvcschema.errors import ConfigError, ScenarioError
from dvcschema.scenario import load_scenario
from models import TierBudget
from models.montecarlo import min_servers_samples
from planning import (
    build_plan,
    interval_peak_rates,
    make_plan,
    parse_spike,
    plan_scenario,
)

REPO = Path(__file__).resolve().parents[2]
DEADLINE = REPO / "scenarios" / "national-deadline.yaml"
NATIONAL = REPO / "scenarios" / "national-plan.yaml"


def test_servers_at_central_inputs_equal_the_central_plan() -> None:
    result = plan_scenario(load_scenario(DEADLINE), samples=10, seed=1)
    budgets = {
        t.name: [TierBudget(b.kind, b.value, b.quantile) for b in result.spec.budgets_for(t)]
        for t in result.spec.tiers
    }
    for tier, tp in zip(result.spec.tiers, result.plan.tiers, strict=True):
        rows = interval_peak_rates(
            result.curve.times_s, result.curve.unit_rate_per_s, [tier.service_time_s], tier.cv,
            method=result.plan.method, interval_s=result.spec.interval_s,
        )  # fmt: skip
        rate = rows[0] * result.curve.scale * tier.visits
        got = min_servers_samples(rate, tier.service_time_s, tier.cv, budgets[tier.name])
        assert got.tolist() == tp.servers.tolist(), tier.name


def test_the_arrival_curve_is_computed_once_per_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = planning.plan.plan_curve

    def counted(*args: object, **kwargs: object) -> planning.plan.Curve:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(planning.plan, "plan_curve", counted)
    spec = load_scenario(DEADLINE).capacity
    assert spec is not None
    run = make_plan(spec, surge=2.0, spikes=(parse_spike("3x@17:00+30m"),), samples=20)
    with_spike = [c for c in calls if c[2]]
    assert len(with_spike) == 1  # the plan's own curve, once
    # the policy's lead time plans the day without the spike once more: what runs
    # until the spike's servers arrive (planning/leadtime.py)
    assert run.scale_up is not None and len(calls) == 2 and calls[1][2] == ()
    assert run.mc is not None and run.mc.samples == 20  # the spread was made, on that curve


def test_a_plan_is_made_from_python_without_the_command_line() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from dvcschema.scenario import load_scenario
        from planning import make_plan, plan_json, report
        spec = load_scenario({str(NATIONAL)!r}).capacity
        run = make_plan(spec, surge=1.5, name="from-python")
        assert report(run).startswith("Capacity plan for 'from-python'")
        assert plan_json(run)["surge"] == 1.5
        assert not [m for m in sys.modules if m.split(".")[0] == "dvcload"], "dvcload imported"
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_build_plan_is_the_central_plan_of_make_plan() -> None:
    spec = load_scenario(DEADLINE).capacity
    assert spec is not None
    spikes = (parse_spike("2x@09:00+1h"),)
    central = build_plan(spec, method="psa", surge=1.5, spikes=spikes)
    run = make_plan(spec, method="psa", surge=1.5, spikes=spikes, samples=5)
    assert central.to_dict() == run.plan.to_dict()


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"surge": 0.0}, "--surge", "is not a factor"),
        ({"surge": 1001.0}, "--surge", "is not a factor"),
        ({"samples": 0}, "--samples", "out of range"),
        ({"samples": 20_001}, "--samples", "out of range"),
    ],
)
def test_make_plan_refuses_a_bad_surge_or_number_of_samples(
    kwargs: dict[str, float], field: str, fragment: str
) -> None:
    spec = load_scenario(NATIONAL).capacity
    assert spec is not None
    with pytest.raises(ConfigError, match=fragment) as caught:
        make_plan(spec, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_scenario_without_a_capacity_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nduration: 5s\nload: {users: 1}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="has no 'capacity' section"):
        plan_scenario(load_scenario(path))
