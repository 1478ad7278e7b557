"""Plan evaluation, two ways: symbolic (for bounds and display) and numeric (for the search).

:class:`PlanEvaluator` is built once per request. It precomputes every task's sizes at the
scale point, so scoring a candidate runs the operator's formula on floats: a few microseconds
per task the first time a (task, operator, models, parameters) choice is seen and a dict
look-up after that. The symbolic cost comes from the very same formula run on sympy
expressions, so the two agree by construction (and tests check that they do).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import mpmath
import networkx as nx
import sympy
from aalps.cost_models.arithmetic import BIG, FLOAT, SYMBOLIC, Arithmetic, Value
from aalps.cost_models.bounds import Bound, Separation, derive_bound, separation
from aalps.cost_models.call_costs import Pricing, call_cost
from aalps.cost_models.domain import (
    CHUNK,
    Model,
    Operator,
    OptimizeRequest,
    Plan,
    RoleAssignment,
    Task,
    TaskGraph,
    TaskPlan,
)
from aalps.cost_models.errors import FieldViolation, InvalidRequestError
from aalps.cost_models.operators import OPERATORS, CallGroup, RoleSpec, Schedule, TaskShape
from aalps.cost_models.stochastic import (
    lead_choices,
    majority_vote_success,
    retry_attempts_quantile,
    retry_sum_quantile,
    tail_quantile,
)

VOTE_CHOICES = (1, 3, 5, 7, 9)
_VERIFIED = (Operator.GLOBAL_RETRY, Operator.LOCAL_RETRY)


def _cost_of_pass(cost: float, success: float) -> float:
    """E[cost] / P(success): the expected cost of a correct result (inf when never right)."""
    if success <= 0.0:
        return math.inf
    return cost / success


def _log_cost_of_pass(log_cost: float, log_success: float) -> float:
    if log_success == -math.inf:
        return math.inf
    return log_cost - log_success


def _log_probability(p: float) -> float:
    return math.log(p) if p > 0.0 else -math.inf


@dataclass(frozen=True)
class TaskOutcome:
    """A task plan's figures at one point of the scale ray (the scale point by default).

    ``log_success`` is the natural log of the success probability, finite even when the
    float ``success_probability`` underflows to 0 (−inf only when success is exactly 0).
    """

    expected_cost: float
    log_cost: float
    success_probability: float
    latency: float
    cost_variance: float
    window_violation: str | None = None
    retry: RetryTail | None = None
    log_success: float = math.nan

    def __post_init__(self) -> None:
        if math.isnan(self.log_success):
            object.__setattr__(self, "log_success", _log_probability(self.success_probability))

    @property
    def cost_of_pass(self) -> float:
        """E[cost] / P(success) (math.inf when success is 0)."""
        return _cost_of_pass(self.expected_cost, self.success_probability)

    @property
    def log_cost_of_pass(self) -> float:
        """log E[cost] − log P(success), finite when the two overflow and underflow."""
        return _log_cost_of_pass(self.log_cost, self.log_success)


@dataclass(frozen=True)
class RetryTail:
    """The random part of a retry-until-accepted task: ``units`` geometric attempt counts."""

    units: int
    accept: float
    per_attempt: float
    mean: float


@dataclass(frozen=True)
class TaskEvaluation:
    plan: TaskPlan
    cost: sympy.Expr
    outcome: TaskOutcome


@dataclass(frozen=True)
class PlanOutcome:
    """A whole plan's figures at one point of the scale ray (what the search compares).

    ``cost_p95`` (the 95th-percentile cost) is computed on first use: exact when the random
    part of the cost is retries whose attempt counts can be convolved, else moment-matched,
    and then ``cost_p95_approximate`` is True.
    """

    expected_cost: float
    log_cost: float
    success_probability: float
    latency: float
    window_violation: str | None = None
    log_success: float = math.nan
    cost_variance: float = 0.0
    random_tasks: tuple[TaskOutcome, ...] = ()

    def __post_init__(self) -> None:
        if math.isnan(self.log_success):
            object.__setattr__(self, "log_success", _log_probability(self.success_probability))

    @property
    def cost_of_pass(self) -> float:
        """E[cost] / P(success) (math.inf when success is 0)."""
        return _cost_of_pass(self.expected_cost, self.success_probability)

    @property
    def log_cost_of_pass(self) -> float:
        """log E[cost] − log P(success), finite when the two overflow and underflow."""
        return _log_cost_of_pass(self.log_cost, self.log_success)

    @cached_property
    def _tail(self) -> tuple[float, bool]:
        return _cost_p95(self.expected_cost, self.cost_variance, list(self.random_tasks))

    @property
    def cost_p95(self) -> float:
        """95th percentile of the plan's cost."""
        return self._tail[0]

    @property
    def cost_p95_approximate(self) -> bool:
        """Whether ``cost_p95`` is moment-matched rather than exact."""
        return self._tail[1]


