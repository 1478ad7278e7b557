""":func:`fast_shape` against :func:`task_shape` (its independent oracle): every field of a
task's float shape at ray points other than the scale point is the same, bit for bit, for
chunkable tasks too (their aggregate tokens as a function of the chunk size included)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import TaskShape
from aalps.cost_models.shapes import CompiledTask, GraphFacts, ray_values
from aalps.cost_models.task_sizes import (
    SizeMemo,
    _point_arguments,
    fast_shape,
    recipe,
    task_shape,
)

from tests.optimizer.random_requests import random_request, wide_request_data

SCALES = (0.37, 2.0, 41.5, 1e3, 1e6, 1e12)
CHUNKS = (1.0, 2.0, 7.0, 64.0, 1e3, 1e9)


def _requests() -> list[tuple[str, OptimizeRequest]]:
    found = [(f"wide{s}", load_request(wide_request_data(s, 40, 4))) for s in range(1, 9)]
    found += [(f"random{s}", random_request(s)) for s in (1, 2, 7)]
    return found


def _same_number(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return bool(a == b)


def _assert_same(fast: TaskShape, oracle: TaskShape) -> None:
    for field in dataclasses.fields(TaskShape):
        a, b = getattr(fast, field.name), getattr(oracle, field.name)
        if field.name == "aggregate_tokens" and b is not None:
            assert a is not None
            for size in CHUNKS:
                assert _same_number(a(size), b(size)), (size, a(size), b(size))
            continue
        assert _same_number(a, b), (field.name, a, b)


@pytest.mark.parametrize(("name", "request_"), _requests())
def test_fast_shape_is_task_shape(name: str, request_: OptimizeRequest) -> None:
    graph = request_.graph
    facts = GraphFacts.of(graph)
    chunkable = sum(t.chunkable is not None for t in graph.tasks)
    for scale in SCALES:
        values = ray_values(graph, scale)
        shared = SizeMemo()  # the fast shapes share one memo per point, as compiled
        for task in graph.tasks:
            incoming, reference = facts.incoming[task.id], facts.references[task.id]
            fast = fast_shape(recipe(task, incoming, reference), values, shared)
            oracle = task_shape(task, incoming, values, reference, fast=True, memo=SizeMemo())
            _assert_same(fast, oracle)
            compiled = CompiledTask(task, incoming, values, reference, fast=True, memo=shared)
            _assert_same(compiled.numeric, oracle)
            assert (compiled.numeric.aggregate_tokens is None) == (task.chunkable is None)
    if name.startswith("wide"):
        assert chunkable > 0  # the case this guards


def test_template_keeps_only_constant_sizes() -> None:
    """After its first point a recipe's template holds the sizes that are numbers (the same
    at every point) and leaves the others to each point: the later points' shapes
    stay :func:`task_shape`'s (the test above), and no moving size is frozen."""
    request_ = load_request(wide_request_data(3, 40, 4))
    graph = request_.graph
    facts = GraphFacts.of(graph)
    for task in graph.tasks:
        known = recipe(task, facts.incoming[task.id], facts.references[task.id])
        fast_shape(known, ray_values(graph, 3.25), SizeMemo())
        assert known.template is not None
        moving = {name for name, _, _ in known.moving}
        for name, expr in known.items:
            assert (name in moving) == (not expr.is_Number)
            assert name in moving or not expr.free_symbols
            if name not in moving:
                assert known.template[name] == float(expr)


def test_point_symbols_sorted_by_name_whatever_their_order() -> None:
    """The symbols' order (kept by the values' own order) is their names' sorted order, for
    a point whose values come in another order too."""
    graph = load_request(wide_request_data(1, 10, 2)).graph
    values = ray_values(graph, 5.0)
    backwards = dict(reversed(list(values.items())))
    for point in (values, backwards, values):
        symbols, args = _point_arguments(point, False)
        assert [str(s) for s in symbols] == sorted(str(s) for s in values)
        assert args == tuple(float(values[s]) for s in symbols)
