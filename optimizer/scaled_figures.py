"""One model figure of a request scaled by a factor, for the stability ranges' probes.

:func:`scaled_evaluator` answers "what would this plan cost if dev's output price were
×3.1" without rebuilding the evaluator: the figures named here are the ones a stability
range moves (:mod:`aalps.optimizer.stability`).
"""

from __future__ import annotations

import copy
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
    """An evaluator of the same request with one model figure multiplied by ``factor``.

    A shallow copy that shares the compiled task sizes and starts with empty caches, so
    scoring a task plan costs what the first scoring did (microseconds). Reliabilities are
    clipped to 1. Equal to a fresh evaluator of the request with the scaled catalog (a test
    checks that).
    """
    base = evaluator.catalog.by_name[model]
    sizes = dict(evaluator._model_sizes)
    if field == SIZE:
        changed = base
        sizes[model] = sizes[model] * factor
    elif field == RELIABILITY:
        capabilities = dict(base.capabilities)
        capabilities[capability] = _number(min(1.0, float(capabilities[capability]) * factor))
        changed = replace(base, capabilities=capabilities)
    else:
        changed = replace(base, **{field: _number(float(getattr(base, field)) * factor)})
    scaled = copy.copy(evaluator)
    scaled.catalog = Catalog(
        tuple(changed if m.name == model else m for m in evaluator.catalog.models)
    )
    scaled._model_sizes = sizes
    scaled._numbers = {}
    scaled._outcomes = {}
    scaled._costs = {}
    scaled._successes = {}
    return scaled


def _number(value: float) -> sympy.Rational:
    return sympy.Float(value, 30)