@dataclass(frozen=True)
class PlanEvaluation:
    plan: Plan
    tasks: tuple[TaskEvaluation, ...]
    cost: sympy.Expr
    outcome: PlanOutcome
    bound: Bound


def _log_sum(logs: Iterable[float]) -> float:
    values = list(logs)
    top = max(values, default=-math.inf)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def _to_float(value: Value) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _log_of(value: Value) -> float:
    if isinstance(value, float):
        return math.log(value) if value > 0 else -math.inf
    return float(mpmath.log(value)) if value > 0 else -math.inf


class _Compiled:
    """One task's sizes: numbers at once (the search needs them), the rest on first use.

    ``values`` is the point of the scale ray the numbers are taken at; ``reference`` the
    task's step count at the scale point itself (AHEAD_BY_K's lead is set there).
    """

    def __init__(
        self,
        task: Task,
        incoming: sympy.Expr,
        values: Mapping[sympy.Symbol, Any],
        reference: float,
        fast: bool = False,
    ) -> None:
        self.task, self.incoming, self.values = task, incoming, values
        self.reference, self.fast = reference, fast
        self.numeric = _shape(task, incoming, values, reference, fast=fast)

    @cached_property
    def symbolic(self) -> TaskShape:
        return _shape(self.task, self.incoming, None, self.reference)

    @cached_property
    def big(self) -> TaskShape:
        """Sizes as mpmath numbers, for the rare plan whose cost overflows a float."""
        return _shape(self.task, self.incoming, self.values, self.reference, True, self.fast)


@lru_cache(maxsize=8192)
def _ray_function(
    expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], module: str
) -> Callable[..., Value]:
    """``expr`` compiled once as a function of the parameters (shared by every ray point)."""
    fn: Callable[..., Value] = sympy.lambdify(symbols, expr, modules=module)
    return fn


_POINTS: dict[int, tuple[Mapping[sympy.Symbol, Any], bool, tuple[Any, ...], tuple[Any, ...]]] = {}


def _point_arguments(
    values: Mapping[sympy.Symbol, Any], big: bool
) -> tuple[tuple[sympy.Symbol, ...], tuple[Any, ...]]:
    """A ray point's symbols (in a fixed order) and their numbers, worked out once per point."""
    known = _POINTS.get(id(values))
    if known is not None and known[0] is values and known[1] == big:
        return known[2], known[3]
    symbols = tuple(sorted(values, key=str))
    args = tuple(mpmath.mpf(str(values[s])) if big else float(values[s]) for s in symbols)
    if len(_POINTS) > 64:
        _POINTS.clear()
    _POINTS[id(values)] = (values, big, symbols, args)
    return symbols, args


