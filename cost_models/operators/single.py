"""Operators that need no decomposition beyond the input itself: DIRECT and MAP."""

from __future__ import annotations

from collections.abc import Mapping

from aalps.cost_models.arithmetic import Arithmetic, Value, power
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
    per_shape,
)

__all__ = ["Direct", "MapBlocks"]


@per_shape
def _direct_layout(
    shape: TaskShape,
) -> tuple[tuple[CallGroup, ...], Value, Value, tuple[ToolUse, ...], Value]:
    """DIRECT's (groups, tokens in, decisions, tools, the tool's success) on ``shape``."""
    if shape.tool_task:
        tool = ToolUse("tool", 1, shape.tool_price, shape.tool_latency)
        return (), 0, 1, (tool,), 1 - shape.tool_failure
    tokens_in = shape.prompt + shape.whole_input
    call = CallGroup("worker", 1, tokens_in, shape.output)
    # On a ``steps`` task the one call writes the whole chain: right only if every step is.
    return (call,), tokens_in, chain_decisions(shape, 1), (), 1


@per_shape
def _map_layout(shape: TaskShape) -> tuple[tuple[CallGroup, ...], Value, Value, Value]:
    """MAP's (groups, tokens in, block count, decisions per call) on ``shape``."""
    tokens_in = shape.prompt + shape.block_size
    count = shape.block_count
    calls = CallGroup("worker", count, tokens_in, shape.block_output, parallel=count)
    return (calls,), tokens_in, count, chain_decisions(shape, count)


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
        groups, tokens_in, decisions, tools, tool_success = _direct_layout(shape)
        if tools:
            return Schedule((), tool_success, tools)
        return Schedule(groups, reliability("worker", tokens_in, decisions))


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
        groups, tokens_in, count, decisions = _map_layout(shape)
        return Schedule(groups, power(reliability("worker", tokens_in, decisions), count))
