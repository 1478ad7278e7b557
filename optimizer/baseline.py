"""The naive plan a result's separation is measured against (DESIGN §2).

Per task: the task's ``baseline`` operator, else the one its facts suggest
(:func:`~aalps.cost_models.operators.default_baseline`: ITERATE_WITH_HISTORY with defects,
GLOBAL_RETRY with an acceptance test, DIRECT otherwise), with the cheapest feasible model
in each role, one vote, and the cheapest parameters. The request's constraints do not
apply: the baseline is what one would build without thinking. When the baseline operator
has no feasible assignment on a task, DIRECT stands in, and failing that the task's
cheapest plan; the substitution is noted, never fatal.
"""

from __future__ import annotations

from collections.abc import Sequence

from aalps.cost_models.domain import Operator, Plan, TaskPlan
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.operators import default_baseline
from aalps.optimizer.enumeration import SpaceBuilder
from aalps.optimizer.space import Candidate, Metrics, TaskSpace

__all__ = ["baseline_from_spaces", "baseline_plan"]


def baseline_plan(evaluator: PlanEvaluator) -> Plan:
    """The baseline plan of the evaluator's request.

    Raises
    ------
    InfeasibleError
        when some task has no feasible plan at all (one reason per such task).
    """
    builder = SpaceBuilder(evaluator, Metrics())
    spaces = [builder.build(i, task) for i, task in enumerate(evaluator.graph.tasks)]
    reasons = [s.problem() for s in spaces if not s.candidates]
    if reasons:
        raise InfeasibleError(reasons)
    plan, _ = baseline_from_spaces(spaces)
    return plan


def baseline_from_spaces(spaces: Sequence[TaskSpace]) -> tuple[Plan, list[str]]:
    """The baseline over already built spaces, and a note per task that needed a stand-in."""
    plans: list[TaskPlan] = []
    notes: list[str] = []
    for space in spaces:
        wanted = default_baseline(space.task)
        for operator in (wanted, Operator.DIRECT):
            found = space.by_operator.get(operator)
            if found:
                plans.append(_cheapest(found).plan)
                if operator is not wanted:
                    notes.append(f"{space.task.id}: {wanted} is infeasible, DIRECT stands in")
                break
        else:
            plans.append(_cheapest(space.candidates).plan)
            notes.append(
                f"{space.task.id}: neither {wanted} nor DIRECT is feasible; "
                "the cheapest plan stands in"
            )
    return Plan(tuple(plans)), notes


def _cheapest(candidates: Sequence[Candidate]) -> Candidate:
    return min(candidates, key=lambda c: (c.outcome.log_cost, -c.outcome.success_probability))