def _shape(
    task: Task,
    incoming: sympy.Expr,
    values: Mapping[sympy.Symbol, Any] | None,
    reference: float,
    big: bool = False,
    fast: bool = False,
) -> TaskShape:
    """The task's sizes: sympy expressions (``values`` None) or numbers at ``values``.

    At the scale point numbers come from 30-digit sympy evaluation; at other points of the
    ray (evaluators built many times over by the crossover search) from functions compiled
    once per expression, called with the point's values.
    """
    module = "mpmath" if big else "math"
    fast = fast and values is not None
    symbols, args = _point_arguments(values, big) if fast and values is not None else ((), ())

    def v(expr: sympy.Expr) -> Value:
        if values is None:
            return expr
        if fast:
            try:
                number = _ray_function(expr, symbols, module)(*args)
            except OverflowError:
                return math.inf
            return number if big else _to_float(number)
        number = sympy.N(expr.xreplace(values), 30)
        return mpmath.mpf(str(number)) if big else _to_float(number)

    def aggregate(expr: sympy.Expr) -> Callable[[Value], Value]:
        if values is None:
            return lambda size: expr.xreplace({CHUNK: size})
        if CHUNK not in expr.free_symbols:
            constant = v(expr)
            return lambda size: constant
        if fast:
            compiled = _ray_function(expr, (CHUNK, *symbols), module)
            return lambda size: compiled(size, *args)
        bound = expr.xreplace(values)
        fn: Callable[[Value], Value] = sympy.lambdify(CHUNK, bound, modules=module)
        return fn

    b, d, s = task.blocks, task.defects, task.steps
    return TaskShape(
        whole_input=v(task.input_tokens + incoming),
        output=v(task.output_tokens),
        prompt=v(task.prompt_tokens),
        block_count=v(b.count) if b else 0,
        block_size=v(b.size) if b else 0,
        block_output=v(b.output) if b else 0,
        routing_tokens=v(task.routing.tokens) if task.routing else 0,
        defect_count=v(d.count) if d else 0,
        report_tokens=v(d.report_tokens) if d else 0,
        acceptance=v(task.acceptance.success_probability) if task.acceptance else 1,
        llm_verifier=bool(task.acceptance and task.acceptance.verifier),
        llm_aggregator=bool(task.chunkable and task.chunkable.aggregator),
        aggregate_tokens=aggregate(task.chunkable.aggregate_tokens) if task.chunkable else None,
        step_count=v(s.count) if s else 0,
        step_tokens=v(s.tokens) if s else 0,
        step_output=v(s.output) if s else 1,
        step_reference=(
            0
            if not s
            else SYMBOLIC.number(reference)
            if values is None
            else mpmath.mpf(reference)
            if big
            else reference
        ),
    )


def _cost_p95(cost: float, variance: float, random: list[TaskOutcome]) -> tuple[float, bool]:
    """95th percentile of the plan's cost, and whether it is approximate.

    When every random cost is a retry (attempt counts times a per-attempt cost) the quantile
    comes from the attempt counts' exact distributions: one task's negative binomial, or the
    convolution of several (:func:`~aalps.cost_models.stochastic.retry_sum_quantile`: exact on the
    lattice of commensurate per-attempt costs, else on a 2^16-point grid, within a few
    1e-5 of the span). Other random costs (AHEAD_BY_K's samples), or attempt counts too long
    to walk, get the moment-matched gamma quantile, flagged approximate.
    """
    if not math.isfinite(cost) or variance <= 0.0:
        return cost, False
    tails = [o.retry for o in random]
    if tails and all(t is not None for t in tails):
        retries = [t for t in tails if t is not None]
        fixed = cost - math.fsum(t.mean for t in retries)
        if len(retries) == 1:
            tail = retries[0]
            attempts = retry_attempts_quantile(tail.units, tail.accept)
            if attempts is not None:
                return fixed + attempts * tail.per_attempt, False
        summed = retry_sum_quantile([(t.units, t.accept, t.per_attempt) for t in retries])
        if summed is not None:
            return fixed + summed[0], False
    return tail_quantile(cost, variance), True


def group_cost(
    group: CallGroup, cost_model: Any, pricing: Pricing, votes: int, arithmetic: Arithmetic
) -> Value:
    """Σ over the group's calls of one call's cost, times the votes.

    Calls read an arithmetic progression of inputs; the cost of one call is a polynomial of
    degree ≤ 2 in the call's index, so the sum is exact from three evaluations and the first
    two moments of the index.
    """
    if group.input_step == 0:
        return votes * group.calls * call_cost(cost_model, pricing, group.input, group.output)

    def f(j: int) -> Value:
        return call_cost(
            cost_model, pricing, group.input + (j - 1) * group.input_step, group.output
        )

    f0, f1, f2 = f(0), f(1), f(2)
    gamma = (f2 - 2 * f1 + f0) / 2
    beta = f1 - f0 - gamma
    n = group.calls
    mean_j = (n + 1) / 2
    mean_j2 = (n + 1) * (2 * n + 1) / 6
    total = n * (f0 + beta * mean_j + gamma * mean_j2)
    if arithmetic.symbolic:
        total = sympy.expand(total)
    return votes * total


@dataclass(frozen=True)
class _ModelNumbers:
    """A model's figures in one arithmetic, converted once per evaluator."""

    pricing: Pricing
    capabilities: Mapping[str, Value]
    keep_per_token: Value | None  # 1 − per_token_error, None when there is no decay

    @staticmethod
    def table(
        catalog: Any, arithmetic: Arithmetic, sizes: Mapping[str, float]
    ) -> dict[str, _ModelNumbers]:
        num = arithmetic.number
        table = {}
        for m in catalog.models:
            size = m.size if arithmetic.symbolic else num(sizes[m.name])
            table[m.name] = _ModelNumbers(
                Pricing(size, num(m.price_per_input_token), num(m.price_per_output_token)),
                {cap: num(p) for cap, p in m.capabilities.items()},
                None if m.per_token_error == 0 else 1 - num(m.per_token_error),
            )
        return table


