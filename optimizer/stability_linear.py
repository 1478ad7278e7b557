"""A price's or size's stability range: the nearest crossings of the plan's objective line
with its single-task alternatives' (:mod:`aalps.optimizer.stability`).

Each alternative's line is fitted from its costs at factors 1 and 2; the second needs the
alternative scored again under the doubled figure when it uses the model. Most of those
scorings cannot matter: a task plan's cost is ``C0 + f·C1`` with ``C0, C1 ≥ 0`` in the
factor ``f`` (prices and sizes multiply token counts; nothing else reads them), so its cost
at 2 lies between its cost at 1 and twice that, and the crossing — a Möbius function of
that cost, monotone away from its pole — lies between its values at those two ends (or,
with the pole between them, beyond its value at the one end where it may set ``high`` and
before its value at the other where it may set ``low``: :func:`_bounds`). An
alternative whose crossing cannot come as near to 1 as the nearest one found (with a
relative margin of :data:`_MARGIN`, far above the floats' rounding) is not scored again;
the others are, nearest-bounded first, and the ends are then replayed in the alternatives'
order, so that the same crossing and the same first alternative reaching it are named.
Under a size-based cost model a task plan whose roles the model alone answers has ``C0``
0, and its cost at 2 is exactly twice its cost (:func:`_twice`): it is never scored again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from aalps.cost_models.domain import CostModel, Model, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.optimizer.scaled_figures import SIZE
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_range import TIE, StabilityRange

__all__ = ["Line", "line_through", "linear_range"]

#: Relative margin of the crossings' bounds, beyond their floats' rounding.
_MARGIN = 1e-6
#: The rounding error of a line's figures, relative to the largest (a few ulps, inflated).
_ROUNDING = 1e-12
#: Sizes and costs doubled exactly (:func:`_twice`) lie within these, far from the
#: floats' overflow and their subnormal range.
_SMALLEST, _LARGEST = 1e-200, 1e200


@dataclass
class Line:
    """A plan's objective as a line ``alpha + beta·f`` and its cost as ``a + b·f``."""

    alpha: float
    beta: float
    a: float
    b: float

    def at(self, f: float) -> float:
        return self.alpha + self.beta * f


def line_through(cost1: float, cost2: float, success: float, ratio: bool) -> Line:
    """The line through a plan's costs at factors 1 and 2 (its objective, its cost)."""
    b = cost2 - cost1
    a = cost1 - b
    if ratio:
        if success <= 0:
            return Line(math.inf, math.inf, a, b)
        return Line(a / success, b / success, a, b)
    return Line(a, b, a, b)


#: The ends an alternative may set, coded in arrays (:data:`_BOTH`: either, in bounds).
_NONE, _HIGH, _LOW, _BOTH = 0, 1, 2, 3


@dataclass
class _Alternatives:
    """The feasible single-task alternatives, flat in the walk's order (task by task): per
    alternative its plan's cost at 1 and the rest at 2, its own cost at 1, the plan's
    success with it, and whether it uses the model (scored again under the doubled figure)."""

    plans: list[TaskPlan]
    ids: np.ndarray  # their ids in the context's pool
    again: np.ndarray
    cost1: np.ndarray  # the whole plan's, with this alternative
    rest2: np.ndarray  # the whole plan's at 2 without the task
    own: np.ndarray  # the alternative's cost at 1
    success: np.ndarray  # the whole plan's


