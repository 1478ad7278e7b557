"""The symbolic cost and success of a task plan, for :class:`~.evaluation.PlanEvaluator`.

The numeric formula run on sympy expressions (:data:`~.arithmetic.SYMBOLIC`): the operator's
schedule of call groups, each group's cost (:func:`~.call_costs.group_cost`, memoized by its
exact inputs), the tools' cost and the amortized setup. A task defined as an earlier one is
(its *twin*, :mod:`.task_twins`: the same facts, sizes and incoming tokens, another id) has
the very same expressions, so it takes the twin's.

Tasks defined differently often still cost alike: an operator's schedule reads only some of
the shape's fields (its declared :attr:`~.operators.OperatorSpec.shape_fields`, the rule
:mod:`aalps.optimizer.operator_twins` shares numeric figures by), so two tasks that agree on
them (and on the prompt, the roles' capabilities and the acceptance) give a task plan the
very same expression: it is built once (:func:`shared_key`).

The cost needs the schedule's call groups, not its success: an operator whose schedule
reads the roles' reliabilities only to form the success (:data:`SUCCESS_ONLY`) is run for
the cost with a reliability of ``1`` (:func:`cost_schedule`). The groups are the same
expressions, and the exact symbolic success (a majority of votes over rationals raised to
thousands of tokens: numbers of thousands of digits) is not worked out for nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import TYPE_CHECKING

import sympy
from aalps.cost_models.arithmetic import SYMBOLIC, SYMBOLIC_COST, Value
from aalps.cost_models.domain import Operator, TaskPlan
from aalps.cost_models.operators import Schedule, TaskShape
from aalps.cost_models.role_calls import RoleCalls, member_models
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.shape_fields import exact_values, read_fields
from aalps.cost_models.task_scoring import fixed_of, role_entry
from aalps.cost_models.tools import tool_figures

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = ["SUCCESS_ONLY", "cost_schedule", "shared_key", "task_cost", "task_success"]

#: Operators whose schedule reads a role's reliability only to multiply it into the success
#: (never into a call group, a tool use or a branch): DIRECT and MAP (:mod:`.operators.single`),
#: CHUNK_AGGREGATE (:mod:`.operators.chunking`), the ITERATE_* loops and SCAN_AND_FIX
#: (:mod:`.operators.repair`), ROUTE (:mod:`.operators.routing`). Retries and AHEAD_BY_K
#: size their calls by the reliability, CASCADE by its stages' rates: they run in full (with
#: :data:`~.arithmetic.SYMBOLIC_COST`: their success is not worked out).
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

    A :data:`SUCCESS_ONLY` operator runs with the reliability ``1`` and
    :data:`~.arithmetic.SYMBOLIC_COST`: the same call groups and tools as
    :func:`~.task_scoring.run_schedule` gives (its success, not the plan's, is left unworked:
    ITERATE_WITH_HISTORY's mean inputs are new sympy sums of each shape);
    every other operator runs through it with :data:`~.arithmetic.SYMBOLIC_COST` (the same
    groups and tools; the success, which only :func:`task_success` reads, is not worked
    out: a verified retry's rightness, AHEAD_BY_K's power of its step success). The roles'
    figures come from, and go to, the evaluator's cache as there.
    """
    spec, capability, _, rates, _ = fixed_of(evaluator, task_plan)
    if rates or task_plan.operator not in SUCCESS_ONLY:
        full = evaluator._run(task_plan, SYMBOLIC_COST, shape)
        return full[0], full[1]
    calls: dict[str, RoleCalls] = {}
    for assignment in task_plan.roles:
        cap = capability.get(assignment.role)
        if cap is not None:
            calls[assignment.role] = role_entry(evaluator, assignment, cap, SYMBOLIC).calls
    # Read with no reliability, the schedule is the task's and the parameters' alone: task
    # plans that differ only in their models share it (and so do tasks that read alike).
    # (The key reads the evaluator's own shape of the task: another shape is not shared.)
    own = shape is evaluator._compiled[task_plan.task_id].symbolic
    part = _part(evaluator, task_plan) if own else None
    key = None if part is None else (part, task_plan.params)
    schedules = _tables(evaluator)[2]
    schedule = None if key is None else schedules.get(key)
    if schedule is None:
        schedule = spec.schedule(shape, _UNREAD, dict(task_plan.params), SYMBOLIC_COST)
        if key is not None:
            schedules[key] = schedule
    return schedule, calls


