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
import networkx as nx
import sympy
from aalps.cost_models.arithmetic import SYMBOLIC, Arithmetic, Value
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.domain import CHUNK, Executor, OptimizeRequest, Task, TaskGraph
from aalps.cost_models.numeric_errors import numeric_errors
from aalps.cost_models.operators import TaskShape
from aalps.cost_models.task_twins import task_twins
from aalps.cost_models.tools import tool_size_fields

__all__ = [
    "CompiledTask",
    "CompiledTasks",
    "GraphFacts",
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


class SizeMemo:
    """The numbers of the size expressions met so far at one ray point, by ``id`` of the
    expression (kept beside it, so a recycled id never matches): a request's tasks share a
    few distinct sizes (``n``, ``2*n``, ``l``), each computed once per point."""

    def __init__(self) -> None:
        self.numbers: dict[int, tuple[Any, Any]] = {}
        self.big: dict[int, tuple[Any, Any]] = {}


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
        memo: SizeMemo | None = None,
    ) -> None:
        self.task, self.incoming, self.values = task, incoming, values
        self.reference, self.fast = reference, fast
        self.memo = memo if memo is not None else SizeMemo()
        self.numeric = _shape(task, incoming, values, reference, fast=fast, memo=self.memo)

    @cached_property
    def symbolic(self) -> TaskShape:
        """Sizes as sympy expressions, for the symbolic cost and success."""
        return _shape(self.task, self.incoming, None, self.reference)

    @cached_property
    def big(self) -> TaskShape:
        """Sizes as mpmath numbers, for the rare plan whose cost overflows a float."""
        return _shape(
            self.task, self.incoming, self.values, self.reference, True, self.fast, self.memo
        )


@dataclass(frozen=True)
class GraphFacts:
    """What every evaluator of one request shares, whatever its point of the scale ray.

    Per task: the tokens its incoming edges carry, its field name for errors, its step count
    at the scale point (AHEAD_BY_K's lead is set there); the tasks in topological order and
    each one's predecessors as positions in that order; which tasks are defined alike.
    """

    incoming: Mapping[str, sympy.Expr]
    fields: Mapping[str, str]
    references: Mapping[str, float]
    order: list[str]
    pred_index: list[list[int]]
    #: Per task defined as an earlier one is (:func:`.task_twins`), that task's id.
    twins: Mapping[str, str]

    @classmethod
    def of(cls, graph: TaskGraph) -> GraphFacts:
        scale_point = ray_values(graph, 1.0)
        incoming: dict[str, list[sympy.Expr]] = {t.id: [] for t in graph.tasks}
        for edge in graph.edges:
            incoming[edge.target].append(edge.tokens)
        fields = {t.id: f"graph.tasks[{i}]" for i, t in enumerate(graph.tasks)}
        references = {}
        for t in graph.tasks:
            with numeric_errors(fields[t.id], "the task's sizes"):
                steps = float(sympy.N(t.steps.count.xreplace(scale_point), 30)) if t.steps else 0.0
            references[t.id] = steps
        order = list(nx.topological_sort(graph.dag))
        position = {t: i for i, t in enumerate(order)}
        pred_index = [[position[p] for p in graph.dag.predecessors(t)] for t in order]
        summed = {t: sympy.Add(*e) for t, e in incoming.items()}
        twins = task_twins(graph.tasks, summed)
        return cls(summed, fields, references, order, pred_index, twins)


class CompiledTasks(dict[str, "CompiledTask"]):
    """Every task's :class:`CompiledTask` at one ray point, compiled on first use.

    An evaluator at the scale point compiles them all at once (a bad size is reported when
    the request is read); the crossover search's evaluators along the ray compile only the
    tasks they score.
    """

    def __init__(
        self, graph: TaskGraph, facts: GraphFacts, values: Mapping[sympy.Symbol, Any], fast: bool
    ) -> None:
        super().__init__()
        self._tasks = graph.task_by_id
        self._facts, self._values, self._fast = facts, values, fast
        # Every size expression's number at this point, computed once for all the tasks
        # that share it (``n``, ``2*n``, ``l``: a request has few distinct ones).
        self._memo = SizeMemo()

    def __missing__(self, task_id: str) -> CompiledTask:
        facts = self._facts
        with numeric_errors(facts.fields[task_id], "the task's sizes"):
            compiled = CompiledTask(
                self._tasks[task_id],
                facts.incoming[task_id],
                self._values,
                facts.references[task_id],
                fast=self._fast,
                memo=self._memo,
            )
        self[task_id] = compiled
        return compiled


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


_SIZES: dict[int, tuple[Task, sympy.Expr, dict[str, sympy.Expr]]] = {}


def _size_fields(task: Task, incoming: sympy.Expr) -> dict[str, sympy.Expr]:
    """The task's sizes as expressions, by :class:`TaskShape` field (the facts it has);
    built once per task (every evaluator along the ray compiles the task again)."""
    known = _SIZES.get(id(task))
    if known is not None and known[0] is task and known[1] is incoming:
        return known[2]
    if len(_SIZES) > 16384:  # a few of the largest requests (MAX_TASKS: 5,000)
        _SIZES.clear()
    fields = _SIZES[id(task)] = (task, incoming, _build_size_fields(task, incoming))
    return fields[2]


