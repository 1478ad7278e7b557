"""Operators that need no decomposition beyond the input itself: DIRECT and MAP."""

from __future__ import annotations

from collections.abc import Mapping

from aalps.cost_models.arithmetic import Arithmetic, power
from aalps.cost_models.domain import Executor, Operator, Task
from aalps.cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
    ToolUse,
    chain_decisions,
    discrete_answer,
)

__all__ = ["Direct", "MapBlocks"]


class Direct(OperatorSpec):
    """One call of one model over the whole input (the paper's generalist); a TOOL or CODE
    task's one tool call (no role)."""

    operator = Operator.DIRECT
    shape_fields = frozenset(
        {
            "output",
            "prompt",
            "step_count",
            "tool_failure",
            "tool_latency",
            "tool_price",
            "tool_task",
            "whole_input",
        }
    )

    def missing(self, task: Task) -> str | None:
        return None

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        if task.executor is not Executor.LLM:
            return ()
        votable = discrete_answer(task, task.output_tokens)
        return (RoleSpec("worker", task.role_capability(self.operator, "worker"), votable=votable),)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        if shape.tool_task:
            tool = ToolUse("tool", 1, shape.tool_price, shape.tool_latency)
            return Schedule((), 1 - shape.tool_failure, (tool,))
        tokens_in = shape.prompt + shape.whole_input
        call = CallGroup("worker", 1, tokens_in, shape.output)
        # On a ``steps`` task the one call writes the whole chain: right only if every step is.
        return Schedule((call,), reliability("worker", tokens_in, chain_decisions(shape, 1)))


class MapBlocks(OperatorSpec):
    """One focused call per independent block, all side by side."""

    operator = Operator.MAP
    shape_fields = frozenset({"block_count", "block_output", "block_size", "prompt", "step_count"})

    def missing(self, task: Task) -> str | None:
        return None if task.blocks is not None else "needs the blocks fact"

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        assert task.blocks is not None
        votable = discrete_answer(task, task.blocks.output)
        return (RoleSpec("worker", task.role_capability(self.operator, "worker"), votable=votable),)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        tokens_in = shape.prompt + shape.block_size
        count = shape.block_count
        calls = CallGroup("worker", count, tokens_in, shape.block_output, parallel=count)
        one = reliability("worker", tokens_in, chain_decisions(shape, count))
        return Schedule((calls,), power(one, count))
