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

from aalps.cost_models.domain import (
    CostModel,
    Model,
    Operator,
    Plan,
    TaskPlan,
)
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.optimizer.constraints import meets
from aalps.optimizer.scaled_figures import PRICE_FIELDS, RELIABILITY, SIZE, scaled_evaluator
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_scan import RESOLUTION, scan

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

#: Reliability factors are scanned down to this one; below it the range is not claimed.
RELIABILITY_FLOOR = 1e-3
#: Objectives within this relative distance are ties (the plan stays optimal).
_TIE = 1e-9
#: Reliability factors tried below 1 before bisecting (nearest first).
_DOWN = (0.99, 0.9, 0.5, 0.1, RELIABILITY_FLOOR)
#: Fractions of the way to the clip (reliability 1) tried above 1.
_UP = (1.0,)


@dataclass(frozen=True)
class StabilityRange:
    """The factors on one model figure over which the plan stays optimal.

    ``field`` is ``price_per_input_token``, ``price_per_output_token``, ``size`` or
    ``reliability`` (then ``capability`` names which). The plan stays optimal while the
    figure is multiplied by a factor within ``[low, high]``; past ``high`` the task plans in
    ``above`` replace the plan's (each names its task), below ``low`` those in ``below``.
    ``low`` 0 and ``high`` infinite mean no alternative takes over that way; an end with no
    task plans and a finite factor is where the plan itself breaks a constraint
    (``max_cost``, ``min_success_probability``) or, for reliabilities, the scan's floor
    :data:`RELIABILITY_FLOOR`. ``conditional``: constraints or the cost-of-a-correct-result
    objective couple the tasks, so the range holds over single-task changes only.
    """

    model: str
    field: str
    low: float
    high: float
    below: tuple[TaskPlan, ...] = ()
    above: tuple[TaskPlan, ...] = ()
    capability: str = ""
    conditional: bool = False


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
                ranges.append(_reliability_range(context, model, capability))
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


def _reliability_range(context: StabilityContext, model: Model, capability: str) -> StabilityRange:
    """A reliability's range: scanned on a grid of factors, its ends refined by bisection."""
    reliability = float(model.capabilities[capability])
    pools: dict[int, list[tuple[TaskPlan, bool]]] = {}
    for index, tp in enumerate(context.tasks):
        alternatives = context.alternatives(index, model.name, capability)
        if alternatives or context.involves(tp, model.name, capability):
            pools[index] = [
                (alt, context.involves(alt, model.name, capability)) for alt in alternatives
            ]

    alts = [alt for pool in pools.values() for alt, again in pool if again]
    moved = [i for i in pools if context.involves(context.tasks[i], model.name, capability)]
    up = 1.0 / reliability if reliability > 0 else math.inf
    floors: dict[bool, dict[TaskPlan, tuple[float, float]]] = {}
    # Per factor one scaled evaluator (the scan checks a factor again against every
    # alternative, and the far end's floors are taken at the first factor up): the task
    # plans scored there are scored once.
    evaluators: dict[float, PlanEvaluator] = {}
    bounds_of: dict[tuple[bool, bool], dict[TaskPlan, tuple[float, float]]] = {}

    def scaled_at(factor: float) -> PlanEvaluator:
        scaled = evaluators.get(factor)
        if scaled is None:
            scaled = evaluators[factor] = scaled_evaluator(
                context.evaluator, model.name, RELIABILITY, factor, capability
            )
        return scaled

    def takeover(factor: float, only: TaskPlan | None = None) -> tuple[bool, tuple[TaskPlan, ...]]:
        """(still optimal, the task plans of the best alternative when not); ``only``:
        against that alternative alone."""
        scaled = scaled_at(factor)
        down = factor < 1.0
        if down not in floors:  # each direction's floors, once: at its far end
            end = context.evaluator if down else scaled_at(up)
            floors[down] = {alt: _floor(alt, end) for alt in alts}
        # AHEAD_BY_K is monotone in the reliability above 1/2 only (as the enumeration's).
        monotone = reliability * factor > 0.5
        bounds = bounds_of.get((down, monotone))
        if bounds is None:
            bounds = bounds_of[down, monotone] = {
                alt: floor if monotone or alt.operator is not Operator.AHEAD_BY_K else (0.0, 1.0)
                for alt, floor in floors[down].items()
            }
        return _optimal_at(context, scaled, pools, bounds, moved, only)

    high, above = scan(takeover, [1.0 + (up - 1.0) * t for t in _UP] if up > 1.0 else [])
    low, below = scan(takeover, list(_DOWN))
    return StabilityRange(
        model.name,
        RELIABILITY,
        low,
        high if above or high < up * (1 - _TIE) else math.inf,
        below,
        above,
        capability=capability,
        conditional=context.conditional,
    )


