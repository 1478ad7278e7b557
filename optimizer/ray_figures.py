"""A plan's figures at a point of the scale ray, as the crossover search reads them.

The crossover search (:mod:`aalps.optimizer.crossover`) compares plans along the ray by
their expected cost, its log and their log-success, nothing else: not the critical path, the
variance or the setups that :func:`~aalps.cost_models.outcomes.combine_outcomes` also works
out in its pass over the tasks. :func:`ray_figures` sums the two it needs over the same
figures in the same order, one addition at a time from ``0.0`` as that pass does, so the
floats are the very ones a :class:`~aalps.cost_models.outcomes.PlanOutcome` would hold;
where that pass takes the log of the cost from the tasks' logs (a cost of zero, or one that
overflowed: far along the ray), so does :func:`ray_figures`, by the same function, and
where the outcome takes the log-success from the product of the successes (the sum is NaN)
the whole pass decides.

:meth:`RayFigures.swapped` gives the figures of a plan that does as this one but in a few
task plans (a challenger) from this one's list, without looking up every task's figures
again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from aalps.cost_models.outcomes import PlanOutcome, TaskOutcome, _log_sum, combine_outcomes

__all__ = ["PlanFigures", "RayFigures", "TaskFigures", "ray_figures"]


class TaskFigures(Protocol):
    """What the sums read of a task plan's figures: a
    :class:`~aalps.cost_models.outcomes.TaskOutcome`, or the crossover search's lean
    :class:`~aalps.optimizer.ray_scoring.RayTask` (whose log-success is never nan: where
    the sum is nan, every figure is a whole outcome)."""

    @property
    def expected_cost(self) -> float: ...
    @property
    def log_cost(self) -> float: ...
    @property
    def log_success(self) -> float: ...


@dataclass(frozen=True)
class RayFigures:
    """The expected cost, its log and the log-success of a plan at one ray point, with its
    task plans' figures in the evaluator's order (``ordered``) they were summed from."""

    expected_cost: float
    log_cost: float
    log_success: float
    ordered: Sequence[TaskFigures] = field(repr=False, compare=False)
    pred_index: Sequence[Sequence[int]] = field(repr=False, compare=False)

    @property
    def log_cost_of_pass(self) -> float:
        """log E[cost] − log P(success), as :attr:`PlanOutcome.log_cost_of_pass` (inf when
        the success is 0)."""
        if self.log_success == -math.inf:
            return math.inf
        return self.log_cost - self.log_success

    def swapped(self, changes: Sequence[tuple[int, TaskFigures]]) -> RayFigures:
        """The figures with the task at each position of ``changes`` doing as its figure."""
        ordered = list(self.ordered)
        for position, outcome in changes:
            ordered[position] = outcome
        return ray_figures(ordered, self.pred_index)


#: What the crossover search holds of a plan at a ray point: the lean figures, or the whole
#: outcome at the scale point (where the search's evaluator scores plans whole).
PlanFigures = RayFigures | PlanOutcome


def ray_figures(ordered: Sequence[TaskFigures], pred_index: Sequence[Sequence[int]]) -> RayFigures:
    """The figures of the plan whose tasks (in topological order, ``pred_index`` as
    :func:`~aalps.cost_models.outcomes.combine_outcomes` takes it) do as ``ordered``: the
    same floats as that function's :class:`PlanOutcome`."""
    cost = log_success = 0.0
    for o in ordered:
        cost += o.expected_cost
        log_success += o.log_success
    if math.isnan(log_success):  # the outcome takes it from the product of the successes
        whole = combine_outcomes(cast(Sequence[TaskOutcome], ordered), pred_index)
        return RayFigures(
            whole.expected_cost, whole.log_cost, whole.log_success, ordered, pred_index
        )
    # A cost of zero, or one that overflowed: the log from the tasks' logs, as that pass.
    log_cost = math.log(cost) if 0.0 < cost < math.inf else _log_sum(o.log_cost for o in ordered)
    return RayFigures(cost, log_cost, log_success, ordered, pred_index)
