"""The cheapest correct result without coupling constraints, exactly, by a parametric sweep.

The objective ``C/S`` (expected cost over success probability, DESIGN §2 "Objective") is not
separable: ``log C − Σ log s_i`` with ``C = Σ c_i``. But ``log C ≤ C/t + log t − 1`` for
every ``t > 0``, with equality at ``t = C``, so

    min_sel (log C − L) = min_t [ min_sel Σ_i (c_i/t − ℓ_i) ] + log t − 1,

and for each ``t`` the inner problem is separable: every task on its own minimizes
``μ·c − ℓ`` with ``μ = 1/t``. Let ``sel*`` be optimal and ``t* = C(sel*)``: any minimizer of
the inner problem at ``t*`` is optimal as well (the chain of inequalities above closes).
As ``μ`` falls from ∞ to 0 each task walks its upper convex hull in the (cost,
log-success) plane, from its cheapest choice to its most reliable one; the selections met
along the merged walk contain a minimizer for every ``μ``, so the best of them is optimal.
That is one sort of at most ``Σ_i |hull_i|`` events: exact, and fast for any number of
tasks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from aalps.optimizer.exact import JointFigures, JointProblem, Selection

__all__ = ["best_ratio_selection", "hull_walk", "sweep_selections", "sweep_totals"]


def hull_walk(costs: Sequence[float], logs: Sequence[float]) -> list[int]:
    """A task's choices on the upper hull of (cost, log-success), cheapest first.

    These are the minimizers of ``μ·cost − log_success`` for some ``μ > 0`` (the cheapest
    choice, most reliable of equals, to the most reliable, cheapest of equals).
    """
    order = sorted(range(len(costs)), key=lambda j: (costs[j], -logs[j], j))
    hull: list[int] = []
    for j in order:
        if hull and logs[j] <= logs[hull[-1]]:
            continue  # no more reliable than a cheaper (or equal) choice
        while len(hull) >= 2 and _turn(costs, logs, hull[-2], hull[-1], j) >= 0:
            hull.pop()
        hull.append(j)
    return hull


def _turn(costs: Sequence[float], logs: Sequence[float], a: int, b: int, c: int) -> float:
    """> 0 when ``b`` lies below the chord from ``a`` to ``c`` (so not on the upper hull)."""
    return (costs[b] - costs[a]) * (logs[c] - logs[a]) - (logs[b] - logs[a]) * (costs[c] - costs[a])


def _sweep(
    costs: Sequence[Sequence[float]], logs: Sequence[Sequence[float]]
) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """Each task's hull walk, and the moves ``(task, step)`` as ``μ`` falls from ∞ to 0."""
    walks = [hull_walk(c, g) for c, g in zip(costs, logs, strict=True)]
    events: list[tuple[float, int, int]] = []
    for i, walk in enumerate(walks):
        c, g = costs[i], logs[i]
        for step, (a, b) in enumerate(zip(walk, walk[1:], strict=False)):
            dc = c[b] - c[a]
            events.append(((g[b] - g[a]) / dc if dc > 0 else math.inf, i, step + 1))
    events.sort(key=lambda e: (-e[0], e[1], e[2]))
    return walks, [(i, step) for _, i, step in events]


def sweep_selections(
    costs: Sequence[Sequence[float]], logs: Sequence[Sequence[float]]
) -> list[Selection]:
    """Every selection met as ``μ`` sweeps from ∞ to 0 (module docstring), in order."""
    walks, moves = _sweep(costs, logs)
    current = [walk[0] for walk in walks]
    found = [tuple(current)]
    for i, step in moves:
        current[i] = walks[i][step]
        found.append(tuple(current))
    return found


