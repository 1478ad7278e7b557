"""A plan's lean figures along the scale ray against the whole pass over its tasks.

:func:`~aalps.optimizer.ray_figures.ray_figures` sums only the expected cost and the
log-success that the crossover search compares; the oracle is
:func:`~aalps.cost_models.outcomes.combine_outcomes` (what a plan's outcome is made by) on
the same figures: every float must be equal, not close, on random figures and on the roads
that pass takes apart (a zero cost, an overflowed one, a success of zero).
:meth:`~aalps.optimizer.steady_tasks.SteadyOutcomes.figures_beside` (a challenger from the
plan's figures) is checked against a fresh evaluator scoring the challenger whole.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from aalps.cost_models.domain import Plan, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.outcomes import TaskOutcome, combine_outcomes
from aalps.optimizer import optimize
from aalps.optimizer.ray import objective_of
from aalps.optimizer.ray_figures import ray_figures
from aalps.optimizer.steady_tasks import SteadyOutcomes

from tests.optimizer.random_requests import wide_request_data


def _task(cost: float, success: float, log_cost: float | None = None) -> TaskOutcome:
    log = math.log(cost) if log_cost is None and cost > 0 else log_cost
    return TaskOutcome(cost, -math.inf if log is None else log, success, 1.0, 0.0)


def _chain(n: int) -> list[list[int]]:
    return [[i - 1] if i else [] for i in range(n)]


def _assert_same(ordered: list[TaskOutcome]) -> None:
    whole = combine_outcomes(ordered, _chain(len(ordered)))
    lean = ray_figures(ordered, _chain(len(ordered)))
    for name in ("expected_cost", "log_cost", "log_success", "log_cost_of_pass"):
        mine, theirs = getattr(lean, name), getattr(whole, name)
        assert mine == theirs or (math.isnan(mine) and math.isnan(theirs)), name
    for ratio in (False, True):
        assert objective_of(lean, ratio) == objective_of(whole, ratio)


def test_random_figures_sum_to_the_same_floats() -> None:
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 60)
        ordered = [
            _task(10 ** rng.uniform(-8, 8), rng.choice([1.0, rng.random(), 1e-300 * rng.random()]))
            for _ in range(n)
        ]
        _assert_same(ordered)


@pytest.mark.parametrize(
    "ordered",
    [
        [_task(0.0, 1.0), _task(0.0, 0.5)],  # no cost: the log from the tasks' logs
        [_task(1e308, 0.9), _task(1e308, 0.9, log_cost=800.0)],  # the sum overflows
        [_task(math.inf, 0.5, log_cost=900.0), _task(3.0, 0.5)],
        [_task(2.0, 0.0), _task(3.0, 0.5)],  # never right: the cost of a pass is inf
        [_task(2.0, math.nan), _task(3.0, 0.5)],  # a NaN success: from the product
        [_task(math.inf, math.nan, log_cost=900.0), _task(3.0, 0.5)],
    ],
)
def test_the_other_roads_are_the_whole_pass(ordered: list[TaskOutcome]) -> None:
    _assert_same(ordered)


def test_overflowed_costs_take_the_log_of_the_whole_pass() -> None:
    """Far along the ray a plan's cost overflows (a task's, or only the sum): the log of
    the cost comes from the tasks' logs, the very floats the whole pass gives."""
    rng = random.Random(5)
    overflowed = 0
    for _ in range(300):
        ordered = []
        for _ in range(rng.randint(1, 80)):
            log_cost = rng.uniform(-5.0, 720.0)
            cost = math.exp(log_cost) if log_cost < 709.0 else math.inf
            success = rng.choice([1.0, rng.random(), 1e-300 * rng.random()])
            ordered.append(_task(cost, success, log_cost=log_cost))
        overflowed += not sum(o.expected_cost for o in ordered) < math.inf
        _assert_same(ordered)
    assert overflowed > 100


@pytest.fixture(scope="module")
def wide() -> tuple[PlanEvaluator, Plan]:
    request = load_request(wide_request_data(3, 120, 8))
    return PlanEvaluator(request), optimize(request, analysis=False).plan.plan


def _with(plan: Plan, changes: list[TaskPlan]) -> Plan:
    by_task = {c.task_id: c for c in changes}
    return Plan(tuple(by_task.get(tp.task_id, tp) for tp in plan.tasks))


def test_a_challenger_beside_the_plan_is_scored_as_whole(wide: tuple[PlanEvaluator, Plan]) -> None:
    """One-task and many-task changes of the plan, from the plan's figures at a point,
    equal a fresh evaluator's whole figures of the changed plan there."""
    evaluator, plan = wide
    steady = SteadyOutcomes(evaluator)
    rng = random.Random(3)
    models = [m.name for m in evaluator.catalog.models]
    changes = []
    for tp in plan.tasks:
        roles = tuple(replace(r, model=rng.choice(models), ensemble=()) for r in tp.roles)
        other = replace(tp, roles=roles)
        if other != tp and not evaluator.task_plan_problems(other):
            changes.append(other)
    assert len(changes) > 20
    by_task = {c.task_id: c for c in changes}
    challengers = [_with(plan, [c]) for c in changes[:8]]
    many = _with(plan, [c for c in by_task.values() if rng.random() < 0.5])
    assert sum(a != b for a, b in zip(many.tasks, plan.tasks, strict=True)) > 10
    for scale in (1.7, 40.0, 1e6):
        point = evaluator.at(scale)
        base = steady.figures(point, plan.tasks)
        fresh = PlanEvaluator(evaluator.request, scale=scale)
        for later in [*challengers, many]:
            mine = steady.figures_beside(point, later.tasks, plan.tasks, base)
            theirs = fresh.outcome(later)
            assert (mine.expected_cost, mine.log_cost, mine.log_success) == (
                theirs.expected_cost,
                theirs.log_cost,
                theirs.log_success,
            )
