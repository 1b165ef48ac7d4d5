"""Upload bandwidth and storage of a plan: the attachments of the dossiers its sessions file.

From a plan's arrival curve (sessions/s) and the ``capacity.storage`` section
(:mod:`dvcschema.capacity_storage`):

* bytes per dossier: the mean attachment bytes (each kind's average count x its
  profile's mean, :attr:`dvcschema.attachments.AttachmentProfile.mean_bytes`, a
  lognormal's ``median x exp(sigma^2 / 2)``) plus the dossier's own record;
* upload at the peak: dossiers/s at the plan's peak (the peak row's busiest moment,
  sessions/s x dossiers per session) x attachment bytes x 8, in Mbit/s;
* storage for the day: the planned day's sessions (the curve's integral) x dossiers
  per session x bytes per dossier;
* storage per year: working days x a normal working day's dossiers x bytes per dossier.

All before replication: multiply by the copies kept (replicas, backups). The upload is
a mean rate: over one second, Poisson arrivals of lognormal sizes vary around it (a
compound Poisson sum, standard deviation ``sqrt(rate x E[B^2])`` bytes for ``B`` the
bytes of one dossier), so a link sized to the mean has no headroom.

With ranges (the derivation's, or this section's own) the figures get a P50 and P90:
over the plan's Monte Carlo samples (the derivation's figures per sample scale the
curve) joined with draws of this section's ranges from their own stream, or, in a plan
without ranges, over ``samples`` draws of this section's ranges only.

References
----------
.. [1] Johnson, N. L., Kotz, S. & Balakrishnan, N. (1994). *Continuous Univariate
   Distributions*, vol. 1, 2nd ed. Wiley, ch. 14 (the lognormal's mean).
.. [2] Morgan, M. G. & Henrion, M. (1990). *Uncertainty*. Cambridge University Press,
   ch. 8 (Monte Carlo propagation of input ranges).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from dvcschema.attachments import PROFILES
from dvcschema.capacity import DEFAULT_SAMPLES
from dvcschema.capacity_inputs import Quantity
from dvcschema.capacity_storage import DAY_KEY, SHARE_KEY, Input, StorageSpec
from dvcschema.errors import ConfigError, shown
from models.montecarlo import input_range, sample_ranges
from planning.clock import clock
from planning.montecarlo import PERCENTILES
from planning.text import fill

if TYPE_CHECKING:  # planning.plan may import this module to fill PlanRun
    from planning.plan import PlanRun

FloatArray = NDArray[np.float64]
Values = tuple[float, FloatArray | None]  # (central, samples or None: nothing varies)
STREAM = 17  # this section's draws: seed sequence (seed, STREAM), apart from the plan's
BITS_PER_BYTE = 8


@dataclass(frozen=True)
class Spread:
    """A figure at the central values, with its P50 and P90 (``None``: nothing varies)."""

    central: float
    p50: float | None = None
    p90: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {"central": self.central, "p50": self.p50, "p90": self.p90}


@dataclass(frozen=True)
class AttachmentLoad:
    """One kind of attachment: average count per dossier and its profile's sizes (bytes)."""

    kind: str
    per_dossier: float
    median_bytes: int
    sigma: float
    mean_bytes: float


@dataclass(frozen=True)
class StoragePlan:
    """Upload bandwidth at the peak and storage per day and per year, before replication.

    Bytes are decimal (1 GB = 1e9 B); ``upload_mbit_per_s`` is in 1e6 bit/s.
    ``share_from`` and ``year_from`` say where dossiers per session and a normal day's
    dossiers come from; ``samples`` is the number behind the P50/P90 (``None``: central
    values only).
    """

    peak_start_s: float
    interval_s: float
    attachments: tuple[AttachmentLoad, ...]
    record_bytes: int
    days_per_year: int
    peak_sessions_per_s: Spread
    dossiers_per_session: Spread
    peak_dossiers_per_s: Spread
    upload_mbit_per_s: Spread
    day_sessions: Spread
    day_dossiers: Spread
    day_bytes: Spread
    normal_day_dossiers: Spread
    year_bytes: Spread
    share_from: str
    year_from: str
    samples: int | None = None

    @property
    def attachment_bytes(self) -> float:
        """Mean attachment bytes per dossier."""
        return sum(a.per_dossier * a.mean_bytes for a in self.attachments)

    @property
    def bytes_per_dossier(self) -> float:
        """Mean bytes stored per dossier: attachments and record."""
        return self.attachment_bytes + self.record_bytes


