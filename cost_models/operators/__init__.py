"""The decomposition operators, one module per family, and the registry that lists them."""

from __future__ import annotations

from aalps.cost_models.domain import Executor, Operator, Task
from aalps.cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    ParamSpec,
    RatedReliability,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
    ToolUse,
)
from aalps.cost_models.operators.cascade import Cascade
from aalps.cost_models.operators.chunking import ChunkAggregate
from aalps.cost_models.operators.repair import IterateStateless, IterateWithHistory, ScanAndFix
from aalps.cost_models.operators.retry import GlobalRetry, LocalRetry
from aalps.cost_models.operators.routing import Route
from aalps.cost_models.operators.single import Direct, MapBlocks
from aalps.cost_models.operators.voting import AheadByK

OPERATORS: dict[Operator, OperatorSpec] = {
    spec.operator: spec
    for spec in (
        Direct(),
        Route(),
        MapBlocks(),
        ScanAndFix(),
        IterateWithHistory(),
        IterateStateless(),
        GlobalRetry(),
        LocalRetry(),
        ChunkAggregate(),
        AheadByK(),
        Cascade(),
    )
}


def applicable_operators(task: Task) -> list[Operator]:
    """Operators whose structure facts ``task`` has, in registry order (a TOOL or CODE task:
    DIRECT, its one tool call)."""
    if task.executor is not Executor.LLM:
        return [Operator.DIRECT]
    return [op for op, spec in OPERATORS.items() if spec.missing(task) is None]


def default_baseline(task: Task) -> Operator:
    """The naive plan a task's separation is measured against (DESIGN §2)."""
    if task.baseline is not None:
        return task.baseline
    if task.defects is not None:
        return Operator.ITERATE_WITH_HISTORY
    if task.acceptance is not None:
        return Operator.GLOBAL_RETRY
    return Operator.DIRECT


__all__ = [
    "OPERATORS",
    "CallGroup",
    "OperatorSpec",
    "ParamSpec",
    "RatedReliability",
    "Reliability",
    "RoleSpec",
    "Schedule",
    "TaskShape",
    "ToolUse",
    "applicable_operators",
    "default_baseline",
]