#: Per evaluator: per (task, operator), the part of :func:`shared_key` its task gives (None:
#: not shared); per shared key, the first task plan whose cost was built with it; and per
#: (part, parameters), a :data:`SUCCESS_ONLY` operator's schedule (:func:`cost_schedule`).
_Tables = tuple[
    dict[tuple[str, Operator], Hashable | None],
    dict[Hashable, TaskPlan],
    dict[Hashable, Schedule],
]
_SHARED: weakref.WeakKeyDictionary[PlanEvaluator, _Tables] = weakref.WeakKeyDictionary()


def _task_part(evaluator: PlanEvaluator, task_plan: TaskPlan) -> Hashable | None:
    """What a task plan's cost reads of its task: the operator's declared shape fields (and
    the scoring's, :func:`.shape_fields.read_fields`) of the symbolic shape, exactly, the
    roles' capabilities and whether attempts are unverified; None for an operator that
    declares none or reads the task itself (CASCADE's rates)."""
    spec, capability, unverified, rates, task = fixed_of(evaluator, task_plan)
    # The unverified attempts' fields are read by the success alone; kept in the key as
    # the numeric sharing keeps them.
    names = read_fields(spec.shape_fields, task.acceptance is not None)
    if names is None or rates:
        return None
    shape = evaluator._compiled[task_plan.task_id].symbolic
    values = tuple(getattr(shape, n) for n in names)
    exact = exact_values(values)
    if exact is None:
        return None
    return task_plan.operator, tuple(sorted(capability.items())), unverified, exact


def shared_key(evaluator: PlanEvaluator, task_plan: TaskPlan) -> Hashable | None:
    """A key equal for two task plans whose symbolic costs are built from equal inputs (so
    are the same expression): their operator, roles and parameters, and what the cost reads
    of their tasks (:func:`_task_part`); None when the cost is not shared."""
    part = _part(evaluator, task_plan)
    if part is None:
        return None
    return part, task_plan.roles, task_plan.params


def _part(evaluator: PlanEvaluator, task_plan: TaskPlan) -> Hashable | None:
    """:func:`_task_part`, once per (task, operator)."""
    parts = _tables(evaluator)[0]
    at = (task_plan.task_id, task_plan.operator)
    if at not in parts:
        parts[at] = _task_part(evaluator, task_plan)
    return parts[at]


def _tables(evaluator: PlanEvaluator) -> _Tables:
    """The evaluator's :data:`_SHARED` tables (made on first use)."""
    tables = _SHARED.get(evaluator)
    if tables is None:
        tables = _SHARED[evaluator] = ({}, {}, {})
    return tables


def task_cost(evaluator: PlanEvaluator, task_plan: TaskPlan) -> sympy.Expr:
    """The symbolic expected cost of one task plan, kept in the evaluator's cache.

    A task plan whose :func:`shared_key` an earlier one had takes that one's cost from the
    evaluator's cache (the same expression: built from equal inputs); the table holds task
    plans, not costs, so an evaluator with another catalog (:meth:`.with_catalog`, a copy:
    its own cache) builds its own."""
    twin = _twin_plan(evaluator, task_plan)
    if twin is not None:
        cost = evaluator.task_cost(twin)
    else:
        key = shared_key(evaluator, task_plan)
        firsts = _tables(evaluator)[1]
        first = None if key is None else firsts.get(key)
        cost = None if first is None else evaluator._costs.get(first)
        if cost is None:
            cost = _built_cost(evaluator, task_plan)
            if key is not None:
                firsts[key] = task_plan
    evaluator._costs[task_plan] = cost
    return cost


def _built_cost(evaluator: PlanEvaluator, task_plan: TaskPlan) -> sympy.Expr:
    """The task plan's symbolic cost, worked out: its schedule's call groups, tools and setup.

    ``sympy.Add`` drops its zero terms before anything else and returns a lone sympy term
    as it is, so a zero tools' or setup cost (most plans: no tools, no setup) is left out
    and a lone group's cost is the sum: the very expression the full ``Add`` gives, without
    its argument conversions and cache look-up (a test compares them)."""
    shape = evaluator._compiled[task_plan.task_id].symbolic
    schedule, calls = cost_schedule(evaluator, task_plan, shape)
    req, prompt = evaluator.request, shape.prompt
    terms = [calls[g.role].cost(g, req, SYMBOLIC, prompt) for g in schedule.groups]
    for extra in (
        tool_figures(schedule.tools, req.cost_model)[0],
        amortized(setup_of(member_models(calls)), req.volume, SYMBOLIC),
    ):
        if not _zero(extra):
            terms.append(extra)
    if len(terms) == 1 and isinstance(terms[0], sympy.Expr):
        return terms[0]
    return sympy.Add(*terms)


def _zero(value: object) -> bool:
    """Whether ``value`` is a Python ``int`` 0 or sympy's zero: what ``sympy.Add`` drops."""
    return value is sympy.S.Zero or (type(value) is int and value == 0)


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
