"""A test-only brute-force optimizer: the full joint product of every task's choices.

Written apart from ``optimizer/`` and as plainly as possible: it uses only the catalog,
the operator registry and ``PlanEvaluator.task_outcome`` / ``combine``. The far point of
the scale ray is reached by rewriting the request itself (every growing parameter's value
multiplied, model sizes re-evaluated, AHEAD_BY_K's lead grown by hand), not through the
evaluator's own ``scale``. Per task it lists
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
from dataclasses import dataclass, replace

import sympy
from aalps.cost_models.domain import (
    Catalog,
    Objective,
    Operator,
    OptimizeRequest,
    Plan,
    RoleAssignment,
    SearchObjective,
    Task,
    TaskPlan,
)
from aalps.cost_models.evaluation import VOTE_CHOICES, PlanEvaluator, PlanOutcome, TaskOutcome
from aalps.cost_models.operators import OPERATORS, applicable_operators
from aalps.cost_models.plan_checks import model_problem

Choice = tuple[TaskPlan, TaskOutcome]


def ratio_objective(request: OptimizeRequest) -> bool:
    """Whether the request minimizes the cost of a correct result (the default)."""
    return (
        not request.search.objectives and request.search.objective is SearchObjective.COST_OF_PASS
    )


def success_matters(request: OptimizeRequest) -> bool:
    return (
        ratio_objective(request)
        or request.constraints.min_success_probability is not None
        or Objective.FAILURE_PROBABILITY in request.search.objectives
    )


def objective(request: OptimizeRequest, outcome: PlanOutcome) -> float:
    """What the request minimizes, in log space: log cost or log(cost / success)."""
    cost = math.log(outcome.expected_cost) if outcome.expected_cost > 0 else -math.inf
    if not ratio_objective(request):
        return cost
    if outcome.success_probability > 0:
        return cost - math.log(outcome.success_probability)
    return math.inf


def scaled_request(request: OptimizeRequest, scale: float) -> OptimizeRequest:
    """``request`` at ``scale`` along its ray: growing free parameters multiplied."""
    graph = request.graph
    free = {
        p.symbol: sympy.Float(p.value * scale if p.grows else p.value, 30)
        for p in graph.parameters
        if p.expr is None
    }

    def value(expr: sympy.Expr) -> float:
        return float(sympy.N(expr.xreplace(graph.substitutions).xreplace(free), 30))

    parameters = tuple(
        replace(p, value=float(free[p.symbol]) if p.expr is None else value(p.expr))
        for p in graph.parameters
    )
    models = tuple(
        m if not m.size.free_symbols or m.size.is_Symbol else replace(m, size_value=value(m.size))
        for m in request.catalog.models
    )
    return replace(request, graph=replace(graph, parameters=parameters), catalog=Catalog(models))


def grown_lead(request: OptimizeRequest, far: OptimizeRequest, task_plan: TaskPlan) -> TaskPlan:
    """An AHEAD_BY_K task plan with its lead grown so that ``steps·r^lead`` stays put."""
    if task_plan.operator is not Operator.AHEAD_BY_K:
        return task_plan
    task = request.graph.task_by_id[task_plan.task_id]
    assert task.steps is not None
    model = request.catalog.by_name[task_plan.roles[0].model]
    values = {s: sympy.Float(v, 30) for s, v in request.graph.values.items()}
    far_values = {s: sympy.Float(v, 30) for s, v in far.graph.values.items()}

    def at(expr: sympy.Expr, point: dict[sympy.Symbol, sympy.Float]) -> float:
        return float(sympy.N(expr.xreplace(point), 30))

    # The worker's reliability on one step's call, with its per-token decay.
    step_in = at(task.prompt_tokens + task.steps.tokens, values)
    p = float(model.capabilities[task.role_capability(Operator.AHEAD_BY_K, "worker")])
    p *= (1 - float(model.per_token_error)) ** step_in
    if not 0.5 < p < 1.0:
        return task_plan
    s0, s1 = at(task.steps.count, values), at(task.steps.count, far_values)
    # The lead that keeps steps·((1−p)/p)^lead where it is at the scale point.
    extra = math.ceil(math.log(s1 / s0) / math.log(p / (1 - p)) - 1e-9)
    params = tuple((k, v + extra if k == "ahead" else v) for k, v in task_plan.params)
    return replace(task_plan, params=params)


def input_size(request: OptimizeRequest, task: Task) -> float:
    values = {s: sympy.Float(v, 30) for s, v in request.graph.values.items()}
    expr = task.input_tokens + request.graph.incoming_tokens(task.id)
    return float(sympy.N(expr.xreplace(values), 30))


#: AHEAD_BY_K leads tried: past about 45 the small random requests' chains fail with less than
#: a float's resolution, so longer leads only cost more.
MAX_LEAD = 64
#: The far point of the scale ray (DESIGN §2: the asymptotic plan is the argmin there).
FAR = 1e6


def task_choices(
    evaluator: PlanEvaluator,
    task: Task,
    *,
    votes: bool,
    far: dict[TaskPlan, TaskOutcome] | None = None,
) -> list[Choice]:
    """Every feasible plan of one task, identical figures merged (first kept).

    With ``far`` (filled here), each choice's figures at :data:`FAR` join the merge key.
    """
    request = evaluator.request
    seen: set[tuple[float, ...]] = set()
    out: list[Choice] = []
    for operator in applicable_operators(task):
        spec = OPERATORS[operator]
        roles = spec.roles(task)
        per_role = []
        for role in roles:
            models = [m.name for m in request.catalog.models if model_problem(role, m) is None]
            vote_counts = VOTE_CHOICES if (votes and role.votable) else (1,)
            per_role.append([RoleAssignment(role.name, m, v) for m in models for v in vote_counts])
        param_values = []
        for param in spec.params(task):
            if param.name == "chunk":
                top = min(param.high, max(1, math.ceil(input_size(request, task))))
                param_values.append([(param.name, s) for s in range(param.low, top + 1)])
            else:
                top = min(param.high, MAX_LEAD) if param.name == "ahead" else param.high
                param_values.append([(param.name, v) for v in range(param.low, top + 1)])
        for assignment in itertools.product(*per_role):
            for params in itertools.product(*param_values):
                plan = TaskPlan(task.id, operator, tuple(assignment), tuple(sorted(params)))
                outcome = evaluator.task_outcome(plan)
                if outcome.window_violation is not None:
                    continue
                key: tuple[float, ...] = (
                    outcome.expected_cost,
                    outcome.success_probability,
                    outcome.latency,
                )
                if far is not None:
                    far_outcome = far_outcome_of(evaluator.request, plan)
                    far[plan] = far_outcome
                    key += (far_outcome.expected_cost, far_outcome.success_probability)
                if key in seen:
                    continue
                seen.add(key)
                out.append((plan, outcome))
    return out


_FAR_EVALUATORS: dict[int, tuple[OptimizeRequest, PlanEvaluator]] = {}


def far_evaluator(request: OptimizeRequest) -> tuple[OptimizeRequest, PlanEvaluator]:
    key = id(request)
    if key not in _FAR_EVALUATORS or _FAR_EVALUATORS[key][0] is not request:
        far = scaled_request(request, FAR)
        _FAR_EVALUATORS[key] = (request, PlanEvaluator(far))
    return _FAR_EVALUATORS[key]


def far_outcome_of(request: OptimizeRequest, task_plan: TaskPlan) -> TaskOutcome:
    """A task plan's figures at :data:`FAR` along the ray (lead grown for AHEAD_BY_K)."""
    _, evaluator = far_evaluator(request)
    return evaluator.task_outcome(grown_lead(request, evaluator.request, task_plan))


