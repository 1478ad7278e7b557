"""The cost core of aalps: requests, LLM-primitive costs, operators, error terms and Θ bounds.

Pure domain code: it imports neither grpc nor protobuf. The optimizer and the service build
on the names exported here.
"""

from __future__ import annotations

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
from aalps.cost_models.loading import load_plan, load_request
from aalps.cost_models.simulator import simulate

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
