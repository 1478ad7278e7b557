"""A task's sizes as numbers (or expressions): the :class:`TaskShape` the formulas read.

:func:`task_shape` builds one for a task at a point of the scale ray (sympy expressions
when there is no point, floats, or mpmath numbers); :class:`SizeMemo` holds the numbers of
the size expressions met so far at one point, and the float shapes built there by
:class:`Recipe` (tasks with equal sizes share one); :func:`fast_shape` builds a float shape
along the ray without the dataclass's ``__init__``. :mod:`aalps.cost_models.shapes`
compiles every task of a request with them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import mpmath
import sympy
from aalps.cost_models.arithmetic import SYMBOLIC, Value
from aalps.cost_models.domain import CHUNK, Executor, Task
from aalps.cost_models.operators import TaskShape
from aalps.cost_models.plain_functions import size_function
from aalps.cost_models.tools import tool_size_fields

__all__ = [
    "Recipe",
    "SizeMemo",
    "fast_shape",
    "recipe",
    "size_symbols",
    "task_shape",
    "to_float",
]


def to_float(value: Value) -> float:
    """A number as a float (inf when it overflows one)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


class SizeMemo:
    """The numbers of the size expressions met so far at one ray point, by ``id`` of the
    expression (kept beside it, so a recycled id never matches): a request's tasks share a
    few distinct sizes (``n``, ``2*n``, ``l``), each computed once per point."""

    def __init__(self) -> None:
        self.numbers: dict[int, tuple[Any, Any]] = {}
        self.big: dict[int, tuple[Any, Any]] = {}
        #: The float shapes built at this point, by recipe: tasks with equal sizes and
        #: flags (a wide request draws them from a few choices) share one.
        self.shapes: dict[Recipe, TaskShape] = {}
        #: The point's values with their symbols and float arguments
        #: (:func:`_point_arguments`), for :func:`fast_shape`.
        self.point: tuple[Mapping[sympy.Symbol, Any], tuple[Any, ...], tuple[Any, ...]] | None = (
            None
        )


class Recipe:
    """Everything :func:`task_shape` reads of a task: its size expressions (by field), its
    flags and its step reference. Equal recipes give equal shapes at any point (the numbers
    are functions of the expressions alone); the hash is worked out once."""

    __slots__ = (
        "_hash",
        "aggregate",
        "base",
        "entries",
        "fixed",
        "items",
        "key",
        "moving",
        "template",
    )

    def __init__(self, task: Task, fields: Mapping[str, sympy.Expr], reference: float) -> None:
        self.items = tuple(fields.items())
        #: The items with each expression's ``id`` (the key of the point's numbers).
        self.entries = tuple((name, expr, id(expr)) for name, expr in self.items)
        flags = _flags(task)
        #: The chunks' aggregate tokens (a function of the chunk size), if chunkable.
        self.aggregate = task.chunkable.aggregate_tokens if task.chunkable else None
        self.key = (self.items, flags, self.aggregate, reference if task.steps else None)
        self._hash = hash(self.key)
        # The float shape's fields that are no size (:func:`_fast_shape`).
        self.fixed: dict[str, Any] = dict(
            zip(_FLAG_FIELDS, flags, strict=True), step_reference=reference if task.steps else 0
        )
        #: Every field of the float shape at its default but for :attr:`fixed`'s: what
        #: :func:`fast_shape` starts from at each point (one copy instead of two updates).
        self.base: dict[str, Any] = {**_SHAPE_DEFAULTS, **self.fixed}
        #: The entries whose expressions are no number: the only ones whose numbers may
        #: change from one ray point to another (a wide request's ``93`` or ``4`` do not).
        self.moving = tuple(entry for entry in self.entries if not entry[1].is_Number)
        #: :attr:`base` with the numbers of the other entries (sympy numbers: the same at
        #: every point), filled in by :func:`fast_shape` at its first point.
        self.template: dict[str, Any] | None = None

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and (self is other or self.key == other.key)