def storage_plan(
    run: PlanRun, spec: StorageSpec, *, samples: int = DEFAULT_SAMPLES, seed: int = 1
) -> StoragePlan:
    """Upload bandwidth and storage for the dossiers of ``run``'s sessions.

    Parameters
    ----------
    run : PlanRun
        The plan (its curve, peak row and Monte Carlo samples, if any).
    spec : StorageSpec
        The ``capacity.storage`` section.
    samples, seed : int
        Draws of ``spec``'s own ranges when ``run`` has no Monte Carlo (else its
        samples and seed are used).

    Returns
    -------
    StoragePlan

    Examples
    --------
    >>> from dvcschema.attachments import SCAN, PHOTO
    >>> bytes_ = SCAN.mean_bytes + PHOTO.mean_bytes      # 1 scan + 1 photo: 500 kB
    >>> round(10 * bytes_ * 8 / 1e6, 2)                  # 10 dossiers/s, in Mbit/s
    40.0
    """
    if run.mc is not None:
        samples, seed = run.mc.samples, run.mc.seed
    draws = _draws(spec, samples, seed)
    scale = _scale(run)
    i = run.peak
    peak: Values = _times(float(run.plan.peak_arrival_rate_per_s[i]), scale)
    day: Values = _times(float(np.trapezoid(run.curve.rate_per_s, run.curve.times_s)), scale)
    share, share_from = _share(run, spec, draws, day)
    normal_day, year_from = _normal_day(run, spec, draws, day, share)
    attachments = _attachment_loads(spec)
    attachment_bytes = sum(a.per_dossier * a.mean_bytes for a in attachments)
    per_dossier = attachment_bytes + spec.record_bytes
    peak_dossiers = _product(peak, share)
    day_dossiers = _product(day, share)
    varies = any(v[1] is not None for v in (peak, day, share, normal_day))
    return StoragePlan(
        peak_start_s=float(run.plan.interval_starts_s[i]),
        interval_s=run.plan.interval_s,
        attachments=attachments,
        record_bytes=spec.record_bytes,
        days_per_year=spec.days_per_year,
        peak_sessions_per_s=_spread(peak),
        dossiers_per_session=_spread(share),
        peak_dossiers_per_s=_spread(peak_dossiers),
        upload_mbit_per_s=_spread(_times_c(peak_dossiers, attachment_bytes * BITS_PER_BYTE / 1e6)),
        day_sessions=_spread(day),
        day_dossiers=_spread(day_dossiers),
        day_bytes=_spread(_times_c(day_dossiers, per_dossier)),
        normal_day_dossiers=_spread(normal_day),
        year_bytes=_spread(_times_c(normal_day, per_dossier * spec.days_per_year)),
        share_from=share_from,
        year_from=year_from,
        samples=samples if varies else None,
    )


# -- the inputs, central and per sample ------------------------------------------------------
def _draws(spec: StorageSpec, samples: int, seed: int) -> dict[str, FloatArray]:
    """Samples of this section's ranges, from their own stream (apart from the plan's)."""
    ranged = [
        (key, q)
        for key, q in ((SHARE_KEY, spec.dossiers_per_session), (DAY_KEY, spec.dossiers_per_day))
        if isinstance(q, Quantity) and q.is_range
    ]
    if not ranged:
        return {}
    rng = np.random.default_rng([seed, STREAM])
    rows = sample_ranges([input_range(q.dist, q.low, q.high) for _, q in ranged], samples, rng)
    return {key: row for (key, _), row in zip(ranged, rows, strict=True)}


def _scale(run: PlanRun) -> FloatArray | None:
    """Per sample, the derived peak over its central value (``None``: the curve is fixed)."""
    derivation = run.spec.derivation
    if run.mc is None or derivation is None or derivation.peak not in run.mc.figures:
        return None
    ratio = np.asarray(run.mc.figures[derivation.peak], dtype=np.float64) / run.curve.scale
    return None if np.ptp(ratio) == 0 else ratio