def sweep_totals(
    costs: Sequence[Sequence[float]], logs: Sequence[Sequence[float]]
) -> tuple[list[float], list[float]]:
    """Total cost and log-success of every selection :func:`sweep_selections` meets.

    ``min_k log(a + C_k) − L_k`` is then the exact least ``log(a + C) − L`` over every
    selection, for any constant ``a ≥ 0`` (the module docstring's argument holds with ``a``
    added to ``C``): branch and bound's lower bound on a partial plan's completions.
    """
    walks, moves = _sweep(costs, logs)
    return _totals(costs, logs, walks, moves)


def _totals(
    costs: Sequence[Sequence[float]],
    logs: Sequence[Sequence[float]],
    walks: Sequence[Sequence[int]],
    moves: Sequence[tuple[int, int]],
) -> tuple[list[float], list[float]]:
    """:func:`sweep_totals` from the sweep :func:`_sweep` gave."""
    current = [walk[0] for walk in walks]
    total_cost = math.fsum(c[j] for c, j in zip(costs, current, strict=True))
    total_log = math.fsum(g[j] for g, j in zip(logs, current, strict=True))
    out_cost, out_log = [total_cost], [total_log]
    for i, step in moves:
        j_old, j_new = current[i], walks[i][step]
        total_cost += costs[i][j_new] - costs[i][j_old]
        total_log += logs[i][j_new] - logs[i][j_old]
        current[i] = j_new
        out_cost.append(total_cost)
        out_log.append(total_log)
    return out_cost, out_log


def best_ratio_selection(problem: JointProblem) -> Selection:
    """The selection of least ``cost / success`` (no constraint is consulted).

    Among selections within the tie tolerance the asymptotically smaller one wins
    (:meth:`JointProblem.far_value`). The sweep's selections are scored by running totals
    (one task's change each); only those within :data:`_SCREEN` of the best running total
    are scored again as a whole (the sums :meth:`JointProblem.figures` makes of cost and
    log-success, the only figures the value reads), so the answer is the one the
    whole-plan figures give, at the cost of a handful of recombinations.
    """
    walks, moves = _sweep(problem.cost, problem.logs)
    totals = _totals(problem.cost, problem.logs, walks, moves)  # one sweep for both
    approximate = [
        problem.value(JointFigures(cost, 0.0, 0.0, logs))
        for cost, logs in zip(*totals, strict=True)
    ]
    lowest = min(approximate)
    if math.isfinite(lowest):
        reach = lowest + _TIE + _SCREEN * max(1.0, abs(lowest))
        kept = [k for k, v in enumerate(approximate) if v <= reach]
    else:
        kept = list(range(len(approximate)))
    candidates = _selections_at(walks, moves, kept)
    values = [_whole_value(problem, s) for s in candidates]
    best = min(values)
    tied = [s for s, v in zip(candidates, values, strict=True) if v <= best + _TIE]
    return min(tied, key=problem.far_value)


def _whole_value(problem: JointProblem, selection: Selection) -> float:
    """``problem.value(problem.figures(selection))``: the same two sums (same lists, same
    order, so the same floats), without the success product and the critical path."""
    cost = sum([c[j] for c, j in zip(problem.cost, selection, strict=True)])
    log_success = sum([g[j] for g, j in zip(problem.logs, selection, strict=True)])
    return problem.value(JointFigures(cost, 0.0, 0.0, log_success))


#: Two selections within this of each other (the objective's units) are tied.
_TIE = 1e-9
#: Running totals may drift from the whole-plan figures by rounding: selections this far
#: (relative) from the best running total are scored again as a whole.
_SCREEN = 1e-6


def _selections_at(
    walks: Sequence[Sequence[int]], moves: Sequence[tuple[int, int]], wanted: Sequence[int]
) -> list[Selection]:
    """The sweep's selections number ``wanted`` (ascending; 0 is the start), replayed."""
    current = [walk[0] for walk in walks]
    found: list[Selection] = []
    targets = iter(wanted)
    target = next(targets, None)
    for position in range(len(moves) + 1):
        if target is None:
            break
        if position > 0:
            i, step = moves[position - 1]
            current[i] = walks[i][step]
        if position == target:
            found.append(tuple(current))
            target = next(targets, None)
    return found
