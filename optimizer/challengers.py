"""The one-task challengers of a plan, scored by the delta of the one task that changes.

A crossover's challengers (:mod:`aalps.optimizer.crossover`) are, per task and operator, the
one-task change that does best far along the scale ray while beating the plan there and
being dearer (and feasible) at the scale point. Scoring each change by recombining the
whole plan costs one pass over every task per change (2,093 recombinations at 1,000
tasks); here every change is scored from the plan's totals and the one task's figures
(cost, log-success, far cost and far log-success), and only the decisions that running
totals cannot settle beyond rounding (:data:`MARGIN`) are made again on the whole plan
(:meth:`~aalps.optimizer.exact.JointProblem.figures` on lists gathered once,
:mod:`aalps.optimizer.swap_figures`; ``far_value``: the swapped plan's far value without a
pass over the plan where that gives the same float, :mod:`aalps.optimizer.far_swaps`).
The answer is the one the whole-plan figures give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aalps.cost_models.domain import TaskPlan
from aalps.optimizer.exact import JointProblem, Selection
from aalps.optimizer.far_swaps import FarSwaps
from aalps.optimizer.swap_figures import SwapFigures

__all__ = ["MARGIN", "MAX_CROSSOVERS", "one_task_challengers"]

#: At most this many one-task challengers are followed: those that do best far away.
MAX_CROSSOVERS = 3
#: Running totals are trusted when they clear a threshold by this much per task, relative
#: to the figure's size (a sum of n terms is off by at most about n·2⁻⁵³ of the sum of
#: their sizes, 10⁴ times less); closer calls are settled on the whole plan.
MARGIN = 1e-12
#: A total left below this share of itself by a swap (the task was most of it) has lost
#: digits to cancellation: the change is scored on the whole plan.
_CANCELLATION = 1e-2


@dataclass(frozen=True)
class _Totals:
    """The plan's figures as running totals: the base each one-task change moves from."""

    cost: float
    logs: float
    far_top: float
    far_sum: float
    far_logs: float
    here: float
    far_here: float
    rounding: float  # MARGIN times the number of tasks


def one_task_challengers(problem: JointProblem, selection: Selection | None) -> list[TaskPlan]:
    """Per task and operator, the feasible one-task change best far along the ray that beats
    the plan there while being dearer at the scale point; the :data:`MAX_CROSSOVERS` best,
    best far away first (ties: task order, then operator name)."""
    if selection is None or problem.far_cost is None or problem.far_logs is None:
        return []
    totals = _totals(problem, selection)
    exact_checks = (
        problem.target is not None
        or problem.max_cost is not None
        or problem.max_latency is not None
    )
    swaps = FarSwaps(problem, selection)
    swapped = SwapFigures(problem, selection)
    passing: dict[tuple[int, str], list[tuple[float, int]]] = {}
    for i, choices in enumerate(problem.choices):
        for far, j in _row(problem, selection, totals, i, exact_checks, swaps, swapped):
            key = (i, str(choices[j].plan.operator))
            passing.setdefault(key, []).append((far, j))
    lowest = {key: min(far for far, _ in found) for key, found in passing.items()}
    ranked = sorted(lowest.values())
    cut = ranked[MAX_CROSSOVERS - 1] if len(ranked) >= MAX_CROSSOVERS else math.inf
    cut += _margin(cut, totals.rounding)
    best: dict[tuple[int, str], tuple[float, int]] = {}
    for key, found in passing.items():
        if lowest[key] > cut:
            continue  # cannot be among the best, whatever rounding did
        reach = lowest[key] + 2 * _margin(lowest[key], totals.rounding)
        for _, j in sorted((e for e in found if e[0] <= reach), key=lambda e: e[1]):
            i = key[0]
            far = swaps.far_value(i, j)
            if key not in best or far < best[key][0]:
                best[key] = (far, j)
    top = sorted(best.items(), key=lambda item: (item[1][0], item[0]))[:MAX_CROSSOVERS]
    return [problem.choices[i][j].plan for (i, _), (_, j) in top]


