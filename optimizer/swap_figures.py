"""A plan's joint figures with one task's choice swapped, without gathering every list again.

:meth:`~aalps.optimizer.exact.JointProblem.figures` gathers the selection's costs,
successes, log-successes and latencies into lists (four passes over the tasks in Python)
and reduces them. The crossover challengers (:mod:`aalps.optimizer.challengers`) ask it
for hundreds of one-task swaps of the same selection, so :class:`SwapFigures` gathers the
lists once, puts the one changed entry in place and reduces the very same lists by the
very same calls (``sum``, ``math.prod``): the same floats, in a C loop each. The critical
path (a loop in Python) is followed only when the problem caps the latency, the one check
that reads it; otherwise the figures' latency is NaN and nothing reads it.
"""

from __future__ import annotations

import math

from aalps.optimizer.exact import JointFigures, JointProblem, Selection

__all__ = ["SwapFigures"]


class SwapFigures:
    """:meth:`JointProblem.figures` of ``selection`` with one task's choice swapped."""

    def __init__(self, problem: JointProblem, selection: Selection) -> None:
        self.problem, self.selection = problem, selection
        self._cost = [c[j] for c, j in zip(problem.cost, selection, strict=True)]
        self._success = [s[j] for s, j in zip(problem.success, selection, strict=True)]
        self._logs = [g[j] for g, j in zip(problem.logs, selection, strict=True)]

    def figures(self, i: int, j: int) -> JointFigures:
        """The figures with task ``i`` on its choice ``j``: equal to ``problem.figures`` of
        that selection (the latency NaN when no latency cap would read it)."""
        problem = self.problem
        if problem.max_latency is not None:
            return problem.figures((*self.selection[:i], j, *self.selection[i + 1 :]))
        lists = (self._cost, self._success, self._logs)
        kept = [values[i] for values in lists]
        self._cost[i], self._success[i], self._logs[i] = (
            problem.cost[i][j],
            problem.success[i][j],
            problem.logs[i][j],
        )
        try:
            cost = sum(self._cost)
            success = math.prod(self._success)
            log_success = sum(self._logs)
        finally:
            for values, old in zip(lists, kept, strict=True):
                values[i] = old
        return JointFigures(cost, success, math.nan, log_success)
