"""How far each price, size and reliability the plan uses may move before another plan wins.

For every model the plan uses, each figure its cost is linear in (``price_per_input_token``
and ``price_per_output_token`` under PRICED, the model's ``size`` under the size-based cost
models) and each reliability (capability value) a role of the plan relies on, a
:class:`StabilityRange` gives the factor range ``[low, high]`` over which the plan stays
optimal, and the task plans that take over past each end.

The alternatives are whole plans that differ from the chosen one in one task: per task, the
best scored candidate of every operator (:mod:`aalps.optimizer.enumeration`) and every
single-role model swap of the chosen task plan and of those candidates that moves a role off
the varied model or onto it (operator, votes and parameters held). For a request without
coupling constraints the optimum changes one task at a time, so the ends are those of the
alternatives' lines; where constraints or the cost of a correct result (cost over success,
the default objective) couple the tasks, two changes together may win where neither does
alone: such a range holds over single-task changes that keep the plan feasible, and is
marked ``conditional``.

Cost is linear in a price factor ``f``: each alternative's objective is a line ``α + β·f``
(the cost of a correct result divides cost by a success probability the price does not
touch), fitted from two numeric evaluations, and the ends are the nearest crossings with the
chosen plan's line (or where it breaks ``max_cost``). Reliability is not linear: the ends are
found on a grid of factors, refined by bisection, with the scaled reliability clipped to 1:
the end reported is a factor where the plan is still optimal, within :data:`RESOLUTION` (in
log ratio) of one where the plan named is better.
All of it is plain float arithmetic on the evaluator's numeric formulas: no symbolic work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aalps.cost_models.domain import CostModel, Model, Plan, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.scaled_figures import PRICE_FIELDS, RELIABILITY, SIZE, scaled_evaluator
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_range import TIE, StabilityRange
from aalps.optimizer.stability_reliability import RELIABILITY_FLOOR, reliability_range
from aalps.optimizer.stability_scan import RESOLUTION

__all__ = [
    "PRICE_FIELDS",
    "RELIABILITY",
    "RELIABILITY_FLOOR",
    "RESOLUTION",
    "SIZE",
    "StabilityRange",
    "scaled_evaluator",
    "stability_ranges",
]

_TIE = TIE


@dataclass
class _Line:
    """A plan's objective as a line ``alpha + beta·f`` and its cost as ``a + b·f``."""

    alpha: float
    beta: float
    a: float
    b: float

    def at(self, f: float) -> float:
        return self.alpha + self.beta * f


def stability_ranges(
    evaluator: PlanEvaluator, plan: Plan, spaces: Sequence[TaskSpace], *, ratio: bool
) -> tuple[StabilityRange, ...]:
    """Every price (or size) and reliability range of ``plan``, in catalog order.

    ``ratio``: the request minimizes the cost of a correct result (cost / success), else
    the expected cost.
    """
    context = StabilityContext(evaluator, plan, spaces, ratio)
    used = {r.model for tp in plan.tasks for r in tp.roles}
    reliabilities = sorted(
        {(r.model, context.capability(tp, r.role)) for tp in plan.tasks for r in tp.roles}
    )
    priced = evaluator.request.cost_model is CostModel.PRICED
    fields = PRICE_FIELDS if priced else (SIZE,)
    ranges = []
    for model in evaluator.catalog.models:
        if model.name not in used:
            continue
        for name in fields:
            ranges.append(_linear_range(context, model, name))
        for which, capability in reliabilities:
            if which == model.name:
                ranges.append(reliability_range(context, model, capability))
    return tuple(ranges)


def _linear_range(context: StabilityContext, model: Model, field: str) -> StabilityRange:
    """The exact range of a price or size factor: nearest crossings of objective lines."""
    evaluator = context.evaluator
    doubled = scaled_evaluator(evaluator, model.name, field, 2.0)
    costs1 = [o.expected_cost for o in context.outcomes]
    costs2 = [
        (doubled if context.involves(tp, model.name, "") else evaluator)
        .task_outcome(tp)
        .expected_cost
        for tp in context.tasks
    ]
    total1, total2 = math.fsum(costs1), math.fsum(costs2)
    success = math.prod(o.success_probability for o in context.outcomes)
    chosen = _line(total1, total2, success, context.ratio)
    low, high = 0.0, math.inf
    below: tuple[TaskPlan, ...] = ()
    above: tuple[TaskPlan, ...] = ()
    max_cost = context.constraints.max_cost
    if max_cost is not None and chosen.b > 0 and math.isfinite(chosen.b):
        high = max(1.0, (max_cost - chosen.a) / chosen.b)
    if max_cost is not None and chosen.b < 0:
        low = min(1.0, (max_cost - chosen.a) / chosen.b)
    for index in range(len(context.tasks)):
        own = context.outcomes[index]
        for alt in context.alternatives(index, model.name, ""):
            outcome = evaluator.task_outcome(alt)
            if not context.feasible_apart_from_cost(index, outcome):
                continue
            cost1 = total1 - costs1[index] + outcome.expected_cost
            again = doubled if context.involves(alt, model.name, "") else evaluator
            cost2 = total2 - costs2[index] + again.task_outcome(alt).expected_cost
            if own.success_probability > 0:
                p = success / own.success_probability * outcome.success_probability
            else:
                p = math.prod(
                    (outcome if i == index else o).success_probability
                    for i, o in enumerate(context.outcomes)
                )
            line = _line(cost1, cost2, p, context.ratio)
            if not (math.isfinite(line.alpha) and math.isfinite(line.beta)):
                continue
            slope = line.beta - chosen.beta
            if abs(slope) <= _TIE * max(abs(line.beta), abs(chosen.beta), 1e-300):
                continue
            cross = (chosen.alpha - line.alpha) / slope
            if max_cost is not None and line.a + line.b * cross > max_cost * (1 + _TIE):
                continue
            if slope < 0 and max(cross, 1.0) < high:
                high, above = max(cross, 1.0), (alt,)
            elif slope > 0 and 0.0 <= min(cross, 1.0) and min(cross, 1.0) > low:
                low, below = min(cross, 1.0), (alt,)
    return StabilityRange(
        model.name, field, low, high, below, above, conditional=context.conditional
    )


def _line(cost1: float, cost2: float, success: float, ratio: bool) -> _Line:
    """The line through a plan's costs at factors 1 and 2 (its objective, its cost)."""
    b = cost2 - cost1
    a = cost1 - b
    if ratio:
        if success <= 0:
            return _Line(math.inf, math.inf, a, b)
        return _Line(a / success, b / success, a, b)
    return _Line(a, b, a, b)
