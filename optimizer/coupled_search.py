"""The exact phase of a single-objective search too large to enumerate.

Branch and bound first, on a small node budget: it settles loosely coupled requests in a
few milliseconds. What it cannot finish goes to the Pareto dynamic program
(:mod:`aalps.optimizer.coupled_dp`), with the best plan known as its incumbent; the
program is exact unless its label sets had to be thinned. A thinned (ε-approximate)
answer, or a graph that the program cannot take (latency constrained on a DAG that is not
series-parallel), gets branch and bound's remaining node budget, started from the best
plan known. Only what none of these settles is left to Optuna (the caller's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aalps.optimizer.branch_and_bound import FIRST_ROUND, NODE_BUDGET, branch_and_bound
from aalps.optimizer.coupled_dp import coupled_dp
from aalps.optimizer.exact import JointProblem, Selection
from aalps.optimizer.progress import Reporter

__all__ = ["ExactPhase", "Method", "USE_DP", "exact_phase"]

#: Whether the exact phase runs the dynamic program (off: branch and bound, then Optuna, as
#: before it existed; benchmarks and the tests of the Optuna phase turn it off).
USE_DP = True


class Method(StrEnum):
    """The methods a result may come from (``SearchStats.method``)."""

    ENUMERATION = "enumeration"
    COST_OF_PASS_SWEEP = "cost-of-pass sweep"
    BRANCH_AND_BOUND = "branch and bound"
    PARETO_DP = "pareto dp"
    PARETO_DP_APPROXIMATE = "pareto dp (epsilon)"
    TPE = "tpe"
    NSGA2 = "nsga-ii"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ExactPhase:
    """What the exact phase settled on.

    ``complete``: ``selection`` is the best feasible plan within the relative ``gap`` (0.0:
    exact), or None when no plan is feasible; otherwise ``selection`` is the best plan
    known (or None) and ``gap`` is infinite.
    """

    selection: Selection | None
    complete: bool
    method: Method
    gap: float


def exact_phase(problem: JointProblem, warm: Sequence[Selection], reporter: Reporter) -> ExactPhase:
    """Branch and bound, then the Pareto dynamic program, then branch and bound again.

    Every step honours the reporter's deadline and stop requests; improvements are offered
    to it as they are found.
    """

    def offer(selection: Selection | None) -> None:
        if selection is not None:
            reporter.offer(problem.unscaled(problem.figures(selection).cost))

    def branch(incumbent: Selection | None, budget: int) -> tuple[Selection | None, bool, int]:
        result = branch_and_bound(
            problem,
            incumbent=incumbent,
            node_budget=budget,
            deadline=reporter.deadline,
            should_stop=reporter.stop_requested,
            on_improve=lambda s, cost: reporter.offer(problem.unscaled(cost)),
        )
        return result.selection, result.complete, result.nodes

    def stopped() -> bool:
        return reporter.stop_requested() or reporter.out_of_time()

    best, complete, spent = branch(warm[0] if warm else None, min(FIRST_ROUND, NODE_BUDGET))
    if complete:
        return ExactPhase(best, True, Method.BRANCH_AND_BOUND, 0.0)
    best = best if best is not None else (warm[0] if warm else None)
    if stopped():
        return ExactPhase(best, False, Method.INTERRUPTED, math.inf)
    dp = None
    if USE_DP:
        dp = coupled_dp(
            problem,
            incumbent=best,
            deadline=reporter.deadline,
            should_stop=reporter.stop_requested,
        )
    if dp is not None and dp.complete:
        offer(dp.selection)
        if dp.gap == 0.0 or dp.selection is None:
            return ExactPhase(dp.selection, True, Method.PARETO_DP, 0.0)
        best = dp.selection
    if stopped():
        return _settled(best, dp.gap if dp is not None and dp.complete else math.inf)
    best_after, complete, _ = branch(best, max(NODE_BUDGET - spent, 1))
    if complete:
        return ExactPhase(best_after, True, Method.BRANCH_AND_BOUND, 0.0)
    return _settled(
        best_after if best_after is not None else best,
        dp.gap if dp is not None and dp.complete else math.inf,
    )


def _settled(selection: Selection | None, gap: float) -> ExactPhase:
    """The best plan known: ε-approximate when the dynamic program finished thinned."""
    if math.isfinite(gap):
        return ExactPhase(selection, True, Method.PARETO_DP_APPROXIMATE, gap)
    return ExactPhase(selection, False, Method.INTERRUPTED, math.inf)
