"""A reliability's stability range: scanned on a grid of factors, its ends refined by
bisection (:mod:`aalps.optimizer.stability_scan`), each probe asking whether the plan is
still optimal among its single-task alternatives (:mod:`aalps.optimizer.stability`).

A probe scores the plan's tasks that use the varied reliability at the probed factor, then
either one alternative (a bisection step) or all of them (a full probe). An alternative that
uses the varied figure is not scored when its *floor* — its cost and success at the scan's
far end, where (as the search assumes) it is cheapest and most successful — cannot beat the
best objective met so far in the alternatives' order. The full probe of a request without
coupling constraints does that in arrays (:class:`_Alternatives`): the objectives of the
alternatives the figure does not touch and the floors' bounds are computed at once, and only
the alternatives whose bound is below the plan's objective are walked in order, each
compared with the best met before it (a prefix minimum), so that exactly the alternatives
the one-by-one walk scores are scored and the same plan is named.

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
from aalps.cost_models.domain import Model, Operator, TaskPlan
from aalps.cost_models.evaluation import TaskOutcome
from aalps.optimizer.constraints import meets
from aalps.optimizer.scaled_figures import RELIABILITY
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_floors import Bounds, UpFloors, success_caps
from aalps.optimizer.stability_range import TIE, StabilityRange
from aalps.optimizer.stability_scan import scan
from aalps.optimizer.stability_shared import SharedScorer

__all__ = ["RELIABILITY_FLOOR", "reliability_range"]

#: Reliability factors are scanned down to this one; below it the range is not claimed.
RELIABILITY_FLOOR = 1e-3
#: Reliability factors tried below 1 before bisecting (nearest first).
_DOWN = (0.99, 0.9, 0.5, 0.1, RELIABILITY_FLOOR)
#: Fractions of the way to the clip (reliability 1) tried above 1.
_UP = (1.0,)

#: (task index, alternative, whether it uses the varied figure), in the walk's order.
Entry = tuple[int, TaskPlan, bool]


class _Alternatives:
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


def reliability_range(context: StabilityContext, model: Model, capability: str) -> StabilityRange:
    """A reliability's range: scanned on a grid of factors, its ends refined by bisection."""
    reliability = float(model.capabilities[capability])
    table = _Alternatives(context, model.name, capability)
    alts = [table.plans[j] for j in table.again_at.tolist()]
    moved = [
        i for i, tp in enumerate(context.tasks) if context.involves(tp, model.name, capability)
    ]
    up = 1.0 / reliability if reliability > 0 else math.inf
    floors: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    up_floors: list[UpFloors] = []  # the up scan's, scored on first need
    # Per factor one scaled evaluator (the scan checks a factor again against every
    # alternative, and the far end's floors are taken at the first factor up): the task
    # plans scored there are scored once.
    evaluators: dict[float, SharedScorer] = {}
    probes: dict[float, _Probe] = {}
    bounds_of: dict[tuple[bool, bool], Bounds] = {}
    # A full probe's answer per factor: the scan checks some factors against every
    # alternative twice (the bisection's end after its grid factor), and the answer is the same.
    answers: dict[float, tuple[bool, tuple[TaskPlan, ...]]] = {}

    def scaled_at(factor: float) -> SharedScorer:
        scaled = evaluators.get(factor)
        if scaled is None:
            scaled = evaluators[factor] = context.scorer(
                context.scaled(model.name, RELIABILITY, factor, capability)
            )
        return scaled

    def takeover(factor: float, only: TaskPlan | None = None) -> tuple[bool, tuple[TaskPlan, ...]]:
        """(still optimal, the task plans of the best alternative when not); ``only``:
        against that alternative alone."""
        if only is None:
            known = answers.get(factor)
            if known is not None:
                return known
        scaled = scaled_at(factor)
        down = factor < 1.0
        if down not in floors:  # each direction's floors, once: at its far end
            if down:  # the request's own figures, the pool's
                found = context.pool.figures(table.ids[table.again_at])
                floors[down] = found.cost, found.success
            else:  # scored there on first need (:mod:`.stability_floors`)
                caps = success_caps(context.evaluator, alts)
                up_floors.append(UpFloors(alts, caps, scaled_at(up).task_outcome))
                floors[down] = up_floors[0].cost, up_floors[0].success
        # AHEAD_BY_K is monotone in the reliability above 1/2 only (as the enumeration's).
        monotone = reliability * factor > 0.5
        bounds = bounds_of.get((down, monotone))
        if bounds is None:
            cost, success = floors[down]
            fixed = None
            ahead = (
                np.array([alt.operator is Operator.AHEAD_BY_K for alt in alts], dtype=bool)
                if not monotone
                else None
            )
            if ahead is not None and ahead.any():
                cost, success = np.where(ahead, 0.0, cost), np.where(ahead, 1.0, success)
                fixed = ahead
            bounds = bounds_of[down, monotone] = Bounds(
                len(table.plans),
                table.again_at,
                cost,
                success,
                None if down else up_floors[0],
                fixed,
            )
        probe = probes.get(factor)
        if probe is None:
            probe = probes[factor] = _Probe.of(context, scaled, moved)
        answer = _optimal_at(context, scaled, table, bounds, probe, only)
        if only is None:
            answers[factor] = answer
        return answer

    high, above = scan(takeover, [1.0 + (up - 1.0) * t for t in _UP] if up > 1.0 else [])
    low, below = scan(takeover, list(_DOWN))
    return StabilityRange(
        model.name,
        RELIABILITY,
        low,
        high if above or high < up * (1 - TIE) else math.inf,
        below,
        above,
        capability=capability,
        conditional=context.conditional,
    )


