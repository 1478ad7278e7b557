"""The estimates that steer the crossing's refinement for one-task challengers."""

from __future__ import annotations

import math

import pytest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.ray import objective_of
from aalps.optimizer.swap_curve import SwapCurve, _interpolate

from tests.optimizer.random_requests import wide_request_data


def test_interpolation_is_exact_on_cubics() -> None:
    nodes = [(x, 2.0 - x + 0.5 * x**2 - 0.25 * x**3) for x in (0.0, 1.3, 2.9, 4.0)]
    for x in (-1.0, 0.5, 2.0, 3.3, 5.0):
        assert _interpolate(nodes, x) == pytest.approx(2.0 - x + 0.5 * x**2 - 0.25 * x**3)


def test_the_estimate_lands_near_each_one_task_crossing() -> None:
    """With the plan scored whole at the grid's points only, the estimate of every one-task
    crossing is within a percent (on ``log s``) of the crossing found."""
    request = load_request(wide_request_data(4, 50, 20))
    result = optimize(request)
    plan = result.plan.plan
    evaluator = PlanEvaluator(request)
    grid = [4.0**i for i in range(10)] + [1e6]
    scored = {s: evaluator.at(s).outcome(plan) for s in grid}
    checked = 0
    for crossover in result.crossovers:
        changed = [
            (old, new)
            for old, new in zip(plan.tasks, crossover.plan.plan.tasks, strict=True)
            if old != new
        ]
        if len(changed) != 1:
            continue
        out, into = changed[0]
        last = max(i for i, s in enumerate(grid) if s < crossover.scale)
        curve = SwapCurve(evaluator, scored, out, into, True, grid)
        estimate = curve.estimate(math.log(grid[last]), math.log(grid[last + 1]))
        assert estimate is not None
        assert estimate == pytest.approx(math.log(crossover.scale), abs=1e-2)
        checked += 1
        # The gap it models is the whole plans' at the crossing found.
        point = evaluator.at(crossover.scale * 1.01)
        assert objective_of(point.outcome(crossover.plan.plan), True) < objective_of(
            point.outcome(plan), True
        )
    assert checked >= 2
