"""Search spaces built as ``optimize`` builds them, and a comparable summary of each: the
tests that check a shortcut of the enumeration (skipped far figures, remembered role
models, copied twin spaces) against the plain enumeration compare these."""

from __future__ import annotations

from typing import Any

from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer.enumeration import SpaceBuilder, build_spaces
from aalps.optimizer.ray import FAR_SCALE, grows
from aalps.optimizer.space import Metrics, TaskSpace

__all__ = ["built_spaces", "space_summary", "spaces_with_builder"]


def built_spaces(data: dict[str, Any]) -> tuple[PlanEvaluator, list[TaskSpace]]:
    """The request's evaluator and every task's space, with the far point where it grows."""
    request = load_request(data)
    evaluator = PlanEvaluator(request)
    far = evaluator.at(FAR_SCALE) if grows(request) else None
    spaces = build_spaces(evaluator, Metrics.of(request, far=far is not None), far=far)
    assert spaces is not None
    return evaluator, spaces


def spaces_with_builder(data: dict[str, Any]) -> tuple[SpaceBuilder, list[TaskSpace]]:
    """Every task's space, and a builder of the same request's spaces (for scoring a
    candidate the enumeration skipped, on the evaluators the spaces were built with)."""
    request = load_request(data)
    evaluator = PlanEvaluator(request)
    far = evaluator.at(FAR_SCALE) if grows(request) else None
    metrics = Metrics.of(request, far=far is not None)
    builder = SpaceBuilder(evaluator, metrics, far)
    spaces = build_spaces(evaluator, metrics, far=far)
    assert spaces is not None
    return builder, spaces


def space_summary(space: TaskSpace) -> tuple[Any, ...]:
    """Everything a space holds: its task, each operator's options and scored candidates
    with their figures at both points, the kept candidates, problems, exactness and count."""
    options = {
        op: (o.roles, dict(o.models), dict(o.votes), o.params) for op, o in space.operators.items()
    }
    by_operator = {
        op: [(c.plan, c.outcome, c.far) for c in cands] for op, cands in space.by_operator.items()
    }
    chosen = [(c.plan, c.outcome, c.far) for c in space.candidates]
    return (
        space.index,
        space.task,
        options,
        by_operator,
        chosen,
        space.problems,
        space.exact,
        space.scored,
    )
