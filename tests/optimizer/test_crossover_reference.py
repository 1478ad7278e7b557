"""Crossovers against a straightforward reference: whole plans scored afresh, bisection.

The crossover search scores the challenged plan with shared evaluators, steady task plans
reused across points and one-task deltas, and refines the crossing by regula falsi
(:mod:`aalps.optimizer.crossover`, :mod:`aalps.optimizer.steady_tasks`). The reference here
builds a fresh evaluator at every point it looks at and scores both whole plans there: on
the search's grid (a factor of 4 a step, and the far point) the last point where the
challenger is not cheaper, then plain bisection between it and the next grid point. Each
reported crossing must be that one to the search's precision: the challenger dearer at the
scale point and just below the crossing, cheaper just past it and at every grid point
above.
"""

from __future__ import annotations

import functools
import math

import pytest
from aalps.cost_models.domain import OptimizeRequest, Plan, SearchObjective
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.ray import FAR_SCALE, objective_of
from aalps.optimizer.result import OptimizeResult

from tests.optimizer.random_requests import random_request, wide_request_data

#: How far (relative) from the reported crossing the gap's sign is checked, and how close
#: the reference's crossing must be: ten times the search's precision.
_NEAR = 1e-5


@functools.cache
def _solved(case: str) -> tuple[OptimizeRequest, OptimizeResult]:
    kind, seed = case.split(":")
    if kind == "random":
        request = random_request(int(seed))
    elif kind == "wide":
        request = load_request(wide_request_data(int(seed), 50, 20))
    else:  # past 100 tasks, one-task crossings are refined along the swap's curve
        request = load_request(wide_request_data(int(seed), 150, 8))
    return request, optimize(request)


def _gap(request: OptimizeRequest, later: Plan, now: Plan, scale: float) -> float:
    """``later``'s objective minus ``now``'s at ``scale``, each scored whole by a fresh
    evaluator there."""
    evaluator = PlanEvaluator(request, scale=scale)
    search = request.search
    ratio = search.objective is SearchObjective.COST_OF_PASS and not search.objectives
    return objective_of(evaluator.outcome(later), ratio) - objective_of(
        evaluator.outcome(now), ratio
    )


def _reference_crossing(request: OptimizeRequest, later: Plan, now: Plan) -> float | None:
    """The crossing by the plain method: the grid's last point where ``later`` is not
    cheaper, then bisection on ``log s`` to the next grid point (60 halvings)."""
    grid = [4.0**i for i in range(int(math.log(FAR_SCALE, 4)) + 1)] + [FAR_SCALE]
    gaps = [_gap(request, later, now, s) for s in grid]
    if not gaps[-1] < 0 or gaps[0] < 0:
        return None
    last = max(i for i, g in enumerate(gaps) if g >= 0)
    lo, hi = math.log(grid[last]), math.log(grid[last + 1])
    for _ in range(60):
        mid = (lo + hi) / 2
        if _gap(request, later, now, math.exp(mid)) < 0:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


@pytest.mark.parametrize(
    "case", ["random:2", "random:4", "random:12", "random:15", "wide:4", "large:1", "large:2"]
)
def test_crossings_are_the_references(case: str) -> None:
    request, result = _solved(case)
    now = result.plan.plan
    assert result.crossovers, "the case was chosen for its crossovers"
    for crossover in result.crossovers:
        later, scale = crossover.plan.plan, crossover.scale
        assert 1.0 < scale < FAR_SCALE
        assert _gap(request, later, now, 1.0) > 0
        assert _gap(request, later, now, scale * (1 - _NEAR)) >= 0
        assert _gap(request, later, now, scale * (1 + _NEAR)) < 0
        reference = _reference_crossing(request, later, now)
        assert reference == pytest.approx(scale, rel=_NEAR), crossover.text
        first = next(p for p in request.graph.parameters if p.grows and p.expr is None)
        assert crossover.at == first.value * scale
        assert crossover.values[first.name] == first.value * scale


@pytest.mark.parametrize(
    "case", ["random:2", "random:12", "wide:4", "wide:10", "wide:11", "wide:13", "large:1"]
)
def test_crossings_are_sign_changes_to_the_precision(case: str) -> None:
    """Each reported crossing, by a dense look with fresh evaluators: the challenger is
    cheaper at the scale reported, and not cheaper at one of twenty points within the
    search's precision below it (the sign change lies within that much of the scale)."""
    from aalps.optimizer.ray_roots import PRECISION

    request, result = _solved(case)
    now = result.plan.plan
    assert result.crossovers, "the case was chosen for its crossovers"
    for crossover in result.crossovers:
        later, scale = crossover.plan.plan, crossover.scale
        assert _gap(request, later, now, scale) < 0, crossover.text
        below = (scale * math.exp(-PRECISION * k / 20) for k in range(1, 21))
        assert any(_gap(request, later, now, s) >= 0 for s in below), crossover.text
