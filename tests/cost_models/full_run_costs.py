"""The reference a shortcut in :mod:`aalps.cost_models.symbolic_costs` is checked against."""

from __future__ import annotations

import sympy
from aalps.cost_models.arithmetic import SYMBOLIC
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.role_calls import member_models
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.tools import tool_figures


def full_run_cost(evaluator: PlanEvaluator, task_plan: TaskPlan) -> sympy.Expr:
    """The task plan's symbolic cost from the operator's full run, the real reliabilities
    in (no shared schedule, no shared cost): what ``task_cost`` built before its shortcuts."""
    shape = evaluator._compiled[task_plan.task_id].symbolic
    schedule, calls, _ = evaluator._run(task_plan, SYMBOLIC, shape)
    req = evaluator.request
    return sympy.Add(
        *(calls[g.role].cost(g, req, SYMBOLIC, shape.prompt) for g in schedule.groups),
        tool_figures(schedule.tools, req.cost_model)[0],
        amortized(setup_of(member_models(calls)), req.volume, SYMBOLIC),
    )
