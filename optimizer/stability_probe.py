"""A reliability range's probes (:mod:`aalps.optimizer.stability_reliability`): whether the
plan is still optimal at a probed factor among its single-task alternatives, or against one.

A probe scores the plan's tasks that use the varied reliability at the probed factor
(:class:`Probe`), then either one alternative (:func:`against`, a step of the scan's
refinement: it also tells how far the plan is ahead) or all of them (:func:`optimal_at`, a
full probe). An alternative that uses the varied figure is not scored in a full probe when
its *floor* — its cost and success at the scan's far end, where (as the search assumes) it
is cheapest and most successful — cannot beat the best objective met so far in the
alternatives' order. The full probe of a request without coupling constraints does that in
arrays (:class:`Alternatives`): the objectives of the alternatives the figure does not
touch and the floors' bounds are computed at once, and only the alternatives whose bound is
below the plan's objective are walked in order, each compared with the best met before it
(a prefix minimum), so that exactly the alternatives the one-by-one walk scores are scored
and the same plan is named.

Caveat (kept as it was): the floors assume cost monotone in the reliability along the scan;
where that fails (rare ``GLOBAL_RETRY`` cases) an alternative may be skipped that would
beat the plan. The fast walk keeps that order and skipping, so its ranges stay the
one-by-one walk's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import TaskOutcome
from aalps.optimizer.constraints import meets
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_floors import Bounds
from aalps.optimizer.stability_range import TIE
from aalps.optimizer.stability_scan import Verdict
from aalps.optimizer.stability_shared import SharedScorer

__all__ = ["Alternatives", "Probe", "against", "gap", "optimal_at"]

#: (task index, alternative, whether it uses the varied figure), in the walk's order.
Entry = tuple[int, TaskPlan, bool]


class Alternatives:
    """One reliability's single-task alternatives, flat in the walk's order (task by task),
    with the figures of those the varied reliability does not touch (gathered from the
    context's pool)."""

    def __init__(self, context: StabilityContext, model: str, capability: str) -> None:
        pool = context.pool
        ids, self.index = context.figure_alternatives(model, capability)
        self.ids, self._pool = ids, pool
        plans = pool.plans
        self.plans = [plans[g] for g in ids.tolist()]
        self.again = pool.involving((model, capability))[ids]
        self.again_at = np.flatnonzero(self.again)
        plain = np.flatnonzero(~self.again)
        figures = pool.figures(ids[plain])
        # NaN where the figure touches it; a NaN objective where it is never taken.
        cost = np.full(len(ids), math.nan)
        success = np.full(len(ids), math.nan)
        cost[plain] = np.where(figures.window, math.nan, figures.cost)
        success[plain] = np.where(figures.window, 1.0, figures.success)
        self.cost, self.success = cost, success

    @cached_property
    def entries(self) -> list[Entry]:
        """(task index, alternative, whether it uses the varied figure), in order."""
        return list(zip(self.index.tolist(), self.plans, self.again.tolist(), strict=True))

    def entry(self, j: int) -> Entry:
        """The ``j``-th of :attr:`entries` (without making them all for one)."""
        known: list[Entry] | None = self.__dict__.get("entries")
        if known is not None:
            return known[j]
        return int(self.index[j]), self.plans[j], bool(self.again[j])

    def position(self, plan: TaskPlan) -> int | None:
        """The place of ``plan`` among the alternatives (None: not one of them)."""
        g = self._pool.ids.get(plan)
        if g is None:
            return None
        found = np.flatnonzero(self.ids == g)
        return int(found[-1]) if len(found) else None


@dataclass
class Probe:
    """The plan at one probed factor: its tasks' outcomes (those at ``moved`` scored under
    the scaled figure, the others kept), their costs and successes, the plan's total cost
    (``fsum``) and success (their product, in task order)."""

    outcomes: list[TaskOutcome]
    costs: list[float]
    successes: list[float]
    total: float
    success: float

    @classmethod
    def of(cls, context: StabilityContext, scaled: SharedScorer, moved: Sequence[int]) -> Probe:
        outcomes = list(context.outcomes)
        costs = list(context.costs)
        successes = list(context.successes)
        for index in moved:
            outcome = outcomes[index] = scaled.task_outcome(context.tasks[index])
            costs[index] = outcome.expected_cost
            successes[index] = outcome.success_probability
        return cls(outcomes, costs, successes, math.fsum(costs), math.prod(successes))


def optimal_at(
    context: StabilityContext,
    scaled: SharedScorer,
    table: Alternatives,
    bounds: Bounds,
    probe: Probe,
    scored: list[tuple[int, TaskOutcome]],
) -> tuple[bool, tuple[TaskPlan, ...]]:
    """Whether the plan is optimal under ``scaled`` among the single-task alternatives
    (with its tasks' outcomes at the ``probe``), and the task plans of the best when not;
    the alternatives using the figure scored added to ``scored``."""
    if not context.constrained:
        found = _array_walk(context, scaled, probe, table, bounds, scored)
        if found is not None:
            return found
    table.entries  # noqa: B018 - made once for the walk over all of them
    return _verdict(*_walk(context, scaled, probe, table, range(len(table.plans)), bounds, scored))


def against(
    context: StabilityContext,
    scaled: SharedScorer,
    table: Alternatives,
    probe: Probe,
    only: TaskPlan,
    scored: list[tuple[int, TaskOutcome]],
) -> Verdict:
    """Whether the plan is at least as good under ``scaled`` as the alternative ``only``
    (scored, no floor skipping it), the task plans that take over when not, and the gap
    :func:`gap` between them (the scan places its next probe by it)."""
    j = table.position(only)
    own, best, plan = _walk(
        context, scaled, probe, table, [j] if j is not None else [], None, scored
    )
    ok, plans = _verdict(own, best, plan)
    return Verdict(ok, plans, gap(own, best))


def gap(own: float | None, best: float) -> float:
    """How far an alternative's objective ``best`` is above the plan's ``own`` beyond the
    tie, relative to ``own``: at least 0 where the plan stays optimal against it. NaN where
    either is not a finite positive objective (the plan breaks a constraint, or the
    alternative is never taken)."""
    if own is None or not 0.0 < own < math.inf or not math.isfinite(best):
        return math.nan
    return best / own - (1 - TIE)


def _walk(
    context: StabilityContext,
    scaled: SharedScorer,
    probe: Probe,
    table: Alternatives,
    positions: Iterable[int],
    bounds: Bounds | None,
    scored: list[tuple[int, TaskOutcome]],
) -> tuple[float | None, float, TaskPlan | None]:
    """The one-by-one walk over the entries of ``table`` at ``positions``: the plan's
    objective with ``outcomes`` against each alternative's (skipping those whose floors —
    cost no lower, success no higher — cannot beat the best objective met so far, unless
    ``bounds`` is None): the plan's objective (None: it breaks a constraint), the best
    alternative's and that alternative."""
    base = context.pool.scorer
    constraints = context.constraints
    outcomes, total, success = probe.outcomes, probe.total, probe.success

    check = context.layout.check(outcomes, constraints) if context.constrained else None

    def objective(cost: float, p: float, swap: tuple[int, TaskOutcome] | None) -> float | None:
        """The objective of the plan (``swap`` None) or of it with one task swapped; None
        when that breaks a constraint."""
        if check is not None:
            if swap is None:
                plan = scaled.evaluator.combine(
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

    def floor_bound(j: int, mine: TaskOutcome, rest: float) -> float:
        """The bound on the objective of the alternative at ``j`` from its floor."""
        assert bounds is not None
        cost, p = float(bounds.cost[j]), float(bounds.success[j])
        bound = total - mine.expected_cost + cost
        if context.ratio:
            bound = bound / (rest * p) if rest * p > 0 else math.inf
        return bound

    for j in positions:
        index, alt, again = table.entry(j)
        mine = outcomes[index]
        if again and bounds is not None:
            rest = success / mine.success_probability if mine.success_probability > 0 else 0.0
            least = min(best, own if own is not None else math.inf)
            if floor_bound(j, mine, rest) >= least and rest > 0:
                continue
            if bounds.provisional is not None and bounds.provisional[j] and rest > 0:
                bounds.settle(j)  # the bound was below the floor's: decide on the floor
                if floor_bound(j, mine, rest) >= least:
                    continue
        outcome = (scaled if again else base).task_outcome(alt)
        if again:
            scored.append((j, outcome))
        if outcome.window_violation is not None:
            continue
        cost = total - mine.expected_cost + outcome.expected_cost
        if mine.success_probability > 0:
            p = success / mine.success_probability * outcome.success_probability
        else:
            p = math.prod(
                (outcome if i == index else o).success_probability for i, o in enumerate(outcomes)
            )
        value = objective(cost, p, (index, outcome))
        if value is not None and value < best:
            best, best_plan = value, alt
    return own, best, best_plan


def _verdict(
    own: float | None, best: float, best_plan: TaskPlan | None
) -> tuple[bool, tuple[TaskPlan, ...]]:
    if own is None:
        return False, (best_plan,) if best_plan is not None else ()
    if best_plan is not None and best < own * (1 - TIE):
        return False, (best_plan,)
    return True, ()


def _array_walk(
    context: StabilityContext,
    scaled: SharedScorer,
    probe: Probe,
    table: Alternatives,
    bounds: Bounds,
    scored_again: list[tuple[int, TaskOutcome]],
) -> tuple[bool, tuple[TaskPlan, ...]] | None:
    """:func:`_walk` over every alternative of a request without coupling constraints, in
    arrays: the same float operations, the same alternatives scored, the same plan named.
    None when a task of the plan cannot succeed (then the walk multiplies every success)."""
    total, success = probe.total, probe.success
    ratio = context.ratio
    own = (total / success if success > 0 else math.inf) if ratio else total
    index = table.index
    mine_cost = np.array(probe.costs, dtype=float)[index]
    mine_success = np.array(probe.successes, dtype=float)[index]
    if not bool(np.all(mine_success > 0)):
        return None
    with np.errstate(all="ignore"):
        rest = success / mine_success
        rest_ok = rest > 0
        # The alternatives the figure does not touch: their objectives, NaN where never taken.
        left = total - mine_cost
        cost = left + table.cost
        p = rest * table.success
        value = np.where(p > 0, cost / p, math.inf) if ratio else cost
        value = np.where(np.isnan(value) | table.again, math.inf, value)
        # The floors' bounds of those it does.
        bound = left + bounds.cost
        if ratio:
            q = rest * bounds.success
            bound = np.where(q > 0, bound / q, math.inf)
    before = np.minimum.accumulate(value)  # the best objective met up to each place
    # Skipped whatever came before: bound at least the best met before it or the plan's
    # own objective (the best met among these only lowers that).
    again_at = table.again_at
    with np.errstate(invalid="ignore"):
        skip = (bound[again_at] >= np.minimum(before[again_at], own)) & rest_ok[again_at]
    walk = again_at[~skip]
    best_again, scored = math.inf, []
    plans, task_outcome = table.plans, scaled.task_outcome
    provisional = bounds.provisional
    for j, b, first, ok, spare, share in zip(
        walk.tolist(),
        bound[walk].tolist(),
        before[walk].tolist(),
        rest_ok[walk].tolist(),
        left[walk].tolist(),
        rest[walk].tolist(),
        strict=True,
    ):
        if b >= min(first, best_again, own) and ok:
            continue
        if provisional is not None and provisional[j] and ok:
            bounds.settle(j)  # the bound was below the floor's: decide on the floor
            b = spare + float(bounds.cost[j])
            if ratio:
                q = share * float(bounds.success[j])
                b = b / q if q > 0 else math.inf
            if b >= min(first, best_again, own):
                continue
        outcome = task_outcome(plans[j])
        scored_again.append((j, outcome))
        if outcome.window_violation is not None:
            continue
        c = spare + outcome.expected_cost
        q = share * outcome.success_probability
        v = (c / q if q > 0 else math.inf) if ratio else c
        if v < best_again:
            best_again = v
            scored.append((j, v))
    best = min(float(before[-1]) if len(before) else math.inf, best_again)
    if not best < math.inf:
        return _verdict(own, math.inf, None)
    # The walk names the first alternative to reach the best objective.
    firsts = [j for j, v in scored if v == best]
    hits = np.flatnonzero(value == best)
    if len(hits):
        firsts.append(int(hits[0]))
    return _verdict(own, best, table.plans[min(firsts)])