def _value(run: PlanRun, value: Input, draws: dict[str, FloatArray], key: str) -> Values:
    if isinstance(value, Quantity):
        return value.central, draws.get(key)
    derivation = run.spec.derivation
    if derivation is None or value not in {f.name for f in derivation.figures}:
        raise ConfigError(
            f"{shown(value)} is not a figure of the derivation; name one of capacity.derivation",
            field=f"capacity.storage.{key}",
        )
    central = derivation.central()[value]
    drawn = run.mc.figures.get(value) if run.mc is not None else None
    samples = None if drawn is None else np.asarray(drawn, dtype=np.float64)
    _check_positive(value, key, central, samples)
    return central, None if samples is None or np.ptp(samples) == 0 else samples


def _check_positive(name: str, key: str, central: float, samples: FloatArray | None) -> None:
    """Refuse a figure that is not above 0 at the central values or in some sample."""
    where = "" if math.isfinite(central) and central > 0 else "at the central values"
    if not where and samples is not None:
        bad = int(np.count_nonzero(~np.isfinite(samples) | (samples <= 0)))
        where = f"for {bad:,} of {samples.size:,} samples" if bad else ""
    if where:
        raise ConfigError(
            f"the figure {shown(name)} is not a number above 0 {where}; allowed: dossiers"
            " above 0 (check its formula and ranges)",
            field=f"capacity.storage.{key}",
        )


def _share(
    run: PlanRun, spec: StorageSpec, draws: dict[str, FloatArray], day: Values
) -> tuple[Values, str]:
    """Dossiers per session, and where it comes from."""
    if spec.dossiers_per_session is not None:
        value = _value(run, spec.dossiers_per_session, draws, SHARE_KEY)
        return value, _describe(spec.dossiers_per_session, _percent)
    assert spec.dossiers_per_day is not None
    per_day = _value(run, spec.dossiers_per_day, draws, DAY_KEY)
    if not day[0] > 0:
        raise ConfigError(
            f"the planned day has {day[0]!r} sessions; give {SHARE_KEY} to size the dossiers",
            field=f"capacity.storage.{DAY_KEY}",
        )
    share = _combine(lambda d, s: d / s, per_day, day)
    return share, (
        f"{_describe(spec.dossiers_per_day, _num)} dossiers a day / the planned day's sessions"
        " (assumed: the planned day is a normal working day)"
    )


def _normal_day(
    run: PlanRun, spec: StorageSpec, draws: dict[str, FloatArray], day: Values, share: Values
) -> tuple[Values, str]:
    """A normal working day's dossiers, and where they come from."""
    if spec.dossiers_per_day is not None:
        value = _value(run, spec.dossiers_per_day, draws, DAY_KEY)
        return value, _describe(spec.dossiers_per_day, _num)
    return _product(day, share), (
        "the planned day's dossiers (assumed: every working day like the planned day; too"
        " high if it is a deadline or a peak day: give capacity.storage.dossiers_per_day)"
    )


def _describe(value: Input, show: Callable[[float], str]) -> str:
    if isinstance(value, str):
        return f"the figure {value} of the derivation"
    text = value.describe(show)
    return f"{text}; {value.source}" if value.source else text


def _attachment_loads(spec: StorageSpec) -> tuple[AttachmentLoad, ...]:
    return tuple(
        AttachmentLoad(kind, count, p.median_bytes, p.sigma, p.mean_bytes)
        for kind, count in spec.attachments
        for p in (PROFILES[kind],)
    )


# -- arithmetic on (central, samples) --------------------------------------------------------
def _combine(f: Callable[[Any, Any], Any], a: Values, b: Values) -> Values:
    central = float(f(a[0], b[0]))
    if a[1] is None and b[1] is None:
        return central, None
    left = a[1] if a[1] is not None else a[0]
    right = b[1] if b[1] is not None else b[0]
    return central, np.asarray(f(left, right), dtype=np.float64)


def _product(a: Values, b: Values) -> Values:
    return _combine(lambda x, y: x * y, a, b)


def _times(central: float, scale: FloatArray | None) -> Values:
    return central, None if scale is None else central * scale


def _times_c(a: Values, factor: float) -> Values:
    return a[0] * factor, None if a[1] is None else a[1] * factor


def _spread(values: Values) -> Spread:
    central, samples = values
    if samples is None:
        return Spread(central)
    p50, p90 = np.quantile(samples, PERCENTILES, method="inverted_cdf")
    return Spread(central, float(p50), float(p90))


