"""Capacity planning: servers per tier per hour for a scenario's ``capacity:`` section.

Callable from Python without the command line (``dvcload plan`` only parses its
arguments, calls this package and prints)::

    from planning import make_plan, parse_spike, plan_json, report
    run = make_plan(scenario.capacity, surge=2.0, spikes=(parse_spike("3x@17:00+30m"),))
    print(report(run)); json.dumps(plan_json(run))

Modules, one concept each: :mod:`~planning.plan` (one plan run: the curve once, then
everything from it), :mod:`~planning.whatif` (surge and spikes), :mod:`~planning.curve`
(the arrival curve and the load each interval is staffed for),
:mod:`~planning.montecarlo` (P50/P90 over samples of the ranges),
:mod:`~planning.tables` (the peak hour by hand, latency against servers),
:mod:`~planning.held` (servers held through their calls), :mod:`~planning.provision`
(instances, vCPU, memory, connections, cost; text in :mod:`~planning.provision_text`),
:mod:`~planning.leadtime` (a spike's backlog while servers boot; text in
:mod:`~planning.leadtime_text`),
:mod:`~planning.storage` (uploads and storage), :mod:`~planning.journeys` (a journey's
latency across tiers), :mod:`~planning.sensitivity` (the derivation's tornado),
:mod:`~planning.simcheck` (the schedule checked by simulation; text in
:mod:`~planning.simcheck_text`),
:mod:`~planning.calibrated` (a calibrated model's demands), :mod:`~planning.report`
(the text), :mod:`~planning.to_json` (the JSON), :mod:`~planning.plots` (the PNGs) and
:mod:`~planning.clock` (the one clock format).

Layering: this package imports :mod:`models` and :mod:`dvcschema` (and Matplotlib, when
a figure is drawn), never ``dvcload``, ``loadgen``, ``analysis`` or ``portal``
(``tests/test_layering.py``).
"""

from __future__ import annotations

from dvcschema.capacity import DEFAULT_SAMPLES
from planning.calibrated import apply as apply_model
from planning.calibrated import describe as describe_model
from planning.calibrated import read_model
from planning.clock import clock
from planning.curve import Curve, interval_peak_rates, plan_curve
from planning.montecarlo import (
    MAX_SAMPLES,
    PERCENTILES,
    MonteCarlo,
    check_samples,
    has_ranges,
    monte_carlo,
)
from planning.plan import (
    PlanRun,
    build_plan,
    capacity_of,
    make_plan,
    peak_interval,
    plan_scenario,
    with_arrivals,
)
from planning.plots import latency_path, plot_latency, write_plots
from planning.report import above_max, report
from planning.tables import LatencyTable, by_hand, latency_tables
from planning.to_json import plan_json
from planning.whatif import MAX_FACTOR, Spike, check_surge, parse_spike, parse_surge

__all__ = [
    "DEFAULT_SAMPLES",
    "MAX_FACTOR",
    "MAX_SAMPLES",
    "PERCENTILES",
    "Curve",
    "LatencyTable",
    "MonteCarlo",
    "PlanRun",
    "Spike",
    "above_max",
    "apply_model",
    "build_plan",
    "by_hand",
    "capacity_of",
    "check_samples",
    "check_surge",
    "clock",
    "describe_model",
    "has_ranges",
    "interval_peak_rates",
    "latency_path",
    "latency_tables",
    "make_plan",
    "monte_carlo",
    "parse_spike",
    "parse_surge",
    "peak_interval",
    "plan_curve",
    "plan_json",
    "plan_scenario",
    "plot_latency",
    "read_model",
    "report",
    "with_arrivals",
    "write_plots",
]
