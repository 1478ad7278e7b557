"""Checks of a caller-supplied plan: the one place a plan is validated.

A plan given to AnalyzePlan (or as a caller's baseline) must plan every task once, with an
operator whose facts the task has, a capable model for every role, allowed votes and
parameters in range. :class:`~aalps.cost_models.evaluation.PlanEvaluator` exposes these as
its ``task_plan_problems`` and ``validate_plan`` methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aalps.cost_models.domain import Model, Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.errors import FieldViolation, InvalidRequestError, did_you_mean
from aalps.cost_models.operators import OPERATORS, RoleSpec
from aalps.cost_models.operators.cascade import cascade_problems

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator

__all__ = [
    "VOTE_CHOICES",
    "make_task_plan",
    "model_problem",
    "task_plan_problems",
    "validate_plan",
]

VOTE_CHOICES = (1, 3, 5, 7, 9)
"""The votes a role may have: odd (a majority exists), at most 9."""


def task_plan_problems(
    evaluator: PlanEvaluator, task_plan: TaskPlan, *, field: str = "plan"
) -> list[FieldViolation]:
    """Everything wrong with a caller-supplied task plan.

    The violations name the plan's fields under ``field`` (``plan.tasks[t].operator``).
    """
    where = f"{field}.tasks[{task_plan.task_id}]"
    task = evaluator.graph.task_by_id.get(task_plan.task_id)
    if task is None:
        return [
            FieldViolation(
                f"{where}.task_id",
                "no such task in the graph" + _hint(task_plan.task_id, evaluator.graph.task_by_id),
            )
        ]
    spec = OPERATORS[task_plan.operator]
    missing = spec.missing(task)
    if missing:
        return [FieldViolation(f"{where}.operator", f"{task_plan.operator} {missing}")]
    problems: list[FieldViolation] = []
    assigned = task_plan.role_map
    params = task_plan.param_map
    roles = spec.plan_roles(task, params)
    for role in roles:
        assignment = assigned.get(role.name)
        if assignment is None:
            problems.append(FieldViolation(f"{where}.roles", f"role {role.name} has no model"))
            continue
        if assignment.ensemble:
            problems += _ensemble_problems(evaluator, role, assignment, f"{where}.roles")
            continue
        model = evaluator.catalog.by_name.get(assignment.model)
        if model is None:
            problems.append(
                FieldViolation(
                    f"{where}.roles[{role.name}].model",
                    f"no model {assignment.model!r} in the catalog"
                    + _hint(assignment.model, evaluator.catalog.by_name),
                )
            )
            continue
        problem = model_problem(role, model)
        if problem:
            problems.append(FieldViolation(f"{where}.roles[{role.name}].model", problem))
        if assignment.votes not in VOTE_CHOICES or (assignment.votes > 1 and not role.votable):
            problems.append(
                FieldViolation(
                    f"{where}.roles[{role.name}].votes",
                    "votes must be an odd number 1-9, and 1 for roles that cannot vote",
                )
            )
    extra = set(assigned) - {r.name for r in roles}
    for name in sorted(extra):
        problems.append(FieldViolation(f"{where}.roles[{name}]", "not a role of the operator"))
    if task_plan.operator is Operator.CASCADE:
        by_name = evaluator.catalog.by_name
        problems += [
            FieldViolation(f"{where}.roles", text)
            for text in cascade_problems(task, task_plan, by_name)
        ]
    for p in spec.params(task):
        value = params.get(p.name)
        if value is None or not p.low <= value <= p.high:
            problems.append(
                FieldViolation(
                    f"{where}.params.{p.name}", f"needs an integer in [{p.low}, {p.high}]"
                )
            )
    return problems


def validate_plan(evaluator: PlanEvaluator, plan: Plan, *, field: str = "plan") -> None:
    """Check a caller-supplied plan: the one place a plan is validated.

    Every task of the graph is planned exactly once, each by an operator whose facts it
    has, with a capable model for every role, allowed votes and parameters in range.
    CHUNK_AGGREGATE on a task with no input is a valid plan: it makes no worker calls
    (the search does not propose it, since no chunk size can matter there).

    Parameters
    ----------
    plan
        The plan to check.
    field
        The request field that holds it (``plan``, or ``baseline`` for a caller's
        baseline), prefixed to every violation.

    Raises
    ------
    InvalidRequestError
        with every problem found, each naming its field.
    """
    problems = [v for tp in plan.tasks for v in task_plan_problems(evaluator, tp, field=field)]
    ids = [tp.task_id for tp in plan.tasks]
    for task in evaluator.graph.tasks:
        if task.id not in ids:
            problems.append(FieldViolation(f"{field}.tasks", f"task {task.id} has no plan"))
    if len(set(ids)) != len(ids):
        problems.append(FieldViolation(f"{field}.tasks", "a task is planned twice"))
    if problems:
        raise InvalidRequestError(problems)


def _ensemble_problems(
    evaluator: PlanEvaluator, role: RoleSpec, assignment: RoleAssignment, where: str
) -> list[FieldViolation]:
    """What is wrong with an ensemble role: its members, their votes, the role itself."""
    field = f"{where}[{role.name}].ensemble"
    if not role.votable:
        return [FieldViolation(field, f"role {role.name} cannot vote, so it has no ensemble")]
    problems = []
    names = [name for name, _ in assignment.members]
    for k, (name, votes) in enumerate(assignment.members):
        model = evaluator.catalog.by_name.get(name)
        problem = (
            f"no model {name!r} in the catalog" + _hint(name, evaluator.catalog.by_name)
            if model is None
            else model_problem(role, model)
        )
        if problem:
            problems.append(FieldViolation(f"{field}[{k}].model", problem))
        if votes < 1:
            problems.append(FieldViolation(f"{field}[{k}].votes", "must be at least 1"))
    if len(set(names)) != len(names) or len(names) < 2:
        problems.append(FieldViolation(field, "needs two or more distinct models"))
    if assignment.votes not in VOTE_CHOICES:
        problems.append(
            FieldViolation(field, f"the votes must total an odd number 1-9, not {assignment.votes}")
        )
    return problems


def _hint(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a known name is close to ``name``."""
    suggestion = did_you_mean(name, sorted(known))
    return f"; {suggestion}" if suggestion else ""


def make_task_plan(task_id: str, operator: Operator, **models: str | tuple[str, int]) -> TaskPlan:
    """A task plan from keyword roles: ``make_task_plan("t", ROUTE, delegator="d")``."""
    roles = []
    for role, choice in models.items():
        name, votes = (choice, 1) if isinstance(choice, str) else choice
        roles.append(RoleAssignment(role, name, votes))
    return TaskPlan(task_id, operator, tuple(roles))


def model_problem(spec: RoleSpec, model: Model) -> str | None:
    """Why ``model`` cannot play the role (capability, per-variant), or None."""
    if spec.capability not in model.capabilities:
        return f"model {model.name} lacks capability {spec.capability}"
    if model.per_variant and not spec.per_variant_allowed:
        return f"model {model.name} is per-variant: usable only as a ROUTE specialist"
    return None