def _alternatives(
    context: StabilityContext, model: str, costs1: list[float], costs2: list[float]
) -> _Alternatives:
    """Every alternative the model's figure can favour that keeps the plan feasible (apart
    from ``max_cost``), with the figures its line is fitted from (in arrays gathered from
    the context's pool: the float operations of the one-by-one walk, :func:`_walked`)."""
    pool = context.pool
    ids, index = context.figure_alternatives(model, "")
    success = math.prod(o.success_probability for o in context.outcomes)
    mine = np.array([o.success_probability for o in context.outcomes], dtype=float)
    if context.constrained or not bool(np.all(mine[index] > 0)):
        return _walked(context, model, ids, index, costs1, costs2)
    total1, total2 = math.fsum(costs1), math.fsum(costs2)
    figures = pool.figures(ids)
    keep = ~figures.window  # a role's call exceeds a window: never taken
    ids, index = ids[keep], index[keep]
    own = figures.cost[keep]
    with np.errstate(all="ignore"):
        left1 = total1 - np.array(costs1, dtype=float)
        left2 = total2 - np.array(costs2, dtype=float)
        rest = success / mine
        probability = rest[index] * figures.success[keep]
        cost1 = left1[index] + own
    plans = pool.plans
    return _Alternatives(
        [plans[g] for g in ids.tolist()],
        ids,
        pool.involving((model, ""))[ids],
        cost1,
        left2[index],
        own,
        probability,
    )


def _walked(
    context: StabilityContext,
    model: str,
    ids: np.ndarray,
    index: np.ndarray,
    costs1: list[float],
    costs2: list[float],
) -> _Alternatives:
    """:func:`_alternatives` one alternative at a time: under coupling constraints (each
    checked against them), or when a task of the plan cannot succeed (then the plan's
    success is multiplied afresh)."""
    pool = context.pool
    total1, total2 = math.fsum(costs1), math.fsum(costs2)
    success = math.prod(o.success_probability for o in context.outcomes)
    plans: list[TaskPlan] = []
    taken: list[int] = []
    again: list[bool] = []
    cost1: list[float] = []
    rest2: list[float] = []
    own: list[float] = []
    probability: list[float] = []
    constrained = context.constrained
    for g, i in zip(ids.tolist(), index.tolist(), strict=True):
        mine = context.outcomes[i]
        outcome = pool.outcome(g)
        if constrained:
            if not context.feasible_apart_from_cost(i, outcome):
                continue
        elif outcome.window_violation is not None:
            continue
        if mine.success_probability > 0:
            p = success / mine.success_probability * outcome.success_probability
        else:
            p = math.prod(
                (outcome if k == i else o).success_probability
                for k, o in enumerate(context.outcomes)
            )
        alt = pool.plans[g]
        plans.append(alt)
        taken.append(g)
        again.append(context.involves(alt, model, ""))
        cost1.append(total1 - costs1[i] + outcome.expected_cost)
        rest2.append(total2 - costs2[i])
        own.append(outcome.expected_cost)
        probability.append(p)
    return _Alternatives(
        plans,
        np.array(taken, dtype=np.intp),
        np.array(again, dtype=bool),
        np.array(cost1, dtype=float),
        np.array(rest2, dtype=float),
        np.array(own, dtype=float),
        np.array(probability, dtype=float),
    )


def _crossings(
    chosen: Line,
    cost1: np.ndarray,
    cost2: np.ndarray,
    success: np.ndarray,
    ratio: bool,
) -> tuple[np.ndarray, ...]:
    """The crossings with the plan's line of the lines through the plans' costs ``cost1``
    at 1 and ``cost2`` at 2, by the float operations of :func:`linear_range`'s ``end``:
    (whether there is one, slope, crossing, the line's ``a``, ``b``, ``alpha``, ``beta``).
    There is none where the line is not finite or parallel to the plan's."""
    with np.errstate(all="ignore"):
        b = cost2 - cost1
        a = cost1 - b
        if ratio:
            dead = success <= 0
            alpha = np.where(dead, math.inf, a / success)
            beta = np.where(dead, math.inf, b / success)
        else:
            alpha, beta = a, b
        slope = beta - chosen.beta
        widest = np.maximum(np.maximum(np.abs(beta), abs(chosen.beta)), 1e-300)
        some = np.isfinite(alpha) & np.isfinite(beta) & ~(np.abs(slope) <= TIE * widest)
        cross = (chosen.alpha - alpha) / slope
    return some, slope, cross, a, b, alpha, beta


