"""The per-task spaces lose nothing: every feasible choice is matched or beaten by one kept."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aalps.cost_models.domain import Constraints, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.operators import OPERATORS
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.space import Candidate, Metrics

from tests.optimizer.brute_force import task_choices
from tests.optimizer.conftest import cached_request


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(
    "metrics", [Metrics(), Metrics(success=True), Metrics(latency=True), Metrics(True, True)]
)
def test_every_choice_is_dominated_by_a_kept_one(seed: int, metrics: Metrics) -> None:
    request = replace(cached_request(seed), constraints=Constraints())
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, metrics)
    assert spaces is not None
    for space in spaces:
        kept = [metrics.key(c) for c in space.candidates]
        for plan, outcome in task_choices(evaluator, space.task, votes=True):
            figures = metrics.key(Candidate(plan, outcome))
            assert any(
                all(
                    a <= b * (1 + 1e-12) if b > 0 else a <= b
                    for a, b in zip(k, figures, strict=True)
                )
                for k in kept
            ), (space.task.id, figures)


@pytest.mark.parametrize("seed", range(8))
def test_votes_never_cut_cost_or_latency(seed: int) -> None:
    """Why cost-only spaces skip votes: more votes never make a call cheaper or faster."""
    request = cached_request(seed)
    evaluator = PlanEvaluator(request)
    for task in request.graph.tasks:
        for plan, one in task_choices(evaluator, task, votes=False):
            spec = OPERATORS[plan.operator]
            for index, role in enumerate(spec.roles(task)):
                if not role.votable:
                    continue
                roles = list(plan.roles)
                roles[index] = replace(roles[index], votes=3)
                three = evaluator.task_outcome(
                    TaskPlan(plan.task_id, plan.operator, tuple(roles), plan.params)
                )
                assert three.expected_cost >= one.expected_cost
                assert three.latency >= one.latency
