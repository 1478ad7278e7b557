"""A price's or size's stability range: the nearest crossings of the plan's objective line
with its single-task alternatives' (:mod:`aalps.optimizer.stability`).

Each alternative's line is fitted from its costs at factors 1 and 2; the second needs the
alternative scored again under the doubled figure when it uses the model. Most of those
scorings cannot matter: a task plan's cost is ``C0 + f·C1`` with ``C0, C1 ≥ 0`` in the
factor ``f`` (prices and sizes multiply token counts; nothing else reads them), so its cost
at 2 lies between its cost at 1 and twice that, and the crossing — a Möbius function of
that cost, monotone away from its pole — lies between its values at those two ends. An
alternative whose crossing cannot come as near to 1 as the nearest one found (with a
relative margin of :data:`_MARGIN`, far above the floats' rounding) is not scored again;
the others are, nearest-bounded first, and the ends are then replayed in the alternatives'
order, so that the same crossing and the same first alternative reaching it are named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aalps.cost_models.domain import Model, TaskPlan
from aalps.optimizer.scaled_figures import scaled_evaluator
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_range import TIE, StabilityRange

__all__ = ["Line", "line_through", "linear_range"]

#: Relative margin of the crossings' bounds, beyond their floats' rounding.
_MARGIN = 1e-6
#: The rounding error of a line's figures, relative to the largest (a few ulps, inflated).
_ROUNDING = 1e-12


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


@dataclass
class _Alternative:
    """One feasible single-task alternative: its plan's cost at 1 and the rest at 2."""

    plan: TaskPlan
    again: bool  # uses the model: scored again under the doubled figure
    cost1: float  # the whole plan's, with this alternative
    rest2: float  # the whole plan's at 2 without the task
    own: float  # the alternative's cost at 1
    success: float  # the whole plan's


def linear_range(context: StabilityContext, model: Model, field: str) -> StabilityRange:
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
    chosen = line_through(total1, total2, success, context.ratio)
    low, high = 0.0, math.inf
    max_cost = context.constraints.max_cost
    if max_cost is not None and chosen.b > 0 and math.isfinite(chosen.b):
        high = max(1.0, (max_cost - chosen.a) / chosen.b)
    if max_cost is not None and chosen.b < 0:
        low = min(1.0, (max_cost - chosen.a) / chosen.b)
    found: list[_Alternative] = []
    for index in range(len(context.tasks)):
        own = context.outcomes[index]
        for alt in context.alternatives(index, model.name, ""):
            outcome = evaluator.task_outcome(alt)
            if not context.feasible_apart_from_cost(index, outcome):
                continue
            if own.success_probability > 0:
                p = success / own.success_probability * outcome.success_probability
            else:
                p = math.prod(
                    (outcome if i == index else o).success_probability
                    for i, o in enumerate(context.outcomes)
                )
            found.append(
                _Alternative(
                    alt,
                    context.involves(alt, model.name, ""),
                    total1 - costs1[index] + outcome.expected_cost,
                    total2 - costs2[index],
                    outcome.expected_cost,
                    p,
                )
            )

    def crossing(item: _Alternative, cost2: float) -> tuple[float, float, Line] | None:
        """(slope, crossing, line) of the alternative with its cost ``cost2`` at 2; None
        where the line is not finite or parallel to the plan's."""
        line = line_through(item.cost1, item.rest2 + cost2, item.success, context.ratio)
        if not (math.isfinite(line.alpha) and math.isfinite(line.beta)):
            return None
        slope = line.beta - chosen.beta
        if abs(slope) <= TIE * max(abs(line.beta), abs(chosen.beta), 1e-300):
            return None
        return slope, (chosen.alpha - line.alpha) / slope, line

    def end(item: _Alternative) -> tuple[str, float] | None:
        """Which end the alternative may set and its factor there (None: neither)."""
        again = doubled if item.again else evaluator
        found = crossing(item, again.task_outcome(item.plan).expected_cost)
        if found is None:
            return None
        slope, cross, line = found
        if max_cost is not None and line.a + line.b * cross > max_cost * (1 + TIE):
            return None
        if slope < 0:
            return "high", max(cross, 1.0)
        if slope > 0 and 0.0 <= min(cross, 1.0):
            return "low", min(cross, 1.0)
        return None

    def bound(item: _Alternative) -> tuple[str, float] | None:
        """The end an alternative that uses the model may set and a bound on its factor
        there (least for ``high``, greatest for ``low``), from its cost at 2 lying in
        ``[own, 2·own]``; None when that is not sure (then it is scored again)."""
        if not (math.isfinite(item.own) and item.own >= 0):
            return None
        start = crossing(item, item.own * (1 - 1e-9))
        finish = crossing(item, 2 * item.own * (1 + 1e-9))
        if start is None or finish is None:
            return None
        (slope0, cross0, line0), (slope1, cross1, line1) = start, finish
        if not (math.isfinite(cross0) and math.isfinite(cross1)):
            return None
        # Far above the rounding of the lines' figures (a few ulps of the largest).
        error = _ROUNDING * max(
            abs(x) for line in (chosen, line0, line1) for x in (line.alpha, line.beta)
        )
        steep = min(abs(slope0), abs(slope1))
        if not steep > 1e3 * error or (slope0 < 0) != (slope1 < 0):
            return None  # the slope may change sign between the ends: a pole
        # The crossing is monotone between the ends; its floats are off by at most this.
        reach = max(abs(cross0), abs(cross1))
        slack = 4 * error * (1 + reach) / steep + _MARGIN * reach
        if slope0 < 0:
            return "high", max(min(cross0, cross1) - slack, 1.0)
        return "low", min(max(cross0, cross1) + slack, 1.0)

    ends: dict[int, tuple[str, float] | None] = {}
    nearest = {"high": high, "low": low}

    def settle(j: int) -> None:
        ends[j] = known = end(found[j])
        if known is not None:
            side, factor = known
            if factor < nearest[side] if side == "high" else factor > nearest[side]:
                nearest[side] = factor

    rising: list[tuple[float, int]] = []  # (least factor it may set as high, which)
    falling: list[tuple[float, int]] = []  # (greatest factor it may set as low, which)
    for j, item in enumerate(found):
        bounds = bound(item) if item.again else None
        if bounds is None:
            settle(j)
        elif bounds[0] == "high":
            rising.append((bounds[1], j))
        else:
            falling.append((bounds[1], j))
    for least, j in sorted(rising):
        if least > nearest["high"]:
            break
        settle(j)
    for greatest, j in sorted(falling, reverse=True):
        if greatest < max(nearest["low"], 0.0):
            break
        settle(j)
    below: tuple[TaskPlan, ...] = ()
    above: tuple[TaskPlan, ...] = ()
    for j in sorted(ends):  # replayed in the alternatives' order
        known = ends[j]
        if known is None:
            continue
        side, factor = known
        if side == "high" and factor < high:
            high, above = factor, (found[j].plan,)
        elif side == "low" and factor > low:
            low, below = factor, (found[j].plan,)
    return StabilityRange(
        model.name, field, low, high, below, above, conditional=context.conditional
    )