def ray_values(graph: TaskGraph, scale: float) -> dict[sympy.Symbol, sympy.Float]:
    """Every parameter's value at ``scale`` along the scale ray (DESIGN §2).

    Growing free parameters are multiplied by ``scale`` from their scale-point value,
    defined parameters follow from their definitions, the others stay.
    """
    if scale == 1.0:
        return {s: sympy.Float(v, 30) for s, v in graph.values.items()}
    values: dict[sympy.Symbol, sympy.Float] = {}
    for p in graph.parameters:
        if p.expr is None:
            values[p.symbol] = sympy.Float(p.value * scale if p.grows else p.value, 30)
    for symbol, expr in graph.substitutions.items():
        values[symbol] = sympy.Float(sympy.N(expr.xreplace(values), 30), 30)
    return values


def _model_sizes(
    request: OptimizeRequest, values: Mapping[sympy.Symbol, Any], scale: float
) -> dict[str, float]:
    """Every model's size at the ray point: a size such as ``k*m_s`` follows its parameters."""
    sizes = {}
    for m in request.catalog.models:
        size = m.size_value
        free = m.size.free_symbols
        if scale != 1.0 and free and free <= set(values):
            try:
                size = float(sympy.N(m.size.xreplace(values), 30))
            except (OverflowError, TypeError):
                size = math.inf
        sizes[m.name] = size
    return sizes


