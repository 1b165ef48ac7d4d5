"""The tornado of a derivation: each ranged input at its ends, the others central, ranked.

A small derivation worked by hand (``peak = a * b / c``), the ranking and its ties, the
inputs left out (single values, cross-checks), the text, the JSON, the chart, and the
shipped national deadline, whose swings are checked against the derivation's own
evaluator one input at a time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvcschema.capacity_inputs import Derivation, Figure, Quantity
from dvcschema.scenario import load_scenario
from planning.sensitivity import Tornado, lines, plot_tornado, to_json, tornado

REPO = Path(__file__).resolve().parents[2]


def _input(
    name: str, low: float, high: float, dist: str = "uniform", unit: str | None = None
) -> Figure:
    return Figure(name, Quantity(low, high, dist, f"guess: {name}", unit), unit=unit)


@pytest.fixture
def small() -> Derivation:
    """peak = a * b / c: a 2-4 (central 3), b 10-30 (20), c 1-4 loguniform (2); d fixed."""
    return Derivation(
        (
            _input("a", 2, 4),
            _input("b", 10, 30, unit="people"),
            _input("c", 1, 4, dist="loguniform"),
            Figure("d", Quantity(5, 5, "fixed", "calendar: d")),
            _input("e", 100, 200),  # used by the cross-check only
            Figure("peak", formula="a * b / c * d / 5", unit="sessions/s"),
            Figure("check", formula="peak / e"),
        ),
        peak="peak",
    )


def test_swings_of_a_small_derivation_worked_by_hand(small: Derivation) -> None:
    result = tornado(small)
    assert result.figure == "peak" and result.unit == "sessions/s"
    assert result.central == pytest.approx(3 * 20 / 2)  # 30
    by_name = {s.name: s for s in result.swings}
    # c: 3 * 20 / 1 = 60 at its low, 3 * 20 / 4 = 15 at its high: swing 45 (falls as c rises)
    assert (by_name["c"].peak_at_low, by_name["c"].peak_at_high) == pytest.approx((60, 15))
    assert by_name["c"].swing == pytest.approx(45) and by_name["c"].central == pytest.approx(2)
    # b: 3 * 10 / 2 = 15, 3 * 30 / 2 = 45: swing 30; a: 2 * 20 / 2 = 20, 4 * 20 / 2 = 40: 20
    assert (by_name["b"].peak_at_low, by_name["b"].peak_at_high) == pytest.approx((15, 45))
    assert (by_name["a"].peak_at_low, by_name["a"].peak_at_high) == pytest.approx((20, 40))
    assert [s.name for s in result.swings] == ["c", "b", "a"]  # ranked by swing: 45, 30, 20
    assert [s.swing for s in result.top(2)] == pytest.approx([45, 30])
    assert by_name["b"].unit == "people" and by_name["c"].dist == "loguniform"


def test_single_values_and_inputs_the_peak_does_not_use_are_left_out(small: Derivation) -> None:
    names = {s.name for s in tornado(small).swings}
    assert names == {"a", "b", "c"}  # not d (one value), not e (the cross-check's)
    check = tornado(small, "check")  # a cross-check varied on its own: e joins
    assert {s.name for s in check.swings} == {"a", "b", "c", "e"}
    e = next(s for s in check.swings if s.name == "e")
    assert (e.peak_at_low, e.peak_at_high) == pytest.approx((30 / 100, 30 / 200))


def test_equal_swings_keep_the_derivations_order() -> None:
    derivation = Derivation(
        (_input("x", 1, 3), _input("y", 10, 30), _input("z", 1, 1.5),
         Figure("peak", formula="x * y * z")),
        peak="peak",
    )  # fmt: skip
    assert [s.name for s in tornado(derivation).swings] == ["x", "y", "z"]  # x, y tie


def test_a_max_makes_a_swing_one_sided() -> None:
    derivation = Derivation((_input("a", 2, 8), Figure("peak", formula="max(a, 5)")), peak="peak")
    (swing,) = tornado(derivation).swings
    assert (swing.peak_at_low, swing.peak_at_high, swing.swing) == (5.0, 8.0, 3.0)


def test_an_unknown_figure_is_refused_naming_the_figures(small: Derivation) -> None:
    with pytest.raises(ValueError, match=r"'nope' is not a figure .* figures: a, b, c, d, e"):
        tornado(small, "nope")


@given(
    st.lists(
        st.tuples(
            st.floats(0.1, 100), st.floats(1.01, 10), st.sampled_from(["uniform", "loguniform"])
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_product_rises_with_each_input_and_swings_are_sorted(
    ranges: list[tuple[float, float, str]],
) -> None:
    inputs = [
        _input(f"x{k}", low, low * ratio, dist) for k, (low, ratio, dist) in enumerate(ranges)
    ]
    formula = " * ".join(f.name for f in inputs)
    result = tornado(Derivation((*inputs, Figure("peak", formula=formula)), peak="peak"))
    swings = [s.swing for s in result.swings]
    assert swings == sorted(swings, reverse=True)
    for s in result.swings:  # every other input central: the peak scales with this one
        assert s.peak_at_low <= result.central * (1 + 1e-12) <= s.peak_at_high * (1 + 1e-12)
        assert s.peak_at_low == pytest.approx(result.central * s.low / s.central)
        assert s.peak_at_high == pytest.approx(result.central * s.high / s.central)


# -- text, JSON and the chart ---------------------------------------------------------------
def test_lines_print_one_row_per_input_largest_first(small: Derivation) -> None:
    text = lines(tornado(small))
    assert text[0].startswith("Sensitivity of peak (30 sessions/s at the central values)")
    rows = [
        line.split() for line in text if line.startswith("  ") and not line.startswith("  input")
    ]
    rows = [r for r in rows if r[0] in {"a", "b", "c"}]
    assert [r[0] for r in rows] == ["c", "b", "a"]
    assert rows[0][1:] == ["1", "4", "60", "15", "45", "150%"]  # low high at-low at-high swing


def test_lines_say_when_nothing_varies() -> None:
    fixed = Derivation(
        (Figure("d", Quantity(5, 5, "fixed", "calendar: d")), Figure("peak", formula="d * 2")),
        peak="peak",
    )
    result = tornado(fixed)
    assert result.swings == () and result.central == 10.0
    assert lines(result)[-1] == "  (no ranged input: peak does not vary)"


def test_to_json_is_plain_and_complete(small: Derivation) -> None:
    data = json.loads(json.dumps(to_json(tornado(small))))
    assert (data["figure"], data["unit"], data["central"]) == ("peak", "sessions/s", 30.0)
    first = data["swings"][0]
    assert first == {
        "input": "c", "low": 1.0, "high": 4.0, "central": 2.0, "dist": "loguniform",
        "unit": None, "source": "guess: c", "peak_at_low": 60.0, "peak_at_high": 15.0,
        "swing": 45.0,
    }  # fmt: skip


def test_plot_tornado_writes_a_png(small: Derivation, tmp_path: Path) -> None:
    path = tmp_path / "tornado.png"
    plot_tornado(tornado(small), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 600  # opened: a real picture
    assert np.ptp(image[..., :3]) > 0.5  # not blank


# -- the shipped national deadline --------------------------------------------------------------
@pytest.fixture(scope="module")
def deadline() -> Derivation:
    spec = load_scenario(REPO / "scenarios" / "national-deadline.yaml").capacity
    assert spec is not None and spec.derivation is not None
    return spec.derivation


def test_the_national_deadlines_tornado_agrees_with_its_evaluator(deadline: Derivation) -> None:
    result = tornado(deadline)
    assert isinstance(result, Tornado) and result.figure == "peak_sessions_per_s"
    assert result.central == deadline.central()["peak_sessions_per_s"]
    for s in result.swings:  # one input at a time, through the derivation's own evaluator
        for end, expected in ((s.low, s.peak_at_low), (s.high, s.peak_at_high)):
            got = deadline.evaluate({s.name: end})["peak_sessions_per_s"]
            assert float(got) == pytest.approx(expected, rel=1e-12), s.name
    names = [s.name for s in result.swings]
    assert "vneid_users_per_day" not in names  # a cross-check's input
    assert names[:3] == [
        "sessions_per_transaction",
        "payment_growth_per_year",
        "payments_started_on_portal",
    ]
    top = result.swings[0]  # 8-20 sessions per transaction: 32.2 to 74.5 sessions/s
    assert (top.peak_at_low, top.peak_at_high) == pytest.approx((32.24, 74.47), abs=0.01)
    assert math.isclose(result.central, 53.35, abs_tol=0.005)


def test_the_national_deadlines_chart(deadline: Derivation, tmp_path: Path) -> None:
    path = tmp_path / "deadline-tornado.png"
    plot_tornado(tornado(deadline), path, top=8)
    assert matplotlib.image.imread(path).shape[1] > 600


def test_the_plan_prints_and_draws_its_tornado(tmp_path: Path) -> None:
    from planning import plan_json, plan_scenario, report, write_plots

    run = plan_scenario(load_scenario(REPO / "scenarios" / "national-deadline.yaml"), samples=20)
    text = report(run)
    assert "Sensitivity of peak_sessions_per_s" in text
    first = text.split("Sensitivity of peak_sessions_per_s", 1)[1].splitlines()[4].split()[0]
    assert first == tornado(run.spec.derivation).swings[0].name
    assert plan_json(run)["sensitivity"]["swings"][0]["input"] == first
    written = write_plots(run, tmp_path / "plan.png")
    assert written[-1] == tmp_path / "plan-tornado.png" and written[-1].stat().st_size > 10_000
