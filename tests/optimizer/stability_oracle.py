"""An independent check of the reliability ranges' documented contract, for the tests only.

:mod:`aalps.optimizer.stability` promises, for a reliability range that names the task plans
taking over past an end, that the end is a factor where the plan is still optimal, within
:data:`~aalps.optimizer.stability.RESOLUTION` (in log ratio) of one where the plan named is
better. This checks both by brute force, with none of the scan's assumptions: at the end,
every single-task alternative scored under a fresh scaled evaluator, bounded only by what
any task plan satisfies (cost at least 0, success at most 1); beyond it, the named plan
against the plan on a fine grid of factors up to the resolution. The end at factor 1 is
the plan's own optimum (the search's, not claimed by the scan) and is not checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from aalps.cost_models.domain import Plan, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.scaled_figures import RELIABILITY, scaled_evaluator
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.stability import RESOLUTION, StabilityRange

from tests.optimizer.stability_reference import _Context, _optimal_at

__all__ = ["reliability_problems"]

#: Factors tried past an end, evenly in log ratio up to the resolution.
_BEYOND = 16


def reliability_problems(
    evaluator: PlanEvaluator,
    plan: Plan,
    spaces: Sequence[TaskSpace],
    ratio: bool,
    ranges: Sequence[StabilityRange],
) -> list[str]:
    """How the reliability ranges among ``ranges`` of ``plan`` break the contract (none:
    they keep it)."""
    context = _Context(evaluator, plan, spaces, ratio)
    problems = []
    for found in ranges:
        if found.field == RELIABILITY:
            problems += _problems(context, found)
    return problems


def _problems(context: _Context, found: StabilityRange) -> list[str]:
    """How one reliability range breaks the contract."""
    model, capability = found.model, found.capability
    pools = {}
    for index, tp in enumerate(context.tasks):
        alternatives = context.alternatives(index, model, capability)
        if alternatives or context.involves(tp, model, capability):
            pools[index] = [(alt, context.involves(alt, model, capability)) for alt in alternatives]
    moved = [i for i in pools if context.involves(context.tasks[i], model, capability)]
    # Bounds every task plan meets: skipping on them skips none that could win.
    loose = {alt: (0.0, 1.0) for pool in pools.values() for alt, _ in pool}

    def optimal(factor: float, only: TaskPlan | None = None) -> bool:
        scaled = scaled_evaluator(context.evaluator, model, RELIABILITY, factor, capability)
        return _optimal_at(context, scaled, pools, loose, moved, only)[0]

    problems = []
    for end, named, sign in ((found.high, found.above, 1.0), (found.low, found.below, -1.0)):
        if not named:
            continue
        where = f"{model} {capability} {'high' if sign > 0 else 'low'} {end!r}"
        if end != 1.0 and not optimal(end):
            problems.append(f"{where}: the plan is not optimal there")
        beyond = [end * math.exp(sign * RESOLUTION * k / _BEYOND) for k in range(1, _BEYOND + 1)]
        if all(optimal(f, named[0]) for f in beyond):
            problems.append(f"{where}: {named[0]} never beats the plan within the resolution")
    return problems
