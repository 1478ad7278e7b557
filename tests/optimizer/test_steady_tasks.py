"""Figures along the scale ray computed once per task where they cannot move.

:class:`~aalps.optimizer.steady_tasks.SteadyOutcomes` hands the crossover search the figures
of the task plans that read no growing parameter once for every ray point; the oracle is a
fresh evaluator built at each point, scoring the whole plan (every figure must be equal, not
close). The numeric shapes a ray point shares between tasks (and builds without the
dataclass's ``__init__``) are checked against the general
:func:`~aalps.cost_models.task_sizes.task_shape` the same way.
"""

from __future__ import annotations

import pytest
import sympy
from aalps.cost_models import shapes, task_sizes
from aalps.cost_models.domain import Plan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.steady_tasks import SteadyOutcomes, moving_symbols

from tests.optimizer.random_requests import random_request_data, wide_request_data

SCALES = (0.5, 1.7, 40.0, 1e6, 3e9)


@pytest.fixture(scope="module")
def wide() -> tuple[PlanEvaluator, Plan]:
    request = load_request(wide_request_data(3, 120, 8))
    return PlanEvaluator(request), optimize(request, analysis=False).plan.plan


def test_steady_outcomes_equal_a_fresh_evaluators(wide: tuple[PlanEvaluator, Plan]) -> None:
    evaluator, plan = wide
    steady = SteadyOutcomes(evaluator)
    assert any(steady.steady(tp) for tp in plan.tasks)
    assert not all(steady.steady(tp) for tp in plan.tasks)
    # Some are steady only because their operator reads none of their task's moving sizes.
    assert any(steady.steady(tp) and not steady._task_steady(tp.task_id) for tp in plan.tasks)
    for scale in SCALES:
        fresh = PlanEvaluator(evaluator.request, scale=scale)
        assert steady.outcome(evaluator.at(scale), plan.tasks) == fresh.outcome(plan)
        for tp in plan.tasks:
            if steady.steady(tp):
                assert fresh.task_outcome(tp) == PlanEvaluator(
                    evaluator.request, scale=scale * 3
                ).task_outcome(tp)


@pytest.mark.parametrize("seed", range(12))
def test_task_steady_reads_the_symbols_the_shape_reads(seed: int) -> None:
    """A task is steady exactly when :func:`~aalps.cost_models.task_sizes.size_symbols` of
    its sizes and incoming tokens holds no moving symbol (computed here directly)."""
    data = random_request_data(seed) if seed % 2 else wide_request_data(seed, 30, 5)
    request = load_request(data)
    steady = SteadyOutcomes(PlanEvaluator(request))
    graph = request.graph
    moving = moving_symbols(graph)
    for task in graph.tasks:
        incoming = sympy.Add(*(e.tokens for e in graph.edges if e.target == task.id))
        expected = not (task_sizes.size_symbols(task, incoming) & moving)
        assert steady._task_steady(task.id) is expected


def test_moving_symbols_follow_the_definitions() -> None:
    request = load_request(wide_request_data(1, 5, 4))
    names = {str(s) for s in moving_symbols(request.graph)}
    assert names == {"k", "l", "b", "n"}  # n = k*l moves with k and l


def test_shared_shapes_equal_the_general_shape() -> None:
    request = load_request(wide_request_data(2, 200, 6))
    base = PlanEvaluator(request)
    facts = shapes.GraphFacts.of(request.graph)
    for scale in SCALES:
        point = base.at(scale)
        values = shapes.ray_values(request.graph, scale)
        for task in request.graph.tasks:
            got = point._compiled[task.id].numeric
            want = task_sizes.task_shape(
                task,
                facts.incoming[task.id],
                values,
                facts.references[task.id],
                fast=True,
                memo=task_sizes.SizeMemo(),
            )
            mine = {k: v for k, v in vars(got).items() if k != "aggregate_tokens"}
            theirs = {k: v for k, v in vars(want).items() if k != "aggregate_tokens"}
            assert mine == theirs
            assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}
            assert (got.aggregate_tokens is None) == (want.aggregate_tokens is None)
            if got.aggregate_tokens is not None:
                assert got.aggregate_tokens(7.0) == want.aggregate_tokens(7.0)
