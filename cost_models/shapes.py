"""A task's sizes at a point of the scale ray, compiled once per evaluator.

The operators' formulas (:mod:`aalps.cost_models.operators`) read a task's sizes from a
:class:`~aalps.cost_models.operators.TaskShape`: sympy expressions for the symbolic cost,
floats for the search, mpmath numbers for the rare plan whose cost overflows a float.
:class:`CompiledTask` holds the three for one task (numbers at once, the rest on first use);
:func:`ray_values` gives the parameters' values at a point of the scale ray and
:func:`model_sizes` the models' sizes there; :class:`ModelNumbers` a model's figures in one
arithmetic. :class:`~aalps.cost_models.evaluation.PlanEvaluator` runs the formulas on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import mpmath
import sympy
from aalps.cost_models.arithmetic import SYMBOLIC, Arithmetic, Value
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.domain import CHUNK, OptimizeRequest, Task, TaskGraph
from aalps.cost_models.operators import TaskShape

__all__ = [
    "CompiledTask",
    "ModelNumbers",
    "log_of",
    "model_sizes",
    "ray_values",
    "to_float",
]


def to_float(value: Value) -> float:
    """A number as a float (inf when it overflows one)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def log_of(value: Value) -> float:
    """The natural log of a float or mpmath number (−inf for 0 and below)."""
    if isinstance(value, float):
        return math.log(value) if value > 0 else -math.inf
    return float(mpmath.log(value)) if value > 0 else -math.inf


class CompiledTask:
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
        """Sizes as sympy expressions, for the symbolic cost and success."""
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
            return number if big else to_float(number)
        number = sympy.N(expr.xreplace(values), 30)
        return mpmath.mpf(str(number)) if big else to_float(number)

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


@dataclass(frozen=True)
class ModelNumbers:
    """A model's figures in one arithmetic, converted once per evaluator."""

    pricing: Pricing
    capabilities: Mapping[str, Value]
    keep_per_token: Value | None  # 1 − per_token_error, None when there is no decay

    @staticmethod
    def table(
        catalog: Any, arithmetic: Arithmetic, sizes: Mapping[str, float]
    ) -> dict[str, ModelNumbers]:
        num = arithmetic.number
        table = {}
        for m in catalog.models:
            size = m.size if arithmetic.symbolic else num(sizes[m.name])
            table[m.name] = ModelNumbers(
                Pricing.of(m, size, num),
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


def model_sizes(
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
