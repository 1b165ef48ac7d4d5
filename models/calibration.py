"""Service demands estimated from measurements: the inputs of the queueing models.

Three estimators, in the order of the evidence they need:

1. **Per-request service times** (the reference portal's access log records how long
   each request held a server of each tier): the sample mean, its standard error, the
   coefficient of variation and the distribution family that fits best by maximum
   likelihood and Akaike's criterion (:func:`demand_from_samples`).
2. **Response time and throughput at low load** (only what a load generator sees):
   the utilisation law ``U = X D / c`` with the open-model residence time, which is
   ``R = D / (1 - U)`` for one server and the M/M/c mean response for ``c``, solved for
   ``D`` (:func:`demand_from_response_time`). The measured ``R`` includes network
   and client time, so the estimate is an upper bound on the server's demand.
3. **Regression of utilisation on throughput** over several load levels (or
   request mixes): ``U c = U0 + sum_r D_r X_r`` by non-negative least squares
   (:func:`regress_demands`), the method of Bard & Shatzoff and of Zhang,
   Cherkasova & Smirni for multi-tier applications.

References
----------
.. [1] Lazowska, E. D., Zahorjan, J., Graham, G. S. & Sevcik, K. C. (1984).
   *Quantitative System Performance*. Prentice-Hall, ch. 3 (operational laws:
   utilisation law ``U = X S``, service demand law ``D = U / X``) and ch. 6 (open
   models: residence time ``R_k = D_k / (1 - U_k)``).
.. [2] Menascé, D. A., Almeida, V. A. F. & Dowdy, L. W. (2004). *Performance by
   Design: Computer Capacity Planning by Example*. Prentice Hall, ch. 3 and 12
   (service demands from measured utilisation and throughput).
.. [3] Bard, Y. & Shatzoff, M. (1978). Statistical methods in computer performance
   analysis. In *Current Trends in Programming Methodology* III, Prentice-Hall.
.. [4] Zhang, Q., Cherkasova, L. & Smirni, E. (2007). A regression-based analytic
   model for dynamic resource provisioning of multi-tier applications. *Proc. 4th
   IEEE International Conference on Autonomic Computing (ICAC)*, p. 27.
.. [5] Akaike, H. (1974). A new look at the statistical model identification.
   *IEEE Transactions on Automatic Control* 19(6), 716-723.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from models.distributions import ServiceTimeDistribution, from_mean_cv
from models.errors import ModelError
from models.mmc import MMc

FloatArray = NDArray[np.float64]
FAMILIES = ("exponential", "lognormal", "deterministic")
DETERMINISTIC_CV = 0.05
"""Below this sample CV the service time is treated as constant."""
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class DemandEstimate:
    """A service demand (per visit, in seconds) with its uncertainty and provenance.

    Parameters
    ----------
    mean_s : float
        Estimated mean service time per visit (s).
    cv : float
        Coefficient of variation the models should use (1 for an exponential fit).
    n : int
        Samples (requests) or load levels behind the estimate.
    std_error_s : float
        Standard error of ``mean_s`` (s); ``nan`` when unknown.
    method : str
        ``'samples'``, ``'response_time'`` or ``'regression'``.
    family : str
        ``'exponential'``, ``'lognormal'`` or ``'deterministic'``.
    sample_cv : float
        The CV of the data itself (``nan`` when there are no samples).

    Examples
    --------
    >>> est = DemandEstimate(0.05, 1.0, 400, 0.0025, "samples", "exponential", 0.98)
    >>> [round(x, 4) for x in est.ci95_s]
    [0.0451, 0.0549]
    >>> est.distribution()
    Exponential(mean=0.05)
    """

    mean_s: float
    cv: float
    n: int
    std_error_s: float
    method: str
    family: str = "exponential"
    sample_cv: float = math.nan

    @property
    def ci95_s(self) -> tuple[float, float]:
        """Normal-approximation 95% confidence interval of the mean (s)."""
        half = Z_95 * self.std_error_s
        return self.mean_s - half, self.mean_s + half

    @property
    def relative_error(self) -> float:
        """Standard error over the mean."""
        return self.std_error_s / self.mean_s if self.mean_s > 0 else math.nan

    def distribution(self) -> ServiceTimeDistribution:
        """The service-time distribution (s) for the queueing models."""
        cv = None if self.family != "lognormal" else self.cv
        return from_mean_cv(self.family, self.mean_s, cv)


@dataclass(frozen=True)
class DemandRegression:
    """Demands from a regression of utilisation on throughput.

    ``demands_s[r]`` is the busy server-seconds per request of class ``r``;
    ``background`` the busy servers at zero throughput (monitoring, other work).
    """

    demands_s: FloatArray
    background: float
    std_errors_s: FloatArray
    r_squared: float
    levels: int


def demand_from_samples(service_times_s: ArrayLike) -> DemandEstimate:
    """Service demand from per-request service times (the ground truth, when logged).

    The mean is the sample mean (unbiased for any distribution) with standard error
    ``s / sqrt(n)``; the family is chosen by :func:`fit_family`; the CV given to the
    models is 1 for an exponential fit, 0 for a deterministic one and the sample CV
    for a lognormal one.

    Parameters
    ----------
    service_times_s : array_like
        Service times (s), each ``>= 0``; at least two.

    Returns
    -------
    DemandEstimate

    References
    ----------
    Lazowska et al. (1984), §3.2 (demand ``D = V S``: visits times service per visit).

    Examples
    --------
    >>> est = demand_from_samples(np.random.default_rng(1).exponential(0.05, 20_000))
    >>> est.family, round(est.mean_s, 3), est.cv
    ('exponential', 0.05, 1.0)
    """
    x = _samples(service_times_s)
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    sample_cv = sd / mean if mean > 0 else 0.0
    family = fit_family(x)
    cv = {"exponential": 1.0, "deterministic": 0.0}.get(family, sample_cv)
    return DemandEstimate(mean, cv, x.size, sd / math.sqrt(x.size), "samples", family, sample_cv)


def fit_family(service_times_s: ArrayLike) -> str:
    """The family that fits the sample best: exponential, lognormal or deterministic.

    Deterministic when the sample CV is below :data:`DETERMINISTIC_CV`; otherwise the
    exponential (one parameter) and lognormal (two) maximum-likelihood fits are
    compared by Akaike's information criterion ``AIC = 2k - 2 ln L``. A sample with a
    zero cannot be lognormal.

    Parameters
    ----------
    service_times_s : array_like
        Service times (s), each ``>= 0``; at least two.

    Returns
    -------
    str

    References
    ----------
    Akaike (1974).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> fit_family(rng.lognormal(-3.0, 0.5, 5000)), fit_family(rng.exponential(1.0, 5000))
    ('lognormal', 'exponential')
    """
    x = _samples(service_times_s)
    mean = float(x.mean())
    if mean == 0 or x.std() / mean < DETERMINISTIC_CV:
        return "deterministic"
    n = x.size
    aic_exp = 2 * 1 - 2 * (-n * math.log(mean) - n)
    if np.any(x <= 0):
        return "exponential"
    logs = np.log(x)
    sigma = float(logs.std())
    if sigma == 0:
        return "deterministic"
    loglik_ln = -logs.sum() - n * math.log(sigma) - 0.5 * n * math.log(2 * math.pi) - 0.5 * n
    aic_ln = 2 * 2 - 2 * loglik_ln
    return "lognormal" if aic_ln < aic_exp else "exponential"


def demand_from_response_time(
    response_time_s: float, throughput_per_s: float, servers: int = 1
) -> float:
    """Service demand from a mean response time and throughput (no per-request data).

    Solves the open-model response time for ``D``: with one server ``R = D / (1 - U)``
    and ``U = X D`` (utilisation law), so ``D = R / (1 + X R)``; with ``c`` servers the
    M/M/c mean response ``R(X, D, c)`` is increasing in ``D`` and is inverted
    numerically. At low load ``D`` is close to ``R`` whatever the model. The measured
    ``R`` includes network and client time, so ``D`` is an upper bound on the server's
    demand.

    Parameters
    ----------
    response_time_s : float
        Mean response time R (s), > 0.
    throughput_per_s : float
        Throughput X at the resource (requests/s), >= 0.
    servers : int
        Servers c at the resource.

    Returns
    -------
    float
        Demand D per request (s), ``0 < D <= R``.

    References
    ----------
    Lazowska et al. (1984), ch. 3 (utilisation law) and ch. 6 (open models).

    Examples
    --------
    >>> round(demand_from_response_time(0.1, 5.0), 6)     # U = 0.333, R = D / (1 - U)
    0.066667
    >>> from models.mmc import MMc
    >>> d = demand_from_response_time(0.3, 40.0, servers=8)
    >>> round(float(MMc(40.0, 1 / d, 8).mean_response), 9)
    0.3
    """
    r, x = float(response_time_s), float(throughput_per_s)
    if not (math.isfinite(r) and r > 0):
        raise ModelError(f"response_time_s must be a finite number > 0, got {response_time_s!r}")
    if not (math.isfinite(x) and x >= 0):
        raise ModelError(f"throughput_per_s must be a finite number >= 0, got {throughput_per_s!r}")
    if not (isinstance(servers, int) and servers >= 1):
        raise ModelError(f"servers must be a whole number >= 1, got {servers!r}")
    if x == 0:
        return r
    if servers == 1:
        return r / (1.0 + x * r)

    def gap(d: float) -> float:
        return float(MMc(x, 1.0 / d, servers).mean_response) - r

    upper = min(r, servers / x * (1 - 1e-12))
    if gap(upper) <= 0:
        return upper
    return float(optimize.brentq(gap, upper * 1e-9, upper, xtol=1e-15, rtol=1e-12))


def regress_demands(
    throughput_per_s: ArrayLike, busy_servers: ArrayLike, *, background: bool = True
) -> DemandRegression:
    """Demands per request class from utilisation measured at several load levels.

    Fits ``U_i c = U0 + sum_r D_r X_ir`` (the utilisation law summed over classes, plus
    a background load ``U0``) by non-negative least squares, so no demand comes out
    negative when classes are collinear. Standard errors are the ordinary
    least-squares ones at the solution (``nan`` without spare degrees of freedom).

    Parameters
    ----------
    throughput_per_s : array_like
        ``(levels,)`` or ``(levels, classes)``: throughput of each class at each level
        (requests/s).
    busy_servers : array_like
        ``(levels,)``: mean busy servers at each level, ``U c`` (utilisation per
        server times servers).
    background : bool
        Fit the intercept ``U0`` (default) or force it to zero.

    Returns
    -------
    DemandRegression

    References
    ----------
    Bard & Shatzoff (1978); Zhang, Cherkasova & Smirni (2007); Menascé, Almeida &
    Dowdy (2004), ch. 12; the utilisation law of Lazowska et al. (1984), §3.2.

    Examples
    --------
    >>> fit = regress_demands([10.0, 20.0, 40.0], [0.55, 1.05, 2.05])
    >>> round(float(fit.demands_s[0]), 6), round(fit.background, 6)
    (0.05, 0.05)
    """
    x = np.asarray(throughput_per_s, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    y = np.asarray(busy_servers, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ModelError(
            f"need throughput of shape (levels, classes) and busy_servers of shape (levels,);"
            f" got {x.shape} and {y.shape}"
        )
    if not (np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(np.isfinite(y))):
        raise ModelError("throughputs must be finite and >= 0, busy_servers finite")
    design = np.column_stack([x, np.ones(len(y))]) if background else x
    if len(y) < design.shape[1]:
        raise ModelError(
            f"{len(y)} load levels cannot determine {design.shape[1]} unknowns; measure more levels"
        )
    coef, _ = optimize.nnls(design, y)
    return DemandRegression(
        demands_s=coef[: x.shape[1]],
        background=float(coef[-1]) if background else 0.0,
        std_errors_s=_ols_std_errors(design, y, coef)[: x.shape[1]],
        r_squared=_r_squared(design @ coef, y),
        levels=len(y),
    )


def _ols_std_errors(design: FloatArray, y: FloatArray, coef: FloatArray) -> FloatArray:
    dof = len(y) - design.shape[1]
    gram = design.T @ design
    if dof <= 0 or np.linalg.matrix_rank(gram) < design.shape[1]:
        return np.full(design.shape[1], np.nan)
    sigma2 = float(np.sum((y - design @ coef) ** 2)) / dof
    return np.sqrt(np.diag(np.linalg.inv(gram)) * sigma2)


def _r_squared(fitted: FloatArray, y: FloatArray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - fitted) ** 2)) / total if total > 0 else 1.0


def _samples(values: ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size < 2:
        raise ModelError(f"need at least 2 service times, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(x >= 0)):
        raise ModelError("service times must be finite numbers >= 0 (seconds)")
    return x