def _totals(problem: JointProblem, selection: Selection) -> _Totals:
    assert problem.far_cost is not None and problem.far_logs is not None
    figures = problem.figures(selection)
    far_terms = [problem.far_cost[i][j] for i, j in enumerate(selection)]
    top = max(far_terms)
    far_sum = sum(math.exp(t - top) for t in far_terms) if math.isfinite(top) else 0.0
    far_logs = sum(problem.far_logs[i][j] for i, j in enumerate(selection))
    return _Totals(
        figures.cost,
        figures.log_success,
        top,
        far_sum,
        far_logs,
        problem.value(figures),
        problem.far_value(selection),
        MARGIN * max(1, len(selection)),
    )


def _row(
    problem: JointProblem,
    selection: Selection,
    totals: _Totals,
    i: int,
    exact_checks: bool,
    swaps: FarSwaps,
    swapped: SwapFigures,
) -> list[tuple[float, int]]:
    """Each challenger among task ``i``'s choices, ``(far objective, choice)`` in choice
    order: the change's far objective (running totals) when it is a challenger.

    The figures the choices share (the plan's choice of the task, the totals) are read
    once, and the test that ``a`` is clearly below ``b`` (both finite, ``a`` below ``b``
    by more than the rounding of running totals could explain, :func:`_margin` of the
    larger) is written out."""
    assert problem.far_cost is not None and problem.far_logs is not None
    now = selection[i]
    far_costs, far_logs = problem.far_cost[i], problem.far_logs[i]
    costs, logs_of = problem.cost[i], problem.logs[i]
    far_now, logs_now = far_costs[now], far_logs[now]
    cost_now, log_now = costs[now], logs_of[now]
    ratio = problem.ratio
    rounding = totals.rounding
    far_here, plan_here = totals.far_here, totals.here
    far_here_finite, plan_here_finite = math.isfinite(far_here), math.isfinite(plan_here)
    base_far_logs, base_cost, base_logs = totals.far_logs, totals.cost, totals.logs
    least = _CANCELLATION * base_cost
    isfinite = math.isfinite
    found = []
    for j in range(len(problem.choices[i])):
        far_into = far_costs[j]
        if j == now or (far_into >= far_now and far_logs[j] <= logs_now):
            continue  # no better far away
        far = _far_after(problem, totals, far_now, far_into)
        if far is not None and ratio:
            far -= base_far_logs - logs_now + far_logs[j]
        cost = base_cost - cost_now + costs[j]
        logs = base_logs - log_now + logs_of[j]
        here = _value(problem, cost, logs) if cost >= least else math.nan
        if not exact_checks:
            # ``a`` clearly below ``b``: both finite and ``a < b - margin``.
            here_finite = isfinite(here)
            if far is not None and isfinite(far) and far_here_finite:
                if (
                    far < far_here - rounding * max(1.0, max(abs(far), abs(far_here)))
                    and plan_here_finite
                    and here_finite
                    and plan_here < here - rounding * max(1.0, max(abs(plan_here), abs(here)))
                ):
                    found.append((far, j))  # clearly a challenger
                    continue
                if far_here < far - rounding * max(1.0, max(abs(far_here), abs(far))):
                    continue  # clearly no better far away
            if (
                here_finite
                and plan_here_finite
                and here < plan_here - rounding * max(1.0, max(abs(here), abs(plan_here)))
            ):
                continue  # clearly cheaper at the scale point: no crossover
        exact_far = swaps.far_value(i, j)
        if not exact_far < far_here:
            continue
        figures = swapped.figures(i, j)
        if not problem.feasible(figures) or problem.value(figures) <= plan_here:
            continue
        found.append((exact_far, j))
    return found


def _far_after(problem: JointProblem, totals: _Totals, out: float, into: float) -> float | None:
    """The far log-cost with one term swapped, or None when rounding could mislead."""
    top, total = totals.far_top, totals.far_sum
    if not math.isfinite(top) or not math.isfinite(into):
        return None
    rest = total - math.exp(out - top)
    if rest < _CANCELLATION * total:
        return None  # the swapped term was (nearly) all of the sum
    if into - top > 50.0:
        return into + math.log1p(rest * math.exp(top - into))
    return top + math.log(rest + math.exp(into - top))


def _value(problem: JointProblem, cost: float, logs: float) -> float:
    if not problem.ratio:
        return cost
    return (math.log(cost) if cost > 0 else -math.inf) - logs


def _margin(value: float, rounding: float) -> float:
    return rounding * max(1.0, abs(value)) if math.isfinite(value) else 0.0
