"""Branch and bound over the tasks' filtered choices, for products too large to enumerate.

Depth-first, task by task. The lower bound on a completion is the LP relaxation of the
remaining multiple-choice knapsack (:class:`SuccessBound`) when a success target is set,
else the sum of the remaining tasks' cheapest choices; prunes: that bound against the
incumbent and against ``max_cost``; success, when even the most reliable remaining
choices cannot reach the target; latency, when a task's finish time plus the shortest
path after it exceeds ``max_latency``. Before the search, choices whose Lagrangian bound
exceeds the incumbent are dropped (reduced-cost fixing). The search is exact when it
finishes within its node budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from aalps.optimizer.cost_of_pass import sweep_totals
from aalps.optimizer.exact import JointProblem, Selection
from aalps.optimizer.incumbents import improve, lagrangian_multiplier

__all__ = ["BranchResult", "FIRST_ROUND", "NODE_BUDGET", "SuccessBound", "branch_and_bound"]

#: Branch-and-bound nodes (choices tried) before it gives up being exact.
NODE_BUDGET = 500_000
#: The node budget of the first round; later rounds restart from a better incumbent.
FIRST_ROUND = 20_000


class SuccessBound:
    """The LP relaxation of "cheapest remainder with enough log-success", per search depth.

    For the tasks at depths ``d..n−1``: start each at its cheapest choice, then buy
    log-success along the lower convex hull of its (log-success, cost) points, all tasks'
    hull segments merged by slope. The cost of reaching a residual need is then a
    piecewise-linear function read off by binary search (the multiple-choice knapsack LP,
    Sinha & Zoltners 1979): a lower bound on any completion, at least as tight as every
    Lagrangian bound.
    """

    #: Above this many (depth × segment) entries the bound is not built.
    MAX_ENTRIES = 3_000_000

    def __init__(self, costs: Sequence[Sequence[float]], logs: Sequence[Sequence[float]]) -> None:
        n = len(costs)
        hulls = [_hull(c, g) for c, g in zip(costs, logs, strict=True)]
        self.base_cost = [0.0] * (n + 1)
        self.base_log = [0.0] * (n + 1)
        self.steps: list[
            tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
        ] = []
        segments: list[tuple[float, float, float]] = []
        self.steps.append((np.zeros(0), np.zeros(0), np.zeros(0)))
        for d in reversed(range(n)):
            (g0, c0), rest = hulls[d]
            self.base_cost[d] = self.base_cost[d + 1] + c0
            self.base_log[d] = self.base_log[d + 1] + g0
            segments = sorted(segments + rest)
            slopes = np.array([s[0] for s in segments])
            self.steps.append(
                (
                    np.cumsum([s[1] for s in segments]),
                    np.cumsum([s[2] for s in segments]),
                    slopes,
                )
            )
        self.steps.reverse()

    @classmethod
    def fits(cls, sizes: Sequence[int]) -> bool:
        return len(sizes) * sum(sizes) <= cls.MAX_ENTRIES

    def bound(self, depth: int, need: float) -> float:
        """Least cost of depths ``depth..`` with log-success ``>= need`` (inf if none)."""
        short = need - self.base_log[depth]
        if short <= 0:
            return self.base_cost[depth]
        gained, paid, slopes = self.steps[depth]
        if not len(gained) or gained[-1] < short:
            return math.inf
        k = int(np.searchsorted(gained, short))
        before_gain = gained[k - 1] if k else 0.0
        before_paid = paid[k - 1] if k else 0.0
        return (
            self.base_cost[depth]
            + float(before_paid)
            + float(short - before_gain) * float(slopes[k])
        )


def _hull(
    costs: Sequence[float], logs: Sequence[float]
) -> tuple[tuple[float, float], list[tuple[float, float, float]]]:
    """A task's cheapest point and the lower hull's segments (slope, Δlog, Δcost) above it.

    Andrew's monotone chain over the (log-success, cost) points more reliable than the
    cheapest one (which, among equally cheap points, is the most reliable).
    """
    start = min(range(len(costs)), key=lambda j: (costs[j], -logs[j]))
    cheapest: dict[float, float] = {}
    for g, c in zip(logs, costs, strict=True):
        if g > logs[start] and c < cheapest.get(g, math.inf):
            cheapest[g] = c
    hull = [(logs[start], costs[start])]
    for g in sorted(cheapest):
        point = (g, cheapest[g])
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], point) <= 0:
            hull.pop()
        hull.append(point)
    segments = [
        ((c2 - c1) / (g2 - g1), g2 - g1, c2 - c1)
        for (g1, c1), (g2, c2) in zip(hull, hull[1:], strict=False)
    ]
    return hull[0], segments


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


@dataclass(frozen=True)
class BranchResult:
    selection: Selection | None
    complete: bool
    nodes: int


def branch_and_bound(
    problem: JointProblem,
    *,
    incumbent: Selection | None = None,
    node_budget: int = NODE_BUDGET,
    deadline: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_improve: Callable[[Selection, float], None] | None = None,
) -> BranchResult:
    """The cheapest feasible joint plan by branch and bound, restarted as the incumbent improves.

    A better incumbent fixes more choices at the root, so a round that ends on its budget
    with a better plan restarts from it (improved by local search); a round that found
    nothing better restarts with twice the budget. ``complete`` is True when a round
    exhausted the search space: the result is then optimal.
    """
    spent, budget = 0, min(node_budget, FIRST_ROUND)
    while True:
        result = _search(problem, incumbent, budget, deadline, should_stop, on_improve)
        spent += result.nodes
        if result.complete:
            return BranchResult(result.selection, True, spent)
        if spent >= node_budget or _interrupted(deadline, should_stop):
            return BranchResult(result.selection, False, spent)
        if result.selection != incumbent and result.selection is not None:
            incumbent = (
                improve(problem, result.selection) if not problem.ratio else result.selection
            )
            if on_improve is not None and incumbent != result.selection:
                on_improve(incumbent, problem.figures(incumbent).cost)
        else:
            budget *= 2
        budget = min(budget, node_budget - spent)


def _search(
    problem: JointProblem,
    incumbent: Selection | None,
    node_budget: int,
    deadline: float | None,
    should_stop: Callable[[], bool] | None,
    on_improve: Callable[[Selection, float], None] | None,
) -> BranchResult:
    """One depth-first branch-and-bound round (module docstring).

    Before the search, choices whose Lagrangian bound already exceeds the incumbent are
    dropped (reduced-cost fixing). Tasks are assigned most-influential first (widest
    spread of log-success), or in topological order when latency is constrained so that
    finish times are known; each task's choices are tried by reduced cost
    ``c − λ·log s``. ``complete`` is True when the search space was exhausted: the result
    is then optimal.
    """
    n = len(problem.cost)
    ratio = problem.ratio
    best_cost, best = math.inf, None
    if incumbent is not None and problem.feasible(problem.figures(incumbent)):
        best_cost, best = problem.value(problem.figures(incumbent)), incumbent
    if ratio:
        # Choices ranked by the linearized objective c/C − log s around the incumbent.
        lam = math.exp(best_cost) if best is not None and math.isfinite(best_cost) else 0.0
        log_target = math.log(problem.target) if problem.target is not None else -math.inf
        allowed = [list(range(len(c))) for c in problem.cost]
    else:
        lam = lagrangian_multiplier(problem)
        log_target = math.log(problem.target) if problem.target is not None else -math.inf
        allowed = _fixed(problem, lam, best_cost)
    if problem.max_latency is not None:
        order = problem.order
    else:
        order = sorted(
            range(n),
            key=lambda i: (-_spread([problem.logs[i][j] for j in allowed[i]]), -len(allowed[i]), i),
        )
    ranked = [_by_reduced_cost(problem, i, allowed[i], lam) for i in order]
    min_cost = [0.0] * (n + 1)
    max_log = [0.0] * (n + 1)
    for d in reversed(range(n)):
        i = order[d]
        min_cost[d] = min_cost[d + 1] + min(problem.cost[i][j] for j in ranked[d])
        max_log[d] = max_log[d + 1] + max(problem.logs[i][j] for j in ranked[d])
    lp = None
    if not ratio and problem.target is not None and SuccessBound.fits([len(r) for r in ranked]):
        lp = SuccessBound(
            [[problem.cost[order[d]][j] for j in ranked[d]] for d in range(n)],
            [[problem.logs[order[d]][j] for j in ranked[d]] for d in range(n)],
        )
    by_cost = problem.target is None and not ratio
    completions = _ratio_bounds(problem, order, ranked) if ratio else []
    tail = problem.tail_latency()
    selection = [0] * n
    finish = [0.0] * n
    partial_cost = [0.0] * (n + 1)
    partial_log = [0.0] * (n + 1)
    pointer = [0] * (n + 1)
    nodes = 0
    depth = 0
    tolerance = 1e-9
    while depth >= 0:
        if depth == n:
            figures = problem.figures(tuple(selection))
            value = problem.value(figures)
            if problem.feasible(figures) and value < best_cost:
                best_cost, best = value, tuple(selection)
                if on_improve is not None:
                    on_improve(best, figures.cost)
            depth -= 1
            continue
        i = order[depth]
        options = ranked[depth]
        advanced = False
        while pointer[depth] < len(options):
            j = options[pointer[depth]]
            pointer[depth] += 1
            nodes += 1
            if nodes > node_budget or (nodes % 4096 == 0 and _interrupted(deadline, should_stop)):
                return BranchResult(best, False, nodes)
            cost = partial_cost[depth] + problem.cost[i][j]
            log_success = partial_log[depth] + problem.logs[i][j]
            if problem.target is not None:
                if log_success + max_log[depth + 1] < log_target - 1e-9:
                    continue
                rest = (
                    lp.bound(depth + 1, log_target - log_success)
                    if lp is not None
                    else min_cost[depth + 1]
                )
            else:
                rest = min_cost[depth + 1]
            bound = cost + rest
            if ratio:
                rest_cost, rest_log = completions[depth + 1]
                with np.errstate(divide="ignore"):
                    least = float(np.min(np.log(cost + rest_cost) - rest_log))
                beaten = least - log_success > best_cost + tolerance
            else:
                beaten = bound > best_cost * (1 + tolerance)
            if beaten or (
                problem.max_cost is not None and bound > problem.max_cost * (1 + tolerance)
            ):
                if by_cost:
                    pointer[depth] = len(options)
                continue
            if problem.max_latency is not None:
                before = max((finish[p] for p in problem.preds[i]), default=0.0)
                end = before + problem.latency[i][j]
                if end + tail[i] > problem.max_latency * (1 + tolerance):
                    continue
                finish[i] = end
            selection[i] = j
            partial_cost[depth + 1] = cost
            partial_log[depth + 1] = log_success
            depth += 1
            pointer[depth] = 0
            advanced = True
            break
        if not advanced:
            depth -= 1
    return BranchResult(best, True, nodes)


def _ratio_bounds(
    problem: JointProblem, order: Sequence[int], ranked: Sequence[list[int]]
) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """Per depth, the totals of the remaining tasks' parametric sweep
    (:func:`~aalps.optimizer.cost_of_pass.sweep_totals`): the least cost of a correct result of
    any completion, constraints aside, is ``min(log(c + C) − L) − log s`` of the partial
    plan's cost ``c`` and success ``s``."""
    out = []
    for d in range(len(order) + 1):
        costs = [[problem.cost[order[e]][j] for j in ranked[e]] for e in range(d, len(order))]
        logs = [[problem.logs[order[e]][j] for j in ranked[e]] for e in range(d, len(order))]
        total_cost, total_log = sweep_totals(costs, logs)
        out.append((np.asarray(total_cost), np.asarray(total_log)))
    return out


