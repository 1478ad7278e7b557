"""The stability scorer that shares alike task plans' figures across alike tasks
(:mod:`aalps.optimizer.stability_shared`) against a fresh evaluator of the same scaled
figure scoring every task plan itself: the very same figures (every field, floats compared
exactly), on seeded random and wide requests, for the request's own figures, a reliability
scaled down, up to the clip and far down, and a doubled size."""

from __future__ import annotations

from typing import Any

import pytest
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.optimizer.scaled_figures import RELIABILITY, SIZE, scaled_evaluator
from aalps.optimizer.stability_context import StabilityContext

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_calls import stability_calls


def _fields(outcome: TaskOutcome) -> tuple[str, ...]:
    """Every field, floats by ``repr`` (NaN equal to NaN, ``-0.0`` apart from ``0.0``)."""
    return tuple(repr(v) for v in vars(outcome).values())


def _scaled(evaluator: PlanEvaluator, context: StabilityContext) -> list[PlanEvaluator]:
    """The request's evaluator and some of the figures a stability analysis scales."""
    plan = context.plan
    model = plan.tasks[0].roles[0].model
    capability = context.capability(plan.tasks[0], plan.tasks[0].roles[0].role)
    reliability = float(evaluator.catalog.by_name[model].capabilities[capability])
    made = [evaluator]
    for factor in (0.9, 1.0 / reliability, 1e-3):
        made.append(scaled_evaluator(evaluator, model, RELIABILITY, factor, capability))
    made.append(scaled_evaluator(evaluator, model, SIZE, 2.0))
    return made


def _check(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(task plans compared, those answered from another task's scoring)."""
    compared = shared = 0
    for evaluator, plan, spaces, ratio in stability_calls(data, monkeypatch):
        context = StabilityContext(evaluator, plan, spaces, ratio)
        for tp in plan.tasks:  # every figure's alternatives into the pool
            for r in tp.roles:
                context.figure_alternatives(r.model, "")
                context.figure_alternatives(r.model, context.capability(tp, r.role))
        plans = list(dict.fromkeys([*plan.tasks, *context.pool.plans]))
        for scaled in _scaled(evaluator, context):
            # The plain path first, on its own fresh copy (nothing shared, nothing cached).
            plain = scaled.with_catalog(scaled.catalog)
            expected = [_fields(plain.task_outcome(tp)) for tp in plans]
            fresh = scaled.with_catalog(scaled.catalog)
            scorer = context.scorer(fresh)
            got = [scorer.task_outcome(tp) for tp in plans]
            assert [_fields(o) for o in got] == expected
            compared += len(plans)
            # Answered from another task's scoring: the same object under another task.
            by_choice: dict[Any, set[int]] = {}
            for tp, o in zip(plans, got, strict=True):
                if tp.task_id not in evaluator.facts.twins:
                    by_choice.setdefault((tp.operator, tp.roles, tp.params), set()).add(id(o))
            shared += sum(1 for tp in plans if tp.task_id not in evaluator.facts.twins) - sum(
                len(v) for v in by_choice.values()
            )
    return compared, shared


@pytest.mark.parametrize("seed", [1, 2, 4, 6, 8, 10])
def test_random_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(random_request_data(seed), monkeypatch)


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 60, 8), (3, 40, 12)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared, shared = _check(wide_request_data(seed, n_tasks, n_models), monkeypatch)
    assert compared > 1000 and shared > 100  # the sharing is exercised
