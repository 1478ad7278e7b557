"""Crossovers: plans dearer at the scale point that win as the sizes grow.

For each task and each other operator that applies to it, the alternative plan swaps that
task's plan for the operator's cheapest choice that keeps the plan feasible (the other
tasks unchanged). The alternative differs from the best plan in one task, so it is
eventually cheaper exactly when that task's cost is: the test compares the two task costs.
Model sizes are constants when comparing growth, so every model-size symbol is set to 1;
``derive_bound(a + b)`` equal to ``Θ(b)`` and different from ``Θ(a)`` means ``a`` grows
strictly slower than ``b``.

Only alternatives still cheaper far along the scaling path (``s = 2**MAX_DOUBLINGS``,
scored numerically by an evaluator built at that point) get the symbolic test: a crossing
further out than that is of no practical interest, and the test is the expensive part.

Where the alternative becomes cheaper: along the scaling path (every free growing
parameter multiplied by ``s`` from its scale point, defined parameters following, model
sizes and other parameters at their values) both symbolic costs are compiled once with
mpmath (``2**k`` does not overflow there), then ``s`` doubles until the difference of
their logs turns negative and bisection finds the sign change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import mpmath
import sympy

from cost_models.bounds import derive_bound
from cost_models.domain import Catalog, Constraints, OptimizeRequest, Plan, TaskPlan
from cost_models.evaluation import PlanEvaluation, PlanEvaluator
from optimizer.constraints import meets
from optimizer.result import Crossover
from optimizer.space import TaskSpace

#: The scaling path is followed up to s = 2**MAX_DOUBLINGS.
MAX_DOUBLINGS = 40
_BISECTIONS = 60


class ScalingPath:
    """The request's costs as functions of the common scale factor ``s``."""

    def __init__(self, evaluator: PlanEvaluator) -> None:
        graph = evaluator.graph
        self.s = sympy.Symbol("s", positive=True)
        self.growing = [p for p in graph.parameters if p.grows and p.expr is None]
        point: dict[sympy.Symbol, sympy.Expr] = {}
        for p in graph.parameters:
            if p.expr is None:
                value = sympy.Float(p.value, 30)
                point[p.symbol] = value * self.s if p in self.growing else value
        for model in evaluator.catalog.models:
            if model.size.is_Symbol and model.size not in point:
                point[model.size] = sympy.Float(model.size_value, 30)
        self.substitutions = graph.substitutions
        self.point = point

    def function(self, cost: sympy.Expr) -> Callable[[float], mpmath.mpf]:
        expr = cost.xreplace(self.substitutions).xreplace(self.point)
        return sympy.lambdify(self.s, expr, modules="mpmath")

    def values(self, scale: float) -> dict[str, float]:
        return {p.name: p.value * scale for p in self.growing}

    def crossing(self, cheaper_later: sympy.Expr, cheaper_now: sympy.Expr) -> float | None:
        """The ``s > 1`` beyond which ``cheaper_later`` costs less, or None."""
        later, now = self.function(cheaper_later), self.function(cheaper_now)

        def gap(scale: float) -> float:
            return float(mpmath.log(later(mpmath.mpf(scale))) - mpmath.log(now(mpmath.mpf(scale))))

        if gap(1.0) < 0:
            return None
        lo, hi = 1.0, 2.0
        for _ in range(MAX_DOUBLINGS):
            if gap(hi) < 0:
                break
            lo, hi = hi, hi * 2
        else:
            return None
        for _ in range(_BISECTIONS):
            mid = math.sqrt(lo * hi)
            if gap(mid) < 0:
                hi = mid
            else:
                lo = mid
        return hi


