"""A twin task's space, copied from its twin's instead of enumerated again.

Two *twin* tasks (:mod:`aalps.cost_models.task_twins`) are defined alike but for their ids:
the same facts and sizes, the same incoming tokens. Every figure of a task plan depends on
its task only through that definition, and so does every choice the enumeration makes
(the operators that apply, the capable and undominated models, the leads and chunk sizes
tried, the window checks, the Pareto filters, the reasons recorded), so a twin's
:class:`~aalps.optimizer.space.TaskSpace` is its twin's with the task plans renamed: the
same operators' options, the same figures (the evaluator answers a twin's plan with the
very outcome of its twin's), the same count of scored candidates. Large requests repeat
task definitions; the copy costs a rename per candidate kept.
"""

from __future__ import annotations

from aalps.cost_models.domain import Task, TaskPlan
from aalps.optimizer.space import Candidate, TaskSpace

__all__ = ["twin_space"]


def twin_space(space: TaskSpace, index: int, task: Task) -> TaskSpace:
    """``space`` (built for a twin of ``task``) as the space of ``task``, graph index ``index``."""
    renamed: dict[int, Candidate] = {}  # a candidate kept per operator and overall: once

    def moved(candidate: Candidate) -> Candidate:
        known = renamed.get(id(candidate))
        if known is None:
            plan = candidate.plan
            known = Candidate(
                TaskPlan(task.id, plan.operator, plan.roles, plan.params),
                candidate.outcome,
                candidate.far,
            )
            renamed[id(candidate)] = known
        return known

    return TaskSpace(
        index,
        task,
        operators=dict(space.operators),
        by_operator={op: tuple(map(moved, kept)) for op, kept in space.by_operator.items()},
        problems=dict(space.problems),
        candidates=tuple(map(moved, space.candidates)),
        exact=space.exact,
        scored=space.scored,
    )
