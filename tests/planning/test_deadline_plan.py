"""The national deadline planned from Python: every figure traces to an input or a formula.

The central test rebuilds the peak hour's servers of every tier by hand from the
printed inputs: the derivation's formulas evaluated on the inputs' central values, then
M/M/c (or the sizing function for lognormal service) at that rate. Then: the Monte
Carlo spread is reproducible and ordered, the what-ifs need more servers, and latency
falls as servers rise. The vectorised staffing itself is checked against
:func:`models.min_servers` point by point in ``tests/models/test_montecarlo.py``; that
the command line prints exactly these figures, in ``tests/dvcload/test_plan_national.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dvcschema.errors import ScenarioError
from dvcschema.rates import DIURNAL_WEIGHTS
from dvcschema.scenario import load_scenario
from models import MMc, TierBudget, min_servers, service_distribution
from planning import PlanRun, Spike, parse_spike, plan_json, plan_scenario, report

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "national-deadline.yaml"
SAMPLES = 400  # enough for stable percentiles, and quick


@cache
def _run(
    *,
    path: Path = SCENARIO,
    seed: int | None = None,
    method: str | None = None,
    surge: float = 1.0,
    spikes: tuple[Spike, ...] = (),
) -> PlanRun:
    """One plan (cached: each distinct plan is made once)."""
    return plan_scenario(
        load_scenario(path), seed=seed, method=method, surge=surge, spikes=spikes, samples=SAMPLES
    )


def _json(**kwargs: Any) -> dict[str, Any]:
    """The plan's JSON as ``dvcload plan --json`` prints it (through ``json``)."""
    return json.loads(json.dumps(plan_json(_run(**kwargs))))


# -- the peak hour by hand ------------------------------------------------------------------------
def _central(entry: dict[str, Any]) -> float:
    """An input's central value from its printed range: the median of the distribution."""
    if "value" in entry:
        return float(entry["value"])
    low, high = float(entry["low"]), float(entry["high"])
    return math.sqrt(low * high) if entry.get("dist") == "loguniform" else (low + high) / 2


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", text)
    assert match is not None, text
    return float(match[1]) * (0.001 if match[2] == "ms" else 1.0)


def _budget(expression: str) -> TierBudget:
    """The three budget forms the scenario uses, read by hand."""
    if m := re.fullmatch(r"p(\d+) < (\S+)", expression):
        return TierBudget("response_quantile", _seconds(m[2]), quantile=int(m[1]) / 100)
    if m := re.fullmatch(r"P\(wait\) < (\S+)", expression):
        return TierBudget("prob_wait", float(m[1]))
    m = re.fullmatch(r"utilization < (\S+)", expression)
    assert m is not None, expression
    return TierBudget("max_utilization", float(m[1]))


_FORMULA_GLOBALS = {"__builtins__": {}, "min": min, "max": max}  # the formulas' two functions


def _tier_value(entry: Any, parse: Any) -> float:
    if isinstance(entry, dict):
        return _central({k: parse(v) if k in ("low", "high", "value") else v
                         for k, v in entry.items()})  # fmt: skip
    return float(parse(entry))


def _peak_by_hand(data: dict[str, Any]) -> tuple[float, dict[str, int]]:
    """Sessions/s at the peak hour, and each tier's servers, from the printed inputs only."""
    derivation = data["derivation"]
    values: dict[str, float] = dict(derivation["builtins"])
    for fig in derivation["figures"]:
        if fig["kind"] == "input":
            values[fig["name"]] = _central(fig)
        else:  # the printed formula, evaluated on the values above it
            values[fig["name"]] = eval(fig["formula"], _FORMULA_GLOBALS, {**values})
        assert values[fig["name"]] == pytest.approx(fig["central"], rel=1e-12)
    shape = data["inputs"]["arrivals"]["hourly"]
    hour = int(np.argmax(shape))
    sessions_per_s = values[derivation["peak"]] * shape[hour]
    servers = {}
    for name, tier in data["inputs"]["tiers"].items():
        service_s = _tier_value(tier["service_time"], _seconds)
        visits = _tier_value(tier["visits"], float)
        rate = sessions_per_s * visits  # requests/s at the tier
        budgets = [_budget(b) for b in data["budgets_per_tier"][name]]
        if tier["cv"] == 1.0:  # M/M/c: count up from the fewest stable servers
            c = math.floor(rate * service_s) + 1
            while not _meets_all(MMc(arrival_rate=rate, service_rate=1 / service_s, servers=c),
                                 budgets):  # fmt: skip
                c += 1
        else:  # lognormal service: the sizing function, budget by budget
            service = service_distribution(service_s, tier["cv"])
            c = max(int(min_servers(rate, service, b)) for b in budgets)
        servers[name] = c
    return sessions_per_s, servers


