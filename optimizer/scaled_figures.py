"""One model figure of a request scaled by a factor, for the stability ranges' probes.

:func:`scaled_evaluator` answers "what would this plan cost if dev's output price were
×3.1" without rebuilding the evaluator: the figures named here are the ones a stability
range moves (:mod:`aalps.optimizer.stability`).
"""

from __future__ import annotations

from dataclasses import replace

import sympy
from aalps.cost_models.domain import Catalog
from aalps.cost_models.evaluation import PlanEvaluator

__all__ = ["PRICE_FIELDS", "RELIABILITY", "SIZE", "scaled_evaluator"]

PRICE_FIELDS = ("price_per_input_token", "price_per_output_token")
SIZE = "size"
RELIABILITY = "reliability"


def scaled_evaluator(
    evaluator: PlanEvaluator, model: str, field: str, factor: float, capability: str = ""
) -> PlanEvaluator:
    """An evaluator of the same request with one model figure multiplied by ``factor``
    (:meth:`PlanEvaluator.with_catalog`): a price, the size (its value; a size symbol stays
    in symbolic costs) or one capability's reliability, clipped to 1."""
    base = evaluator.catalog.by_name[model]
    if field == SIZE:
        changed = replace(base, size_value=base.size_value * factor)
    elif field == RELIABILITY:
        capabilities = dict(base.capabilities)
        capabilities[capability] = _number(min(1.0, float(capabilities[capability]) * factor))
        changed = replace(base, capabilities=capabilities)
    else:
        changed = replace(base, **{field: _number(float(getattr(base, field)) * factor)})
    return evaluator.with_catalog(
        Catalog(tuple(changed if m.name == model else m for m in evaluator.catalog.models))
    )


def _number(value: float) -> sympy.Rational:
    return sympy.Float(value, 30)