def linear_range(context: StabilityContext, model: Model, field: str) -> StabilityRange:
    """The exact range of a price or size factor: nearest crossings of objective lines."""
    doubled_evaluator = context.scaled(model.name, field, 2.0)
    twice = _twice(context, model, field, doubled_evaluator)
    doubled, unscaled = context.scorer(doubled_evaluator), context.pool.scorer
    costs1 = [o.expected_cost for o in context.outcomes]
    costs2 = [
        2.0 * cost
        if twice(context.pairs(tp), cost)
        else (doubled if context.involves(tp, model.name, "") else unscaled)
        .task_outcome(tp)
        .expected_cost
        for tp, cost in zip(context.tasks, costs1, strict=True)
    ]
    total1, total2 = math.fsum(costs1), math.fsum(costs2)
    success = math.prod(o.success_probability for o in context.outcomes)
    chosen = line_through(total1, total2, success, context.ratio)
    low, high = 0.0, math.inf
    max_cost = context.constraints.max_cost
    if max_cost is not None and chosen.b > 0 and math.isfinite(chosen.b):
        high = max(1.0, (max_cost - chosen.a) / chosen.b)
    if max_cost is not None and chosen.b < 0:
        low = min(1.0, (max_cost - chosen.a) / chosen.b)
    found = _alternatives(context, model.name, costs1, costs2)
    # Those whose cost at 2 is twice their cost: settled with the others, in arrays.
    exact = np.zeros(len(found.plans), dtype=bool)
    using = np.flatnonzero(found.again)
    pairs = context.pool.pairs
    exact[using] = [
        twice(pairs[g], c)
        for g, c in zip(found.ids[using].tolist(), found.own[using].tolist(), strict=True)
    ]
    found.again &= ~exact
    count = len(found.plans)
    side = np.zeros(count, dtype=np.int8)  # the end each settled alternative sets
    factor = np.zeros(count)  # and its factor there

    def end(j: int) -> tuple[int, float]:
        """Which end alternative ``j`` (one that uses the model) sets and its factor there,
        its cost at 2 scored under the doubled figure."""
        cost2 = doubled.task_outcome(found.plans[j]).expected_cost
        line = line_through(
            float(found.cost1[j]),
            float(found.rest2[j]) + cost2,
            float(found.success[j]),
            context.ratio,
        )
        if not (math.isfinite(line.alpha) and math.isfinite(line.beta)):
            return _NONE, 0.0
        slope = line.beta - chosen.beta
        if abs(slope) <= TIE * max(abs(line.beta), abs(chosen.beta), 1e-300):
            return _NONE, 0.0
        cross = (chosen.alpha - line.alpha) / slope
        if max_cost is not None and line.a + line.b * cross > max_cost * (1 + TIE):
            return _NONE, 0.0
        if slope < 0:
            return _HIGH, max(cross, 1.0)
        if slope > 0 and 0.0 <= min(cross, 1.0):
            return _LOW, min(cross, 1.0)
        return _NONE, 0.0

    nearest = {"high": high, "low": low}

    def settle(j: int) -> None:
        side[j], factor[j] = known = end(j)
        if known[0] == _HIGH and known[1] < nearest["high"]:
            nearest["high"] = known[1]
        elif known[0] == _LOW and known[1] > nearest["low"]:
            nearest["low"] = known[1]

    # The alternatives that do not use the model: their cost at 2 is their cost at 1; and
    # those whose cost is the model's alone: twice it.
    plain = ~found.again
    some, slope, cross, a, b, _, _ = _crossings(
        chosen,
        found.cost1,
        found.rest2 + np.where(exact, 2.0 * found.own, found.own),
        found.success,
        context.ratio,
    )
    with np.errstate(all="ignore"):
        if max_cost is not None:
            some &= ~(a + b * cross > max_cost * (1 + TIE))
        rises = plain & some & (slope < 0)
        falls = plain & some & (slope > 0) & (0.0 <= np.minimum(cross, 1.0))
    side[rises], factor[rises] = _HIGH, np.maximum(cross[rises], 1.0)
    side[falls], factor[falls] = _LOW, np.minimum(cross[falls], 1.0)
    _nearest(nearest, side, factor)
    # Those that do: bounds on the end each may set (or none: settled now).
    # (One whose line may turn parallel to the plan's in between has a bound on each end.)
    kind, reach, reach_low = _bounds(chosen, found, context.ratio)
    for j in np.flatnonzero(found.again & (kind == _NONE)).tolist():
        settle(j)
    settled = np.zeros(count, dtype=bool)
    rising = np.flatnonzero((kind == _HIGH) | (kind == _BOTH))
    for j in rising[np.argsort(reach[rising], kind="stable")].tolist():
        if reach[j] > nearest["high"]:
            break
        settle(j)
        settled[j] = True
    falling = np.flatnonzero((kind == _LOW) | (kind == _BOTH))[
        ::-1
    ]  # greatest first, then the later
    for j in falling[np.argsort(-reach_low[falling], kind="stable")].tolist():
        if reach_low[j] < max(nearest["low"], 0.0):
            break
        if not settled[j]:
            settle(j)
    # The first alternative (in the walk's order) to reach the nearest end names it.
    below: tuple[TaskPlan, ...] = ()
    above: tuple[TaskPlan, ...] = ()
    with np.errstate(all="ignore"):
        better = (side == _HIGH) & (factor < high)
        if better.any():
            j = int(np.flatnonzero(better & (factor == factor[better].min()))[0])
            high, above = float(factor[j]), (found.plans[j],)
        better = (side == _LOW) & (factor > low)
        if better.any():
            j = int(np.flatnonzero(better & (factor == factor[better].max()))[0])
            low, below = float(factor[j]), (found.plans[j],)
    return StabilityRange(
        model.name, field, low, high, below, above, conditional=context.conditional
    )


