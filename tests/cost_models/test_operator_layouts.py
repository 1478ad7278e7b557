"""The operators whose call groups read the shape alone build them once per shape (a
:func:`~aalps.cost_models.operators.base.per_shape` layout, CHUNK_AGGREGATE's per chunk):
their schedules must be the ones the plain formulas give, step by step, for every task of
many requests, in floats, mpmath and sympy, at the scale point and far along the ray, on
the first call and on every call after (the layout kept), call groups field by field with
their types (floats bit for bit) and the success the same number, the reliability asked the
same questions in the same order.

The plain formulas below are the operators' own before their layouts were kept (the
independent oracle).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import mpmath
import pytest
import sympy
import yaml
from aalps.cost_models.arithmetic import BIG, BIG_SUCCESS, FLOAT, SYMBOLIC, Arithmetic, Value, power
from aalps.cost_models.domain import Operator, OptimizeRequest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import (
    OPERATORS,
    CallGroup,
    Schedule,
    TaskShape,
    ToolUse,
    applicable_operators,
    chunking,
)
from aalps.cost_models.operators.base import chain_decisions, per_shape
from aalps.cost_models.operators.repair import _cap_reached, _capped

from tests.cost_models.test_shape_fields import EXAMPLES
from tests.optimizer.random_requests import random_request_data, wide_request_data

Plain = Callable[[TaskShape, Any, Mapping[str, int], Arithmetic], Schedule]


def _direct(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    if shape.tool_task:
        tool = ToolUse("tool", 1, shape.tool_price, shape.tool_latency)
        return Schedule((), 1 - shape.tool_failure, (tool,))
    tokens_in = shape.prompt + shape.whole_input
    call = CallGroup("worker", 1, tokens_in, shape.output)
    return Schedule((call,), reliability("worker", tokens_in, chain_decisions(shape, 1)))


def _map(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    tokens_in = shape.prompt + shape.block_size
    count = shape.block_count
    calls = CallGroup("worker", count, tokens_in, shape.block_output, parallel=count)
    one = reliability("worker", tokens_in, chain_decisions(shape, count))
    return Schedule((calls,), power(one, count))


def _route(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    route_in = shape.prompt + shape.routing_tokens
    work_in = shape.prompt + shape.whole_input
    decisions = chain_decisions(shape, 1)
    if shape.code_router:
        router = ToolUse("router", 1, shape.router_price, shape.router_latency)
        work = CallGroup("specialist", 1, work_in, shape.output)
        success = (1 - shape.router_failure) * reliability("specialist", work_in, decisions)
        return Schedule((work,), success, (router,))
    groups = (
        CallGroup("delegator", 1, route_in, 1),
        CallGroup("specialist", 1, work_in, shape.output),
    )
    success = reliability("delegator", route_in) * reliability("specialist", work_in, decisions)
    return Schedule(groups, success)


def _chunk(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    written_by = shape.aggregate_tokens
    assert written_by is not None
    total, prompt = shape.whole_input, shape.prompt
    chunks = a.ceil(total / params["chunk"])
    size = total / chunks if chunks != 0 else 0
    chunk_in = prompt + size
    success = power(reliability("worker", chunk_in, chain_decisions(shape, chunks)), chunks)
    if not shape.llm_aggregator:
        if not a.groups:
            return Schedule((), success)
        worker = CallGroup("worker", chunks, chunk_in, written_by(size), parallel=chunks)
        return Schedule((worker,), success)
    written = written_by(size)
    combine_in = prompt + chunks * written
    success = success * reliability("aggregator", combine_in)
    if not a.groups:
        return Schedule((), success)
    groups = (
        CallGroup("worker", chunks, chunk_in, written, parallel=chunks),
        CallGroup("aggregator", 1, combine_in, shape.output),
    )
    return Schedule(groups, success)


def _history(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    b, n, r = _capped(shape)
    detect = CallGroup("detector", b, shape.prompt + n, shape.report_written, n + r, stages=b)
    fix = CallGroup("fixer", b, shape.prompt + n + r, n, n + r, stages=b)
    first = shape.prompt + n
    if not a.symbolic and b <= 10_000:
        success: Value = 1
        for i in range(int(round(b))):
            detect_in = first + i * (n + r)
            success = success * reliability("detector", detect_in)
            success = success * reliability("fixer", detect_in + r)
    else:
        mean = first + (b - 1) * (n + r) / 2
        success = power(reliability("detector", mean) * reliability("fixer", mean + r), b)
    return Schedule((detect, fix), success * _cap_reached(shape))


def _stateless(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    b, n, r = _capped(shape)
    detect = CallGroup("detector", b, shape.prompt + n, shape.report_written, stages=b)
    fix = CallGroup("fixer", b, shape.prompt + n + r, n, stages=b)
    success = power(
        reliability("detector", shape.prompt + n) * reliability("fixer", shape.prompt + n + r),
        b,
    )
    return Schedule((detect, fix), success * _cap_reached(shape))


def _scan(shape: TaskShape, reliability: Any, params: Mapping[str, int], a: Arithmetic) -> Any:
    k, b, r = shape.block_count, shape.defect_count, shape.report_tokens
    scan_in = shape.prompt + shape.block_size
    fix_in = scan_in + r
    scan = CallGroup("detector", k, scan_in, shape.report_written, parallel=k)
    fix = CallGroup("fixer", b, fix_in, shape.block_output, parallel=b)
    success = power(reliability("detector", scan_in), k) * power(reliability("fixer", fix_in), b)
    return Schedule((scan, fix), success)


PLAIN: dict[Operator, Plain] = {
    Operator.DIRECT: _direct,
    Operator.MAP: _map,
    Operator.ROUTE: _route,
    Operator.CHUNK_AGGREGATE: _chunk,
    Operator.ITERATE_WITH_HISTORY: _history,
    Operator.ITERATE_STATELESS: _stateless,
    Operator.SCAN_AND_FIX: _scan,
}


class _Asked:
    """A reliability that records each question (with the arguments' types) and answers a
    number of the arithmetic that depends on all of it."""

    def __init__(self, arithmetic: Arithmetic) -> None:
        self.arithmetic = arithmetic
        self.log: list[tuple[Any, ...]] = []

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> Value:
        self.log.append((role, _typed(tokens_in), _typed(decisions)))
        keep = self.arithmetic.number(0.9999 if role < "g" else 0.99995)
        return keep**tokens_in * self.arithmetic.number(0.97) ** decisions

    def correlation(self, role: str) -> float:
        return 0.0


def _typed(value: Any) -> Any:
    """A value with its type, a float by its bits, an mpf by its digits (sympy compares
    structurally)."""
    if type(value) is float:
        return float, value.hex() if not math.isnan(value) else "nan"
    if type(value) is mpmath.mpf:
        return mpmath.mpf, value._mpf_
    if isinstance(value, sympy.Basic):
        return type(value), value
    return type(value), value


def _schedule_key(schedule: Schedule) -> Any:
    groups = tuple(tuple((name, _typed(v)) for name, v in vars(g).items()) for g in schedule.groups)
    tools = tuple(tuple((name, _typed(v)) for name, v in vars(t).items()) for t in schedule.tools)
    return groups, tools, _typed(schedule.success)


def _requests() -> Iterator[tuple[str, OptimizeRequest]]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        yield path.stem, load_request(yaml.safe_load(path.read_text()))
    for seed in range(1, 13):
        yield f"random {seed}", load_request(random_request_data(seed))
    for seed in range(2):
        yield f"wide {seed}", load_request(wide_request_data(seed, 12, 6))


def _params(operator: Operator) -> list[dict[str, int]]:
    if operator is Operator.CHUNK_AGGREGATE:
        return [{"chunk": c} for c in (1, 7, 300, 4096, 10**9)]
    return [{}]


@pytest.mark.parametrize(("name", "request_"), list(_requests()), ids=lambda x: str(x)[:30])
def test_layouts_give_the_plain_schedules(name: str, request_: OptimizeRequest) -> None:
    compared = 0
    near = PlanEvaluator(request_)
    for evaluator in (near, near.at(1e6)):
        for task in evaluator.graph.tasks:
            compiled = evaluator._compiled[task.id]
            for operator in applicable_operators(task):
                if operator not in PLAIN:
                    continue
                spec = OPERATORS[operator]
                for arithmetic in (FLOAT, BIG, BIG_SUCCESS, SYMBOLIC):
                    if arithmetic is FLOAT:
                        shape = compiled.numeric
                    elif arithmetic is SYMBOLIC:
                        shape = compiled.symbolic
                    else:
                        shape = compiled.big
                    copy = replace(shape)  # another object: no layout kept for it yet
                    for params in _params(operator):
                        expected = _run(PLAIN[operator], shape, params, arithmetic)
                        # The first run builds the layout, the next ones read it.
                        for again in (shape, shape, copy, copy):
                            got = _run(spec.schedule, again, params, arithmetic)
                            where = (name, operator, task.id, arithmetic.name, params)
                            assert got == expected, where
                        compared += 1
    assert compared > 0


def _run(schedule: Plain, shape: TaskShape, params: dict[str, int], arithmetic: Arithmetic) -> Any:
    asked = _Asked(arithmetic)
    try:
        result = schedule(shape, asked, params, arithmetic)
    except Exception as error:  # noqa: BLE001 - the same error either way
        return type(error).__name__
    return _schedule_key(result), asked.log


def test_a_recycled_id_never_reads_another_shapes_layout() -> None:
    """A layout is kept beside its shape: another shape under the same ``id`` (the first
    one gone) gets its own."""
    built: list[TaskShape] = []

    def build(shape: TaskShape) -> float:
        built.append(shape)
        return float(shape.prompt)

    remembered = per_shape(build)
    first, second = TaskShape(10.0, 1.0, 3.0), TaskShape(20.0, 1.0, 5.0)
    assert remembered(first) == 3.0 and remembered(first) == 3.0
    assert built == [first]
    # ``second`` under ``first``'s id, as if ``first`` were gone and its id reused.
    cells = remembered.__closure__ or ()
    (memo,) = [c.cell_contents for c in cells if isinstance(c.cell_contents, dict)]
    memo[id(second)] = (first, 3.0)
    assert remembered(second) == 5.0
    assert built == [first, second]


def test_a_recycled_id_never_reads_another_chunk_layout() -> None:
    """CHUNK_AGGREGATE's layouts likewise, by (shape, chunk, arithmetic)."""
    spec = OPERATORS[Operator.CHUNK_AGGREGATE]
    first = TaskShape(1000.0, 10.0, 50.0, aggregate_tokens=lambda size: size / 10)
    second = replace(first, whole_input=4000.0)
    asked = _Asked(FLOAT)
    expected = _schedule_key(_chunk(second, asked, {"chunk": 300}, FLOAT))
    spec.schedule(first, asked, {"chunk": 300}, FLOAT)
    kept = chunking._LAYOUTS[(id(first), 300, id(FLOAT))]
    chunking._LAYOUTS[(id(second), 300, id(FLOAT))] = kept  # first's layout, second's id
    assert _schedule_key(spec.schedule(second, asked, {"chunk": 300}, FLOAT)) == expected
    assert chunking._LAYOUTS[(id(second), 300, id(FLOAT))][0] is second
    # The sizes of the success alone (an arithmetic without groups) likewise.
    alone = replace(FLOAT, groups=False)
    expected = _schedule_key(_chunk(second, asked, {"chunk": 300}, alone))
    spec.schedule(first, asked, {"chunk": 300}, alone)
    kept = chunking._SIZES[(id(first), 300, id(alone))]
    chunking._SIZES[(id(second), 300, id(alone))] = kept
    assert _schedule_key(spec.schedule(second, asked, {"chunk": 300}, alone)) == expected
    assert chunking._SIZES[(id(second), 300, id(alone))][0] is second
