"""Type stub of :mod:`models`: the names it exports and where they live.

`models/__init__.py` loads each submodule when one of its names is first used
(``lazy_loader.attach_stub`` reads this file), so that ``models._rng`` and
``models.distributions``, which the load generator and the portal use, do not load
SciPy's statistics and signal modules at start-up.
"""

from .approximations import (
    allen_cunneen_mean_wait,
    approx_mean_wait,
    approx_response_quantile,
    approx_response_survival,
    kingman_mean_wait,
    whitt_mean_wait,
)
from .bounds import Bounds, asymptotic_bounds, balanced_job_bounds
from .distributions import (
    Deterministic,
    Exponential,
    Lognormal,
    ServiceTimeDistribution,
    from_mean_cv,
)
from .erlang import erlang_b, erlang_b_recursion, erlang_c, log_erlang_b
from .erlang_a import ErlangA
from .errors import ModelError
from .finite_source import FiniteSource
from .jackson import JacksonNetwork
from .laws import (
    forced_flow,
    interactive_response_time,
    littles_law,
    service_demand,
    utilization,
)
from .mmc import MMc
from .montecarlo import (
    LogUniform,
    Uniform,
    input_range,
    min_servers_samples,
    sample_percentiles,
    sample_ranges,
)
from .mva import MVAResult, mva, schweitzer
from .plan import CapacityPlan, TierDemand, TierPlan, plan_capacity
from .sizing import (
    TierBudget,
    halfin_whitt_beta,
    meets_budget,
    min_servers,
    service_distribution,
    square_root_staffing,
)
from .time_varying import StaffingSchedule, offered_load, staffing_schedule

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

# Calibration (demands from measurements), tandem response times, and the fluid backlog
# and waits of a queue whose capacity lags its demand.
from .calibration import (
    DemandEstimate,
    DemandRegression,
    demand_from_response_time,
    demand_from_samples,
    fit_family,
    regress_demands,
)
from .fluid import FluidPath, fluid_queue, step_means
from .tandem import (
    QueueStation,
    tandem_mean_response,
    tandem_response_quantile,
)

__all__ += [
    "DemandEstimate",
    "DemandRegression",
    "FluidPath",
    "QueueStation",
    "demand_from_response_time",
    "demand_from_samples",
    "fit_family",
    "fluid_queue",
    "regress_demands",
    "step_means",
    "tandem_mean_response",
    "tandem_response_quantile",
]
