"""A test-only brute-force optimizer: the full joint product of every task's choices.

Written apart from ``optimizer/`` and as plainly as possible: it uses only the catalog,
the operator registry and ``PlanEvaluator.task_outcome`` / ``combine``. Per task it lists
every operator, every capable model per role, every vote count (when success matters),
every parameter value (AHEAD_BY_K's ``ahead``; every chunk size from 1 to the input size —
larger sizes give one chunk, like the input size itself), drops choices that break a
context window, and merges choices whose figures are identical. The joint product is then
scored plan by plan with ``combine``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import sympy

from cost_models.domain import Objective, OptimizeRequest, Plan, RoleAssignment, Task, TaskPlan
from cost_models.evaluation import VOTE_CHOICES, PlanEvaluator, PlanOutcome, TaskOutcome
from cost_models.operators import OPERATORS, applicable_operators

Choice = tuple[TaskPlan, TaskOutcome]


def success_matters(request: OptimizeRequest) -> bool:
    return (
        request.constraints.min_success_probability is not None
        or Objective.FAILURE_PROBABILITY in request.search.objectives
    )


def input_size(request: OptimizeRequest, task: Task) -> float:
    values = {s: sympy.Float(v, 30) for s, v in request.graph.values.items()}
    expr = task.input_tokens + request.graph.incoming_tokens(task.id)
    return float(sympy.N(expr.xreplace(values), 30))


def task_choices(evaluator: PlanEvaluator, task: Task, *, votes: bool) -> list[Choice]:
    """Every feasible plan of one task, identical figures merged (first kept)."""
    request = evaluator.request
    seen: set[tuple[float, ...]] = set()
    out: list[Choice] = []
    for operator in applicable_operators(task):
        spec = OPERATORS[operator]
        roles = spec.roles(task)
        per_role = []
        for role in roles:
            models = [
                m.name for m in request.catalog.models if evaluator.model_problem(role, m) is None
            ]
            vote_counts = VOTE_CHOICES if (votes and role.votable) else (1,)
            per_role.append([RoleAssignment(role.name, m, v) for m in models for v in vote_counts])
        param_values = []
        for param in spec.params(task):
            if param.name == "chunk":
                top = min(param.high, max(1, math.ceil(input_size(request, task))))
                param_values.append([(param.name, s) for s in range(param.low, top + 1)])
            else:
                param_values.append([(param.name, v) for v in range(param.low, param.high + 1)])
        for assignment in itertools.product(*per_role):
            for params in itertools.product(*param_values):
                plan = TaskPlan(task.id, operator, tuple(assignment), tuple(sorted(params)))
                outcome = evaluator.task_outcome(plan)
                if outcome.window_violation is not None:
                    continue
                key = (outcome.expected_cost, outcome.success_probability, outcome.latency)
                if key in seen:
                    continue
                seen.add(key)
                out.append((plan, outcome))
    return out


def all_choices(request: OptimizeRequest) -> tuple[PlanEvaluator, list[list[Choice]]]:
    evaluator = PlanEvaluator(request)
    votes = success_matters(request)
    return evaluator, [task_choices(evaluator, t, votes=votes) for t in request.graph.tasks]


def joint_size(choices: Sequence[Sequence[Choice]]) -> int:
    return math.prod(len(c) for c in choices)


def feasible(request: OptimizeRequest, outcome: PlanOutcome) -> bool:
    c = request.constraints
    return (
        (
            c.min_success_probability is None
            or outcome.success_probability >= c.min_success_probability
        )
        and (c.max_cost is None or outcome.expected_cost <= c.max_cost)
        and (c.max_latency is None or outcome.latency <= c.max_latency)
    )


def joint_plans(
    evaluator: PlanEvaluator, choices: Sequence[Sequence[Choice]]
) -> Iterator[tuple[Plan, PlanOutcome]]:
    ids = [t.id for t in evaluator.graph.tasks]
    for combo in itertools.product(*choices):
        outcome = evaluator.combine({i: c[1] for i, c in zip(ids, combo, strict=True)})
        yield Plan(tuple(c[0] for c in combo)), outcome


def brute_force(request: OptimizeRequest) -> tuple[Plan, PlanOutcome] | None:
    """The cheapest feasible plan, or None when there is none."""
    evaluator, choices = all_choices(request)
    best: tuple[Plan, PlanOutcome] | None = None
    for plan, outcome in joint_plans(evaluator, choices):
        if feasible(request, outcome) and (
            best is None or outcome.expected_cost < best[1].expected_cost
        ):
            best = (plan, outcome)
    return best


def objective_vector(outcome: PlanOutcome, objectives: Sequence[Objective]) -> tuple[float, ...]:
    values = {
        Objective.COST: outcome.expected_cost,
        Objective.LATENCY: outcome.latency,
        Objective.FAILURE_PROBABILITY: 1.0 - outcome.success_probability,
    }
    return tuple(values[o] for o in objectives)


def brute_front(request: OptimizeRequest) -> set[tuple[float, ...]]:
    """The objective vectors of the feasible Pareto front."""
    evaluator, choices = all_choices(request)
    objectives = request.search.objectives
    points = sorted(
        {
            objective_vector(outcome, objectives)
            for _, outcome in joint_plans(evaluator, choices)
            if feasible(request, outcome)
        }
    )
    front: list[tuple[float, ...]] = []
    for p in points:  # sorted: only an earlier point can dominate a later one
        if not any(all(a <= b for a, b in zip(q, p, strict=True)) for q in front):
            front.append(p)
    return set(front)
