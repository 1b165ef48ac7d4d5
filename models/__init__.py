"""Queueing models for capacity planning (imports nothing else of dvcload).

Exact, vectorised and numerically stable at national scale: Erlang B/C/A, M/M/c
with exact waiting- and response-time quantiles, M/G/c and G/G/c approximations
(with measured errors), open Jackson networks, exact and approximate MVA with
bounds, operational laws, time-varying offered loads with PSA/MOL staffing,
sizing, capacity plans, and Ciw simulation cross-checks (:mod:`models.simulation`,
imported on demand because it loads Ciw).
"""

from __future__ import annotations

from models.approximations import (
    allen_cunneen_mean_wait,
    approx_mean_wait,
    approx_response_quantile,
    approx_response_survival,
    kingman_mean_wait,
    whitt_mean_wait,
)
from models.bounds import Bounds, asymptotic_bounds, balanced_job_bounds
from models.distributions import (
    Deterministic,
    Exponential,
    Lognormal,
    ServiceTimeDistribution,
    from_mean_cv,
)
from models.erlang import erlang_b, erlang_b_recursion, erlang_c, log_erlang_b
from models.erlang_a import ErlangA
from models.errors import ModelError
from models.finite_source import FiniteSource
from models.jackson import JacksonNetwork
from models.laws import (
    forced_flow,
    interactive_response_time,
    littles_law,
    service_demand,
    utilization,
)
from models.mmc import MMc
from models.montecarlo import (
    LogUniform,
    Uniform,
    input_range,
    min_servers_samples,
    sample_percentiles,
    sample_ranges,
)
from models.mva import MVAResult, mva, schweitzer
from models.plan import CapacityPlan, TierDemand, TierPlan, plan_capacity
from models.sizing import (
    TierBudget,
    halfin_whitt_beta,
    meets_budget,
    min_servers,
    service_distribution,
    square_root_staffing,
)
from models.time_varying import StaffingSchedule, offered_load, staffing_schedule

__all__ = [
    "Bounds",
    "CapacityPlan",
    "Deterministic",
    "ErlangA",
    "Exponential",
    "FiniteSource",
    "JacksonNetwork",
    "LogUniform",
    "Lognormal",
    "MMc",
    "MVAResult",
    "ModelError",
    "ServiceTimeDistribution",
    "StaffingSchedule",
    "TierBudget",
    "TierDemand",
    "TierPlan",
    "Uniform",
    "allen_cunneen_mean_wait",
    "approx_mean_wait",
    "approx_response_quantile",
    "approx_response_survival",
    "asymptotic_bounds",
    "balanced_job_bounds",
    "erlang_b",
    "erlang_b_recursion",
    "erlang_c",
    "forced_flow",
    "from_mean_cv",
    "halfin_whitt_beta",
    "input_range",
    "interactive_response_time",
    "kingman_mean_wait",
    "littles_law",
    "log_erlang_b",
    "meets_budget",
    "min_servers",
    "min_servers_samples",
    "mva",
    "offered_load",
    "plan_capacity",
    "sample_percentiles",
    "sample_ranges",
    "schweitzer",
    "service_demand",
    "service_distribution",
    "square_root_staffing",
    "staffing_schedule",
    "utilization",
    "whitt_mean_wait",
]

# Calibration (demands from measurements) and tandem response times.
from models.calibration import (
    DemandEstimate,
    DemandRegression,
    demand_from_response_time,
    demand_from_samples,
    fit_family,
    regress_demands,
)
from models.tandem import (
    QueueStation,
    tandem_mean_response,
    tandem_response_quantile,
)

__all__ += [
    "DemandEstimate",
    "DemandRegression",
    "QueueStation",
    "demand_from_response_time",
    "demand_from_samples",
    "fit_family",
    "regress_demands",
    "tandem_mean_response",
    "tandem_response_quantile",
]