def _by_reduced_cost(problem: JointProblem, i: int, choices: list[int], lam: float) -> list[int]:
    """A task's choices by ``c − λ·log s``, then cost, then index."""
    cost, logs = problem.cost[i], problem.logs[i]
    return sorted(choices, key=lambda j: (cost[j] - lam * logs[j], cost[j], j))


def _fixed(problem: JointProblem, lam: float, incumbent_cost: float) -> list[list[int]]:
    """Per task, the choices whose Lagrangian bound does not exceed the incumbent's cost."""
    everything = [list(range(len(c))) for c in problem.cost]
    if problem.target is None or not math.isfinite(incumbent_cost):
        return everything
    reduced = [
        [c - lam * g for c, g in zip(cs, gs, strict=True)]
        for cs, gs in zip(problem.cost, problem.logs, strict=True)
    ]
    lows = [min(r) for r in reduced]
    bound = sum(lows) + lam * math.log(problem.target)
    scale = sum(abs(x) for x in lows) + abs(lam * math.log(problem.target)) + incumbent_cost
    limit = incumbent_cost + 1e-9 * scale
    return [
        [j for j, r in enumerate(rs) if bound - low + r <= limit] or everything[i]
        for i, (rs, low) in enumerate(zip(reduced, lows, strict=True))
    ]


def _spread(values: Sequence[float]) -> float:
    return max(values) - min(values) if values else 0.0


def _interrupted(deadline: float | None, should_stop: Callable[[], bool] | None) -> bool:
    if deadline is not None and time.monotonic() >= deadline:
        return True
    return should_stop is not None and should_stop()
