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
found on a grid of factors, refined by regula falsi steps on the gap between the plan and
the alternative that took over (:mod:`aalps.optimizer.stability_scan`), with the scaled
reliability clipped to 1:
the end reported is a factor where the plan is still optimal, within :data:`RESOLUTION` (in
log ratio) of one where the plan named is better.
All of it is plain float arithmetic on the evaluator's numeric formulas: no symbolic work.
The alternatives are numbered once for all figures, with their figures under the request's
own evaluator in arrays (:mod:`aalps.optimizer.stability_pool`): a figure gathers them
instead of looking each one up.
The price and size ranges are :mod:`aalps.optimizer.stability_linear`'s (an alternative is
scored under the doubled figure only when its crossing may set an end), the reliability
ranges :mod:`aalps.optimizer.stability_reliability`'s (refining probes score one
alternative; full probes walk in arrays the alternatives whose floor may beat the plan,
:mod:`aalps.optimizer.stability_probe`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aalps.cost_models.domain import CostModel, Plan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.scaled_figures import PRICE_FIELDS, RELIABILITY, SIZE, scaled_evaluator
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_linear import linear_range
from aalps.optimizer.stability_range import StabilityRange
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
            ranges.append(linear_range(context, model, name))
        for which, capability in reliabilities:
            if which == model.name:
                ranges.append(reliability_range(context, model, capability))
    return tuple(ranges)
