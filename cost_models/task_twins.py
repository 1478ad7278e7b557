"""Tasks defined alike: the same facts and sizes, the same incoming tokens, another id.

Every figure of a task plan depends on its task only through the task's definition (its
facts, its size expressions, the tokens its incoming edges carry), never through its id
(which names it in errors alone). So two task plans of *twin* tasks with the same operator,
roles and parameters have the same figures at every point of the scale ray, and
:class:`~aalps.cost_models.evaluation.PlanEvaluator` scores the later one by looking the
earlier one up. Large requests repeat task definitions (a workflow of many alike steps).

Definitions are compared exactly: sympy expressions by :func:`sympy.srepr` (``2`` and
``2.0``, or symbols of different assumptions, differ), numbers with their type.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Hashable, Mapping, Sequence

import sympy
from aalps.cost_models.domain import Task

__all__ = ["task_twins"]

#: Values hashable as they are (checked first: ``isinstance`` of an ABC is slow).
_PLAIN = (sympy.Basic, str, int, float, enum.Enum)


def task_twins(tasks: Sequence[Task], incoming: Mapping[str, sympy.Expr]) -> dict[str, str]:
    """Per task defined as an earlier one is (but for its id), the first such task's id."""
    # Grouped first by sympy's equality (cheap, hashes cached); exact keys are computed and
    # compared only within a group.
    by_id = {t.id: t for t in tasks}
    groups: dict[Hashable, list[tuple[Hashable, str]]] = {}
    twins: dict[str, str] = {}
    for task in tasks:
        try:
            loose = (_facts(task, _loose), _loose(incoming[task.id]))
        except TypeError:  # a fact this comparison does not know: the task has no twin
            continue
        group = groups.setdefault(loose, [])
        if not group:
            group.append((_UNSET, task.id))
            continue
        exact = _exact_key(task, incoming)
        if exact is None:
            continue
        for i, (key, earlier) in enumerate(group):
            if key is _UNSET:  # the group's first task: its exact key, on first need
                key = _exact_key(by_id[earlier], incoming)
                group[i] = (key, earlier)
            if key is not None and key == exact:
                twins[task.id] = earlier
                break
        else:
            group.append((exact, task.id))
    return twins


_UNSET: Hashable = object()
#: The facts of a task that define it (all but its id).
_FACTS = tuple(f.name for f in dataclasses.fields(Task) if f.name != "id")


def _exact_key(task: Task, incoming: Mapping[str, sympy.Expr]) -> Hashable | None:
    """The task's exact definition key (None when a fact has none)."""
    try:
        return (_facts(task, _exact), _exact(incoming[task.id]))
    except TypeError:
        return None


def _facts(task: Task, key: Callable[[object], Hashable]) -> Hashable:
    """The task's definition but for its id, each fact through ``key``."""
    return tuple(key(getattr(task, name)) for name in _FACTS)


def _loose(value: object) -> Hashable:
    """``value`` itself when hashable, its items when a mapping (sympy equality)."""
    if value is None or isinstance(value, _PLAIN):
        return value
    if isinstance(value, Mapping):
        return ("mapping", tuple(sorted(((k, _loose(v)) for k, v in value.items()), key=repr)))
    hash(value)  # TypeError when it is not hashable
    return value


def _exact(value: object) -> Hashable:
    """A hashable key equal for two values exactly when they are the same definition."""
    if isinstance(value, sympy.Basic):
        return ("sympy", sympy.srepr(value))
    if isinstance(value, enum.Enum) or value is None:
        return (type(value).__qualname__, value)
    if isinstance(value, (str, int, float, bool)):
        return (type(value).__name__, value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__qualname__,
            tuple((f.name, _exact(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    if isinstance(value, Mapping):
        items = [(_exact(k), _exact(v)) for k, v in value.items()]
        return ("mapping", tuple(sorted(items, key=repr)))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_exact(v) for v in value))
    raise TypeError(f"no exact key for {type(value).__name__}")
