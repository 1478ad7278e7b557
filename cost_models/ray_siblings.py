"""What the evaluators of one request at several points of its scale ray share.

:meth:`~aalps.cost_models.evaluation.PlanEvaluator.at` builds an evaluator per ray point: the
search scores at the scale point and the far point, a crossover at some thirty more, a swap
curve at a hundred or so. Some of their figures do not depend on the point, so they are
worked out once for all of them (:class:`RaySiblings`):

* each (task, operator)'s fixed figures (:func:`~aalps.cost_models.task_scoring.fixed_figures`:
  the operator, its roles' capabilities, whether its attempts are unverified);
* each role's reliability declaration in mpmath, numbered (:func:`declaration_of`): equal
  declarations get equal numbers, whichever models and assignments made them;
* per ray point, the log success of a task plan worked out in mpmath (the float underflowed),
  by what it depends on: the task, the operator, its parameters and each role's declaration
  (:func:`success_key`). Plans that differ only in figures the success does not read (a
  model's price, a role with no capability) share it;
* per sizes of the models (most catalogs' sizes are numbers, the same at every point): the
  models' figures in each arithmetic and each role's
  :class:`~aalps.cost_models.task_scoring.RoleEntry`, which read the catalog and those
  sizes alone;
* per ray point, the evaluator :meth:`~aalps.cost_models.evaluation.PlanEvaluator.at` built
  there while it is in use (the search's far point is the crossover search's).

The figures are the same numbers whichever evaluator works them out first; an evaluator
with another catalog (:meth:`~aalps.cost_models.evaluation.PlanEvaluator.with_catalog`)
starts a family of its own for all but the fixed figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any
from weakref import WeakValueDictionary

from aalps.cost_models.arithmetic import BIG
from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan
from aalps.cost_models.role_calls import role_calls
from aalps.cost_models.shape_fields import exact_values, read_fields
from aalps.cost_models.shapes import ModelNumbers

if TYPE_CHECKING:
    from aalps.cost_models.evaluation import PlanEvaluator
    from aalps.cost_models.task_scoring import Fixed, Resolved, RoleEntry, RoleKey

__all__ = ["RaySiblings", "SuccessKey", "declaration_of", "shape_key", "success_key"]

#: (the task's :func:`shape_key`, operator, parameters, (role, declaration number) of every
#: role with a capability).
SuccessKey = tuple[int | str, Operator, tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]
#: Per arithmetic, per model: its figures (an evaluator's ``_numbers``).
ModelTables = dict[str, dict[str, ModelNumbers]]
#: Per arithmetic, per (assignment, capability): the role's figures (``_role_calls``).
RoleTables = dict[str, dict["RoleKey", "RoleEntry"]]
#: Per arithmetic, per role entries: a task plan's roles resolved (``_resolved``).
ResolvedTables = dict[str, dict[Any, "Resolved"]]


@dataclass
class RaySiblings:
    """The figures shared by the evaluators of one request and catalog (see the module)."""

    #: Per (task id, operator): :data:`~aalps.cost_models.task_scoring.Fixed`.
    fixed: dict[tuple[str, Operator], Fixed] = field(default_factory=dict)
    #: Per (assignment's fields, capability), a :data:`~.task_scoring.RoleKey`: the number
    #: of the role's declaration in mpmath.
    declarations: dict[RoleKey, int] = field(default_factory=dict)
    #: Per declaration (its members' shares, with their types): its number.
    numbered: dict[tuple[Any, ...], int] = field(default_factory=dict)
    #: Per ray point: the mpmath log success by :data:`SuccessKey`.
    log_successes: dict[float, dict[SuccessKey, float]] = field(default_factory=dict)
    #: Per (ray point, task id, operator): the task's part of a :data:`SuccessKey`
    #: (:func:`shape_key`), and the numbers of the shapes' fields.
    shapes: dict[tuple[float, str, Operator], int | str] = field(default_factory=dict)
    numbered_shapes: dict[tuple[Any, ...], int] = field(default_factory=dict)
    #: Per models' sizes (their reprs, in catalog order): the evaluators' model figures and
    #: role entries by arithmetic (``_numbers``, ``_role_calls``, and the task plans' roles
    #: resolved from them, ``_resolved``), shared by every evaluator whose models have
    #: those sizes.
    roles: dict[tuple[str, ...], tuple[ModelTables, RoleTables, ResolvedTables]] = field(
        default_factory=dict
    )
    #: Per ray point: the evaluator :meth:`PlanEvaluator.at` built there, while it lives.
    points: WeakValueDictionary[float, PlanEvaluator] = field(default_factory=WeakValueDictionary)

    def for_catalog(self) -> RaySiblings:
        """The family of an evaluator with another catalog: the fixed figures (they read
        only the graph and the operators) and nothing that read the models."""
        return RaySiblings(fixed=self.fixed)


def declaration_of(evaluator: PlanEvaluator, assignment: RoleAssignment, capability: str) -> int:
    """The number of the reliability ``assignment`` declares for ``capability`` in mpmath.

    The declaration is :func:`~aalps.cost_models.role_calls.role_calls`'s shares, from the
    members' :class:`~aalps.cost_models.shapes.ModelNumbers` in mpmath (what
    :func:`~aalps.cost_models.vote_reliability.prepare` turns into the role's declaration,
    nothing else): equal shares, equal number. Each share's items are kept with their types,
    so an ``int`` and an equal float never share a number.
    """
    siblings = evaluator._siblings
    # The assignment's fields (equal fields, equal assignments): a tuple of strings and
    # ints hashes in C, the dataclass in Python.
    key = (assignment.role, assignment.model, assignment.votes, assignment.ensemble, capability)
    number = siblings.declarations.get(key)
    if number is None:
        numbers = evaluator._numbers.get(BIG.name)
        if numbers is None:
            numbers = evaluator._numbers[BIG.name] = {}
        by_name = evaluator.catalog.by_name
        for name, _ in assignment.members:  # the same conversion the mpmath run makes
            if name not in numbers:
                numbers[name] = ModelNumbers.of(by_name[name], BIG, evaluator._model_sizes[name])
        shares = role_calls(assignment, capability, numbers, by_name)[1]
        typed = tuple(tuple((type(x), x) for x in share) for share in shares)
        number = siblings.numbered.setdefault(typed, len(siblings.numbered))
        siblings.declarations[key] = number
    return number


def success_key(evaluator: PlanEvaluator, task_plan: TaskPlan, fixed: Fixed) -> SuccessKey | None:
    """What the task plan's success in mpmath depends on at the evaluator's ray point; None
    when its operator rates its stages by model (CASCADE: the models count, not only their
    declarations).

    The success is the operator's schedule run on the task's shape with the plan's
    parameters and a reliability declared role by role (roles with no capability are
    not declared); unverified attempts multiply it by the task's acceptance. The task
    counts through its mpmath shape alone (:func:`shape_key`): plans of two tasks whose
    shapes agree on what the operator reads share the run.
    """
    _, capability, _, rates, _ = fixed
    if rates:
        return None
    declarations = evaluator._siblings.declarations
    roles = []
    for assignment in task_plan.roles:
        role = assignment.role
        cap = capability.get(role)
        if cap is not None:
            # :func:`declaration_of`'s look-up, inlined (many far-point plans).
            number = declarations.get(
                (role, assignment.model, assignment.votes, assignment.ensemble, cap)
            )
            if number is None:
                number = declaration_of(evaluator, assignment, cap)
            roles.append((role, number))
    shapes = evaluator._siblings.shapes
    at = (evaluator.scale, task_plan.task_id, task_plan.operator)
    task = shapes.get(at)
    if task is None:
        task = shapes[at] = shape_key(evaluator, task_plan, fixed)
    return task, task_plan.operator, task_plan.params, tuple(roles)


def shape_key(evaluator: PlanEvaluator, task_plan: TaskPlan, fixed: Fixed) -> int | str:
    """The task's part of :func:`success_key`: the number of its mpmath shape's fields
    that the operator declares it reads
    (:attr:`~aalps.cost_models.operators.OperatorSpec.shape_fields`, and the prompt), with
    the acceptance and the block count when the attempts are unverified, each value with
    its type (equal fields, equal number); the task's id when the operator declares
    nothing (CHUNK_AGGREGATE) or a value is a float ``-0.0`` (equal to ``0.0``, not alike
    in a division).

    Read where the mpmath run reads the shape (the evaluator's ``big``, which that run
    works out anyway: a task whose plans share a run has its shape)."""
    spec, _, unverified, _, _ = fixed
    names = read_fields(spec.shape_fields, unverified)
    if names is None:
        return task_plan.task_id
    exact = exact_values(attrgetter(*names)(evaluator._compiled[task_plan.task_id].big))
    if exact is None:
        return task_plan.task_id
    numbered = evaluator._siblings.numbered_shapes
    return numbered.setdefault((unverified, exact), len(numbered))