def _meets_all(q: MMc, budgets: list[TierBudget]) -> bool:
    metric = {"prob_wait": lambda b: q.prob_wait, "max_utilization": lambda b: q.utilization,
              "response_quantile": lambda b: q.response_quantile(b.quantile)}  # fmt: skip
    return all(metric[b.kind](b) <= b.value for b in budgets)


def test_peak_hour_servers_rebuilt_by_hand_from_the_printed_inputs() -> None:
    data = _json()
    sessions_per_s, servers = _peak_by_hand(data)
    peak = data["peak"]
    assert peak["start_s"] == 9 * 3600  # 09:00-10:00, the shape's busiest hour
    assert peak["peak_arrival_rate_per_s"] == pytest.approx(sessions_per_s, rel=1e-12)
    assert sessions_per_s == pytest.approx(53.35, abs=0.005)
    assert peak["servers"] == servers
    row = data["plan"]["intervals"][9]["tiers"]
    assert {name: t["servers"] for name, t in row.items()} == servers
    for name, hand in data["peak_by_hand"].items():  # the printed chain agrees too
        assert hand["sessions_per_s"] == pytest.approx(sessions_per_s, rel=1e-12)
        assert hand["servers"] == servers[name] == max(hand["servers_by_budget"].values())


def test_the_text_prints_each_figure_next_to_its_formula_or_source() -> None:
    out = report(_run())
    data = _json()
    lines = out.splitlines()
    for fig in data["derivation"]["figures"]:
        k = next(i for i, line in enumerate(lines) if line.startswith(f"  {fig['name']} "))
        explanation = " ".join(part.strip() for part in lines[k + 1 : k + 3])
        if fig["kind"] == "formula":
            assert f"= {fig['formula']}" in explanation, fig["name"]
        else:
            assert fig["source"][:50] in explanation, fig["name"]
            assert re.match(r"(domain\.md|guess|calendar):", fig["source"]), fig["name"]
    assert re.search(r"^  peak_sessions_per_s +53\.35 .*<- the peak$", out, re.M)
    for name, n in data["peak"]["servers"].items():
        assert re.search(rf"^  {name} +53\.35/s x .* -> {n} servers$", out, re.M), name
    assert "guess" in out and "domain.md" in out and "calendar" in out
    assert re.search(r"^  P50 of 400 samples: web \d+, db \d+, payment \d+, vneid \d+$", out, re.M)


# -- the Monte Carlo spread -----------------------------------------------------------------------
def test_monte_carlo_is_reproducible_with_a_seed_and_changes_without() -> None:
    a = _json(seed=7)
    b = _json(seed=7, method="psa")  # a second plan, same seed
    c = _json(seed=8)
    assert a["monte_carlo"] == b["monte_carlo"]
    assert a["monte_carlo"]["seed"] == 7 and a["monte_carlo"]["samples"] == 400
    assert a["monte_carlo"] != c["monte_carlo"]
    assert a["plan"] == c["plan"]  # the central plan does not depend on the samples


def test_the_seed_is_the_scenarios_unless_given() -> None:
    assert _json()["monte_carlo"]["seed"] == 20260430
    assert _json(seed=7)["monte_carlo"]["seed"] == 7


def test_p90_is_at_least_p50_in_every_hour_and_the_peak_spread_brackets_the_centre() -> None:
    data = _json()
    mc = data["monte_carlo"]
    for interval in mc["intervals"]:
        for spread in interval["tiers"].values():
            assert spread["p90"] >= spread["p50"] >= 1
    for name, spread in mc["peak"]["tiers"].items():
        central = data["peak"]["servers"][name]
        assert spread["p50"] <= central <= spread["p90"], name  # skewed ranges: P50 below
        assert spread["p90"] > 1.2 * spread["p50"]  # 8-20 sessions per transaction, and more