def find_crossovers(
    evaluator: PlanEvaluator,
    best: PlanEvaluation,
    spaces: Sequence[TaskSpace],
    constraints: Constraints,
) -> tuple[Crossover, ...]:
    """Every single-task alternative to ``best`` that grows strictly slower, with its crossing."""
    path = ScalingPath(evaluator)
    if not path.growing:
        return ()
    growth = _Growth(evaluator)
    far = PlanEvaluator(_scaled(evaluator.request, 2.0**MAX_DOUBLINGS))
    chosen = {tp.task_id: tp for tp in best.plan.tasks}
    outcomes = {t.plan.task_id: t.outcome for t in best.tasks}
    found: list[Crossover] = []
    for space in spaces:
        current = chosen[space.task.id]
        for operator, candidates in space.by_operator.items():
            if operator is current.operator:
                continue
            for candidate in candidates:
                trial = {**outcomes, space.task.id: candidate.outcome}
                if meets(evaluator.combine(trial), constraints):
                    break
            else:
                continue
            alternative = candidate.plan
            if far.task_outcome(alternative).log_cost >= far.task_outcome(current).log_cost:
                continue
            later, now = evaluator.task_cost(alternative), evaluator.task_cost(current)
            if not growth.slower(later, now):
                continue
            scale = path.crossing(later, now)
            if scale is None:
                continue
            plan = _replace(best.plan, alternative)
            found.append(_crossover(evaluator.evaluate(plan), alternative, scale, path, spaces))
    return tuple(sorted(found, key=lambda c: c.scale))


class _Growth:
    """Growth comparisons of task costs, model sizes set to 1 (bounds cached)."""

    def __init__(self, evaluator: PlanEvaluator) -> None:
        graph = evaluator.graph
        self.ones = {m: sympy.Integer(1) for m in evaluator.model_symbols}
        self.substitutions = graph.substitutions
        self.context = {"growing": graph.growing, "assumptions": graph.assumptions}
        self.cache: dict[sympy.Expr, sympy.Expr] = {}

    def theta(self, cost: sympy.Expr) -> sympy.Expr:
        if cost not in self.cache:
            expr = cost.xreplace(self.substitutions).xreplace(self.ones)
            self.cache[cost] = derive_bound(expr, **self.context).expr  # type: ignore[arg-type]
        return self.cache[cost]

    def slower(self, a: sympy.Expr, b: sympy.Expr) -> bool:
        """Whether ``a`` grows strictly slower than ``b``."""
        theta_a, theta_b = self.theta(a), self.theta(b)
        if sympy.expand(theta_a - theta_b) == 0:
            return False
        joint = derive_bound(theta_a + theta_b, **self.context).expr  # type: ignore[arg-type]
        return bool(sympy.expand(joint - theta_b) == 0)


def _scaled(request: OptimizeRequest, scale: float) -> OptimizeRequest:
    """``request`` with every free growing parameter multiplied by ``scale``."""
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
        m if m.size.is_Symbol else replace(m, size_value=value(m.size))
        for m in request.catalog.models
    )
    return replace(
        request,
        graph=replace(graph, parameters=parameters),
        catalog=Catalog(models),
    )


def _replace(plan: Plan, task_plan: TaskPlan) -> Plan:
    return Plan(tuple(task_plan if tp.task_id == task_plan.task_id else tp for tp in plan.tasks))


def _crossover(
    evaluation: PlanEvaluation,
    alternative: TaskPlan,
    scale: float,
    path: ScalingPath,
    spaces: Sequence[TaskSpace],
) -> Crossover:
    first = path.growing[0]
    at = first.value * scale
    where = "" if len(spaces) == 1 else f" on {alternative.task_id}"
    text = f"{alternative.operator}{where} is cheaper beyond {first.name} ≈ {approximately(at)}"
    values: Mapping[str, float] = path.values(scale)
    return Crossover(evaluation, first.name, at, scale, values, text)


def approximately(x: float) -> str:
    """``x`` to three significant digits with thousands separators (``3,410``, ``0.0123``).

    Examples
    --------
    >>> approximately(3412.7), approximately(12.345), approximately(2.5e17)
    ('3,410', '12.3', '2.5e+17')
    """
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e15 or abs(x) < 1e-3:
        return f"{x:.3g}"
    digits = 2 - math.floor(math.log10(abs(x)))
    rounded = round(x, digits)
    if digits <= 0:
        return f"{int(rounded):,}"
    return f"{rounded:,.{digits}f}".rstrip("0").rstrip(".")
