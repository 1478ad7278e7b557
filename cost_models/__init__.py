"""The cost core of aalps: requests, LLM-primitive costs, operators, error terms and Θ bounds.

Pure domain code: it imports neither grpc nor protobuf. The optimizer and the service build
on the names exported here.

Names are imported on first use: the client's error classes come from here, and the
``aalps`` command must not pay for sympy before it needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aalps._lazy import lazy_exports

if TYPE_CHECKING:
    from aalps.cost_models.bounds import Bound, Separation, derive_bound, separation
    from aalps.cost_models.domain import (
        Catalog,
        Constraints,
        CostModel,
        Model,
        Objective,
        Operator,
        OptimizeRequest,
        Plan,
        RoleAssignment,
        SearchOptions,
        Task,
        TaskGraph,
        TaskPlan,
    )
    from aalps.cost_models.errors import (
        AalpsError,
        ExpressionError,
        FieldViolation,
        InfeasibleError,
        InvalidRequestError,
    )
    from aalps.cost_models.evaluation import PlanEvaluation, PlanEvaluator, PlanOutcome, TaskOutcome
    from aalps.cost_models.expressions import parse_expression
    from aalps.cost_models.loading import load_request
    from aalps.cost_models.plan_loading import load_plan
    from aalps.cost_models.simulator import simulate

_EXPORTS = {
    "Bound": "aalps.cost_models.bounds",
    "Separation": "aalps.cost_models.bounds",
    "derive_bound": "aalps.cost_models.bounds",
    "separation": "aalps.cost_models.bounds",
    "Catalog": "aalps.cost_models.domain",
    "Constraints": "aalps.cost_models.domain",
    "CostModel": "aalps.cost_models.domain",
    "Model": "aalps.cost_models.domain",
    "Objective": "aalps.cost_models.domain",
    "Operator": "aalps.cost_models.domain",
    "OptimizeRequest": "aalps.cost_models.domain",
    "Plan": "aalps.cost_models.domain",
    "RoleAssignment": "aalps.cost_models.domain",
    "SearchOptions": "aalps.cost_models.domain",
    "Task": "aalps.cost_models.domain",
    "TaskGraph": "aalps.cost_models.domain",
    "TaskPlan": "aalps.cost_models.domain",
    "AalpsError": "aalps.cost_models.errors",
    "ExpressionError": "aalps.cost_models.errors",
    "FieldViolation": "aalps.cost_models.errors",
    "InfeasibleError": "aalps.cost_models.errors",
    "InvalidRequestError": "aalps.cost_models.errors",
    "PlanEvaluation": "aalps.cost_models.evaluation",
    "PlanEvaluator": "aalps.cost_models.evaluation",
    "PlanOutcome": "aalps.cost_models.evaluation",
    "TaskOutcome": "aalps.cost_models.evaluation",
    "parse_expression": "aalps.cost_models.expressions",
    "load_plan": "aalps.cost_models.plan_loading",
    "load_request": "aalps.cost_models.loading",
    "simulate": "aalps.cost_models.simulator",
}

__all__ = [
    "AalpsError",
    "Bound",
    "Catalog",
    "Constraints",
    "CostModel",
    "ExpressionError",
    "FieldViolation",
    "InfeasibleError",
    "InvalidRequestError",
    "Model",
    "Objective",
    "Operator",
    "OptimizeRequest",
    "Plan",
    "PlanEvaluation",
    "PlanEvaluator",
    "PlanOutcome",
    "RoleAssignment",
    "SearchOptions",
    "Separation",
    "Task",
    "TaskGraph",
    "TaskOutcome",
    "TaskPlan",
    "derive_bound",
    "load_plan",
    "load_request",
    "parse_expression",
    "separation",
    "simulate",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
