"""A plan's figures as PNGs: the schedule and latency against servers, titled with the what-ifs."""

from __future__ import annotations

from pathlib import Path

from dvcschema.scenario import load_scenario
from planning import latency_path, make_plan, parse_spike, write_plots
from planning.plots import what_ifs

REPO = Path(__file__).resolve().parents[2]


def test_write_plots_writes_the_schedule_and_the_latency_figure(tmp_path: Path) -> None:
    spec = load_scenario(REPO / "scenarios" / "national-plan.yaml").capacity
    assert spec is not None
    run = make_plan(spec, surge=2.0, spikes=(parse_spike("3x@17:00+30m"),))
    written = write_plots(run, tmp_path / "plan.png")
    assert written == (tmp_path / "plan.png", tmp_path / "plan-latency.png")
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
    assert what_ifs(run) == ", arrivals x2, spike x3 at 17:00 for 30m"
    assert what_ifs(make_plan(spec)) == ""


def test_the_latency_figure_sits_beside_the_schedule() -> None:
    assert latency_path(Path("out/plan.png")) == Path("out/plan-latency.png")
