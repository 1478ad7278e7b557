"""The floors of a reliability scan's alternatives (:mod:`aalps.optimizer.stability_reliability`).

A full probe of a reliability range skips an alternative that uses the varied figure when its
*floor* — its cost and success at the scan's far end, where it is cheapest and most
successful — cannot beat the best objective met so far. Down the scan the far end is the
request's own figures (the pool's); up it is the reliability clipped to 1, where every such
alternative would be scored again only to bound it, and most of them never beat the plan.

So the up floors are scored on first need (:class:`UpFloors`): until then an alternative's
floor is bounded by figures no scoring is needed for — a cost of at least 0, and a success
of at most what its unverified attempts' acceptance allows (:func:`success_caps`) — whose
bound on the objective is no higher than the floor's. A walk skips the alternative on that
bound when it may (the floor's would skip it too), and scores the floor otherwise, then
decides on the floor as before: the same alternatives skipped and scored, the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator, TaskOutcome
from aalps.cost_models.task_scoring import fixed_of

__all__ = ["Bounds", "UpFloors", "success_caps"]

#: A success's margin above its cap: a schedule's success is a probability (at most 1) up
#: to its floats' rounding, far below this.
_MARGIN = 1e-6
#: Caps below this are not used (the mpmath figures of an overflowed scoring may succeed
#: where the floats' acceptance power underflows).
_TINY = 1e-280


def success_caps(evaluator: PlanEvaluator, plans: Sequence[TaskPlan]) -> np.ndarray:
    """Per task plan, a success probability it cannot exceed under any of the request's
    catalogs: where its attempts are unverified, its schedule's success times the task's
    acceptance per block (the factor :func:`~aalps.cost_models.task_scoring.numeric_outcome`
    multiplies it by, a catalog's models change neither), with a margin; else 1."""
    caps: dict[tuple[str, object], float] = {}
    found = []
    for plan in plans:
        key = (plan.task_id, plan.operator)
        cap = caps.get(key)
        if cap is None:
            cap = caps[key] = _cap(evaluator, plan)
        found.append(cap)
    return np.array(found, dtype=float)


def _cap(evaluator: PlanEvaluator, plan: TaskPlan) -> float:
    """:func:`success_caps` of one task plan."""
    unverified = fixed_of(evaluator, plan)[2]
    if not unverified:
        return 1.0
    shape = evaluator._compiled[plan.task_id].numeric
    units = shape.block_count if shape.block_count != 0 else 1
    acceptance = shape.acceptance**units
    if type(acceptance) is not float or not _TINY <= acceptance <= 1.0:
        return 1.0
    return min(1.0, acceptance * (1 + _MARGIN))


class UpFloors:
    """The floors of ``plans`` at the up scan's far end: each scored by ``score`` on first
    need (:meth:`settle`); until then ``cost`` 0 and ``success`` its cap, no lower than the
    floor's figures bound."""

    def __init__(
        self, plans: Sequence[TaskPlan], caps: np.ndarray, score: Callable[[TaskPlan], TaskOutcome]
    ) -> None:
        self._plans, self._score = plans, score
        self.cost = np.zeros(len(plans))
        self.success = caps.astype(float, copy=True)
        self.exact = np.zeros(len(plans), dtype=bool)

    def settle(self, k: int) -> tuple[float, float]:
        """The floor of the ``k``-th plan: (its cost, its success) at the far end."""
        if not self.exact[k]:
            outcome = self._score(self._plans[k])
            self.cost[k] = outcome.expected_cost
            self.success[k] = outcome.success_probability
            self.exact[k] = True
        return float(self.cost[k]), float(self.success[k])


class Bounds:
    """The floors of the alternatives that use the varied figure, by their place among a
    range's alternatives (``count`` of them, those at ``again_at`` using it; NaN at the
    others'), read by both walks. Where ``fixed`` they are the figures given (``cost``,
    ``success``); elsewhere, with ``floors``, those of the floors, only bounds of them while
    :attr:`provisional` (then :meth:`settle` scores the floor)."""

    def __init__(
        self,
        count: int,
        again_at: np.ndarray,
        cost: np.ndarray,
        success: np.ndarray,
        floors: UpFloors | None = None,
        fixed: np.ndarray | None = None,
    ) -> None:
        self.cost = np.full(count, math.nan)
        self.success = np.full(count, math.nan)
        self.cost[again_at] = cost
        self.success[again_at] = success
        self.provisional: np.ndarray | None = None
        self._floors = floors
        self._base: Bounds | None = None
        self._fixed = np.zeros(count, dtype=bool)
        if fixed is not None:
            self._fixed[again_at[fixed]] = True
        if floors is not None:
            pending = ~floors.exact if fixed is None else ~floors.exact & ~fixed
            if pending.any():
                self.provisional = np.zeros(count, dtype=bool)
                self.provisional[again_at] = pending
                self._slot = np.full(count, -1, dtype=np.intp)
                self._slot[again_at] = np.arange(len(again_at), dtype=np.intp)

    def settle(self, j: int) -> None:
        """The floor of the alternative at place ``j`` scored, in place of its bound."""
        assert self.provisional is not None
        if self._base is not None:  # a tightened copy: its base keeps what is settled
            self._base.settle(j)
            self.cost[j], self.success[j] = self._base.cost[j], self._base.success[j]
        else:
            assert self._floors is not None
            self.cost[j], self.success[j] = self._floors.settle(int(self._slot[j]))
        self.provisional[j] = False

    def tightened(self, places: np.ndarray, cost: np.ndarray, success: np.ndarray) -> Bounds:
        """These bounds with the figures ``cost`` and ``success`` of the alternatives at
        ``places`` (scored nearer the probed factor than the floors: tighter bounds, on
        the floors' assumption) in place of their floors, except where :attr:`fixed`."""
        copy = Bounds.__new__(Bounds)
        copy._floors, copy._base, copy._fixed = self._floors, self, self._fixed
        copy.cost, copy.success = self.cost.copy(), self.success.copy()
        keep = ~self._fixed[places]
        places = places[keep]
        copy.cost[places], copy.success[places] = cost[keep], success[keep]
        copy.provisional = None
        if self.provisional is not None:
            copy.provisional = self.provisional.copy()
            copy.provisional[places] = False
            if not copy.provisional.any():
                copy.provisional = None
        return copy
