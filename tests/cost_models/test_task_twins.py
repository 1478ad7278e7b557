"""Twin tasks (the same definition, another id) are scored by looking the first one up.

For every operator variant and cost model: a request whose task ``t`` is followed by an
identical task ``u`` finds the twin, and ``u``'s figures (at the scale point and far along
the ray) equal those of a request holding ``u`` alone, where nothing can be looked up.
Definitions that differ in a number's type (``2`` against ``2.0``), a symbol's assumptions,
a fact, or only in their incoming tokens, are not twins.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sympy
from aalps.cost_models.domain import CostModel, Task, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.shapes import GraphFacts
from aalps.cost_models.task_twins import task_twins

from tests.cost_models.conftest import CASES, build_plan, build_request_dict

FAR = 1e6


def _twin_request(case_data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(case_data)
    twin = copy.deepcopy(data["graph"]["tasks"][0])
    twin["id"] = "u"
    data["graph"]["tasks"].append(twin)
    return data


def _alone(case_data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(case_data)
    data["graph"]["tasks"][0]["id"] = "u"
    return data


@pytest.mark.parametrize("cost_model", [CostModel.FORWARD_PASS, CostModel.PRICED])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_twin_figures_equal_a_lone_task(case: Any, cost_model: CostModel) -> None:
    base = build_request_dict(case, cost_model, per_token_error=1e-4)
    request = load_request(_twin_request(base))
    assert GraphFacts.of(request.graph).twins == {"u": "t"}
    plan = build_plan(request, case, votes=3)
    twin_plan = TaskPlan("u", plan.operator, plan.roles, plan.params)
    alone = load_request(_alone(base))
    for scale in (1.0, FAR):
        evaluator = PlanEvaluator(request, scale=scale)
        evaluator.task_outcome(plan)  # the first task's figures, then the twin's looked up
        looked_up = evaluator.task_outcome(twin_plan)
        fresh = PlanEvaluator(alone, scale=scale).task_outcome(twin_plan)
        assert looked_up == fresh


def test_exactly_equal_definitions_only() -> None:
    n = sympy.Symbol("n")
    tasks = [
        Task("a", "solve", 2 * n, sympy.Integer(2)),
        Task("b", "solve", 2 * n, sympy.Float(2.0)),
        Task("c", "solve", 2 * n, sympy.Integer(2), role_capabilities={"worker": "write"}),
        Task("d", "solve", 2 * n, sympy.Integer(2), role_capabilities={"worker": "write"}),
        Task("e", "solve", sympy.Symbol("n", positive=True) * 2, sympy.Integer(2)),
    ]
    zero = {t.id: sympy.Integer(0) for t in tasks}
    assert task_twins(tasks, zero) == {"d": "c"}
    assert task_twins(tasks, {**zero, "d": sympy.Integer(1)}) == {}
    base = build_request_dict(CASES[0], CostModel.FORWARD_PASS)
    # The same definition, but tokens flow into the second task: not twins.
    data = _twin_request(base)
    data["graph"]["edges"] = [{"source": "t", "target": "u"}]
    assert GraphFacts.of(load_request(data).graph).twins == {}
    # A third copy names the first.
    data = _twin_request(base)
    third = copy.deepcopy(data["graph"]["tasks"][0])
    third["id"] = "v"
    data["graph"]["tasks"].append(third)
    assert GraphFacts.of(load_request(data).graph).twins == {"u": "t", "v": "t"}
