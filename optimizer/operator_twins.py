"""Task plans of different tasks that score alike: one scoring, shared across the tasks.

Twin tasks (defined alike) already copy their whole space
(:mod:`aalps.optimizer.twin_spaces`). Tasks defined differently often still look alike to
one operator: DIRECT reads the input, output and prompt sizes and not the blocks, so two
tasks that differ only in their blocks give DIRECT's task plans the same figures. The
numeric figures of a task plan (:func:`~aalps.cost_models.task_scoring.numeric_outcome`)
depend on its task only through

* the :class:`~aalps.cost_models.operators.TaskShape` fields the operator's schedule reads
  (declared as :attr:`~aalps.cost_models.operators.OperatorSpec.shape_fields`, checked by
  ``tests/cost_models/test_shape_fields.py``) and those the scoring reads around it
  (:data:`SCORING_FIELDS`, and :data:`UNVERIFIED_FIELDS` on a task with an acceptance), at
  the ray point;
* its roles' capabilities (a role's figures are its models' in that capability), and
  whether the task declares an acceptance (unverified attempts are multiplied by it);
* and, when a float overflows or a success underflows, the same fields in mpmath (the
  evaluator's ``big`` shape), which it computes only then.

The roles and parameters come with the plan, the models' figures and the request's
settings are the request's. CASCADE (whose stages' rates read the task) and CHUNK_AGGREGATE
(whose shape holds a function of the chunk size) declare nothing and are never shared.

So :class:`SharedOutcomes` keys each (task, operator) by those figures, compared exactly (a
number with its type, a float's sign). A later task of a key takes the figures of the
first one's task plan with its roles and parameters from the evaluators' caches, where that
task's scoring left them (both ray points': the far point's only when the plan fits its
windows, as :meth:`.OperatorEnumerator.score` asks), and leaves them there under its own
plan as its own scoring would (the later phases look plans up there); nothing is stored
per scored plan. Whether a scoring took the mpmath path is known conservatively: its
task's mpmath shape exists (an underflowed success whose log is worked out on logs,
:mod:`aalps.cost_models.log_successes`, reads the float shape alone); such figures are
shared only with a task whose mpmath shape agrees (worked out here when the task has none
yet: waiting for the task's own scoring to build it kept ~1.9k of wide 1000x10's plans
from being shared). A task with a twin is left out (the evaluator answers it with its
twin's figures), and so is a key that cannot be computed (its far sizes fail: the task's
own scoring reports that, when it gets there).
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Sequence
from operator import attrgetter

from aalps.cost_models.domain import Operator, Task, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.cost_models.operators import OPERATORS, RoleSpec
from aalps.cost_models.shape_fields import (
    SCORING_FIELDS,
    UNVERIFIED_FIELDS,
    exact_values,
    read_fields,
)

__all__ = [
    "alike_key",
    "SCORING_FIELDS",
    "UNVERIFIED_FIELDS",
    "OperatorTable",
    "SharedOutcomes",
    "scored_fields",
]


def scored_fields(operator: Operator, task: Task) -> tuple[str, ...] | None:
    """The shape fields the figures of ``task``'s plans of ``operator`` read (sorted); None
    when the operator declares none (:func:`.shape_fields.read_fields`)."""
    return read_fields(OPERATORS[operator].shape_fields, task.acceptance is not None)


def alike_key(
    points: Sequence[PlanEvaluator],
    task: Task,
    operator: Operator,
    capabilities: tuple[tuple[str, str], ...],
) -> Hashable | None:
    """The key under which ``task``'s plans of ``operator`` score as those of every task
    with the same key at ``points`` (the shape fields the operator reads there, its roles'
    ``capabilities``, whether the task has an acceptance); None when not shared (a twin
    task, an operator that reads more, a shape that cannot be read or compared exactly:
    the task's own scoring reports it)."""
    names = scored_fields(operator, task)
    if names is None or any(task.id in p.facts.twins for p in points):
        return None
    read = attrgetter(*names)
    try:
        shapes = tuple(exact_values(read(p._compiled[task.id].numeric)) for p in points)
    except Exception:  # noqa: BLE001 - not shared; the task's own scoring reports it
        return None
    if None in shapes:
        return None
    return (operator, capabilities, task.acceptance is not None, shapes)


class SharedOutcomes:
    """Per request and pair of ray points: the first task of every operator key."""

    def __init__(self, evaluator: PlanEvaluator, far: PlanEvaluator | None) -> None:
        self.points = (evaluator,) if far is None else (evaluator, far)
        self._first: dict[Hashable, str] = {}  # operator key -> the first task's id
        self._known: dict[tuple[str, Operator], OperatorTable | None] = {}
        self._big: dict[tuple[int, str, Operator], Hashable] = {}
        self.hits = 0  # task plans answered from another task's scoring

    def table(
        self, task: Task, operator: Operator, roles: Sequence[RoleSpec]
    ) -> OperatorTable | None:
        """Where ``task``'s plans of ``operator`` (whose ``roles`` they are) find their
        figures; None when not shared or ``task`` is its key's first. Once per pair."""
        key = (task.id, operator)
        if key not in self._known:
            self._known[key] = self._table(task, operator, roles)
        return self._known[key]

    def _table(
        self, task: Task, operator: Operator, roles: Sequence[RoleSpec]
    ) -> OperatorTable | None:
        capabilities = tuple((r.name, r.capability) for r in roles)
        key = alike_key(self.points, task, operator, capabilities)
        if key is None:
            return None
        first = self._first.setdefault(key, task.id)
        if first == task.id:
            return None
        names = scored_fields(operator, task)
        assert names is not None  # (a key was made of them)
        return OperatorTable(self, task.id, first, operator, names)

    def went_big(self, point: int, task_id: str) -> bool:
        """Whether figures of ``task_id`` at ``point`` may have come from mpmath: its mpmath
        shape exists (every mpmath run of a plan of the task reads it, and so does the
        key its log success is remembered by; an underflowed success worked out on logs,
        :mod:`aalps.cost_models.log_successes`, reads the float shape alone)."""
        return "big" in self.points[point]._compiled[task_id].__dict__

    def same_big(self, point: int, one: str, other: str, table: OperatorTable) -> bool:
        """Whether two tasks' mpmath shapes at ``point`` agree on the fields: ``one``'s
        exists (its figures may have come from it), ``other``'s is worked out when it has
        none yet (as its own scoring would, or not: the shape is only read, and read alike
        by every later use). One that cannot be worked out shares nothing (the task's own
        scoring reports it)."""
        keys = []
        for task_id in (one, other):
            memo = (point, task_id, table.operator)
            if memo not in self._big:
                compiled = self.points[point]._compiled[task_id]
                if "big" not in compiled.__dict__ and task_id == one:
                    return False
                try:
                    shape = compiled.big
                except Exception:  # noqa: BLE001 - not shared; the own scoring reports it
                    return False
                self._big[memo] = exact_values(attrgetter(*table.names)(shape))
            keys.append(self._big[memo])
        return keys[0] is not None and keys[0] == keys[1]


class OperatorTable:
    """One (task, operator)'s view of the first task of its key."""

    def __init__(
        self,
        owner: SharedOutcomes,
        task_id: str,
        first: str,
        operator: Operator,
        names: tuple[str, ...],
    ) -> None:
        # A proxy: the owner keeps its tables, and a table holding it back would tie the
        # evaluators' figures into a reference cycle, left for the collector to free.
        self.owner = weakref.proxy(owner)
        self.task_id, self.first = task_id, first
        self.operator, self.names = operator, names
        self._agree: set[int] = set()  # the points where the two mpmath shapes agree

    def get(self, plan: TaskPlan) -> tuple[TaskOutcome, TaskOutcome | None] | None:
        """The figures of ``plan`` (near, far) as the first task's plan got them, or None
        when that plan was not scored (or may have gone through mpmath with other sizes)."""
        owner = self.owner
        points = owner.points
        theirs = TaskPlan(self.first, plan.operator, plan.roles, plan.params)
        near = points[0]._outcomes.get(theirs)
        if near is None:
            return None
        far = None
        if len(points) > 1 and near.window_violation is None:
            far = points[1]._outcomes.get(theirs)
            if far is None:
                return None
        agree = self._agree
        for point, outcome in enumerate((near, far)):
            if outcome is None or point in agree:
                continue
            if not owner.went_big(point, self.first):
                continue
            if not owner.same_big(point, self.first, self.task_id, self):
                return None
            agree.add(point)  # both shapes exist now, and do not change
        owner.hits += 1
        for evaluator, outcome in zip(points, (near, far), strict=False):
            if outcome is not None:  # as its own scoring would leave it: remembered there
                evaluator._outcomes[plan] = outcome
        return near, far
