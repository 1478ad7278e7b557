"""ROUTE: a delegator reads the routing metadata, the matching specialist does the work.

The only operator whose specialist may be a per-variant model family (the paper's k
specialists, §3.1): routing is what picks the right member of the family. With
``routing.code_router`` the router is code (:mod:`aalps.cost_models.tools`): no delegator
role, no forward pass, the router's price, latency and failure rate instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.domain import Operator, Task
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

__all__ = ["Route"]


class Route(OperatorSpec):
    operator = Operator.ROUTE
    shape_fields = frozenset(
        {
            "code_router",
            "output",
            "prompt",
            "router_failure",
            "router_latency",
            "router_price",
            "routing_tokens",
            "step_count",
            "whole_input",
        }
    )

    def missing(self, task: Task) -> str | None:
        return None if task.routing is not None else "needs the routing fact"

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        assert task.routing is not None
        delegator = task.role_capability(self.operator, "delegator", task.routing.capability)
        specialist = RoleSpec(
            "specialist",
            task.role_capability(self.operator, "specialist"),
            per_variant_allowed=True,
            votable=discrete_answer(task, task.output_tokens),
        )
        if task.routing.code_router is not None:
            return (specialist,)  # code routes: no delegator call
        return (RoleSpec("delegator", delegator), specialist)

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        groups, tools, route_in, work_in, decisions, routed = _layout(shape)
        if tools:  # a code router: no delegator call
            return Schedule(groups, routed * reliability("specialist", work_in, decisions), tools)
        success = reliability("delegator", route_in) * reliability("specialist", work_in, decisions)
        return Schedule(groups, success)


@per_shape
def _layout(
    shape: TaskShape,
) -> tuple[tuple[CallGroup, ...], tuple[ToolUse, ...], Value, Value, Value, Value]:
    """ROUTE's (groups, tools, routing tokens in, work tokens in, the specialist's
    decisions, the code router's success) on ``shape``."""
    route_in = shape.prompt + shape.routing_tokens
    work_in = shape.prompt + shape.whole_input
    decisions = chain_decisions(shape, 1)  # the specialist writes the whole chain
    if shape.code_router:
        router = ToolUse("router", 1, shape.router_price, shape.router_latency)
        work = CallGroup("specialist", 1, work_in, shape.output)
        return (work,), (router,), route_in, work_in, decisions, 1 - shape.router_failure
    groups = (
        CallGroup("delegator", 1, route_in, 1),
        CallGroup("specialist", 1, work_in, shape.output),
    )
    return groups, (), route_in, work_in, decisions, 1
