"""The symbolic cost and success of a task plan, for :class:`~.evaluation.PlanEvaluator`.

The numeric formula run on sympy expressions (:data:`~.arithmetic.SYMBOLIC`): the operator's
schedule of call groups, each group's cost (:func:`~.call_costs.group_cost`, memoized by its
exact inputs), the tools' cost and the amortized setup. A task defined as an earlier one is
(its *twin*, :mod:`.task_twins`: the same facts, sizes and incoming tokens, another id) has
the very same expressions, so it takes the twin's.

The cost needs the schedule's call groups, not its success: an operator whose schedule
reads the roles' reliabilities only to form the success (:data:`SUCCESS_ONLY`) is run for
the cost with a reliability of ``1`` (:func:`cost_schedule`). The groups are the same
expressions, and the exact symbolic success (a majority of votes over rationals raised to
thousands of tokens: numbers of thousands of digits) is not worked out for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy
from aalps.cost_models.arithmetic import SYMBOLIC, Value
from aalps.cost_models.domain import Operator, TaskPlan
from aalps.cost_models.operators import Schedule, TaskShape
from aalps.cost_models.role_calls import RoleCalls, member_models
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.task_scoring import fixed_of, role_entry
from aalps.cost_models.tools import tool_figures

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = ["SUCCESS_ONLY", "cost_schedule", "task_cost", "task_success"]

#: Operators whose schedule reads a role's reliability only to multiply it into the success
#: (never into a call group, a tool use or a branch): DIRECT and MAP (:mod:`.operators.single`),
#: CHUNK_AGGREGATE (:mod:`.operators.chunking`), the ITERATE_* loops and SCAN_AND_FIX
#: (:mod:`.operators.repair`), ROUTE (:mod:`.operators.routing`). Retries and AHEAD_BY_K
#: size their calls by the reliability, CASCADE by its stages' rates: they run in full.
SUCCESS_ONLY = frozenset(
    {
        Operator.DIRECT,
        Operator.MAP,
        Operator.CHUNK_AGGREGATE,
        Operator.ITERATE_WITH_HISTORY,
        Operator.ITERATE_STATELESS,
        Operator.SCAN_AND_FIX,
        Operator.ROUTE,
    }
)


def _twin_plan(evaluator: PlanEvaluator, task_plan: TaskPlan) -> TaskPlan | None:
    """The same choice on the task's twin, or None when the task has none."""
    twin = evaluator.facts.twins.get(task_plan.task_id)
    if twin is None:
        return None
    return TaskPlan(twin, task_plan.operator, task_plan.roles, task_plan.params)


class _Unread:
    """The reliability :func:`cost_schedule` hands a :data:`SUCCESS_ONLY` operator: ``1``
    for every call (the success it forms is dropped), no correlation."""

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> Value:
        return sympy.S.One

    def correlation(self, role: str) -> float:
        return 0.0


_UNREAD = _Unread()


def cost_schedule(
    evaluator: PlanEvaluator, task_plan: TaskPlan, shape: TaskShape
) -> tuple[Schedule, dict[str, RoleCalls]]:
    """The symbolic schedule of a task plan and each role's calls, for its cost.

    A :data:`SUCCESS_ONLY` operator runs with the reliability ``1``: the same call groups
    and tools as :func:`~.task_scoring.run_schedule` gives (its success is not the plan's);
    every other operator runs through it. The roles' figures come from, and go to, the
    evaluator's cache as there.
    """
    spec, capability, _, rates, _ = fixed_of(evaluator, task_plan)
    if rates or task_plan.operator not in SUCCESS_ONLY:
        full = evaluator._run(task_plan, SYMBOLIC, shape)
        return full[0], full[1]
    calls: dict[str, RoleCalls] = {}
    for assignment in task_plan.roles:
        cap = capability.get(assignment.role)
        if cap is not None:
            calls[assignment.role] = role_entry(evaluator, assignment, cap, SYMBOLIC).calls
    return spec.schedule(shape, _UNREAD, dict(task_plan.params), SYMBOLIC), calls


def task_cost(evaluator: PlanEvaluator, task_plan: TaskPlan) -> sympy.Expr:
    """The symbolic expected cost of one task plan, kept in the evaluator's cache."""
    twin = _twin_plan(evaluator, task_plan)
    if twin is not None:
        cost = evaluator.task_cost(twin)
    else:
        shape = evaluator._compiled[task_plan.task_id].symbolic
        schedule, calls = cost_schedule(evaluator, task_plan, shape)
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