# -- text and JSON ---------------------------------------------------------------------------
def lines(plan: StoragePlan) -> list[str]:
    """The report's block: the chain from sessions to bytes, central, P50 and P90."""
    end = plan.peak_start_s + plan.interval_s
    spread = f"; P50, P90 over {plan.samples:,} samples" if plan.samples else ""
    out = [
        fill(
            "Uploads and storage (capacity.storage), before replication: central values"
            f"{spread}; bytes are decimal (1 GB = 1e9 B)"
        ),
        fill(
            "attachments per dossier: "
            + " + ".join(
                f"{_num(a.per_dossier)} {a.kind} (lognormal, median {_bytes(a.median_bytes)},"
                f" sigma {a.sigma:g}: mean {_bytes(a.mean_bytes)})"
                for a in plan.attachments
            )
            + f" = {_bytes(plan.attachment_bytes)}; with the record ({_bytes(plan.record_bytes)})"
            f" {_bytes(plan.bytes_per_dossier)} stored per dossier",
            2,
        ),
        fill(f"dossiers per session: {plan.share_from}", 2),
        fill(f"a normal working day's dossiers: {plan.year_from}", 2),
        f"  {'figure':<40} {'central':>13} {'P50':>13} {'P90':>13}",
    ]
    rows = (
        (f"sessions/s at the peak ({clock(plan.peak_start_s)}-{clock(end)})",
         plan.peak_sessions_per_s, _num),
        ("dossiers per session", plan.dossiers_per_session, _percent),
        ("dossiers/s at the peak", plan.peak_dossiers_per_s, _num),
        ("upload at the peak (attachments)", plan.upload_mbit_per_s, _mbit),
        ("sessions on the planned day", plan.day_sessions, _num),
        ("dossiers on the planned day", plan.day_dossiers, _num),
        ("storage for the planned day", plan.day_bytes, _bytes),
        ("dossiers on a normal working day", plan.normal_day_dossiers, _num),
        (f"storage per year ({plan.days_per_year} working days)", plan.year_bytes, _bytes),
    )  # fmt: skip
    for label, value, show in rows:
        p50, p90 = ("", "") if value.p50 is None else (show(value.p50), show(value.p90 or 0.0))
        out.append(f"  {label:<40} {show(value.central):>13} {p50:>13} {p90:>13}".rstrip())
    out.append(
        fill(
            "upload: the attachments' bytes only (no HTTP or TLS overhead, no downloads), the"
            " mean rate at the peak row's busiest moment; seconds are burstier (Poisson"
            " arrivals of lognormal sizes), so leave headroom. Storage: attachments and"
            " record per dossier; multiply by the copies kept (replicas, backups).",
            2,
        )
    )
    return out


def to_json(plan: StoragePlan) -> dict[str, Any]:
    """The storage plan as plain Python types (``json.dumps`` takes it as it is)."""
    figures = (
        "peak_sessions_per_s", "dossiers_per_session", "peak_dossiers_per_s",
        "upload_mbit_per_s", "day_sessions", "day_dossiers", "day_bytes",
        "normal_day_dossiers", "year_bytes",
    )  # fmt: skip
    return {
        "peak_start_s": plan.peak_start_s,
        "attachments": [dataclasses.asdict(a) for a in plan.attachments],
        "attachment_bytes_per_dossier": plan.attachment_bytes,
        "record_bytes": plan.record_bytes,
        "bytes_per_dossier": plan.bytes_per_dossier,
        "days_per_year": plan.days_per_year,
        "dossiers_per_session_from": plan.share_from,
        "normal_day_dossiers_from": plan.year_from,
        "samples": plan.samples,
        "before_replication": True,
        **{name: getattr(plan, name).as_dict() for name in figures},
    }


# -- small formats ---------------------------------------------------------------------------


def _num(x: float) -> str:
    """Thousands separators for large figures, ~4 significant digits for small ones."""
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _percent(x: float) -> str:
    return f"{x * 100:.3g}%"


def _mbit(x: float) -> str:
    return f"{x:,.1f} Mbit/s" if x >= 10 else f"{x:.3g} Mbit/s"


def _bytes(x: float) -> str:
    """Decimal units: ``'211.0 kB'``, ``'23.9 GB'``."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.1f} {unit}"
    return f"{x:.0f} B"