def _twice(
    context: StabilityContext, model: Model, field: str, doubled: PlanEvaluator
) -> Callable[[frozenset[tuple[str, str | None]], float], bool]:
    """Whether a task plan's cost under the doubled figure is exactly twice its cost
    ``cost``, given what it involves (:meth:`StabilityContext.pairs`; then it is not scored
    again): under a size-based cost model, a task plan whose every role is answered by the
    model alone, the model without a setup cost.

    Every term of such a cost is a call's cost under that cost model, the model's size
    times token counts (:mod:`aalps.cost_models.call_costs`; a tool call costs nothing
    there), summed and scaled by call counts, votes and cache writes that the size does not
    change: sums, differences and products with those. Doubling the size doubles each term
    exactly in binary floating point (and in mpmath's), and so the cost, unless a figure
    overflows or falls below the normal range: the size the evaluator uses must be doubled
    exactly and lie far within the range, and so must the cost.
    """
    name = model.name
    size = float(context.evaluator._model_sizes[name])
    if (
        field != SIZE
        or context.evaluator.request.cost_model is CostModel.PRICED
        or model.setup_cost != 0
        or float(doubled._model_sizes[name]) != 2.0 * size
        or not _SMALLEST <= size <= _LARGEST
    ):
        return lambda pairs, cost: False
    alone: dict[frozenset[tuple[str, str | None]], bool] = {}

    def twice(pairs: frozenset[tuple[str, str | None]], cost: float) -> bool:
        if not (cost == 0.0 or _SMALLEST <= cost <= _LARGEST):
            return False
        known = alone.get(pairs)
        if known is None:
            known = alone[pairs] = bool(pairs) and all(m == name for m, _ in pairs)
        return known

    return twice


