"""CHUNK_AGGREGATE: cut the input into chunks, one call per chunk, then combine.

Chen et al. (2024, §3.1): with ``prompt_tokens`` carried by every call, the chunk size is a
real trade-off. ``N`` input tokens at nominal chunk size ``s`` make ``c = ⌈N/s⌉`` balanced
chunks of ``N/c`` tokens; each call writes ``aggregate_tokens`` (evaluated at the chunk's
size), and the results are combined by code (free) or by one LLM call that reads them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aalps.cost_models.arithmetic import Arithmetic, Value, power
from aalps.cost_models.domain import Operator, Task
from aalps.cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    ParamSpec,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
    chain_decisions,
    discrete_answer,
)

__all__ = ["ChunkAggregate", "MAX_CHUNK"]

#: Largest chunk size searched when no window limits it (the input size limits it too).
MAX_CHUNK = 10**9


_ROLES: dict[int, tuple[Task, tuple[RoleSpec, ...]]] = {}


class ChunkAggregate(OperatorSpec):
    operator = Operator.CHUNK_AGGREGATE

    def missing(self, task: Task) -> str | None:
        return None if task.chunkable is not None else "needs the chunkable fact"

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        # Asked again for every chunk size a task plan is made at (``plan_roles``): the
        # task's roles, worked out once per task (by ``id``, the task kept beside them so
        # a recycled id never matches).
        known = _ROLES.get(id(task))
        if known is not None and known[0] is task:
            return known[1]
        roles = self._roles(task)
        if len(_ROLES) > 16384:
            _ROLES.clear()
        _ROLES[id(task)] = (task, roles)
        return roles

    def _roles(self, task: Task) -> tuple[RoleSpec, ...]:
        assert task.chunkable is not None
        worker = RoleSpec(
            "worker",
            task.role_capability(self.operator, "worker"),
            votable=discrete_answer(task, task.chunkable.aggregate_tokens),
        )
        if not task.chunkable.aggregator:
            return (worker,)
        aggregator = task.role_capability(self.operator, "aggregator", task.chunkable.aggregator)
        votable = discrete_answer(task, task.output_tokens)
        return (worker, RoleSpec("aggregator", aggregator, votable=votable))

    def params(self, task: Task) -> tuple[ParamSpec, ...]:
        return (ParamSpec("chunk", 1, MAX_CHUNK, log=True),)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        chunk = params["chunk"]
        if not arithmetic.groups:
            return _success_alone(shape, reliability, chunk, arithmetic)
        # The calls read the shape, the chunk size and the arithmetic alone (:func:`_kept`).
        _, _, groups, chunk_in, decisions, chunks, combine_in = _kept(
            _LAYOUTS, _layout, shape, chunk, arithmetic
        )
        success = power(reliability("worker", chunk_in, decisions), chunks)
        if combine_in is not None:
            success = success * reliability("aggregator", combine_in)
        return Schedule(groups, success)


def _kept(
    memo: dict[tuple[int, int, int], tuple[Any, ...]],
    build: Callable[[TaskShape, int, Arithmetic], tuple[Any, ...]],
    shape: TaskShape,
    chunk: int,
    arithmetic: Arithmetic,
) -> tuple[Any, ...]:
    """``(shape, arithmetic, *build(shape, chunk, arithmetic))``, built once per (shape
    object, chunk, arithmetic): kept in ``memo`` by ``id`` beside the shape and the
    arithmetic (a recycled id never matches), so the same values every time; a chunk that
    is not an int (a caller's odd parameter) is not kept."""
    if type(chunk) is not int:
        return (shape, arithmetic, *build(shape, chunk, arithmetic))
    key = (id(shape), chunk, id(arithmetic))
    known = memo.get(key)
    if known is None or known[0] is not shape or known[1] is not arithmetic:
        if len(memo) >= _MAX_LAYOUTS:
            memo.clear()
        known = memo[key] = (shape, arithmetic, *build(shape, chunk, arithmetic))
    return known


def _success_alone(
    shape: TaskShape, reliability: Reliability, chunk: int, arithmetic: Arithmetic
) -> Schedule:
    """The schedule's success without its groups (``arithmetic.groups`` off): nothing reads
    a chunk's output but the aggregator. Its sizes (:func:`_sizes`) kept as the layouts are
    (the far point's mpmath successes: each operation takes microseconds)."""
    _, _, chunk_in, decisions, chunks, combine_in = _kept(_SIZES, _sizes, shape, chunk, arithmetic)
    success = power(reliability("worker", chunk_in, decisions), chunks)
    if combine_in is not None:
        success = success * reliability("aggregator", combine_in)
    return Schedule((), success)


def _sizes(
    shape: TaskShape, chunk: int, arithmetic: Arithmetic
) -> tuple[Value, Value, Value, Value | None]:
    """(a chunk's input, decisions per chunk, chunks, the aggregator's input or None) at
    ``chunk``: what the success reads (a chunk's output only with an LLM aggregator)."""
    total, prompt = shape.whole_input, shape.prompt
    chunks = arithmetic.ceil(total / chunk)
    size = total / chunks if chunks != 0 else 0  # an empty input makes no calls
    chunk_in = prompt + size
    decisions = chain_decisions(shape, chunks)
    if not shape.llm_aggregator:
        return chunk_in, decisions, chunks, None
    written_by = shape.aggregate_tokens
    assert written_by is not None
    return chunk_in, decisions, chunks, prompt + chunks * written_by(size)


#: :func:`_layout` by (shape's id, chunk, arithmetic's id), with the shape and arithmetic;
#: :func:`_sizes` likewise (for the success alone).
_LAYOUTS: dict[tuple[int, int, int], tuple[Any, ...]] = {}
_SIZES: dict[tuple[int, int, int], tuple[Any, ...]] = {}
#: The most layouts kept (then they start over): a large request's (shape, chunk) pairs.
_MAX_LAYOUTS = 1 << 13


def _layout(
    shape: TaskShape, chunk: int, arithmetic: Arithmetic
) -> tuple[tuple[CallGroup, ...], Value, Value, Value, Value | None]:
    """CHUNK_AGGREGATE's (groups, a chunk's input, decisions per chunk, chunks, the
    aggregator's input or None) at ``chunk``."""
    written_by = shape.aggregate_tokens
    assert written_by is not None
    total, prompt = shape.whole_input, shape.prompt
    chunks = arithmetic.ceil(total / chunk)
    size = total / chunks if chunks != 0 else 0  # an empty input makes no calls
    chunk_in = prompt + size
    decisions = chain_decisions(shape, chunks)
    written = written_by(size)
    worker = CallGroup("worker", chunks, chunk_in, written, parallel=chunks)
    if not shape.llm_aggregator:
        return (worker,), chunk_in, decisions, chunks, None
    combine_in = prompt + chunks * written
    aggregator = CallGroup("aggregator", 1, combine_in, shape.output)
    return (worker, aggregator), chunk_in, decisions, chunks, combine_in
