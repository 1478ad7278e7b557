"""CHUNK_AGGREGATE: cut the input into chunks, one call per chunk, then combine.

Chen et al. (2024, §3.1): with ``prompt_tokens`` carried by every call, the chunk size is a
real trade-off. ``N`` input tokens at nominal chunk size ``s`` make ``c = ⌈N/s⌉`` balanced
chunks of ``N/c`` tokens; each call writes ``aggregate_tokens`` (evaluated at the chunk's
size), and the results are combined by code (free) or by one LLM call that reads them all.
"""

from __future__ import annotations

from collections.abc import Mapping

from aalps.cost_models.arithmetic import Arithmetic, power
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
        written_by = shape.aggregate_tokens
        assert written_by is not None
        total, prompt = shape.whole_input, shape.prompt
        chunks = arithmetic.ceil(total / params["chunk"])
        size = total / chunks if chunks != 0 else 0  # an empty input makes no calls
        chunk_in = prompt + size
        success = power(reliability("worker", chunk_in, chain_decisions(shape, chunks)), chunks)
        # Scored for every candidate chunk count: the groups are built as a tuple at once.
        if not shape.llm_aggregator:
            if not arithmetic.groups:
                return Schedule((), success)  # the success alone: nothing reads the output
            worker = CallGroup("worker", chunks, chunk_in, written_by(size), parallel=chunks)
            return Schedule((worker,), success)
        written = written_by(size)
        combine_in = prompt + chunks * written
        success = success * reliability("aggregator", combine_in)
        if not arithmetic.groups:
            return Schedule((), success)
        groups = (
            CallGroup("worker", chunks, chunk_in, written, parallel=chunks),
            CallGroup("aggregator", 1, combine_in, shape.output),
        )
        return Schedule(groups, success)
