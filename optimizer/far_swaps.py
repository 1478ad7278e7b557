"""A joint plan's far objective with one task's choice swapped, without a pass over the plan.

:meth:`~aalps.optimizer.exact.JointProblem.far_value` sums the tasks' far costs in log space
(``top + log(fsum(exp(v - top)))``, ``top`` the largest) and, for the cost of a correct
result, subtracts ``fsum`` of their far log-successes. The one-task challengers
(:mod:`aalps.optimizer.challengers`) ask it for thousands of one-task changes of one plan.

``math.fsum`` returns the correctly rounded value of the exact sum of its arguments, so the
sum of a plan with one term swapped is ``fsum`` of the exact remainder of the plan's sum,
held as Shewchuk's non-overlapping partials (their exact sum is the sum's), less the old
term, plus the new one: the very float a pass over the plan gives, in a few additions. It
is used when the swap leaves the same largest far cost (both terms strictly below it: the
exponentials are the same numbers) and every figure is finite; otherwise the whole plan is
summed again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from aalps.optimizer.exact import JointProblem, Selection

__all__ = ["FarSwaps", "partials"]


def partials(values: Iterable[float]) -> list[float]:
    """Non-overlapping floats whose exact sum is the exact sum of ``values`` (finite, no
    overflow): Shewchuk's expansion, as ``math.fsum`` keeps it."""
    kept: list[float] = []
    for x in values:
        i = 0
        for y in kept:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                kept[i] = lo
                i += 1
            x = hi
        kept[i:] = [x]
    return kept


class FarSwaps:
    """:meth:`JointProblem.far_value` of ``selection`` with one task's choice swapped."""

    def __init__(self, problem: JointProblem, selection: Selection) -> None:
        assert problem.far_cost is not None and problem.far_logs is not None
        self.problem, self.selection = problem, selection
        self.far = [c[j] for c, j in zip(problem.far_cost, selection, strict=True)]
        self.logs = [g[j] for g, j in zip(problem.far_logs, selection, strict=True)]
        top = max(self.far, default=-math.inf)
        self.top = top
        self.usable = math.isfinite(top) and not any(math.isnan(v) for v in self.far)
        if self.usable:
            self.terms = [math.exp(v - top) for v in self.far]
            self.sum = partials(self.terms)
        self.logs_usable = all(math.isfinite(g) for g in self.logs)
        if self.logs_usable:
            self.logs_sum = partials(self.logs)

    def far_value(self, i: int, j: int) -> float:
        """The far objective with task ``i`` on its choice ``j``."""
        problem = self.problem
        assert problem.far_cost is not None and problem.far_logs is not None
        into = problem.far_cost[i][j]
        top = self.top
        if not (self.usable and self.far[i] < top and into < top):
            return problem.far_value((*self.selection[:i], j, *self.selection[i + 1 :]))
        log_cost = top + math.log(math.fsum([*self.sum, -self.terms[i], math.exp(into - top)]))
        if not problem.ratio:
            return log_cost
        new = problem.far_logs[i][j]
        if not (self.logs_usable and math.isfinite(new)):
            return problem.far_value((*self.selection[:i], j, *self.selection[i + 1 :]))
        return log_cost - math.fsum([*self.logs_sum, -self.logs[i], new])