@lru_cache(maxsize=8192)
def _ray_function(
    expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], module: str
) -> Callable[..., Value]:
    """``expr`` compiled once as a function of the parameters (shared by every ray point):
    :func:`~aalps.cost_models.plain_functions.size_function`, whose closures answer the
    common forms (``93``, ``l``, ``2*n + 1``, ``19/20``) without ``lambdify`` (about 0.6 ms a
    call, and a request's first scoring meets dozens of new sizes) with the same values its
    generated code returns."""
    return size_function(expr, symbols, module)


_POINTS: dict[
    tuple[int, bool], tuple[Mapping[sympy.Symbol, Any], tuple[Any, ...], tuple[Any, ...]]
] = {}


#: The symbols of a point's values sorted by name, by the values' own order: every point of
#: a request's ray has the same symbols in the same order (``str`` of a symbol is slow).
_ORDERS: dict[tuple[sympy.Symbol, ...], tuple[sympy.Symbol, ...]] = {}


def _point_arguments(
    values: Mapping[sympy.Symbol, Any], big: bool
) -> tuple[tuple[sympy.Symbol, ...], tuple[Any, ...]]:
    """A ray point's symbols (in a fixed order) and their numbers, worked out once per point
    and kind of number (a point's floats and mpmath numbers are both asked for, in turns)."""
    known = _POINTS.get((id(values), big))
    if known is not None and known[0] is values:
        return known[1], known[2]
    keys = tuple(values)
    symbols = _ORDERS.get(keys)
    if symbols is None:
        symbols = tuple(sorted(keys, key=str))
        if len(_ORDERS) > 64:
            _ORDERS.clear()
        _ORDERS[keys] = symbols
    args = tuple(mpmath.mpf(str(values[s])) if big else float(values[s]) for s in symbols)
    if len(_POINTS) > 64:
        _POINTS.clear()
    _POINTS[(id(values), big)] = (values, symbols, args)
    return symbols, args


_SIZES: dict[int, tuple[Task, sympy.Expr, dict[str, sympy.Expr]]] = {}
_RECIPES: dict[int, tuple[Task, sympy.Expr, float, Recipe]] = {}


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


def size_symbols(task: Task, incoming: sympy.Expr) -> frozenset[sympy.Symbol]:
    """Every symbol a task's numeric shape reads (its sizes, its incoming tokens, its
    chunks' aggregate tokens but the chunk size itself): a task whose symbols keep their
    values has the same shape at any two points of the ray that are not the scale point."""
    found: set[sympy.Symbol] = set()
    for expr in _size_fields(task, incoming).values():
        found |= expr.free_symbols
    if task.chunkable is not None:
        found |= task.chunkable.aggregate_tokens.free_symbols - {CHUNK}
    return frozenset(found)


def recipe(task: Task, incoming: sympy.Expr, reference: float) -> Recipe:
    """The task's :class:`Recipe`, built once per task (as its size fields are)."""
    known = _RECIPES.get(id(task))
    if known is not None and known[0] is task and known[1] is incoming and known[2] == reference:
        return known[3]
    if len(_RECIPES) > 16384:
        _RECIPES.clear()
    recipe = Recipe(task, _size_fields(task, incoming), reference)
    _RECIPES[id(task)] = (task, incoming, reference, recipe)
    return recipe


_FLAG_FIELDS = (
    "llm_verifier",
    "max_attempts",
    "max_iterations",
    "llm_aggregator",
    "tool_task",
    "code_router",
)
#: Every field of a :class:`TaskShape` at its default (it has no ``__post_init__``).
_SHAPE_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TaskShape)}
assert not hasattr(TaskShape, "__post_init__")
assert all(
    v is not dataclasses.MISSING
    for k, v in _SHAPE_DEFAULTS.items()
    if k != "whole_input" and k not in ("output", "prompt")
)