def _nearest(nearest: dict[str, float], side: np.ndarray, factor: np.ndarray) -> None:
    """``nearest`` moved to the nearest ends among those settled in ``side`` and ``factor``."""
    with np.errstate(all="ignore"):
        highs = factor[(side == _HIGH) & (factor < nearest["high"])]
        if len(highs):
            nearest["high"] = float(highs.min())
        lows = factor[(side == _LOW) & (factor > nearest["low"])]
        if len(lows):
            nearest["low"] = float(lows.max())


def _bounds(
    chosen: Line, found: _Alternatives, ratio: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per alternative that uses the model: the end it may set and a bound on its factor
    there (least for ``high``, greatest for ``low``), from its cost at 2 lying in
    ``[own, 2·own]``; :data:`_NONE` when that is not sure (then it is scored again).
    Returned as (kind, the ``high`` bound or the one bound, the ``low`` bound of
    :data:`_BOTH`).

    An alternative whose slope against the plan's turns from negative to positive within
    those costs (a pole between them) may set either end: :data:`_BOTH` with a bound on
    each when it is worse than the plan at 1 by ``g > 0``. Then ``d = slope - g`` (``d``:
    the plan's ``alpha`` less the alternative's; both grow with the cost at 2 alike) and
    the crossing ``d / slope = 1 - g / slope`` is at least ``1 + g / |slope0|`` where the
    slope is negative and at most ``1 - g / slope1`` where positive (the slopes at the
    ends); their floats, each off by at most ``E`` (:data:`_ROUNDING`, inflated four
    times), move these by less than ``3E`` in ``g`` and ``2E`` in the slopes.
    """
    own = found.own
    with np.errstate(all="ignore"):
        sure = found.again & np.isfinite(own) & (own >= 0)
        some0, slope0, cross0, _, _, alpha0, beta0 = _crossings(
            chosen, found.cost1, found.rest2 + own * (1 - 1e-9), found.success, ratio
        )
        some1, slope1, cross1, _, _, alpha1, beta1 = _crossings(
            chosen, found.cost1, found.rest2 + 2 * own * (1 + 1e-9), found.success, ratio
        )
        # Far above the rounding of the lines' figures (a few ulps of the largest).
        largest = np.maximum(abs(chosen.alpha), abs(chosen.beta))
        for x in (alpha0, beta0, alpha1, beta1):
            largest = np.maximum(largest, np.abs(x))
        error = _ROUNDING * largest
        finite = np.isfinite(alpha0) & np.isfinite(beta0) & np.isfinite(alpha1)
        pole = sure & finite & np.isfinite(beta1) & (slope0 < 0) & (slope1 > 0)
        worse = (found.cost1 / found.success if ratio else found.cost1) - (
            chosen.alpha + chosen.beta
        )
        gap = worse - 12 * error
        pole &= gap > 0
        above = 1 + gap / (np.abs(slope0) + 8 * error) * (1 - _MARGIN)
        below = 1 - gap / (slope1 + 8 * error) * (1 - _MARGIN)
        pole &= np.isfinite(above) & np.isfinite(below)
        sure &= some0 & some1 & np.isfinite(cross0) & np.isfinite(cross1)
        steep = np.minimum(np.abs(slope0), np.abs(slope1))
        # The slope may change sign between the ends (a pole): not sure.
        sure &= (steep > 1e3 * error) & ((slope0 < 0) == (slope1 < 0))
        # The crossing is monotone between the ends; its floats are off by at most this.
        reach = np.maximum(np.abs(cross0), np.abs(cross1))
        slack = 4 * error * (1 + reach) / steep + _MARGIN * reach
        high = np.maximum(np.minimum(cross0, cross1) - slack, 1.0)
        low = np.minimum(np.maximum(cross0, cross1) + slack, 1.0)
    kind = np.where(sure, np.where(slope0 < 0, _HIGH, _LOW), _NONE).astype(np.int8)
    kind[pole & ~sure] = _BOTH
    first = np.where(kind == _BOTH, above, np.where(slope0 < 0, high, low))
    return kind, first, np.where(kind == _BOTH, below, low)
