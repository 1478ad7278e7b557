"""The symbolic cost and success of a task plan, for :class:`~.evaluation.PlanEvaluator`.

The numeric formula run on sympy expressions (:data:`~.arithmetic.SYMBOLIC`): the operator's
schedule of call groups, each group's cost (:func:`~.call_costs.group_cost`, memoized by its
exact inputs), the tools' cost and the amortized setup. A task defined as an earlier one is
(its *twin*, :mod:`.task_twins`: the same facts, sizes and incoming tokens, another id) has
the very same expressions, so it takes the twin's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy
from aalps.cost_models.arithmetic import SYMBOLIC
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.role_calls import member_models
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.tools import tool_figures

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = ["task_cost", "task_success"]


def _twin_plan(evaluator: PlanEvaluator, task_plan: TaskPlan) -> TaskPlan | None:
    """The same choice on the task's twin, or None when the task has none."""
    twin = evaluator.facts.twins.get(task_plan.task_id)
    if twin is None:
        return None
    return TaskPlan(twin, task_plan.operator, task_plan.roles, task_plan.params)


def task_cost(evaluator: PlanEvaluator, task_plan: TaskPlan) -> sympy.Expr:
    """The symbolic expected cost of one task plan, kept in the evaluator's cache."""
    twin = _twin_plan(evaluator, task_plan)
    if twin is not None:
        cost = evaluator.task_cost(twin)
    else:
        shape = evaluator._compiled[task_plan.task_id].symbolic
        schedule, calls, _ = evaluator._run(task_plan, SYMBOLIC, shape)
        req, prompt = evaluator.request, shape.prompt
        cost = sympy.Add(
            *(calls[g.role].cost(g, req, SYMBOLIC, prompt) for g in schedule.groups),
            tool_figures(schedule.tools, req.cost_model)[0],
            amortized(setup_of(member_models(calls)), req.volume, SYMBOLIC),
        )
    evaluator._costs[task_plan] = cost
    return cost


def task_success(evaluator: PlanEvaluator, task_plan: TaskPlan) -> sympy.Expr:
    """The symbolic success probability of one task plan, kept in the evaluator's cache."""
    twin = _twin_plan(evaluator, task_plan)
    if twin is not None:
        success = evaluator.task_success(twin)
    else:
        shape = evaluator._compiled[task_plan.task_id].symbolic
        value = evaluator._run(task_plan, SYMBOLIC, shape)[0].success
        if not isinstance(value, sympy.Basic):
            value = SYMBOLIC.number(value)  # a plain 1 when nothing can fail
        success = value
    evaluator._successes[task_plan] = success
    return success
