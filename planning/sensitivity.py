"""Which input of a derivation moves the peak most: a one-at-a-time sensitivity (tornado).

For each ranged input the derived peak depends on, the peak is computed with that input
at the low end of its range and at the high end, every other input at its central value
(the median of its range). The inputs are ranked by swing, ``|peak at high - peak at
low|``: the top of the table is where better data would narrow the plan most. Inputs the
peak does not use (cross-checks) and single values are left out.

One-at-a-time swings ignore interactions between inputs (the Monte Carlo spread of
:mod:`planning.montecarlo` has them), and a ``max(...)`` in a formula makes a swing
one-sided where its other branch takes over. The figures are evaluated by
:meth:`dvcschema.capacity_inputs.Derivation.evaluate`, the same evaluator as the central
plan and the Monte Carlo samples, all ends at once (one array per input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from dvcschema.capacity_inputs import Derivation
from planning.text import figure, fill


@dataclass(frozen=True)
class Swing:
    """One input of the tornado: its range, and the peak with it at each end.

    ``central`` is the input's central value; ``peak_at_low`` and ``peak_at_high`` the
    derived peak (in the peak figure's unit) with the input at ``low`` or ``high`` and
    every other input at its central value.
    """

    name: str
    low: float
    high: float
    central: float
    dist: str
    unit: str | None
    source: str | None
    peak_at_low: float
    peak_at_high: float

    @property
    def swing(self) -> float:
        """``|peak_at_high - peak_at_low|``, in the peak's unit."""
        return abs(self.peak_at_high - self.peak_at_low)


@dataclass(frozen=True)
class Tornado:
    """The swings of a derivation's peak, largest first.

    ``figure`` is the figure varied (the derivation's ``peak`` unless asked otherwise),
    ``unit`` its unit, ``central`` its value with every input central.
    """

    figure: str
    unit: str | None
    central: float
    swings: tuple[Swing, ...]

    def top(self, n: int) -> tuple[Swing, ...]:
        """The ``n`` inputs with the largest swings."""
        return self.swings[:n]


def tornado(derivation: Derivation, figure: str | None = None) -> Tornado:
    """Each ranged input of ``figure`` at its low and its high, the others central, ranked.

    Parameters
    ----------
    derivation : Derivation
        A parsed ``derivation:`` section (``spec.derivation`` of a capacity scenario).
    figure : str, optional
        The figure to vary; the derivation's ``peak`` (sessions/s) by default.

    Returns
    -------
    Tornado
        The central value of ``figure`` and one :class:`Swing` per ranged input it depends
        on, sorted by swing, largest first (ties keep the derivation's order).

    References
    ----------
    A. Saltelli et al., *Global Sensitivity Analysis: The Primer*, Wiley (2008), ch. 1:
    one-at-a-time designs and their limits.

    Examples
    --------
    >>> from dvcschema.capacity_inputs import Derivation, Figure, Quantity
    >>> d = Derivation(
    ...     (Figure("a", Quantity(2, 4, "uniform", "guess")),
    ...      Figure("b", Quantity(10, 30, "uniform", "guess")),
    ...      Figure("peak", formula="a * b")),
    ...     peak="peak",
    ... )
    >>> t = tornado(d)
    >>> t.central, [(s.name, s.peak_at_low, s.peak_at_high) for s in t.swings]
    (60.0, [('b', 30.0, 90.0), ('a', 40.0, 80.0)])
    """
    name = derivation.peak if figure is None else figure
    if name not in {f.name for f in derivation.figures}:
        known = ", ".join(f.name for f in derivation.figures)
        raise ValueError(f"{name!r} is not a figure of the derivation; figures: {known}")
    used = derivation.depends_on(name)
    ranged = [
        f
        for f in derivation.inputs
        if f.quantity is not None and f.quantity.is_range and f.name in used
    ]
    # column 2k: input k at its low; 2k + 1: at its high; every other input central
    values: dict[str, np.ndarray] = {}
    for k, fig in enumerate(ranged):
        assert fig.quantity is not None
        column = np.full(2 * len(ranged), fig.quantity.central)
        column[2 * k : 2 * k + 2] = (fig.quantity.low, fig.quantity.high)
        values[fig.name] = column
    peaks = np.broadcast_to(derivation.evaluate(values)[name], (2 * len(ranged),))
    central = float(derivation.central()[name])
    swings = []
    for k, fig in enumerate(ranged):
        q = fig.quantity
        assert q is not None
        swings.append(
            Swing(fig.name, q.low, q.high, q.central, q.dist, q.unit, q.source,
                  float(peaks[2 * k]), float(peaks[2 * k + 1]))
        )  # fmt: skip
    ranked = sorted(swings, key=lambda s: -s.swing)  # stable: ties keep the file's order
    return Tornado(name, derivation.figure(name).unit, central, tuple(ranked))


# -- text and JSON --------------------------------------------------------------------------
def lines(result: Tornado) -> list[str]:
    """The tornado as text: one row per input, largest swing first."""
    unit = f" {result.unit}" if result.unit else ""
    out = [
        fill(
            f"Sensitivity of {result.figure} ({figure(result.central)}{unit} at the central"
            " values): each ranged input it uses at the low and at the high end of its range,"
            " every other input central; ranked by swing (|at high - at low|), a tornado"
        ),
        f"  {'input':<30} {'low':>11} {'high':>11} {'at low':>9} {'at high':>9}"
        f" {'swing':>9} {'of central':>10}",
    ]
    for s in result.swings:
        share = s.swing / result.central if result.central else math.nan
        out.append(
            f"  {s.name:<30} {figure(s.low):>11} {figure(s.high):>11} {figure(s.peak_at_low):>9}"
            f" {figure(s.peak_at_high):>9} {figure(s.swing):>9} {share:>10.0%}"
        )
    if not result.swings:
        out.append(f"  (no ranged input: {result.figure} does not vary)")
    return out


def to_json(result: Tornado) -> dict[str, Any]:
    """Plain Python types for ``json.dumps``: the figure, its central value, the swings."""
    return {
        "figure": result.figure,
        "unit": result.unit,
        "central": result.central,
        "swings": [
            {
                "input": s.name,
                "low": s.low,
                "high": s.high,
                "central": s.central,
                "dist": s.dist,
                "unit": s.unit,
                "source": s.source,
                "peak_at_low": s.peak_at_low,
                "peak_at_high": s.peak_at_high,
                "swing": s.swing,
            }
            for s in result.swings
        ],
    }


# -- the chart ------------------------------------------------------------------------------
def plot_tornado(result: Tornado, path: str | PathLike[str], *, top: int | None = None) -> None:
    """A PNG: one horizontal bar per input (largest at the top) from the peak at its low
    end to the peak at its high end, split at the central peak (a vertical line).

    ``top`` keeps the ``top`` largest swings only. Each bar's ends are labelled with the
    input's value there; the x axis is in the figure's unit.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    swings = result.swings if top is None else result.swings[:top]
    fig = MplFigure(figsize=(9.0, 1.2 + 0.42 * max(len(swings), 1)), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    rows = np.arange(len(swings))[::-1]  # the largest swing at the top
    for y, s in zip(rows, swings, strict=True):
        for at, colour in ((s.peak_at_low, "tab:blue"), (s.peak_at_high, "tab:orange")):
            ax.barh(y, at - result.central, left=result.central, height=0.6, color=colour)
        for at, value in ((s.peak_at_low, s.low), (s.peak_at_high, s.high)):
            right = at >= result.central
            ax.annotate(_input_text(value, s.unit), (at, y), xytext=(3 if right else -3, 0),
                        textcoords="offset points", ha="left" if right else "right",
                        va="center", fontsize="x-small")  # fmt: skip
    unit = f" {result.unit}" if result.unit else ""
    ax.axvline(result.central, color="0.2", lw=1.0)
    ax.annotate(f"central {figure(result.central)}{unit}", (result.central, 1.0),
                xycoords=("data", "axes fraction"), xytext=(3, -3), textcoords="offset points",
                ha="left", va="top", fontsize="small")  # fmt: skip
    ax.set_yticks(rows, [s.name for s in swings], fontsize="small")
    ax.set_xlabel(f"{result.figure}{f' ({result.unit})' if result.unit else ''}")
    ax.margins(x=0.15)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(
        handles=[
            _patch("tab:blue", "input at its low end"),
            _patch("tab:orange", "input at its high end"),
        ],
        loc="lower right",
        fontsize="small",
    )
    ax.set_title(
        f"What moves {result.figure}: each input at its low and high end, the others central",
        fontsize="medium",
    )
    fig.savefig(path, format="png")


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


# -- small formats --------------------------------------------------------------------------
def _input_text(value: float, unit: str | None) -> str:
    return f"{figure(value)} {unit}" if unit else figure(value)