def _build_size_fields(task: Task, incoming: sympy.Expr) -> dict[str, sympy.Expr]:
    b, d, s = task.blocks, task.defects, task.steps
    fields: dict[str, sympy.Expr] = {
        "whole_input": task.input_tokens + incoming,
        "output": task.output_tokens,
        "prompt": task.prompt_tokens,
    }
    if b:
        fields.update(block_count=b.count, block_size=b.size, block_output=b.output)
    if task.routing:
        fields["routing_tokens"] = task.routing.tokens
    if d:
        fields.update(defect_count=d.count, report_tokens=d.report_tokens)
    if task.acceptance:
        fields["acceptance"] = task.acceptance.success_probability
    if s:
        fields.update(step_count=s.count, step_tokens=s.tokens, step_output=s.output)
    fields.update(tool_size_fields(task))
    return fields


def _shape(
    task: Task,
    incoming: sympy.Expr,
    values: Mapping[sympy.Symbol, Any] | None,
    reference: float,
    big: bool = False,
    fast: bool = False,
    memo: SizeMemo | None = None,
) -> TaskShape:
    """The task's sizes: sympy expressions (``values`` None) or numbers at ``values``.

    At the scale point numbers come from 30-digit sympy evaluation; at other points of the
    ray (evaluators built many times over by the crossover search) from functions compiled
    once per expression, called with the point's values. ``memo`` holds the numbers of the
    expressions met so far at this point (shared by the point's tasks).
    """
    module = "mpmath" if big else "math"
    fast = fast and values is not None
    symbols, args = _point_arguments(values, big) if fast and values is not None else ((), ())
    point = memo if memo is not None else SizeMemo()
    known = point.big if big else point.numbers

    def v(expr: sympy.Expr) -> Value:
        if values is None:
            return expr
        entry = known.get(id(expr))
        if entry is not None and entry[0] is expr:
            return entry[1]
        number = _number(expr)
        known[id(expr)] = (expr, number)
        return number

    def _number(expr: sympy.Expr) -> Value:
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
        entry = known.get(-id(expr) - 1)  # the function of a chunk size, once per point
        if entry is not None and entry[0] is expr:
            fn: Callable[[Value], Value] = entry[1]
            return fn
        fn = _aggregate(expr)
        known[-id(expr) - 1] = (expr, fn)
        return fn

    def _aggregate(expr: sympy.Expr) -> Callable[[Value], Value]:
        if CHUNK not in expr.free_symbols:
            constant = v(expr)
            return lambda size: constant
        if fast:
            compiled = _ray_function(expr, (CHUNK, *symbols), module)
            return lambda size: compiled(size, *args)
        bound = expr.xreplace(values)
        compiled_bound: Callable[[Value], Value] = sympy.lambdify(CHUNK, bound, modules=module)
        return compiled_bound

    s = task.steps
    sizes = _size_fields(task, incoming)
    numbers = {name: v(expr) for name, expr in sizes.items()}
    return TaskShape(
        **numbers,
        llm_verifier=bool(task.acceptance and task.acceptance.verifier),
        max_attempts=(task.acceptance.max_attempts or 0) if task.acceptance else 0,
        max_iterations=(task.defects.max_iterations or 0) if task.defects else 0,
        llm_aggregator=bool(task.chunkable and task.chunkable.aggregator),
        tool_task=task.executor is not Executor.LLM,
        code_router=bool(task.routing and task.routing.code_router),
        aggregate_tokens=aggregate(task.chunkable.aggregate_tokens) if task.chunkable else None,
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
    def of(model: Any, arithmetic: Arithmetic, size: float) -> ModelNumbers:
        """``model``'s figures in ``arithmetic`` (``size``: its value at the ray point)."""
        num = arithmetic.number if arithmetic.symbolic else _remembered(arithmetic)
        return ModelNumbers(
            Pricing.of(model, model.size if arithmetic.symbolic else num(size), num),
            {cap: num(p) for cap, p in model.capabilities.items()},
            None if model.per_token_error == 0 else 1 - num(model.per_token_error),
        )


_CONVERTED: dict[tuple[int, str], tuple[Any, Value]] = {}


def _remembered(arithmetic: Arithmetic) -> Callable[[Any], Value]:
    """``arithmetic.number``, each catalog figure converted once per process (by ``id``,
    the figure kept beside its number so a recycled id never matches): evaluators are
    built by the dozen (crossover points, stability probes) and a sympy Float's
    conversion costs tens of microseconds."""
    convert, name = arithmetic.number, arithmetic.name

    def number(x: Any) -> Value:
        key = (id(x), name)
        known = _CONVERTED.get(key)
        if known is not None and known[0] is x:
            return known[1]
        value = convert(x)
        if len(_CONVERTED) > 65536:
            _CONVERTED.clear()
        _CONVERTED[key] = (x, value)
        return value

    return number


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
