"""Constraints of a plan with one task swapped, without recombining the whole plan.

The after-plan analyses (stability ranges, takeovers) ask, for thousands of one-task
changes of the same plan, whether the changed plan still meets ``min_success_probability``,
``max_cost`` and ``max_latency``. Recombining every task for each (``combine_outcomes``) made
those analyses quadratic in the tasks: 87,000 recombinations of 1,000 tasks on a
success-constrained request. Here the plan's critical path is laid out once — each task's
earliest start and the longest path after it — so a swap's latency is the longer of the
path through the swapped task and the longest path avoiding it — the plan's own when a
critical path avoids the task, else found once per task by recombining with it instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from aalps.cost_models.domain import Constraints
from aalps.cost_models.outcomes import TaskOutcome, combine_outcomes
from aalps.cost_models.shapes import GraphFacts

__all__ = ["PlanLayout", "SwapCheck"]


class PlanLayout:
    """A plan's tasks (in the plan's order) placed in the graph's topological order
    (:class:`~aalps.cost_models.shapes.GraphFacts`): ``position[i]`` is task ``i``'s place
    there, ``pred_index`` its predecessors' places."""

    def __init__(self, facts: GraphFacts, task_ids: Sequence[str]) -> None:
        place = {t: i for i, t in enumerate(facts.order)}
        self.order = facts.order
        self.pred_index = facts.pred_index
        self.position = [place[t] for t in task_ids]

    def check(self, outcomes: Sequence[TaskOutcome], constraints: Constraints) -> SwapCheck:
        """A :class:`SwapCheck` of the plan whose tasks (plan order) do as ``outcomes``."""
        ordered: list[TaskOutcome | None] = [None] * len(self.order)
        for i, outcome in zip(self.position, outcomes, strict=True):
            ordered[i] = outcome
        assert all(o is not None for o in ordered)
        return SwapCheck([o for o in ordered if o is not None], self.pred_index, constraints)


class SwapCheck:
    """Whether a plan with one task's figures replaced meets the constraints.

    ``outcomes``: the plan's task figures in topological order; ``pred_index[i]``: the
    positions of task ``i``'s predecessors. ``max_cost`` and ``min_success_probability``
    are checked on the caller's running totals (the same arithmetic the caller's objective
    uses), ``max_latency`` on the critical path, windows on the swapped task (the others'
    are the plan's).
    """

    def __init__(
        self,
        outcomes: Sequence[TaskOutcome],
        pred_index: Sequence[Sequence[int]],
        constraints: Constraints,
    ) -> None:
        self.outcomes = list(outcomes)
        self.pred_index = pred_index
        self.constraints = constraints
        n = len(self.outcomes)
        start = [0.0] * n
        finish = [0.0] * n
        for i, preds in enumerate(pred_index):
            s = 0.0
            for p in preds:
                if finish[p] > s:
                    s = finish[p]
            start[i] = s
            finish[i] = s + self.outcomes[i].latency
        after = [0.0] * n  # the longest path that starts once task i has finished
        for i in range(n - 1, -1, -1):
            for p in pred_index[i]:
                through = self.outcomes[i].latency + after[i]
                if through > after[p]:
                    after[p] = through
        self._start, self._after = start, after
        self._avoiding: dict[int, float] = {}
        self.latency = max(finish, default=0.0)
        self.windows_fit = all(o.window_violation is None for o in self.outcomes)

    def latency_with(self, position: int, outcome: TaskOutcome) -> float:
        """The critical path with the task at ``position`` done as ``outcome`` (to rounding:
        the sums run in another order than :func:`combine_outcomes`)."""
        through = self._start[position] + outcome.latency + self._after[position]
        return max(through, self._rest_bound(position))

    def _rest_bound(self, position: int) -> float:
        """The longest path avoiding the task at ``position`` (recombined; rarely needed)."""
        own = self.outcomes[position]
        if self._start[position] + own.latency + self._after[position] < self.latency:
            return self.latency  # a critical path avoids the task: it stays
        known = self._avoiding.get(position)
        if known is None:
            # The task made instant: its paths are no longer than any with a new figure, so
            # the longest path left bounds the others exactly.
            swapped = list(self.outcomes)
            swapped[position] = replace(own, latency=0.0)
            known = self._avoiding[position] = combine_outcomes(swapped, self.pred_index).latency
        return known

    def meets(self, position: int, outcome: TaskOutcome, cost: float, success: float) -> bool:
        """Whether the plan with ``outcome`` at ``position`` meets every constraint, given its
        expected ``cost`` and ``success`` probability."""
        c = self.constraints
        if outcome.window_violation is not None:
            return False
        if not self.windows_fit and any(
            o.window_violation is not None for i, o in enumerate(self.outcomes) if i != position
        ):
            return False
        if c.min_success_probability is not None and not success >= c.min_success_probability:
            return False
        if c.max_cost is not None and not cost <= c.max_cost:
            return False
        if c.max_latency is not None:
            return self.latency_with(position, outcome) <= c.max_latency
        return True
