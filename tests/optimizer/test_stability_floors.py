"""The bounds a reliability scan skips alternatives on before scoring their floors
(:mod:`aalps.optimizer.stability_floors`), and the scaled evaluators that start with the
request's role entries (:class:`aalps.optimizer.scaled_figures.ScaledFigures`), against
plain scorings: every task plan's success, scored under the request's figures and under
reliabilities scaled up to the clip and far down, is at most its cap; a scaled evaluator
that starts with the entries scores every task plan as a fresh one does (every field)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.optimizer.scaled_figures import RELIABILITY, SIZE, ScaledFigures, scaled_evaluator
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_floors import Bounds, UpFloors, success_caps

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_calls import stability_calls


def _fields(outcome: TaskOutcome) -> tuple[str, ...]:
    """Every field, floats by ``repr``."""
    return tuple(repr(v) for v in vars(outcome).values())


def _analyses(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """(evaluator, context, every task plan of every figure's alternatives) per call."""
    found = []
    for evaluator, plan, spaces, ratio in stability_calls(data, monkeypatch):
        context = StabilityContext(evaluator, plan, spaces, ratio)
        for tp in plan.tasks:
            for r in tp.roles:
                context.figure_alternatives(r.model, "")
                context.figure_alternatives(r.model, context.capability(tp, r.role))
        found.append((evaluator, context, list(dict.fromkeys([*plan.tasks, *context.pool.plans]))))
    return found


def _figures(evaluator: PlanEvaluator, context: StabilityContext) -> list[tuple[Any, ...]]:
    """Some of the figures an analysis scales: (model, field, factor, capability)."""
    made: list[tuple[Any, ...]] = []
    for tp in context.plan.tasks[:3]:
        for r in tp.roles:
            capability = context.capability(tp, r.role)
            reliability = float(evaluator.catalog.by_name[r.model].capabilities[capability])
            for factor in (1.0 / reliability, 0.7, 1e-3):
                made.append((r.model, RELIABILITY, factor, capability))
            made.append((r.model, SIZE, 2.0, ""))
    return made


@pytest.mark.parametrize("seed", [1, 3, 5, 7, 9, 11, 13])
def test_success_never_exceeds_its_cap(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for evaluator, context, plans in _analyses(random_request_data(seed), monkeypatch):
        caps = success_caps(evaluator, plans)
        for model, field, factor, capability in _figures(evaluator, context):
            scaled = scaled_evaluator(evaluator, model, field, factor, capability)
            for tp, cap in zip(plans, caps.tolist(), strict=True):
                assert scaled.task_outcome(tp).success_probability <= cap


def test_caps_bound_unverified_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: some caps are below 1, on wide requests with acceptances."""
    below = 0
    for evaluator, _context, plans in _analyses(wide_request_data(1, 40, 8), monkeypatch):
        caps = success_caps(evaluator, plans)
        below += int(np.sum(caps < 1.0))
        for tp, cap in zip(plans, caps.tolist(), strict=True):
            assert evaluator.task_outcome(tp).success_probability <= cap
    assert below > 50


@pytest.mark.parametrize(("seed", "wide"), [(2, False), (4, False), (6, False), (1, True)])
def test_scaled_figures_score_as_fresh_evaluators(
    seed: int, wide: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = wide_request_data(seed, 40, 8) if wide else random_request_data(seed)
    for evaluator, context, plans in _analyses(data, monkeypatch):
        for tp in plans:  # the request's role entries, as the analysis leaves them
            evaluator.task_outcome(tp)
        figures = ScaledFigures(evaluator)
        for model, field, factor, capability in _figures(evaluator, context):
            plain = scaled_evaluator(evaluator, model, field, factor, capability)
            expected = [_fields(plain.task_outcome(tp)) for tp in plans]
            seeded = figures.scaled(model, field, factor, capability)
            assert [_fields(seeded.task_outcome(tp)) for tp in plans] == expected


def test_bounds_settle_their_floors() -> None:
    """A provisional bound is the cap until settled, then the floor scored (once)."""
    scored: list[str] = []

    class _Outcome:
        def __init__(self, cost: float, success: float) -> None:
            self.expected_cost, self.success_probability = cost, success

    figures = {"a": _Outcome(3.0, 0.25), "b": _Outcome(5.0, 0.5)}

    def score(plan: Any) -> Any:
        scored.append(plan)
        return figures[plan]

    floors = UpFloors(["a", "b"], np.array([0.5, 1.0]), score)  # type: ignore[list-item]
    again_at = np.array([1, 3])
    bounds = Bounds(4, again_at, floors.cost, floors.success, floors)
    assert bounds.provisional is not None and bounds.provisional.tolist() == [0, 1, 0, 1]
    assert bounds.cost[3] == 0.0 and bounds.success[3] == 1.0
    bounds.settle(3)
    assert (bounds.cost[3], bounds.success[3], scored) == (5.0, 0.5, ["b"])
    assert bounds.provisional.tolist() == [0, 1, 0, 0]
    # Another walk's bounds read the floor settled, and settle the other only when asked.
    fixed = np.array([True, False])
    other = Bounds(4, again_at, np.array([0.0, 5.0]), np.array([1.0, 0.5]), floors, fixed)
    assert other.provisional is None
    again = Bounds(4, again_at, floors.cost, floors.success, floors)
    assert again.provisional is not None and again.provisional.tolist() == [0, 1, 0, 0]
    again.settle(1)
    assert (again.cost[1], again.success[1], scored) == (3.0, 0.25, ["b", "a"])