def fast_shape(recipe: Recipe, values: Mapping[sympy.Symbol, Any], memo: SizeMemo) -> TaskShape:
    """:func:`task_shape` in floats at a ray point other than the scale point (``fast``): the
    same numbers (each size expression's compiled function at the point, memoized by
    expression; a chunkable task's aggregate tokens the same function of the chunk size,
    memoized as :func:`task_shape` does), the shape filled in without the dataclass's
    ``__init__`` (28 frozen fields cost more than the numbers: it runs per task and point
    along the crossover search's ray)."""
    point = memo.point
    if point is None or point[0] is not values:
        point = memo.point = (values, *_point_arguments(values, False))
    _, symbols, args = point
    known = memo.numbers
    template = recipe.template
    fields = (recipe.base if template is None else template).copy()
    for name, expr, key in recipe.entries if template is None else recipe.moving:
        entry = known.get(key)
        if entry is not None and entry[0] is expr:
            fields[name] = entry[1]
            continue
        try:
            number = to_float(_ray_function(expr, symbols, "math")(*args))
        except OverflowError:
            number = math.inf
        known[key] = (expr, number)
        fields[name] = number
    if template is None:  # every number worked out: keep those of the constant sizes
        template = recipe.base.copy()
        moving = {name for name, _, _ in recipe.moving}
        template.update((n, fields[n]) for n, _, _ in recipe.entries if n not in moving)
        recipe.template = template
    if recipe.aggregate is not None:
        fields["aggregate_tokens"] = _fast_aggregate(recipe.aggregate, symbols, args, known)
    shape: TaskShape = object.__new__(TaskShape)
    object.__setattr__(shape, "__dict__", fields)  # the frozen class's own __setattr__ refuses
    return shape


def _fast_aggregate(
    expr: sympy.Expr,
    symbols: tuple[sympy.Symbol, ...],
    args: tuple[Any, ...],
    known: dict[int, tuple[Any, Any]],
) -> Callable[[Value], Value]:
    """The aggregate tokens as a function of the chunk size at a ray point, in floats: what
    :func:`task_shape` builds with ``fast`` (and the same memo entries, so both share one
    function per expression and point)."""
    entry = known.get(-id(expr) - 1)
    if entry is not None and entry[0] is expr:
        found: Callable[[Value], Value] = entry[1]
        return found
    fn: Callable[[Value], Value]
    if CHUNK not in expr.free_symbols:
        value = known.get(id(expr))
        if value is not None and value[0] is expr:
            constant = value[1]
        else:
            try:
                constant = to_float(_ray_function(expr, symbols, "math")(*args))
            except OverflowError:
                constant = math.inf
            known[id(expr)] = (expr, constant)
        fn = lambda size: constant  # noqa: E731 (as task_shape's)
    else:
        compiled = _ray_function(expr, (CHUNK, *symbols), "math")
        fn = lambda size: compiled(size, *args)  # noqa: E731
    known[-id(expr) - 1] = (expr, fn)
    return fn


def _flags(task: Task) -> tuple[bool, int, int, bool, bool, bool]:
    """The task's facts a :class:`TaskShape` holds as they are (no size)."""
    return (
        bool(task.acceptance and task.acceptance.verifier),
        (task.acceptance.max_attempts or 0) if task.acceptance else 0,
        (task.defects.max_iterations or 0) if task.defects else 0,
        bool(task.chunkable and task.chunkable.aggregator),
        task.executor is not Executor.LLM,
        bool(task.routing and task.routing.code_router),
    )


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


def task_shape(
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
        return size_function(expr.xreplace(values), (CHUNK,), module)

    s = task.steps
    sizes = _size_fields(task, incoming)
    numbers = {name: v(expr) for name, expr in sizes.items()}
    verifier, attempts, iterations, aggregator, tool, router = _flags(task)
    return TaskShape(
        **numbers,
        llm_verifier=verifier,
        max_attempts=attempts,
        max_iterations=iterations,
        llm_aggregator=aggregator,
        tool_task=tool,
        code_router=router,
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
