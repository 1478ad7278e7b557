"""A task's sizes at a point of the scale ray, compiled once per evaluator.

The operators' formulas (:mod:`aalps.cost_models.operators`) read a task's sizes from a
:class:`~aalps.cost_models.operators.TaskShape`: sympy expressions for the symbolic cost,
floats for the search, mpmath numbers for the rare plan whose cost overflows a float.
:class:`CompiledTask` holds the three for one task (numbers at once, the rest on first use);
:func:`ray_values` gives the parameters' values at a point of the scale ray and
:func:`model_sizes` the models' sizes there; :class:`ModelNumbers` a model's figures in one
arithmetic. :class:`~aalps.cost_models.evaluation.PlanEvaluator` runs the formulas on them.
The shapes themselves are built in :mod:`aalps.cost_models.task_sizes` (tasks of equal
sizes share one per point).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import mpmath
import networkx as nx
import sympy
from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.call_costs import Pricing
from aalps.cost_models.domain import OptimizeRequest, Task, TaskGraph
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.numeric_errors import NUMERIC_FAILURES, numeric_errors, numeric_failure
from aalps.cost_models.operators import TaskShape
from aalps.cost_models.task_sizes import (
    Recipe,
    SizeMemo,
    fast_shape,
    recipe,
    task_shape,
    to_float,
)
from aalps.cost_models.task_twins import task_twins
from mpmath.libmp import mpf_log as _mpf_log
from mpmath.libmp import to_float as _to_float

_MP = mpmath.mp
_MPF = mpmath.mpf

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


#: The logs :func:`log_of` worked out in mpmath, by (number, precision, rounding): a
#: request's mpmath figures repeat (1,464 distinct among 9,194 on a wide 1000 x 10).
_LOGS: dict[tuple[Any, ...], float] = {}


def log_of(value: Value) -> float:
    """The natural log of a float or mpmath number (−inf for 0 and below)."""
    if isinstance(value, float):
        return math.log(value) if value > 0 else -math.inf
    if not value > 0:
        return -math.inf
    prec, rounding = _MP._prec_rounding
    if type(value) is _MPF:
        # ``float(mpmath.log(value))`` without its wrappers (the far point's successes
        # ask it thousands of times): the same libmp call at the context's precision
        # and rounding, and the same conversion, remembered (a pure function of the
        # three: the mpf's tuple is its value).
        key: tuple[Any, ...] = (value._mpf_, prec, rounding)
        known = _LOGS.get(key)
        if known is None:
            known = _to_float(_mpf_log(value._mpf_, prec, rounding), rnd=rounding)
            _remember_log(key, known)
        return known
    if type(value) is int:  # an exact success or count of 1, mostly: remembered as well
        key = (int, value, prec, rounding)
        known = _LOGS.get(key)
        if known is None:
            known = float(mpmath.log(value))
            _remember_log(key, known)
        return known
    return float(mpmath.log(value))


def _remember_log(key: tuple[Any, ...], log: float) -> None:
    """Keep one of :func:`log_of`'s answers (the memo starts over past 65,536)."""
    if len(_LOGS) > 65536:
        _LOGS.clear()
    _LOGS[key] = log


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
        known: Recipe | None = None,
    ) -> None:
        self.task, self.incoming, self.values = task, incoming, values
        self.reference, self.fast = reference, fast
        if memo is None:
            memo = SizeMemo()
        self.memo = memo
        if known is None:  # ``known``: the task's recipe, when the caller kept it
            known = recipe(task, incoming, reference)
        shapes = memo.shapes
        shape = shapes.get(known)
        if shape is None:
            if fast:
                shape = fast_shape(known, values, memo)
            else:
                shape = task_shape(task, incoming, values, reference, fast=fast, memo=memo)
            shapes[known] = shape
        self.numeric = shape

    @cached_property
    def symbolic(self) -> TaskShape:
        """Sizes as sympy expressions, for the symbolic cost and success."""
        return task_shape(self.task, self.incoming, None, self.reference)

    @cached_property
    def big(self) -> TaskShape:
        """Sizes as mpmath numbers, for the rare plan whose cost overflows a float."""
        return task_shape(
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
    #: Per task, its :class:`~aalps.cost_models.task_sizes.Recipe`, kept on first use: every
    #: evaluator along the ray compiles the task again (a dict look-up instead of
    #: :func:`~aalps.cost_models.task_sizes.recipe`'s checks).
    recipes: dict[str, Recipe] = field(default_factory=dict, compare=False)

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
        try:  # numeric_errors, inline: this runs per task at every ray point
            task, incoming = self._tasks[task_id], facts.incoming[task_id]
            reference = facts.references[task_id]
            known = facts.recipes.get(task_id)
            if known is None:
                known = facts.recipes[task_id] = recipe(task, incoming, reference)
            compiled = CompiledTask(
                task, incoming, self._values, reference, self._fast, self._memo, known
            )
        except InvalidRequestError:
            raise
        except NUMERIC_FAILURES as error:
            raise numeric_failure(facts.fields[task_id], "the task's sizes", error) from error
        self[task_id] = compiled
        return compiled


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
        values[symbol] = _defined_value(expr, values)
    return values


#: The binary precision of a 30-digit sympy Float.
_PREC_30 = mpmath.libmp.dps_to_prec(30)


def _defined_value(expr: sympy.Expr, values: Mapping[sympy.Symbol, sympy.Float]) -> sympy.Float:
    """``sympy.Float(sympy.N(expr.xreplace(values), 30), 30)``: a defined parameter's value.

    The product of two parameters (``n = k*l``) whose values are nonzero 30-digit Floats is
    their product as Floats: the one operation sympy's ``Mul`` performs on two Floats (the
    coefficient ``1·a``, exact, times ``b`` at their precision: ``Float.__mul__``), a value
    ``N`` and ``Float`` at that precision keep. Building the ``Mul`` asked the Floats'
    assumptions for most of a ray point's values (``tests/cost_models/test_ray_values.py``
    checks the two ways agree).
    """
    if expr.is_Mul and len(expr.args) == 2:
        a, b = (values.get(arg) for arg in expr.args)
        if _plain(a) and _plain(b):
            return a * b  # type: ignore[operator]
    return sympy.Float(sympy.N(expr.xreplace(values), 30), 30)


def _plain(value: Any) -> bool:
    """Whether ``value`` is a nonzero finite Float of 30 digits (a free parameter's value)."""
    return type(value) is sympy.Float and value._prec == _PREC_30 and bool(value._mpf_[1])


def model_sizes(
    request: OptimizeRequest, values: Mapping[sympy.Symbol, Any], scale: float
) -> dict[str, float]:
    """Every model's size at the ray point: a size such as ``k*m_s`` follows its parameters."""
    models = request.catalog.models
    if scale == 1.0:
        return {m.name: m.size_value for m in models}
    sizes = {}
    known: set[sympy.Symbol] | None = None  # the point's symbols, once a size has any
    for m in models:
        size = m.size_value
        free = m.size.free_symbols
        if free:
            known = set(values) if known is None else known
            if free <= known:
                try:
                    size = float(sympy.N(m.size.xreplace(values), 30))
                except (OverflowError, TypeError):
                    size = math.inf
        sizes[m.name] = size
    return sizes
