"""Tool and code steps: work done without an LLM forward pass.

Two places in a task graph may run as a tool or as code instead of an LLM:

* a whole task, ``executor: TOOL`` or ``CODE`` with a ``tool {price_per_call, latency,
  failure_rate}``: it runs once (operator DIRECT, no roles), its ``output_tokens`` are what
  it returns, and they feed its successors along the edges as any task's output does;
* ROUTE's router, ``routing.code_router`` (same figures): the delegator role is gone, the
  variant is picked by code.

A tool call makes no forward pass: it costs 0 under FORWARD_PASS, KV_CACHED and
QUADRATIC_ATTENTION, and its ``price_per_call`` under PRICED. Its ``latency`` adds to the
task's latency (it runs before the work that needs it), and it succeeds with probability
``1 − failure_rate``, which multiplies the task's success. CHUNK_AGGREGATE's aggregator and
the retry operators' verifier were code already (``chunkable.aggregator`` and
``acceptance.verifier`` empty): free, instant and exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy
from aalps.cost_models.arithmetic import Value
from aalps.cost_models.domain import CostModel, Executor, Task, Tool
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import check_keys, read_enum, read_mapping, read_number

__all__ = [
    "TOOL_KEYS",
    "check_tool_task",
    "read_executor",
    "read_tool",
    "tool_call_cost",
    "tool_figures",
    "tool_size_fields",
]

#: The keys of a ``ToolSpec``.
TOOL_KEYS = frozenset({"price_per_call", "latency", "failure_rate"})


def read_tool(value: Any, field: str, errors: Violations) -> Tool | None:
    """A ``ToolSpec`` mapping (None when absent): price >= 0, latency >= 0, rate in [0, 1)."""
    if value is None:
        return None
    raw: Mapping[str, Any] = read_mapping(value, field, errors)
    check_keys(raw, TOOL_KEYS, field, errors)
    price = read_number(raw.get("price_per_call"), f"{field}.price_per_call", errors, low=0.0)
    latency = read_number(raw.get("latency"), f"{field}.latency", errors, low=0.0)
    rate = read_number(raw.get("failure_rate"), f"{field}.failure_rate", errors, low=0.0)
    if rate is not None and rate >= 1.0:
        errors.add(f"{field}.failure_rate", f"must be below 1, got {rate:g}")
        rate = None
    return Tool(
        price_per_call=sympy.Rational(repr(price or 0.0)),
        latency=latency or 0.0,
        failure_rate=sympy.Rational(repr(rate or 0.0)),
    )


def read_executor(value: Any, field: str, errors: Violations) -> Executor:
    """Who runs the task (LLM when unset)."""
    return read_enum(Executor, value, field, errors, Executor.LLM) or Executor.LLM


def check_tool_task(task: Task, field: str, errors: Violations) -> None:
    """A ``tool`` only on a TOOL or CODE task; such a task carries no LLM facts."""
    if task.tool is not None and task.executor is Executor.LLM:
        errors.add(f"{field}.tool", "a tool needs executor TOOL or CODE")
    if task.executor is not Executor.LLM:
        for name in ("blocks", "routing", "defects", "acceptance", "chunkable", "steps"):
            if getattr(task, name) is not None:
                errors.add(f"{field}.{name}", f"a {task.executor} task runs no LLM operator")
        if task.baseline not in (None, "DIRECT"):
            errors.add(f"{field}.baseline", f"a {task.executor} task runs DIRECT only")


def tool_size_fields(task: Task) -> dict[str, sympy.Expr]:
    """The tool figures of a task's shape (:class:`~aalps.cost_models.operators.TaskShape`)."""
    fields: dict[str, sympy.Expr] = {}
    tool = task.tool if task.executor is not Executor.LLM else None
    if task.executor is not Executor.LLM:
        tool = tool or Tool()
        fields.update(
            tool_price=tool.price_per_call,
            tool_latency=sympy.Float(tool.latency),
            tool_failure=tool.failure_rate,
        )
    router = task.routing.code_router if task.routing is not None else None
    if router is not None:
        fields.update(
            router_price=router.price_per_call,
            router_latency=sympy.Float(router.latency),
            router_failure=router.failure_rate,
        )
    return fields


def tool_call_cost(cost_model: CostModel, calls: Value, price: Value) -> Value:
    """``calls`` tool calls: their price under PRICED, else 0 (no forward pass)."""
    return calls * price if cost_model is CostModel.PRICED else 0


def tool_figures(tools: Any, cost_model: CostModel) -> tuple[Value, Value]:
    """The cost and the latency of a schedule's tool calls (``Schedule.tools``)."""
    if not tools:
        return 0, 0
    cost: Value = 0
    latency: Value = 0
    for use in tools:
        cost = cost + tool_call_cost(cost_model, use.calls, use.price)
        latency = latency + use.calls * use.latency
    return cost, latency
