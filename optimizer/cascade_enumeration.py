"""CASCADE's candidates: every ordered choice of distinct models, at every cut-off.

A cascade of ``s`` stages (2 ≤ s ≤ the task's ``cascade.max_stages``) is an ordered tuple
of ``s`` distinct capable models, every one but the last with stage rates (a model without
them can only answer last). All such tuples are scored, so the enumeration is exact over
the models, their order and the cut-off, with one sound reduction: the last stage's
figures enter the plan only through its own call (cost, reliability, window, latency), so
a model that at least ``max_stages`` others weakly beat in every one of them is never
needed last (one of those is always outside the prefix and does no worse there).

When the tuples would exceed :data:`CASCADE_LIMIT`, the longest cut-offs are left out and
the task's space is marked inexact (the result then says so).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aalps.cost_models.call_costs import price_figures
from aalps.cost_models.domain import (
    Catalog,
    CostModel,
    Model,
    Operator,
    RoleAssignment,
    Task,
    TaskPlan,
)
from aalps.cost_models.operators.cascade import Cascade, stage_name, stage_rates
from aalps.cost_models.plan_checks import model_problem
from aalps.optimizer.space import Candidate, window_of

if TYPE_CHECKING:
    from aalps.optimizer.enumeration import OperatorEnumerator

__all__ = [
    "ALTERNATIVE_LIMIT",
    "CASCADE_LIMIT",
    "cascade_alternatives",
    "cascade_candidates",
    "cascade_tuples",
    "every_cascade",
]

#: The most stage tuples scored for one task.
CASCADE_LIMIT = 20_000
#: The most cascades a stability range compares on one task (shortest first).
ALTERNATIVE_LIMIT = 2_000


def _last_key(enumerator: OperatorEnumerator, model: Model, capability: str) -> tuple[float, ...]:
    """Figures of ``model`` as the last stage, all minimized (see the module docstring)."""
    priced = enumerator.evaluator.request.cost_model is CostModel.PRICED
    figures = (
        list(price_figures(model))
        if priced
        else [model.size_value, enumerator.owner.far_sizes[model.name]]
    )
    figures += [
        -window_of(model),
        -float(model.capabilities[capability]),
        float(model.per_token_error),
        model.latency_per_token,
    ]
    return tuple(figures)


def _useful_last(
    enumerator: OperatorEnumerator, models: Sequence[Model], capability: str, depth: int
) -> list[Model]:
    """The models fewer than ``depth`` others weakly beat as the last stage."""
    keys = [_last_key(enumerator, m, capability) for m in models]
    kept = []
    for i, model in enumerate(models):
        beaten_by = sum(
            1
            for j, other in enumerate(keys)
            if j != i and all(a <= b for a, b in zip(other, keys[i], strict=True))
        )
        if beaten_by < depth:
            kept.append(model)
    return kept


def cascade_tuples(
    enumerator: OperatorEnumerator, models: Sequence[Model]
) -> tuple[list[tuple[Model, ...]], bool]:
    """Every stage tuple to score, and whether it covers every cut-off (exact)."""
    task = enumerator.task
    assert task.cascade is not None
    capability = task.role_capability(Operator.CASCADE, "stage")
    rated = [m for m in models if stage_rates(task, m, capability) is not None]
    depth = task.cascade.max_stages
    last = _useful_last(enumerator, models, capability, depth)
    tuples: list[tuple[Model, ...]] = []
    for stages in range(2, depth + 1):
        count = len(last) * math.perm(len(rated), stages - 1)
        if len(tuples) + count > CASCADE_LIMIT:
            return tuples, False
        for prefix in itertools.permutations(rated, stages - 1):
            tuples.extend((*prefix, m) for m in last if m not in prefix)
    return tuples, True


def cascade_candidates(
    enumerator: OperatorEnumerator, models: Mapping[str, Sequence[Model]]
) -> tuple[list[Candidate], dict[str, set[str]]]:
    """The scored cascades whose calls fit their models' windows, and per stage role the
    models found feasible there."""
    tuples, exact = cascade_tuples(enumerator, models[stage_name(1)])
    if not exact:
        enumerator.space.exact = False
    if not tuples:
        enumerator.space.problems[Operator.CASCADE] = (
            "needs two capable models, every one but the last with cascade rates"
        )
    candidates: list[Candidate] = []
    rejected: list[Candidate] = []
    feasible: dict[str, set[str]] = {name: set() for name in models}
    for chosen in tuples:
        choice = {stage_name(j): (m.name, 1) for j, m in enumerate(chosen, start=1)}
        candidate = enumerator.score(choice, {"stages": len(chosen)})
        if candidate.outcome.window_violation is None:
            candidates.append(candidate)
            for role, (name, _) in choice.items():
                feasible[role].add(name)
        else:
            rejected.append(candidate)
    if not candidates and rejected:
        enumerator.window_problem(rejected)
    return candidates, feasible


def cascade_alternatives(task: Task, catalog: Catalog) -> list[TaskPlan]:
    """Every cascade of ``task`` over the catalog's models able to play its stages, up to
    :data:`ALTERNATIVE_LIMIT`: what a changed figure may bring back (the stability ranges
    compare them; the search's space keeps only the Pareto-optimal ones)."""
    able = [m for m in catalog.models if model_problem(Cascade().roles(task)[0], m) is None]
    return every_cascade(task, able, ALTERNATIVE_LIMIT)


def every_cascade(
    task: Task, models: Sequence[Model], limit: int = CASCADE_LIMIT
) -> list[TaskPlan]:
    """Every valid cascade of ``task`` over ``models`` (able to play the stages), shortest
    first, up to ``limit`` plans."""
    assert task.cascade is not None
    capability = task.role_capability(Operator.CASCADE, "stage")
    rated = [m for m in models if stage_rates(task, m, capability) is not None]
    plans: list[TaskPlan] = []
    for stages in range(2, task.cascade.max_stages + 1):
        for prefix in itertools.permutations(rated, stages - 1):
            for last in models:
                if last in prefix:
                    continue
                if len(plans) >= limit:
                    return plans
                roles = tuple(
                    RoleAssignment(stage_name(j), m.name)
                    for j, m in enumerate((*prefix, last), start=1)
                )
                plans.append(TaskPlan(task.id, Operator.CASCADE, roles, (("stages", stages),)))
    return plans