def test_figures_spread_in_the_derivation_only_where_an_input_varies() -> None:
    figures = {f["name"]: f for f in _json()["derivation"]["figures"]}
    assert figures["payments_per_half_year"]["p50"] == figures["payments_per_half_year"]["p90"]
    peak = figures["peak_sessions_per_s"]
    assert peak["used_by_peak"] and peak["p50"] < peak["p90"]
    assert not figures["vneid_users_per_day"]["used_by_peak"]  # a cross-check
    filers = figures["pit_self_filers"]  # loguniform: its median is the geometric middle
    assert filers["low"] <= filers["p50"] <= filers["p90"] <= filers["high"]
    assert filers["central"] == pytest.approx(math.sqrt(filers["low"] * filers["high"]))
    assert filers["p50"] == pytest.approx(filers["central"], rel=0.1)


def test_the_shape_is_the_mix_of_the_two_streams_open_until_midnight() -> None:
    """``arrivals.hourly``, rebuilt by hand from the central figures (the file's step 13)."""
    data = _json()
    c = {f["name"]: f["central"] for f in data["derivation"]["figures"]}
    weights = np.asarray(DIURNAL_WEIGHTS)
    middle_h = np.arange(24) + 0.5
    pit = weights * (1 + 3 * np.exp(-(24 - middle_h) / 3))  # rising 4x towards 24:00
    assert pit.sum() == pytest.approx(13.187, abs=5e-4)  # the sum the formulas divide by
    day = (
        c["deadline_normal_sessions"] * weights / weights.sum()
        + c["pit_day_sessions"] * pit / pit.sum()
    )
    shape = data["inputs"]["arrivals"]["hourly"]
    assert shape == pytest.approx(day / day.max(), abs=5.1e-4)  # written to 3 decimals
    assert max(shape) == shape[9] == 1.0  # 09:00-10:00
    assert c["shape_vs_derivation"] == pytest.approx(1.0, abs=1e-3)
    # no cut-off at 17:00: the evening holds up and the last hour rises above a normal day's
    assert shape[17] > 0.5 * shape[16] and shape[23] > weights[23] / weights.max()
    # the peak is the busier of 09:00 and 15:00, each by hand
    for h, name in ((9, "sessions_per_s_0900"), (15, "sessions_per_s_1500")):
        assert c[name] * 3600 == pytest.approx(day[h], rel=1e-5), name
    assert c["peak_sessions_per_s"] == c["sessions_per_s_0900"] > c["sessions_per_s_1500"]


# -- what-ifs --------------------------------------------------------------------------------------
def test_surge_2x_needs_more_servers_at_the_peak() -> None:
    plain, doubled = _json(), _json(surge=2.0)
    assert doubled["surge"] == 2.0
    assert doubled["peak"]["peak_arrival_rate_per_s"] == pytest.approx(
        2 * plain["peak"]["peak_arrival_rate_per_s"]
    )
    for name, n in plain["peak"]["servers"].items():
        assert doubled["peak"]["servers"][name] > n
        for q in ("p50", "p90"):
            assert (doubled["monte_carlo"]["peak"]["tiers"][name][q]
                    > plain["monte_carlo"]["peak"]["tiers"][name][q])  # fmt: skip
    # the derivation is the scenario's; the what-if applies on top of it
    assert doubled["derivation"] == plain["derivation"]
    assert doubled["peak_by_hand"]["web"]["shape_and_what_ifs"] == pytest.approx(2.0)


