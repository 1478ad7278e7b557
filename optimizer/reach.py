"""The best figure other than cost that the constraints allow, and the cheapest plan there.

One non-cost objective (failure probability or latency) is a constrained search: the best
success probability (the product of the tasks' best) and the shortest critical path (every
task at its fastest) are known exactly, and the cheapest plan reaching them is found by
branch and bound. When the request's other constraints rule that extreme out, the best
reachable figure is found by bisection (:func:`reachable`). NSGA-II's ε-constraint starts
use :func:`bounded_problem` too.
"""

from __future__ import annotations

import copy
import math

from aalps.cost_models.domain import Objective
from aalps.optimizer.branch_and_bound import NODE_BUDGET, BranchResult, branch_and_bound
from aalps.optimizer.exact import TINY, JointProblem, Selection
from aalps.optimizer.incumbents import greedy_repair, lagrangian_incumbent
from aalps.optimizer.progress import Reporter

__all__ = ["REACH_TOLERANCE", "bounded_problem", "cheapest_within", "reachable"]

#: Bisection on a reachable success (or latency) stops at this relative bracket.
REACH_TOLERANCE = 1e-12


def _cheapest(problem: JointProblem) -> Selection:
    """Every task at its cheapest choice (the candidates are sorted by cost)."""
    return tuple(0 for _ in problem.cost)


def cheapest_within(bounded: JointProblem, reporter: Reporter) -> BranchResult:
    """The cheapest plan meeting ``bounded``'s limits: branch and bound from a greedy start,
    within the reporter's deadline and stop requests."""
    deadline = reporter.deadline
    incumbent = lagrangian_incumbent(bounded, deadline=deadline) or greedy_repair(
        bounded, _cheapest(bounded), deadline=deadline
    )
    return branch_and_bound(
        bounded,
        incumbent=incumbent,
        node_budget=NODE_BUDGET,
        deadline=deadline,
        should_stop=reporter.stop_requested,
    )


def reachable(problem: JointProblem, objective: Objective, reporter: Reporter) -> BranchResult:
    """The cheapest plan at the best success (or latency) the constraints allow.

    Bisection on the limit between the unreachable extreme and the figure of a feasible
    plan, each step an exact branch and bound; the upper end is always a figure some
    plan reaches, so the result is exact once the bracket is within
    :data:`REACH_TOLERANCE` (relative). Incomplete when a step runs out of nodes.
    """
    success = objective is Objective.FAILURE_PROBABILITY
    start = cheapest_within(problem, reporter)
    if start.selection is None:
        return start

    def figure(selection: Selection) -> float:
        figures = problem.figures(selection)
        return -figures.log_success if success else figures.latency

    def limited(limit: float) -> JointProblem:
        bounded = copy.copy(problem)
        if success:
            bounded.target = max(math.exp(-limit), problem.target or 0.0)
        else:
            bounded.max_latency = min(limit, problem.max_latency or math.inf)
        return bounded

    extreme = bounded_problem(problem, objective, 1.0)
    low = -math.log(max(extreme.target or TINY, TINY)) if success else extreme.max_latency
    assert low is not None
    best, high = start, figure(start.selection)
    while high - low > REACH_TOLERANCE * max(abs(high), 1e-300):
        found = cheapest_within(limited((low + high) / 2), reporter)
        if not found.complete:
            return BranchResult(best.selection, False, 0)
        if found.selection is None:
            low = (low + high) / 2
        else:
            best, high = found, figure(found.selection)
    return BranchResult(cheapest_within(limited(high), reporter).selection, True, 0)


def bounded_problem(problem: JointProblem, objective: Objective, position: float) -> JointProblem:
    """The problem with its success (or latency) limit moved ``position`` of the way from
    the cheapest plan's figure to the best achievable one (never looser than asked)."""
    bounded = copy.copy(problem)
    cheapest = problem.figures(_cheapest(problem))
    if objective is Objective.FAILURE_PROBABILITY:
        low, high = max(cheapest.success, TINY), max(problem.best_success(), TINY)
        target = low ** (1 - position) * high**position
        bounded.target = max(target, problem.target or 0.0)
    elif objective is Objective.LATENCY:
        limit = cheapest.latency - position * (cheapest.latency - problem.fastest_latency())
        bounded.max_latency = min(limit, problem.max_latency or math.inf)
    return bounded
