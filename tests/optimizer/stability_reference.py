"""A straightforward reference of the stability ranges, for the tests only.

The computation :mod:`aalps.optimizer.stability` makes, one alternative at a time as first
written: every alternative scored under the doubled price or size, every reliability probe
walking every alternative (the floors' skipping kept: it decides which alternatives are
scored, so the ranges depend on it), the alternatives found afresh per figure. The fast
paths (bounded crossings, array walks, shared candidates) must give the very same ranges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from aalps.cost_models.domain import CostModel, Model, Operator, Plan, TaskPlan
from aalps.cost_models.ensemble_roles import with_member
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.optimizer.cascade_enumeration import cascade_alternatives
from aalps.optimizer.constraints import meets
from aalps.optimizer.scaled_figures import PRICE_FIELDS, RELIABILITY, SIZE, scaled_evaluator
from aalps.optimizer.space import TaskSpace
from aalps.optimizer.stability import StabilityRange
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_probe import gap
from aalps.optimizer.stability_scan import Verdict, scan

__all__ = ["reference_ranges"]

RELIABILITY_FLOOR = 1e-3
_TIE = 1e-9
_DOWN = (0.99, 0.9, 0.5, 0.1, RELIABILITY_FLOOR)
_UP = (0.2, 1.0)


class _Context(StabilityContext):
    """The context with its alternatives found afresh per figure, as first written."""

    def __init__(
        self, evaluator: PlanEvaluator, plan: Plan, spaces: Sequence[TaskSpace], ratio: bool
    ) -> None:
        super().__init__(evaluator, plan, spaces, ratio)
        self._plain: dict[tuple[int, str, str], list[TaskPlan]] = {}

    def involves(self, tp: TaskPlan, model: str, capability: str) -> bool:
        return any(
            any(m == model for m, _ in r.members)
            and (not capability or self.capability(tp, r.role) == capability)
            for r in tp.roles
        )

    def alternatives(self, index: int, model: str, capability: str) -> list[TaskPlan]:
        """Task plans for task ``index`` other than the chosen one that the figure can favour."""
        key = (index, model, capability)
        known = self._plain.get(key)
        if known is None:
            known = self._plain[key] = self._plain_of(index, model, capability)
        return known

    def _plain_of(self, index: int, model: str, capability: str) -> list[TaskPlan]:
        chosen = self.tasks[index]
        space = self.spaces.get(chosen.task_id)
        bases = [chosen]
        if space is not None:
            bases += [c.plan for cands in space.by_operator.values() for c in cands]
        found: dict[TaskPlan, None] = dict.fromkeys(bases[1:])
        able = self.able(chosen)
        for i, role in enumerate(chosen.roles):
            if capability and self.capability(chosen, role.role) != capability:
                continue
            models, names = able[role.role], [m for m, _ in role.members]
            targets = (
                [n for n in models if n not in names]
                if model in names
                else ([model] if model in models else [])
            )
            for name in targets:
                roles = list(chosen.roles)
                roles[i] = with_member(role, model if model in names else role.model, name)
                if chosen.operator is not Operator.CASCADE:
                    found[replace(chosen, roles=tuple(roles))] = None
        task = self.evaluator.graph.task_by_id[chosen.task_id]
        if task.cascade is not None:  # every model, order and cut-off (the space keeps few)
            found.update(dict.fromkeys(cascade_alternatives(task, self.evaluator.catalog)))
        found.pop(chosen, None)
        if self.involves(chosen, model, capability):
            return list(found)
        return [tp for tp in found if self.involves(tp, model, capability)]


def reference_ranges(
    evaluator: PlanEvaluator, plan: Plan, spaces: Sequence[TaskSpace], *, ratio: bool
) -> tuple[StabilityRange, ...]:
    """Every range of ``plan``, as :func:`aalps.optimizer.stability.stability_ranges`."""
    context = _Context(evaluator, plan, spaces, ratio)
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


@dataclass
class _Line:
    """A plan's objective as a line ``alpha + beta·f`` and its cost as ``a + b·f``."""

    alpha: float
    beta: float
    a: float
    b: float

    def at(self, f: float) -> float:
        return self.alpha + self.beta * f


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
    """A reliability's range: scanned on a grid of factors, its ends refined by the scan."""
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

    def takeover(factor: float, only: TaskPlan | None = None) -> Verdict:
        """(still optimal, the task plans of the best alternative when not, the gap to
        ``only``); ``only``: against that alternative alone, scored (at factor 1 under
        the request's own figures)."""
        if only is not None:
            if factor == 1.0:
                ok, plans, own, best = _optimal_at(context, context.evaluator, pools, {}, [], only)
            else:
                ok, plans, own, best = _optimal_at(
                    context, scaled_at(factor), pools, {}, moved, only
                )
            return Verdict(ok, plans, gap(own, best))
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
        ok, plans, _, _ = _optimal_at(context, scaled, pools, bounds, moved, None)
        return Verdict(ok, plans)

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
) -> tuple[bool, tuple[TaskPlan, ...], float | None, float]:
    """Whether the plan is optimal under ``scaled`` among the single-task alternatives
    (each marked whether it uses the scaled figure: the others, and the plan's tasks but
    those at ``moved``, keep their outcomes), or at least as good as the alternative
    ``only``; the task plans that take over when not, the plan's objective (None: it
    breaks a constraint) and the best alternative's.

    An alternative whose ``floors`` (cost no lower, success no higher) cannot beat the best
    objective known so far is not scored again (one without floors always is).
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
            if again and alt in floors:
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
        return False, (best_plan,) if best_plan is not None else (), own, best
    if best_plan is not None and best < own * (1 - _TIE):
        return False, (best_plan,), own, best
    return True, (), own, best
