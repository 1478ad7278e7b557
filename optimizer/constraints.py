"""The request's coupling constraints: whether a plan meets them, and why none can.

Constraints are on the whole plan (``min_success_probability``, ``max_cost``,
``max_latency`` on the critical path). When no plan can meet one of them on its own, the
reason names the constraint's field and says what is achievable at best, followed by the
tasks that limit it; when each is reachable alone but not together, one reason names
them all.
"""

from __future__ import annotations

from aalps.cost_models.domain import Constraints
from aalps.cost_models.errors import FieldViolation
from aalps.cost_models.evaluation import PlanOutcome
from aalps.optimizer.exact import JointProblem

__all__ = ["MAX_TASKS_NAMED", "jointly_unreachable", "meets", "unreachable"]

#: At most this many limiting tasks are named under a constraint's reason.
MAX_TASKS_NAMED = 10


def meets(outcome: PlanOutcome, constraints: Constraints) -> bool:
    """Whether a plan's figures satisfy the request's constraints (and fit every window)."""
    return (
        (
            constraints.min_success_probability is None
            or outcome.success_probability >= constraints.min_success_probability
        )
        and (constraints.max_cost is None or outcome.expected_cost <= constraints.max_cost)
        and (constraints.max_latency is None or outcome.latency <= constraints.max_latency)
        and outcome.window_violation is None
    )


def unreachable(problem: JointProblem, constraints: Constraints) -> list[FieldViolation]:
    """Reasons for every constraint that no plan meets even on its own (empty if none)."""
    reasons: list[FieldViolation] = []
    target = constraints.min_success_probability
    if target is not None and problem.best_success() < target:
        best = problem.best_success()
        reasons.append(
            FieldViolation(
                "constraints.min_success_probability",
                f"best achievable is {best:.4g} (asked for {target:.4g})",
            )
        )
        limits = sorted((max(s), i) for i, s in enumerate(problem.success) if max(s) < 1.0)[
            :MAX_TASKS_NAMED
        ]
        for p, i in limits:
            space = problem.spaces[i]
            reasons.append(
                FieldViolation(
                    f"graph.tasks[{space.index}]",
                    f"{space.task.id}: success probability at most {p:.4g}",
                )
            )
    if constraints.max_cost is not None:
        cheapest = problem.unscaled(problem.cheapest_cost())
        if cheapest > constraints.max_cost:
            reasons.append(
                FieldViolation(
                    "constraints.max_cost",
                    f"the cheapest plan costs {cheapest:.4g} (limit {constraints.max_cost:.4g})",
                )
            )
    if constraints.max_latency is not None:
        fastest = problem.fastest_latency()
        if fastest > constraints.max_latency:
            reasons.append(
                FieldViolation(
                    "constraints.max_latency",
                    f"the fastest plan takes {fastest:.4g} (limit {constraints.max_latency:.4g})",
                )
            )
    return reasons


def jointly_unreachable(constraints: Constraints) -> FieldViolation:
    """The reason when each constraint is reachable alone but no plan meets them together."""
    parts = []
    if constraints.min_success_probability is not None:
        parts.append(f"min_success_probability {constraints.min_success_probability:.4g}")
    if constraints.max_cost is not None:
        parts.append(f"max_cost {constraints.max_cost:.4g}")
    if constraints.max_latency is not None:
        parts.append(f"max_latency {constraints.max_latency:.4g}")
    return FieldViolation("constraints", f"no plan meets {' and '.join(parts)} together")
