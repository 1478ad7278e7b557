"""The scale ray: where asymptotic comparisons between plans are made.

DESIGN §2, "Asymptotic optimum": every growing free parameter is multiplied by ``s`` from
its value at the scale point (defined parameters and model sizes that are expressions such
as ``k*m_s`` follow; numbers stay), and ``s → ∞``. Along the ray every plan's cost has a
leading term, so plans are totally ordered for all large enough ``s``; aalps reads that
order at :data:`FAR_SCALE`, where every leading term has long taken over for the costs
requests describe (a crossing further out than a million-fold growth is of no practical
interest), and finds crossings below it by bisection on the symbolic costs.
"""

from __future__ import annotations

import math

import sympy
from aalps.cost_models.domain import Model, OptimizeRequest, TaskGraph
from aalps.cost_models.evaluation import PlanEvaluator, PlanOutcome, TaskOutcome
from aalps.optimizer.ray_figures import RayFigures

__all__ = [
    "FAR_SCALE",
    "Outcome",
    "TIE_TOLERANCE",
    "evaluator_at",
    "grows",
    "model_size_at",
    "objective_of",
    "ray_point",
]

#: The point of the scale ray where plans are ranked asymptotically.
FAR_SCALE = 1e6
#: Objectives within this relative distance at the scale point are ties.
TIE_TOLERANCE = 1e-9

Outcome = TaskOutcome | PlanOutcome | RayFigures


def ray_point(graph: TaskGraph, scale: float) -> dict[sympy.Symbol, sympy.Expr]:
    """Every free parameter's value at ``scale`` along the ray (growing ones multiplied)."""
    return {
        p.symbol: sympy.Float(p.value * scale if p.grows else p.value, 30)
        for p in graph.parameters
        if p.expr is None
    }


def model_size_at(graph: TaskGraph, model: Model, scale: float) -> float:
    """A model's size at ``scale`` along the ray (a size such as ``k*m_s`` grows)."""
    if scale == 1.0 or not model.size.free_symbols or model.size.is_Symbol:
        return model.size_value
    expr = model.size.xreplace(graph.substitutions).xreplace(ray_point(graph, scale))
    try:
        return float(sympy.N(expr, 30))
    except (OverflowError, TypeError):
        return math.inf


def evaluator_at(request: OptimizeRequest, scale: float) -> PlanEvaluator:
    """An evaluator of ``request``'s plans at ``scale`` along its scale ray."""
    return PlanEvaluator(request, scale=scale)


def objective_of(outcome: Outcome, ratio: bool) -> float:
    """The value a search minimizes, in log space: log cost, or log(cost / success)."""
    return outcome.log_cost_of_pass if ratio else outcome.log_cost


def grows(request: OptimizeRequest) -> bool:
    """Whether the request has a growing parameter at all (else there is no ray)."""
    return bool(request.graph.growing)