def test_a_spike_multiplies_arrivals_for_its_length_and_can_move_the_peak() -> None:
    plain = _json()
    spiked = _json(spikes=(parse_spike("3x@12:00+30m"),))
    assert spiked["spikes"] == [{"factor": 3.0, "start_s": 43200.0, "length_s": 1800.0}]
    noon = plain["plan"]["intervals"][12]
    noon_spiked = spiked["plan"]["intervals"][12]
    assert noon_spiked["peak_arrival_rate_per_s"] == pytest.approx(
        3 * noon["peak_arrival_rate_per_s"]
    )
    # the hour holds the spike for half of it: its mean rises by half of (3 - 1)
    assert noon_spiked["mean_arrival_rate_per_s"] == pytest.approx(
        2 * noon["mean_arrival_rate_per_s"], rel=1e-3
    )
    assert spiked["peak"]["start_s"] == 12 * 3600  # 3 x 0.552 of the peak beats 09:00's 1
    for name, tier in noon_spiked["tiers"].items():
        assert tier["servers"] > noon["tiers"][name]["servers"]
    for k in (9, 11, 13):  # other hours are untouched
        assert spiked["plan"]["intervals"][k] == plain["plan"]["intervals"][k]


# -- latency against servers ------------------------------------------------------------------
def test_latency_falls_as_servers_rise_at_the_peak_hour() -> None:
    data = _json()
    for name, table in data["latency_vs_servers"].items():
        rows = table["rows"]
        servers = [r["servers"] for r in rows]
        assert servers == sorted(set(servers)) and len(rows) >= min(8, servers[-1] - servers[0] + 1)
        assert servers[0] == math.floor(table["offered_load"]) + 1  # the fewest stable
        assert servers[-1] >= 1.5 * data["peak"]["servers"][name] - 1
        for key in ("p95_response_s", "mean_wait_s", "prob_wait", "utilization"):
            values = [r[key] for r in rows]
            assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(values)), key
        assert rows[0]["p95_response_s"] > 1.5 * rows[-1]["p95_response_s"]
        planned = next(r for r in rows if r["mark"] == "planned (central)")
        assert planned["servers"] == data["peak"]["servers"][name]
        at_peak = data["plan"]["intervals"][9]["tiers"][name]  # 09:00-10:00
        assert planned["p95_response_s"] == pytest.approx(at_peak["p95_response_s"], rel=1e-9)
        marks = {r["mark"] for r in rows}
        assert {"fewest stable", "P90"} <= marks


def test_a_plan_without_ranges_has_no_monte_carlo() -> None:
    data = _json(path=REPO / "scenarios" / "national-plan.yaml")
    assert data["monte_carlo"] is None and data["derivation"] is None
    assert set(data["latency_vs_servers"]) == {"web", "db", "payment"}


TIER_RANGES = """\
name: tier-ranges
capacity:
  method: psa
  arrivals:
    hourly: [2, 2, 2, 2, 2, 2, 5, 10, 20, 40, 40, 30, 20, 20, 30, 40, 30, 20, 10, 5, 5, 2, 2, 2]
  budgets: ["p95 < 250ms", "P(wait) < 0.2", "utilization < 0.8"]
  tiers:
    web: {service_time: 20ms, visits: 6}
    app: {service_time: {low: 40ms, high: 60ms, source: "guess"}, visits: {low: 3, high: 5}}
"""


def test_tier_ranges_without_a_derivation_spread_around_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(TIER_RANGES, encoding="utf-8")
    data = json.loads(json.dumps(plan_json(plan_scenario(load_scenario(path), samples=300))))
    assert data["derivation"] is None and data["monte_carlo"]["ranges"] == [
        "app.service_time",
        "app.visits",
    ]
    peak = data["monte_carlo"]["peak"]["tiers"]
    assert peak["web"]["p50"] == peak["web"]["p90"] == data["peak"]["servers"]["web"]  # fixed
    assert peak["app"]["p50"] < peak["app"]["p90"]
    # the central plan is the one the middle of the ranges gives: 40/s x 4 x 50 ms, by hand
    assert data["peak"]["servers"]["app"] == max(
        int(min_servers(160.0, service_distribution(0.05, 1.0), b))
        for b in (TierBudget("response_quantile", 0.25, quantile=0.95),
                  TierBudget("prob_wait", 0.2), TierBudget("max_utilization", 0.8))
    )  # fmt: skip
    path.write_text(TIER_RANGES.replace("high: 60ms", "high: 90ms"), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:  # the longest service time misses p95 < 250ms
        plan_scenario(load_scenario(path))
    assert "cannot be met at tier 'app'" in str(caught.value)
    assert "service_time 90ms" in str(caught.value)
