"""Where a one-task challenger's gap crosses zero, estimated between the points scored whole.

A one-task challenger's gap at ``s`` along the ray (:mod:`aalps.optimizer.crossover`) is
``log(C − old + new) − log C`` (less the change of log-success, for the cost of a correct
result): ``C`` the challenged plan's cost, the expensive part (every task plan scored at a
new point), ``old`` and ``new`` the swapped task plan's, cheap (one evaluator and two task
plans). :class:`SwapCurve` estimates the crossing from ``C`` interpolated (``log C`` as a
polynomial in ``log s`` through the points where the plan was scored whole, the nearest
four to the bracket) and the swapped task plans' exact figures, solved to far below the
search's precision: the sharp turns of a gap come from the swapped task plan (an operator
whose cost changes regime), which it follows exactly, while ``C``, a sum over the whole
plan, is smooth. Each estimate is only where the search scores the whole plan next
(:func:`~aalps.optimizer.ray_roots.crossing_root`), so it moves no result but the point
the search stops at, within its precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.numeric_errors import NUMERIC_FAILURES
from aalps.optimizer.ray_figures import PlanFigures, TaskFigures

__all__ = ["SwapCurve"]

#: Points of the scan that checks the bracket holds one crossing, and no more.
_SCAN = 32
#: Nodes of the interpolation of ``log C``.
_NODES = 4
#: Steps of the cheap solve, and its precision on ``log s``.
_STEPS = 60
_SOLVE_PRECISION = 1e-11


class SwapCurve:
    """Estimates of the crossing of ``into`` in place of ``out`` (the module docstring).

    ``scored``: the challenged plan's figures by scale, as the search scores it (read live);
    the nodes are the points of ``grid`` and those :meth:`scored_at` names (the points this
    crossing's search scores), not other crossings' points: challengers of twin tasks then
    take the same steps and meet at the same float, as they did by regula falsi.
    """

    def __init__(
        self,
        base: PlanEvaluator,
        scored: Mapping[float, PlanFigures],
        out: TaskPlan,
        into: TaskPlan,
        ratio: bool,
        grid: Iterable[float],
        figure: Callable[[PlanEvaluator, TaskPlan], TaskFigures] | None = None,
    ) -> None:
        self.base, self.scored, self.out, self.into, self.ratio = base, scored, out, into, ratio
        self._allowed = set(grid)
        #: A task plan's figures at a point of the ray other than the scale point (the
        #: crossover search's lean ones, the same floats), else the evaluator's outcome.
        self._figure = figure

    def scored_at(self, scale: float) -> None:
        """Make the plan's figures at ``scale`` (once scored) a node."""
        self._allowed.add(scale)

    def single_crossing(self, x_lo: float, x_hi: float) -> bool:
        """Whether the estimated gap changes sign once only across ``[x_lo, x_hi]`` (a scan
        of :data:`_SCAN` steps): where it turns more than once, which crossing a search
        meets depends on its steps, and the caller keeps to :func:`.bracket_root`'s (regula
        falsi's first)."""
        try:
            nodes = self._nodes((x_lo + x_hi) / 2)
            if nodes is None:
                return False
            signs = []
            for i in range(_SCAN + 1):
                h = self._gap(nodes, x_lo + (x_hi - x_lo) * i / _SCAN)
                if math.isnan(h):
                    return False
                signs.append(h < 0)
        except NUMERIC_FAILURES:
            return False
        return sum(a != b for a, b in zip(signs, signs[1:], strict=False)) == 1

    def estimate(self, x_lo: float, x_hi: float) -> float | None:
        """The estimated crossing in ``(x_lo, x_hi)`` (on ``log s``), or None when the
        estimate does not bracket it there or a figure fails (far outside the ray's usual
        numbers: the search then interpolates the gaps)."""
        try:
            return self._estimate(x_lo, x_hi)
        except NUMERIC_FAILURES:
            return None

    def _estimate(self, x_lo: float, x_hi: float) -> float | None:
        nodes = self._nodes((x_lo + x_hi) / 2)
        if nodes is None:
            return None
        lo, hi = x_lo, x_hi
        h_lo, h_hi = self._gap(nodes, lo), self._gap(nodes, hi)
        if not (h_lo >= 0 > h_hi):
            return None
        side = 0
        for _ in range(_STEPS):  # Illinois on the cheap gap
            if hi - lo <= _SOLVE_PRECISION:
                break
            x = hi - h_hi * (hi - lo) / (h_hi - h_lo)
            if not lo < x < hi:
                x = (lo + hi) / 2
            h = self._gap(nodes, x)
            if math.isnan(h):
                return None
            if h < 0:
                hi, h_hi = x, h
                if side == -1:
                    h_lo /= 2
                side = -1
            else:
                lo, h_lo = x, h
                if side == 1:
                    h_hi /= 2
                side = 1
        return (lo + hi) / 2

    def _nodes(self, centre: float) -> list[tuple[float, float]] | None:
        """The nearest scored points to ``centre``: ``(log s, log C)``."""
        points = []
        for scale, outcome in list(self.scored.items()):
            if scale not in self._allowed:
                continue
            cost = outcome.expected_cost
            if 0.0 < cost < math.inf:
                points.append((math.log(scale), math.log(cost)))
        if len(points) < 2:
            return None
        points.sort(key=lambda p: abs(p[0] - centre))
        return points[:_NODES]

    def _gap(self, nodes: list[tuple[float, float]], x: float) -> float:
        """The gap at ``log s = x`` with the plan's cost interpolated (NaN when a figure
        is not finite)."""
        log_total = _interpolate(nodes, x)
        if not log_total < 700.0:
            return math.nan  # the interpolated cost would overflow a float (or is NaN)
        total = math.exp(log_total)
        scale = math.exp(x)
        old: TaskFigures
        new: TaskFigures
        if scale == 1.0 or self._figure is None:
            evaluator = self.base if scale == 1.0 else self.base.at(scale)
            old, new = evaluator.task_outcome(self.out), evaluator.task_outcome(self.into)
        else:
            evaluator = self.base.at(scale)
            old, new = self._figure(evaluator, self.out), self._figure(evaluator, self.into)
        cost = total - old.expected_cost + new.expected_cost
        if not (0.0 < cost < math.inf and 0.0 < total < math.inf):
            return math.nan
        gap = math.log(cost) - math.log(total)
        if self.ratio:
            gap -= new.log_success - old.log_success
        return gap if math.isfinite(gap) else math.nan


def _interpolate(nodes: list[tuple[float, float]], x: float) -> float:
    """The interpolating polynomial through ``nodes`` at ``x`` (Neville's scheme)."""
    xs = [p[0] for p in nodes]
    values = [p[1] for p in nodes]
    n = len(nodes)
    for level in range(1, n):
        for i in range(n - level):
            values[i] = ((x - xs[i + level]) * values[i] + (xs[i] - x) * values[i + 1]) / (
                xs[i] - xs[i + level]
            )
    return values[0]
