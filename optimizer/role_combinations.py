"""One operator's role choices at fixed parameters: which are scored, which kept.

:class:`~aalps.optimizer.enumeration.OperatorEnumerator` asks for the feasible choices of
its roles at each parameter choice. In :data:`ROLE_SEPARABLE` operators each role's options
are first scored with the other roles at a reference choice and only the product of the
roles' Pareto fronts is scored (see :mod:`aalps.optimizer.enumeration`); in the others every
combination is. Either way a choice that an earlier one in the same pool shadows
(:mod:`aalps.optimizer.shadowing`) is skipped unscored.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from aalps.cost_models.domain import Operator, RoleAssignment, TaskPlan
from aalps.optimizer.pareto import pareto_filter
from aalps.optimizer.shadowing import ShadowPool
from aalps.optimizer.space import Candidate, Option, task_plan, window_of

if TYPE_CHECKING:
    from aalps.optimizer.enumeration import OperatorEnumerator

__all__ = ["ROLE_SEPARABLE", "combinations", "window_problem"]

#: Operators whose task figures are the roles' sums (cost, latency) and products (success).
ROLE_SEPARABLE = frozenset(
    {
        Operator.ROUTE,
        Operator.SCAN_AND_FIX,
        Operator.ITERATE_WITH_HISTORY,
        Operator.ITERATE_STATELESS,
        Operator.CHUNK_AGGREGATE,
    }
)


def combinations(
    enumerator: OperatorEnumerator,
    options: Mapping[str, Sequence[Option]],
    reference: Mapping[str, Option],
    params: Mapping[str, int],
    feasible: dict[str, set[str]] | None = None,
) -> list[Candidate]:
    """Feasible (non-dominated, for separable roles) role choices at fixed parameters,
    less those an earlier choice shadows (:mod:`.shadowing`).

    ``feasible`` collects, per role, the models whose window holds the role's calls.
    """
    names = [r.name for r in enumerator.roles]
    key = enumerator.metrics.key
    if enumerator.operator in ROLE_SEPARABLE and len(names) > 1:
        fronts = []
        for i, name in enumerate(names):
            before, after = (
                [reference[n] for n in names[:i]],
                [reference[n] for n in names[i + 1 :]],
            )
            singles = [(*before, o, *after) for o in options[name]]
            scored = _pool(enumerator, singles, params, names, feasible, i)
            ok = [(combo[i], c) for combo, c in scored if c.outcome.window_violation is None]
            if not ok:
                window_problem(enumerator, [c for _, c in scored])
                return []
            fronts.append([o for o, _ in pareto_filter(ok, lambda oc: key(oc[1]))])
        product: Iterable[tuple[Option, ...]] = itertools.product(*fronts)
    else:
        product = itertools.product(*(options[n] for n in names))
    candidates, rejected = [], []
    for _, candidate in _pool(enumerator, product, params, names, feasible):
        if candidate.outcome.window_violation is None:
            candidates.append(candidate)
        else:
            rejected.append(candidate)
    if not candidates and rejected:
        window_problem(enumerator, rejected)
    return candidates


def _pool(
    enumerator: OperatorEnumerator,
    combos: Iterable[tuple[Option, ...]],
    params: Mapping[str, int],
    names: Sequence[str],
    feasible: dict[str, set[str]] | None,
    role: int | None = None,
) -> list[tuple[tuple[Option, ...], Candidate]]:
    """The scored choices of one Pareto filter's pool (``combos``: one option per role of
    ``names``), in order, less those an earlier one shadows (:class:`.ShadowPool`).
    ``feasible`` gets the models of the choices that fit, shadowed ones included: every
    role's, or only the one at index ``role``."""
    shadows = None if enumerator.shadows is None else ShadowPool(enumerator.shadows, names)
    used = enumerator.used(params)
    plan, score = _plan_maker(enumerator, names, params, used), enumerator.score_plan
    found = []
    for combo in combos:
        if shadows is not None:
            shadowed = shadows.shadowed(combo)
            if shadowed is not None:  # it fits where it plays: as ``feasible`` says
                at, model = shadowed
                if feasible is not None and role in (None, at) and names[at] in used:
                    feasible[names[at]].add(model)
                continue
        candidate = score(plan(combo))
        found.append((combo, candidate))
        if candidate.outcome.window_violation is not None:
            continue
        if shadows is not None:
            shadows.fitted(combo)
        if feasible is None:
            continue
        if role is not None:
            feasible[names[role]].add(combo[role][0])
            continue
        for assignment in candidate.plan.roles:
            feasible[assignment.role].update(m for m, _ in assignment.members)
    return found


def _plan_maker(
    enumerator: OperatorEnumerator,
    names: Sequence[str],
    params: Mapping[str, int],
    used: Sequence[str],
) -> Callable[[tuple[Option, ...]], TaskPlan]:
    """The task plan of a choice given as one option per role of ``names`` at ``params``
    (whose roles are ``used``): :meth:`~.OperatorEnumerator.plan` with the parameters' work
    done once per pool, and no dict per choice."""
    fixed = tuple(sorted(params.items()))
    at = tuple((name, names.index(name)) for name in used)
    assignments = enumerator.assignments
    task_id, operator = enumerator.task.id, enumerator.operator

    def make(combo: tuple[Option, ...]) -> TaskPlan:
        roles = []
        for name, i in at:
            option = combo[i]
            assignment = assignments.get((name, option))
            if assignment is None:
                assignment = assignments[(name, option)] = RoleAssignment(name, *option)
            roles.append(assignment)
        return task_plan(task_id, operator, tuple(roles), fixed)

    return make


def window_problem(enumerator: OperatorEnumerator, scored: Sequence[Candidate]) -> None:
    """Record why no choice fits: the violation of the plan with the widest windows."""
    by_name = {m.name: m for m in enumerator.owner.catalog}
    roomiest = max(scored, key=lambda c: min(window_of(by_name[a.model]) for a in c.plan.roles))
    enumerator.space.problems.setdefault(
        enumerator.operator,
        f"no capable model's context window is large enough ({roomiest.outcome.window_violation})",
    )