class PlanEvaluator:
    """Scores plans of one request; build once, evaluate many candidates.

    ``scale``: the point of the request's scale ray where every numeric figure is taken
    (1.0, the default, is the scale point itself). Every growing free parameter is multiplied
    by ``scale``, defined parameters and model sizes that are expressions (``k*m_s``) follow,
    numbers stay; AHEAD_BY_K's lead grows from ``ahead`` with the steps
    (:func:`~aalps.cost_models.stochastic.lead_at_scale`). Symbolic costs do not depend on it.
    """

    def __init__(self, request: OptimizeRequest, *, scale: float = 1.0) -> None:
        if not scale > 0.0 or not math.isfinite(scale):
            raise ValueError(f"scale must be a positive number, not {scale}")
        self.request = request
        self.graph = request.graph
        self.catalog = request.catalog
        self.scale = scale
        values = ray_values(self.graph, scale)
        reference = values if scale == 1.0 else ray_values(self.graph, 1.0)
        self._model_sizes = _model_sizes(request, values, scale)
        incoming: dict[str, list[sympy.Expr]] = {t.id: [] for t in self.graph.tasks}
        for edge in self.graph.edges:
            incoming[edge.target].append(edge.tokens)
        self._compiled = {
            t.id: _Compiled(
                t,
                sympy.Add(*incoming[t.id]),
                values,
                float(sympy.N(t.steps.count.xreplace(reference), 30)) if t.steps else 0.0,
                fast=scale != 1.0,
            )
            for t in self.graph.tasks
        }
        self._successes: dict[TaskPlan, sympy.Expr] = {}
        self._outcomes: dict[TaskPlan, TaskOutcome] = {}
        self._numbers: dict[str, dict[str, _ModelNumbers]] = {}
        self._capabilities: dict[tuple[str, Operator], dict[str, str]] = {}
        self._costs: dict[TaskPlan, sympy.Expr] = {}
        self._order = list(nx.topological_sort(self.graph.dag))
        position = {t: i for i, t in enumerate(self._order)}
        self._pred_index = [
            [position[p] for p in self.graph.dag.predecessors(t)] for t in self._order
        ]

    # --- feasibility -------------------------------------------------------------------

    def role_specs(self, task: Task, operator: Operator) -> tuple[RoleSpec, ...]:
        return OPERATORS[operator].roles(task)

    def model_problem(self, spec: RoleSpec, model: Model) -> str | None:
        """Why ``model`` cannot play the role (capability, per-variant), or None."""
        if spec.capability not in model.capabilities:
            return f"model {model.name} lacks capability {spec.capability}"
        if model.per_variant and not spec.per_variant_allowed:
            return f"model {model.name} is per-variant: usable only as a ROUTE specialist"
        return None

    def task_plan_problems(self, task_plan: TaskPlan) -> list[FieldViolation]:
        """Everything wrong with a caller-supplied task plan (names the plan's fields)."""
        where = f"plan.tasks[{task_plan.task_id}]"
        task = self.graph.task_by_id.get(task_plan.task_id)
        if task is None:
            return [FieldViolation(f"{where}.task_id", "no such task in the graph")]
        spec = OPERATORS[task_plan.operator]
        missing = spec.missing(task)
        if missing:
            return [FieldViolation(f"{where}.operator", f"{task_plan.operator} {missing}")]
        problems: list[FieldViolation] = []
        assigned = task_plan.role_map
        for role in spec.roles(task):
            assignment = assigned.get(role.name)
            if assignment is None:
                problems.append(FieldViolation(f"{where}.roles", f"role {role.name} has no model"))
                continue
            model = self.catalog.by_name.get(assignment.model)
            if model is None:
                problems.append(
                    FieldViolation(
                        f"{where}.roles[{role.name}].model", "no such model in the catalog"
                    )
                )
                continue
            problem = self.model_problem(role, model)
            if problem:
                problems.append(FieldViolation(f"{where}.roles[{role.name}].model", problem))
            if assignment.votes not in VOTE_CHOICES or (assignment.votes > 1 and not role.votable):
                problems.append(
                    FieldViolation(
                        f"{where}.roles[{role.name}].votes",
                        "votes must be an odd number 1-9, and 1 for roles that cannot vote",
                    )
                )
        extra = set(assigned) - {r.name for r in spec.roles(task)}
        for name in sorted(extra):
            problems.append(FieldViolation(f"{where}.roles[{name}]", "not a role of the operator"))
        params = task_plan.param_map
        for p in spec.params(task):
            value = params.get(p.name)
            if value is None or not p.low <= value <= p.high:
                problems.append(
                    FieldViolation(
                        f"{where}.params.{p.name}", f"needs an integer in [{p.low}, {p.high}]"
                    )
                )
        return problems

    def validate_plan(self, plan: Plan) -> None:
        problems = [v for tp in plan.tasks for v in self.task_plan_problems(tp)]
        ids = [tp.task_id for tp in plan.tasks]
        for task in self.graph.tasks:
            if task.id not in ids:
                problems.append(FieldViolation("plan.tasks", f"task {task.id} has no plan"))
        if len(set(ids)) != len(ids):
            problems.append(FieldViolation("plan.tasks", "a task is planned twice"))
        if problems:
            raise InvalidRequestError(problems)

    # --- one task ----------------------------------------------------------------------

    def _run(
        self, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
    ) -> tuple[Schedule, dict[str, Pricing], dict[str, int], dict[str, Model]]:
        task = self.graph.task_by_id[task_plan.task_id]
        spec = OPERATORS[task_plan.operator]
        capability = self._capabilities.get((task.id, task_plan.operator))
        if capability is None:
            capability = {r.name: r.capability for r in spec.roles(task)}
            self._capabilities[(task.id, task_plan.operator)] = capability
        assigned = {r.role: r for r in task_plan.roles}
        by_name = self.catalog.by_name
        models = {role: by_name[assigned[role].model] for role in capability}
        votes = {role: assigned[role].votes for role in capability}
        numbers = self._numbers.get(arithmetic.name)
        if numbers is None:
            numbers = self._numbers[arithmetic.name] = _ModelNumbers.table(
                self.catalog, arithmetic, self._model_sizes
            )
        rel = {role: numbers[m.name].capabilities[capability[role]] for role, m in models.items()}
        decay = {role: numbers[m.name].keep_per_token for role, m in models.items()}

        def reliability(role: str, tokens_in: Value, decisions: Value = 1) -> Value:
            p = rel[role]
            if decay[role] is not None:
                p = p * decay[role] ** tokens_in
            if decisions != 1:
                p = p**decisions
            return majority_vote_success(p, votes[role])

        pricing = {role: numbers[m.name].pricing for role, m in models.items()}
        schedule = spec.schedule(shape, reliability, task_plan.param_map, arithmetic)
        if task.acceptance is not None and task_plan.operator not in _VERIFIED:
            # Unverified attempts: each block is right only with the acceptance probability.
            units = shape.block_count if shape.block_count != 0 else 1
            success = schedule.success * shape.acceptance**units
            schedule = Schedule(schedule.groups, success)
        return schedule, pricing, votes, models

    def task_cost(self, task_plan: TaskPlan) -> sympy.Expr:
        """The symbolic expected cost of one task plan (cached)."""
        cost = self._costs.get(task_plan)
        if cost is None:
            shape = self._compiled[task_plan.task_id].symbolic
            schedule, pricing, votes, _ = self._run(task_plan, SYMBOLIC, shape)
            cost = sympy.Add(
                *(
                    group_cost(g, self.request.cost_model, pricing[g.role], votes[g.role], SYMBOLIC)
                    for g in schedule.groups
                )
            )
            self._costs[task_plan] = cost
        return cost

    def task_success(self, task_plan: TaskPlan) -> sympy.Expr:
        """The symbolic success probability of one task plan in the graph's parameters (cached).

        The numeric formula run on sympy expressions (ITERATE_WITH_HISTORY's calls at their
        mean length); AHEAD_BY_K's lead grows with the steps as in :meth:`task_cost`.
        """
        success = self._successes.get(task_plan)
        if success is None:
            shape = self._compiled[task_plan.task_id].symbolic
            schedule, _, _, _ = self._run(task_plan, SYMBOLIC, shape)
            value = schedule.success
            if not isinstance(value, sympy.Basic):
                value = SYMBOLIC.number(value)  # a plain 1 when nothing can fail
            success = self._successes[task_plan] = value
        return success

    def plan_success(self, plan: Plan) -> sympy.Expr:
        """The symbolic success probability of a plan: the product over its tasks."""
        return sympy.Mul(*(self.task_success(tp) for tp in plan.tasks))

    def lead_choices(self, task_id: str, model: str, target: float | None) -> tuple[int, ...]:
        """AHEAD_BY_K's candidate leads for ``task_id`` with worker ``model`` (no votes).

        :func:`~aalps.cost_models.stochastic.lead_choices` with the model's per-sample reliability
        on one step (per-token error applied) and the task's step count at the scale point.
        """
        task = self.graph.task_by_id[task_id]
        assert task.steps is not None
        compiled = self._compiled[task_id]
        shape = compiled.numeric
        m = self.catalog.by_name[model]
        capability = task.role_capability(Operator.AHEAD_BY_K, "worker")
        p = float(m.capabilities[capability])
        if m.per_token_error:
            p *= (1.0 - float(m.per_token_error)) ** (shape.prompt + shape.step_tokens)
        return lead_choices(p, compiled.reference, target)

    def task_outcome(self, task_plan: TaskPlan) -> TaskOutcome:
        """The numeric figures of one task plan at the evaluator's ray point (cached)."""
        outcome = self._outcomes.get(task_plan)
        if outcome is None:
            compiled = self._compiled[task_plan.task_id]
            try:
                outcome = self._numeric(task_plan, FLOAT, compiled.numeric)
            except (OverflowError, ZeroDivisionError):
                outcome = None
            if (
                outcome is None
                or not math.isfinite(outcome.expected_cost)
                or outcome.success_probability == 0.0  # underflow: log_success from mpmath
            ):
                outcome = self._numeric(task_plan, BIG, compiled.big)
            self._outcomes[task_plan] = outcome
        return outcome

    def _numeric(
        self, task_plan: TaskPlan, arithmetic: Arithmetic, shape: TaskShape
    ) -> TaskOutcome:
        schedule, pricing, votes, models = self._run(task_plan, arithmetic, shape)
        parallelism = self.request.constraints.parallelism
        cost_model = self.request.cost_model
        cost: Value = 0
        latency: Value = 0
        violation = None
        # Per-attempt cost of each random group, with the groups that follow its attempts.
        per_attempt = {
            g.role: votes[g.role] * call_cost(cost_model, pricing[g.role], g.input, g.output)
            for g in schedule.groups
            if g.variance or g.follows
        }
        variance: Value = 0
        retry = None
        for g in schedule.groups:
            model, r = models[g.role], votes[g.role]
            cost = cost + group_cost(g, cost_model, pricing[g.role], r, arithmetic)
            if g.variance:
                one = per_attempt[g.role] + sum(
                    per_attempt[f.role] for f in schedule.groups if f.follows == g.role
                )
                variance = variance + g.variance * one * one
                if g.retry_units and retry is None:
                    units = int(round(_to_float(g.retry_units)))
                    mean = _to_float(g.calls * one)
                    retry = RetryTail(units, _to_float(g.retry_accept), _to_float(one), mean)
            mean_in = g.input + (g.calls - 1) * g.input_step / 2
            rounds = g.stages * arithmetic.rounds(g.parallel * r, parallelism)
            latency = latency + rounds * model.latency_per_token * (mean_in + g.output)
            peak = _to_float(g.max_input() + g.output)
            if violation is None and not model.fits(peak):
                violation = (
                    f"{g.role} call of {peak:.6g} tokens exceeds {model.name}'s context window "
                    f"of {model.context_window:.6g}"
                )
        return TaskOutcome(
            expected_cost=_to_float(cost),
            log_cost=_log_of(cost),
            success_probability=_to_float(schedule.success),
            latency=_to_float(latency),
            cost_variance=_to_float(variance),
            window_violation=violation,
            retry=retry,
            log_success=_log_of(schedule.success),
        )

    # --- whole plans -------------------------------------------------------------------

    def outcome(self, plan: Plan) -> PlanOutcome:
        """Numeric figures of a plan: the search's objective and constraints."""
        cache = self._outcomes
        outcomes = {}
        for tp in plan.tasks:
            known = cache.get(tp)
            outcomes[tp.task_id] = known if known is not None else self.task_outcome(tp)
        return self.combine(outcomes)

    def combine(self, outcomes: Mapping[str, TaskOutcome]) -> PlanOutcome:
        """Sum costs, multiply success, take the critical path of latencies."""
        ordered = [outcomes[t] for t in self._order]
        finish = [0.0] * len(ordered)
        cost = variance = longest = log_success = 0.0
        success = 1.0
        violation = None
        random: list[TaskOutcome] = []
        for i, (o, preds) in enumerate(zip(ordered, self._pred_index, strict=True)):
            start = 0.0
            for p in preds:
                if finish[p] > start:
                    start = finish[p]
            end = finish[i] = start + o.latency
            if end > longest:
                longest = end
            cost += o.expected_cost
            success *= o.success_probability
            log_success += o.log_success
            if o.cost_variance:
                variance += o.cost_variance
                random.append(o)
            if violation is None and o.window_violation:
                violation = o.window_violation
        if 0.0 < cost < math.inf:
            log_cost = math.log(cost)
        else:
            log_cost = _log_sum(o.log_cost for o in ordered)
        return PlanOutcome(
            expected_cost=cost,
            log_cost=log_cost,
            success_probability=success,
            latency=longest,
            window_violation=violation,
            log_success=log_success,
            cost_variance=variance,
            random_tasks=tuple(random),
        )

    def plan_cost(self, plan: Plan) -> sympy.Expr:
        return sympy.Add(*(self.task_cost(tp) for tp in plan.tasks))

    def bound_of(self, cost: sympy.Expr) -> Bound:
        """Θ of a symbolic cost, in the graph's free parameters."""
        return derive_bound(
            cost.xreplace(self.graph.substitutions),
            growing=self.graph.growing,
            model_symbols=self.model_symbols,
            assumptions=self.graph.assumptions,
        )

    @cached_property
    def model_symbols(self) -> frozenset[sympy.Symbol]:
        return self.request.model_symbols

    def evaluate(self, plan: Plan) -> PlanEvaluation:
        """Symbolic cost, numeric figures and Θ bound of a (validated) plan."""
        tasks = tuple(
            TaskEvaluation(tp, self.task_cost(tp), self.task_outcome(tp)) for tp in plan.tasks
        )
        cost = sympy.Add(*(t.cost for t in tasks))
        outcome = self.combine({t.plan.task_id: t.outcome for t in tasks})
        return PlanEvaluation(plan, tasks, cost, outcome, self.bound_of(cost))

    def separation(self, baseline: PlanEvaluation, plan: PlanEvaluation) -> list[Separation]:
        return separation(baseline.bound, plan.bound, assumptions=self.graph.assumptions)


def make_task_plan(task_id: str, operator: Operator, **models: str | tuple[str, int]) -> TaskPlan:
    """A task plan from keyword roles: ``make_task_plan("t", ROUTE, delegator="d")``."""
    roles = []
    for role, choice in models.items():
        name, votes = (choice, 1) if isinstance(choice, str) else choice
        roles.append(RoleAssignment(role, name, votes))
    return TaskPlan(task_id, operator, tuple(roles))