def all_choices(
    request: OptimizeRequest, *, far: dict[TaskPlan, TaskOutcome] | None = None
) -> tuple[PlanEvaluator, list[list[Choice]]]:
    evaluator = PlanEvaluator(request)
    votes = success_matters(request)
    return evaluator, [
        task_choices(evaluator, t, votes=votes, far=far) for t in request.graph.tasks
    ]


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
    """The feasible plan with the least objective, or None when there is none."""
    evaluator, choices = all_choices(request)
    best: tuple[Plan, PlanOutcome] | None = None
    best_value = math.inf
    for plan, outcome in joint_plans(evaluator, choices):
        value = objective(request, outcome)
        if feasible(request, outcome) and (best is None or value < best_value):
            best, best_value = (plan, outcome), value
    return best


@dataclass(frozen=True)
class Optima:
    """The brute-force answers: the best objective here and far along the ray."""

    value: float  # least objective at the scale point (log space)
    far_value: float  # least objective at FAR among feasible plans (log space)
    plans: list[tuple[Plan, float, float]]  # every feasible plan: (plan, here, far)

    def far_value_of(self, plan: Plan) -> float:
        return next(f for p, _, f in self.plans if p == plan)


def brute_optima(request: OptimizeRequest) -> Optima:
    """Every feasible plan's objective at the scale point and at :data:`FAR`."""
    far: dict[TaskPlan, TaskOutcome] = {}
    evaluator, choices = all_choices(request, far=far)
    far_request, far_eval = far_evaluator(request)
    ids = [t.id for t in evaluator.graph.tasks]
    plans = []
    for plan, outcome in joint_plans(evaluator, choices):
        if not feasible(request, outcome):
            continue
        far_outcome = far_eval.combine({i: far[tp] for i, tp in zip(ids, plan.tasks, strict=True)})
        plans.append((plan, objective(request, outcome), far_objective(request, far_outcome)))
    value = min((h for _, h, _ in plans), default=math.inf)
    far_value = min((f for _, _, f in plans), default=math.inf)
    return Optima(value, far_value, plans)


def far_objective(request: OptimizeRequest, outcome: PlanOutcome) -> float:
    """The objective at FAR from figures that may overflow or underflow a float."""
    if not ratio_objective(request):
        return outcome.log_cost
    return outcome.log_cost - outcome.log_success


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
