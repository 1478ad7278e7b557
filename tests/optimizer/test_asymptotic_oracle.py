"""Acceptance 3 of issue 7: the plan, the asymptotic plan and the crossovers against brute force.

For seeded random requests (at most 6 tasks) every plan is scored by
:mod:`tests.optimizer.brute_force`, at the scale point and at s = 1e6 along the scale ray
(the request rewritten with every growing parameter multiplied, AHEAD_BY_K's lead grown
by hand). Then: the plan's objective is the least there is; the asymptotic plan's objective
at s = 1e6 is the least there is; every reported crossover holds on both sides of its
scale; and when some plan beats the plan far along the ray, a crossover says so.
"""

from __future__ import annotations

import functools
import math

import pytest
from aalps.cost_models.domain import OptimizeRequest, Plan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer import optimize

from tests.optimizer.brute_force import (
    Optima,
    brute_optima,
    far_objective,
    grown_lead,
    objective,
    scaled_request,
)
from tests.optimizer.random_requests import random_request

SEEDS = range(16)


@functools.cache
def request_of(seed: int) -> OptimizeRequest:
    return random_request(1000 + seed, max_joint=20_000)


@functools.cache
def optima_of(seed: int) -> Optima:
    return brute_optima(request_of(seed))


def objective_at(request: OptimizeRequest, plan: Plan, scale: float) -> float:
    """A plan's objective at ``scale`` along the ray, computed from the rewritten request."""
    far = scaled_request(request, scale)
    evaluator = PlanEvaluator(far)
    outcomes = {
        tp.task_id: evaluator.task_outcome(grown_lead(request, far, tp)) for tp in plan.tasks
    }
    return far_objective(request, evaluator.combine(outcomes))


@pytest.mark.parametrize("seed", SEEDS)
def test_plan_asymptotic_plan_and_crossovers_match_brute_force(seed: int) -> None:
    request = request_of(seed)
    optima = optima_of(seed)
    assert optima.plans, "the generator only makes feasible requests"
    result = optimize(request)
    here = objective(request, result.plan.outcome)
    assert here == pytest.approx(optima.value, abs=1e-9), seed
    asymptotic = result.asymptotic_plan or result.plan
    assert optima.far_value_of(asymptotic.plan) == pytest.approx(optima.far_value, abs=1e-6), seed
    for crossing in result.crossovers:
        # Just below the crossing the plan is no dearer; just above, the challenger is cheaper.
        before, after = crossing.scale / 1.05, crossing.scale * 1.05
        assert objective_at(request, crossing.plan.plan, after) < objective_at(
            request, result.plan.plan, after
        ), (seed, crossing.text)
        if before > 1.0:
            assert (
                objective_at(request, crossing.plan.plan, before)
                >= objective_at(request, result.plan.plan, before) - 1e-9
            ), (seed, crossing.text)
    if optima.far_value_of(result.plan.plan) > optima.far_value + 1e-6:
        assert result.asymptotic_plan is not None, seed
        assert result.crossovers, seed
        assert math.isfinite(result.crossovers[0].scale)


def test_the_random_requests_grow_apart() -> None:
    """A guard on the generator: some requests have a different asymptotic optimum."""
    differ = [
        s
        for s in SEEDS
        if optima_of(s).far_value_of(_best_here(optima_of(s))) > optima_of(s).far_value + 1e-6
    ]
    assert len(differ) >= 3


def _best_here(optima: Optima) -> Plan:
    return min(optima.plans, key=lambda p: p[1])[0]
