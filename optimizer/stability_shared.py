"""Task plans of different tasks that score alike, scored once per stability evaluator.

A stability analysis (:mod:`aalps.optimizer.stability`) scores the plan's tasks and their
alternatives again under each scaled figure (a doubled price, a reliability at a probed
factor): thousands of task plans, many of them the same choice (operator, roles,
parameters) on tasks that look alike to their operator. The numeric figures of a task plan
depend on its task only through the shape fields its operator reads, its roles'
capabilities and whether the task declares an acceptance (the argument and the key of
:mod:`aalps.optimizer.operator_twins`, checked by ``tests/cost_models/test_shape_fields.py``);
the models' figures are the evaluator's, the same for every task. So, per evaluator, a
:class:`SharedScorer` scores one task of each key and hands its figures to the others.

Only figures worked out by the float formulas are handed on: the same float inputs give the
same floats (and the same decision not to go to mpmath), whereas mpmath figures read the
task's mpmath shape, which alike float fields do not make alike. A scoring is taken as
float when its success did not underflow and its task has no mpmath shape (it never went
there); the first scoring of the key is only handed on when the plan was not known to the
evaluator before (then it is that task's own scoring, not one shared into the cache). A
task with a twin is left out: the evaluator answers it with its twin's figures, and so is
a key met on one task only so far (on small requests most are: nothing to share, and the
look-ups would cost more than the scorings they save).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from aalps.cost_models.domain import Operator, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.optimizer.operator_twins import alike_key

__all__ = ["ShapeKeys", "SharedScorer"]

#: A look-up's default: not met yet (None is an answer; numbers count from 0).
_UNKNOWN = -1


class ShapeKeys:
    """Per task plan: the number of its choice (operator, roles, parameters) on tasks that
    look alike to its operator (None: not shared). The keys read the compiled shapes, which
    the evaluators of one request and ray point share (:meth:`PlanEvaluator.with_catalog`).
    ``capabilities``: per role of a task plan's operator, the capability it needs."""

    def __init__(
        self, evaluator: PlanEvaluator, capabilities: Callable[[TaskPlan], dict[str, str]]
    ) -> None:
        self.evaluator = evaluator
        self._capabilities = capabilities
        self._keys: dict[Hashable, int] = {}  # a (task, operator)'s key -> its number
        self._tasks: list[int] = []  # per key number: the (task, operator) pairs met
        self._of: dict[tuple[str, Operator], int | None] = {}
        self._choices: dict[tuple[int, object, object], int] = {}
        self._numbers: dict[TaskPlan, int | None] = {}  # per task plan met

    def number(self, plan: TaskPlan) -> int | None:
        """The number of ``plan``'s choice among those of alike tasks (the same for every
        plan that scores alike); None when it is not shared."""
        # Looked up with a default, not caught: most plans' keys are met on one task so far,
        # not numbered, and asked again under every scaled evaluator.
        found = self._numbers.get(plan, _UNKNOWN)
        if found != _UNKNOWN:
            return found
        key = (plan.task_id, plan.operator)
        alike = self._of.get(key, _UNKNOWN)
        if alike == _UNKNOWN:
            alike = self._of[key] = self._key_of(plan)
        if alike is None:
            self._numbers[plan] = None
            return None
        # A key met on one task so far shares nothing yet: its plans are not numbered now
        # (the look-ups would cost more than they save), but asked again later.
        if self._tasks[alike] < 2:
            return None
        choices = self._choices
        found = self._numbers[plan] = choices.setdefault(
            (alike, plan.roles, plan.params), len(choices)
        )
        return found

    def _key_of(self, plan: TaskPlan) -> int | None:
        """The number of the key of ``plan``'s task and operator (None: not shared)."""
        evaluator = self.evaluator
        task = evaluator.graph.task_by_id[plan.task_id]
        capabilities = tuple(self._capabilities(plan).items())
        key = alike_key((evaluator,), task, plan.operator, capabilities)
        if key is None:
            return None
        keys = self._keys
        number = keys.setdefault(key, len(keys))
        if number == len(self._tasks):
            self._tasks.append(1)
        else:
            self._tasks[number] += 1
        return number


class SharedScorer:
    """:meth:`PlanEvaluator.task_outcome` of one evaluator, each alike choice scored once
    across the tasks of a key (:class:`ShapeKeys`)."""

    def __init__(self, evaluator: PlanEvaluator, keys: ShapeKeys) -> None:
        self.evaluator = evaluator
        self._keys = keys
        self._known: dict[int, TaskOutcome] = {}  # by choice number
        # Read once (a scorer answers thousands of look-ups): the evaluator's cache (the
        # same dict for its life), its scoring and the keys' numbering.
        self._outcomes = evaluator._outcomes
        self._score = evaluator.task_outcome
        self._number = keys.number

    def task_outcome(self, plan: TaskPlan) -> TaskOutcome:
        """The evaluator's figures of ``plan`` (the same floats), from a task of its key
        when one was scored."""
        outcome = self._outcomes.get(plan)
        if outcome is not None:
            return outcome
        key = self._number(plan)
        if key is None:
            return self._score(plan)
        outcome = self._known.get(key)
        if outcome is not None:
            self._outcomes[plan] = outcome  # as its own scoring would leave it
            return outcome
        outcome = self._score(plan)
        if outcome.success_probability != 0.0 and (
            "big" not in self.evaluator._compiled[plan.task_id].__dict__
        ):
            self._known[key] = outcome
        return outcome
