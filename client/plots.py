"""Cost against scale, on log-log axes: the figures ``aalps plot`` draws (matplotlib).

Each plan of a result (the plan, the baseline, the asymptotic plan when there is one) is
evaluated along the request's scale ray (DESIGN §2: every growing parameter multiplied by
``s`` from its scale point) at :data:`POINTS` log-spaced scales, and drawn as one line
against the first growing parameter's value; crossovers are marked where the result puts
them (in the request's objective: under the cost of a correct result they need not be where
the expected costs meet), the separation is written in the corner, and a Pareto front
becomes a second panel (cost against success probability). Every artist carries a ``gid``
(``series-plan``, ``series-baseline``, ``series-asymptotic``, ``crossover-<i>``,
``pareto-front``) so that the SVG names its parts. matplotlib is the ``aalps[plot]`` extra,
imported only here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aalps.cost_models.domain import OptimizeRequest, Plan, SearchObjective
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.ray import FAR_SCALE

__all__ = [
    "POINTS",
    "Series",
    "cost_series",
    "figure",
    "matplotlib_or_error",
    "ratio",
    "scales",
    "slope",
]

#: Points per plan along the scale ray.
POINTS = 41


@dataclass(frozen=True)
class Series:
    """One plan's cost along the ray: ``x`` the first growing parameter, ``y`` the cost."""

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]


def matplotlib_or_error() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or a one-line error saying what to install."""
    from aalps.client.errors import FailedPreconditionError

    try:
        import matplotlib
    except ImportError:
        raise FailedPreconditionError(
            "aalps plot needs matplotlib: pip install 'aalps[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scales(top: float) -> list[float]:
    """:data:`POINTS` log-spaced scale factors from 1 to ``top``."""
    return [top ** (i / (POINTS - 1)) for i in range(POINTS)]


def ratio(request: OptimizeRequest) -> bool:
    """Whether the request minimizes the cost of a correct result (cost / success)."""
    return (
        not request.search.objectives and request.search.objective is SearchObjective.COST_OF_PASS
    )


def cost_series(
    request: OptimizeRequest, plans: Sequence[tuple[str, Plan]], at: Sequence[float]
) -> list[Series]:
    """Each named plan's expected cost at each scale factor of ``at`` (the figure Θ bounds:
    under the cost of a correct result, crossovers are where those meet instead)."""
    growing = [p for p in request.graph.parameters if p.grows and p.expr is None]
    if not growing:
        raise ValueError("the request has no growing parameter: there is no scale to plot")
    first = growing[0]
    evaluators = [PlanEvaluator(request, scale=s) for s in at]
    return [
        Series(
            name,
            tuple(first.value * s for s in at),
            tuple(e.outcome(plan).expected_cost for e in evaluators),
        )
        for name, plan in plans
    ]


def figure(
    request: OptimizeRequest,
    plans: Sequence[tuple[str, Plan]],
    *,
    crossovers: Sequence[tuple[float, float, str]] = (),
    separation: str = "",
    pareto: Sequence[tuple[float, float]] = (),
) -> tuple[Any, list[Series]]:
    """The figure and the series it plots.

    ``crossovers``: (scale factor, parameter value, label) per crossover; ``pareto``:
    (expected cost, success probability) per plan of a front.
    """
    plt = matplotlib_or_error()
    top = max([100.0, *(10 * s for s, _, _ in crossovers)])
    series = cost_series(request, plans, scales(min(top, FAR_SCALE)))
    panels = 2 if pareto else 1
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.8), squeeze=False)
    ax = axes[0][0]
    for item in series:
        (line,) = ax.plot(item.x, item.y, label=item.name, linewidth=1.8)
        line.set_gid(f"series-{item.name}")
    first = next(p for p in request.graph.parameters if p.grows and p.expr is None)
    plan_name, plan = plans[0]
    for i, (scale, value, label) in enumerate(crossovers):
        cost = PlanEvaluator(request, scale=scale).outcome(plan).expected_cost
        marker = ax.axvline(value, linestyle="--", linewidth=0.8, color="grey")
        marker.set_gid(f"crossover-{i}")
        ax.plot([value], [cost], marker="o", color="black")
        ax.annotate(
            label, (value, cost), textcoords="offset points", xytext=(-6, 8), ha="right", fontsize=8
        )
    if separation:
        ax.text(
            0.02,
            0.97,
            f"separation (baseline / {plan_name}): {separation}",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"{first.name} (scale point {first.value:g})")
    ax.set_ylabel(f"expected cost ({request.cost_model.value})")
    if ratio(request) and crossovers:
        ax.set_title(
            f"{request.graph.name}: crossovers in the cost of a correct result", fontsize=10
        )
    if not (ratio(request) and crossovers):
        ax.set_title(request.graph.name or "cost against scale")
    ax.legend(loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    if pareto:
        front = axes[0][1]
        points = front.scatter([c for c, _ in pareto], [p for _, p in pareto], label="Pareto front")
        points.set_gid("pareto-front")
        front.set_xscale("log")
        front.set_xlabel("expected cost")
        front.set_ylabel("success probability")
        front.set_title("Pareto front")
    fig.tight_layout()
    return fig, series


def slope(series: Series) -> float:
    """The log-log slope of a series between its last two points."""
    (x0, x1), (y0, y1) = series.x[-2:], series.y[-2:]
    return math.log(y1 / y0) / math.log(x1 / x0)
