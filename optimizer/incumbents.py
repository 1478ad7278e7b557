"""Good feasible joint plans found fast: the warm starts of the exact and Optuna searches.

* :func:`lagrangian_incumbent`: per task the argmin of ``c − λ·log s`` at the ``λ`` that
  maximizes the Lagrangian dual of the success constraint (and a few larger ones), the
  cheapest feasible of these, then :func:`improve`;
* :func:`improve`: local search by one-task and two-task moves that keep the plan feasible;
* :func:`greedy_repair`: from the cheapest plan, buy success (or latency) where it is
  cheapest until the plan is feasible.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
from aalps.optimizer.exact import JointFigures, JointProblem, Selection

__all__ = [
    "greedy_repair",
    "improve",
    "improve_value",
    "lagrangian_incumbent",
    "lagrangian_multiplier",
    "past",
]


def lagrangian_multiplier(problem: JointProblem) -> float:
    """The ``λ ≥ 0`` that maximizes the Lagrangian dual of the success constraint.

    The dual ``Σ_i min_j (c_ij − λ·ℓ_ij) + λ·log target`` is concave in ``λ``; its
    supergradient ``log target − Σ_i ℓ_i(λ)`` (``ℓ_i(λ)`` of each task's minimizer) falls
    as ``λ`` grows, so bisection (on ``log λ``) finds where it changes sign.
    """
    if problem.target is None:
        return 0.0
    log_target = math.log(problem.target)
    costs, logs = problem.arrays()

    def slope(lam: float) -> float:
        picks = [int(np.lexsort((-g, c - lam * g))[0]) for c, g in zip(costs, logs, strict=True)]
        return log_target - sum(float(g[j]) for g, j in zip(logs, picks, strict=True))

    if slope(0.0) <= 0:
        return 0.0
    scale = max(problem.cheapest_cost(), 1e-300)
    lo, hi = math.log(scale) - 60, math.log(scale) + 60
    if slope(math.exp(hi)) > 0:
        return math.exp(hi)
    for _ in range(80):
        mid = (lo + hi) / 2
        if slope(math.exp(mid)) > 0:
            lo = mid
        else:
            hi = mid
    return math.exp(hi)


def lagrangian_incumbent(
    problem: JointProblem, *, deadline: float | None = None
) -> Selection | None:
    """A good feasible plan: per-task argmins of ``c − λ·log s`` near the best ``λ``, improved.

    Tries ``λ*`` (:func:`lagrangian_multiplier`) and multiples of it, keeps the cheapest
    feasible selection and improves it by :func:`improve`. Past ``deadline``
    (``time.monotonic()``) no further multiple is tried and the improvement stops early.
    """
    costs, logs = problem.arrays()
    lam = lagrangian_multiplier(problem)
    best: tuple[float, Selection] | None = None
    factors = [1.0] if lam == 0 else [1.0, 1.0001, 1.01, 1.1, 2.0, 10.0, 1e3, 1e6]
    for factor in factors:
        if best is not None and past(deadline):
            break
        selection = tuple(
            int(np.lexsort((c, -g, c - lam * factor * g))[0])
            for c, g in zip(costs, logs, strict=True)
        )
        figures = problem.figures(selection)
        value = problem.value(figures)
        if problem.feasible(figures) and (best is None or value < best[0]):
            best = (value, selection)
    return None if best is None else improve(problem, best[1], deadline=deadline)


def improve(
    problem: JointProblem,
    selection: Selection,
    rounds: int = 50,
    *,
    deadline: float | None = None,
) -> Selection:
    """Local search: the best cost-cutting move of one task, or of two tasks at once.

    A pair move trades one task's upgrade (more success or less latency) for another's
    cheaper choice. Every move keeps the plan feasible; the search stops when no move cuts
    the cost, or past ``deadline``.
    """
    if problem.ratio:
        return improve_value(problem, selection, rounds, deadline=deadline)
    costs, logs = problem.arrays()
    current = list(selection)
    for _ in range(rounds):
        if past(deadline):
            break
        base = problem.figures(tuple(current))
        moves = [
            (i, j, costs[i][j] - costs[i][current[i]], logs[i][j] - logs[i][current[i]])
            for i in range(len(current))
            for j in range(len(costs[i]))
            if j != current[i]
        ]
        if not moves:
            break
        dc = np.array([m[2] for m in moves])
        dl = np.array([m[3] for m in moves])
        task = np.array([m[0] for m in moves])
        best = _best_move(problem, current, moves, dc, base.cost)
        pair = _best_pair(problem, current, moves, dc, dl, task, base)
        options = [m for m in (best, pair) if m is not None]
        if not options:
            break
        gain, changes = min(options, key=lambda m: m[0])
        for i, j in changes:
            current[i] = j
    return tuple(current)


def improve_value(
    problem: JointProblem,
    selection: Selection,
    rounds: int = 50,
    *,
    far: bool = False,
    within: float | None = None,
    deadline: float | None = None,
) -> Selection:
    """Local search by one-task moves that keep the plan feasible and lower its objective.

    With ``far`` the objective is the one far along the scale ray
    (:meth:`JointProblem.far_value`), and ``within`` (when given) keeps the objective at the
    scale point at most that high: the tie-break among plans equal at the scale point.
    Every move keeps the plan feasible, so stopping at ``deadline`` returns a feasible plan.
    """

    log_target = math.log(problem.target) if problem.target is not None else -math.inf
    far_cost, far_logs = problem.far_cost, problem.far_logs
    use_far = far and far_cost is not None and far_logs is not None
    current = list(selection)
    for _ in range(rounds):
        if past(deadline):
            break
        cost = sum(problem.cost[i][j] for i, j in enumerate(current))
        logs = sum(problem.logs[i][j] for i, j in enumerate(current))
        if use_far:
            assert far_cost is not None and far_logs is not None
            far_terms = [far_cost[i][j] for i, j in enumerate(current)]
            top = max(far_terms)
            far_sum = sum(math.exp(t - top) for t in far_terms)
            far_log_sum = sum(far_logs[i][j] for i, j in enumerate(current))
        here = _value(problem, cost, logs)
        best = _far(problem, top, far_sum, far_log_sum) if use_far else here
        move: tuple[float, int, int] | None = None
        for i, choices in enumerate(problem.cost):
            now = current[i]
            for j in range(len(choices)):
                if j == now:
                    continue
                c = cost - problem.cost[i][now] + problem.cost[i][j]
                g = logs - problem.logs[i][now] + problem.logs[i][j]
                if g < log_target - 1e-12 or (
                    problem.max_cost is not None and c > problem.max_cost
                ):
                    continue
                v_here = _value(problem, c, g)
                if within is not None and v_here > within:
                    continue
                if use_far:
                    assert far_cost is not None and far_logs is not None
                    log_cost = _swapped_log_sum(top, far_sum, far_cost[i][now], far_cost[i][j])
                    v = log_cost
                    if problem.ratio:
                        v -= far_log_sum - far_logs[i][now] + far_logs[i][j]
                else:
                    v = v_here
                if v < best - 1e-12 * max(1.0, abs(best)) and (move is None or v < move[0]):
                    if problem.max_latency is not None:
                        trial = [*current[:i], j, *current[i + 1 :]]
                        if not problem.feasible(problem.figures(tuple(trial))):
                            continue
                    move = (v, i, j)
        if move is None:
            break
        current[move[1]] = move[2]
    return tuple(current)


def past(deadline: float | None) -> bool:
    """Whether ``deadline`` (``time.monotonic()``, None: none) has passed."""
    return deadline is not None and time.monotonic() >= deadline


def _value(problem: JointProblem, cost: float, logs: float) -> float:
    if not problem.ratio:
        return cost
    return (math.log(cost) if cost > 0 else -math.inf) - logs


def _swapped_log_sum(top: float, total: float, out: float, into: float) -> float:
    """log of ``Σ exp(terms)`` (given as ``exp(top)·total``) with ``out`` swapped for ``into``."""
    rest = max(total - math.exp(out - top), 0.0)
    if into - top > 50.0:
        return into + math.log1p(rest * math.exp(top - into))
    inside = rest + math.exp(into - top)
    return top + math.log(inside) if inside > 0 else -math.inf


def _far(problem: JointProblem, top: float, total: float, logs: float) -> float:
    value = top + math.log(total) if total > 0 else -math.inf
    return value - logs if problem.ratio else value


def _best_move(
    problem: JointProblem,
    current: list[int],
    moves: list[tuple[int, int, float, float]],
    dc: npt.NDArray[np.float64],
    cost: float,
) -> tuple[float, list[tuple[int, int]]] | None:
    for index in np.argsort(dc, kind="stable")[:64]:
        if dc[index] >= -1e-12 * abs(cost):
            return None
        i, j = moves[index][0], moves[index][1]
        trial = list(current)
        trial[i] = j
        if problem.feasible(problem.figures(tuple(trial))):
            return float(dc[index]), [(i, j)]
    return None


def _best_pair(
    problem: JointProblem,
    current: list[int],
    moves: list[tuple[int, int, float, float]],
    dc: npt.NDArray[np.float64],
    dl: npt.NDArray[np.float64],
    task: npt.NDArray[np.int64],
    base: JointFigures,
) -> tuple[float, list[tuple[int, int]]] | None:
    if problem.target is None or problem.max_latency is not None or len(moves) > 3000:
        return None
    slack = math.log(max(base.success, 1e-300)) - math.log(problem.target)
    total_dc = dc[:, None] + dc[None, :]
    ok = (dl[:, None] + dl[None, :] >= -slack) & (task[:, None] != task[None, :])
    ok &= total_dc < -1e-12 * abs(base.cost)
    if not ok.any():
        return None
    masked = np.where(ok, total_dc, np.inf)
    for flat in np.argsort(masked, axis=None, kind="stable")[:20]:
        a, b = divmod(int(flat), len(moves))
        if not np.isfinite(masked[a, b]):
            break
        trial = list(current)
        trial[moves[a][0]], trial[moves[b][0]] = moves[a][1], moves[b][1]
        if problem.feasible(problem.figures(tuple(trial))):
            return float(masked[a, b]), [(moves[a][0], moves[a][1]), (moves[b][0], moves[b][1])]
    return None


def greedy_repair(
    problem: JointProblem, selection: Selection, *, deadline: float | None = None
) -> Selection | None:
    """Upgrade tasks until the plan is feasible, best Δlog-success (or Δlatency) per Δcost.

    Each step moves one task to another choice: the one with the best success gained (or
    latency saved) per cost added. Returns None when no step helps, after ``2n + 10``
    steps, or past ``deadline``.
    """
    current = list(selection)
    task = np.concatenate([np.full(len(c), i) for i, c in enumerate(problem.cost)])
    choice = np.concatenate([np.arange(len(c)) for c in problem.cost])
    cost = np.concatenate([np.asarray(c, dtype=np.float64) for c in problem.cost])
    logs = np.concatenate([np.asarray(g, dtype=np.float64) for g in problem.logs])
    latency = np.concatenate([np.asarray(x, dtype=np.float64) for x in problem.latency])
    offsets = np.cumsum([0] + [len(c) for c in problem.cost])[:-1]
    for _ in range(2 * len(current) + 10):
        if past(deadline):
            return None
        figures = problem.figures(tuple(current))
        if problem.feasible(figures):
            return tuple(current)
        at = offsets + np.asarray(current)
        if problem.target is not None and figures.success < problem.target:
            gain = logs - logs[at][task]
        elif problem.max_latency is not None and figures.latency > problem.max_latency:
            gain = latency[at][task] - latency
        else:
            return None
        extra = np.maximum(cost - cost[at][task], 1e-300)
        ratio = np.where(gain > 0, gain / extra, -np.inf)
        best = int(np.argmax(ratio))
        if not np.isfinite(ratio[best]):
            return None
        current[int(task[best])] = int(choice[best])
    return None