@dataclass
class _Probe:
    """The plan at one probed factor: its tasks' outcomes (those at ``moved`` scored under
    the scaled figure, the others kept), their costs and successes, the plan's total cost
    (``fsum``) and success (their product, in task order)."""

    outcomes: list[TaskOutcome]
    costs: list[float]
    successes: list[float]
    total: float
    success: float

    @classmethod
    def of(cls, context: StabilityContext, scaled: SharedScorer, moved: Sequence[int]) -> _Probe:
        outcomes = list(context.outcomes)
        costs = list(context.costs)
        successes = list(context.successes)
        for index in moved:
            outcome = outcomes[index] = scaled.task_outcome(context.tasks[index])
            costs[index] = outcome.expected_cost
            successes[index] = outcome.success_probability
        return cls(outcomes, costs, successes, math.fsum(costs), math.prod(successes))


def _optimal_at(
    context: StabilityContext,
    scaled: SharedScorer,
    table: _Alternatives,
    bounds: Bounds,
    probe: _Probe,
    only: TaskPlan | None = None,
) -> tuple[bool, tuple[TaskPlan, ...]]:
    """Whether the plan is optimal under ``scaled`` among the single-task alternatives
    (with its tasks' outcomes at the ``probe``), or at least as good as the alternative
    ``only``."""
    if only is not None:
        j = table.position(only)
        return _walk(context, scaled, probe, table, [j] if j is not None else [], bounds)
    if not context.constrained:
        found = _array_walk(context, scaled, probe, table, bounds)
        if found is not None:
            return found
    table.entries  # noqa: B018 - made once for the walk over all of them
    return _walk(context, scaled, probe, table, range(len(table.plans)), bounds)


def _walk(
    context: StabilityContext,
    scaled: SharedScorer,
    probe: _Probe,
    table: _Alternatives,
    positions: Iterable[int],
    bounds: Bounds,
) -> tuple[bool, tuple[TaskPlan, ...]]:
    """The one-by-one walk over the entries of ``table`` at ``positions``: the plan's
    objective with ``outcomes`` against each alternative's (skipping those whose floors —
    cost no lower, success no higher — cannot beat the best objective met so far)."""
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
    floor_costs, floor_successes = bounds.cost, bounds.success
    provisional = bounds.provisional

    def floor_bound(j: int, mine: TaskOutcome, rest: float) -> float:
        """The bound on the objective of the alternative at ``j`` from its floor."""
        cost, p = float(floor_costs[j]), float(floor_successes[j])
        bound = total - mine.expected_cost + cost
        if context.ratio:
            bound = bound / (rest * p) if rest * p > 0 else math.inf
        return bound

    for j in positions:
        index, alt, again = table.entry(j)
        mine = outcomes[index]
        if again:
            rest = success / mine.success_probability if mine.success_probability > 0 else 0.0
            least = min(best, own if own is not None else math.inf)
            if floor_bound(j, mine, rest) >= least and rest > 0:
                continue
            if provisional is not None and provisional[j] and rest > 0:
                bounds.settle(j)  # the bound was below the floor's: decide on the floor
                if floor_bound(j, mine, rest) >= least:
                    continue
        outcome = (scaled if again else base).task_outcome(alt)
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
    return _verdict(own, best, best_plan)


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
    probe: _Probe,
    table: _Alternatives,
    bounds: Bounds,
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