def _floor(plan: TaskPlan, evaluator: PlanEvaluator) -> tuple[float, float]:
    """A task plan's (cost, success) at the end of a reliability scan: along the scan its
    cost is no lower and its success no higher (more reliable models retry less and fail
    less; AHEAD_BY_K's samples only while the reliability stays above 1/2)."""
    outcome = evaluator.task_outcome(plan)
    return outcome.expected_cost, outcome.success_probability


def _optimal_at(
    context: StabilityContext,
    scaled: PlanEvaluator,
    pools: dict[int, list[tuple[TaskPlan, bool]]],
    floors: dict[TaskPlan, tuple[float, float]],
    moved: Sequence[int],
    only: TaskPlan | None = None,
) -> tuple[bool, tuple[TaskPlan, ...]]:
    """Whether the plan is optimal under ``scaled`` among the single-task alternatives
    (each marked whether it uses the scaled figure: the others, and the plan's tasks but
    those at ``moved``, keep their outcomes), or at least as good as the alternative
    ``only``.

    An alternative whose ``floors`` (cost no lower, success no higher) cannot beat the best
    objective known so far is not scored again.
    """
    outcomes = list(context.outcomes)
    base = context.evaluator
    for index in moved:
        outcomes[index] = scaled.task_outcome(context.tasks[index])
    constraints = context.constraints

    total = math.fsum(o.expected_cost for o in outcomes)
    success = math.prod(o.success_probability for o in outcomes)

    check = context.layout.check(outcomes, constraints) if context.constrained else None

    def objective(cost: float, p: float, swap: tuple[int, TaskOutcome] | None) -> float | None:
        """The objective of the plan (``swap`` None) or of it with one task swapped; None
        when that breaks a constraint."""
        if check is not None:
            if swap is None:
                plan = scaled.combine(
                    {tp.task_id: o for tp, o in zip(context.tasks, outcomes, strict=True)}
                )
                if not meets(plan, constraints):
                    return None
            elif not check.meets(context.layout.position[swap[0]], swap[1], cost, p):
                return None
        if not context.ratio:
            return cost
        return cost / p if p > 0 else math.inf

    own = objective(total, success, None)
    best, best_plan = math.inf, None
    for index, alternatives in pools.items():
        mine = outcomes[index]
        for alt, again in alternatives:
            if only is not None and alt != only:
                continue
            if again:
                cost, p = floors[alt]
                rest = success / mine.success_probability if mine.success_probability > 0 else 0.0
                bound = total - mine.expected_cost + cost
                if context.ratio:
                    bound = bound / (rest * p) if rest * p > 0 else math.inf
                if bound >= min(best, own if own is not None else math.inf) and rest > 0:
                    continue
            outcome = (scaled if again else base).task_outcome(alt)
            if outcome.window_violation is not None:
                continue
            cost = total - mine.expected_cost + outcome.expected_cost
            if mine.success_probability > 0:
                p = success / mine.success_probability * outcome.success_probability
            else:
                p = math.prod(
                    (outcome if i == index else o).success_probability
                    for i, o in enumerate(outcomes)
                )
            value = objective(cost, p, (index, outcome))
            if value is not None and value < best:
                best, best_plan = value, alt
    if own is None:
        return False, (best_plan,) if best_plan is not None else ()
    if best_plan is not None and best < own * (1 - _TIE):
        return False, (best_plan,)
    return True, ()
