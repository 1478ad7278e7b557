"""One model figure of a request scaled by a factor, for the stability ranges' probes.

:func:`scaled_evaluator` answers "what would this plan cost if dev's output price were
×3.1" without rebuilding the evaluator: the figures named here are the ones a stability
range moves (:mod:`aalps.optimizer.stability`).

:class:`ScaledFigures` makes them for one analysis: each starts with the request evaluator's
float role entries of the roles the varied model does not answer (the same figures its own
scoring would work out again: those roles' models, and so their numbers, did not change).
"""

from __future__ import annotations

import copy
import math

import sympy
from aalps.cost_models.arithmetic import FLOAT
from aalps.cost_models.domain import Catalog, Model
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.role_entries import RoleEntry, RoleKey
from mpmath import libmp

__all__ = ["PRICE_FIELDS", "RELIABILITY", "SIZE", "ScaledFigures", "scaled_evaluator"]

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
        changed = _replaced(base, "size_value", base.size_value * factor)
    elif field == RELIABILITY:
        capabilities = dict(base.capabilities)
        capabilities[capability] = _number(min(1.0, float(capabilities[capability]) * factor))
        changed = _replaced(base, "capabilities", capabilities)
    else:
        changed = _replaced(base, field, _number(float(getattr(base, field)) * factor))
    return evaluator.with_catalog(
        Catalog(tuple(changed if m.name == model else m for m in evaluator.catalog.models))
    )


def _replaced(model: Model, field: str, value: object) -> Model:
    """``dataclasses.replace(model, field=value)`` without its generic path (a copy of the
    frozen record with the one field set: the model has no ``__post_init__``)."""
    changed = copy.copy(model)
    object.__setattr__(changed, field, value)
    return changed


#: ``sympy.Float(value, 30)``'s binary precision and rounding.
_PRECISION = 103
_ROUNDING = libmp.round_nearest


def _number(value: float) -> sympy.Rational:
    """``sympy.Float(value, 30)``: a finite non-zero float built directly (the same
    record, without ``Float.__new__``'s dispatch on the argument's type)."""
    if value == 0.0 or not math.isfinite(value):
        return sympy.Float(value, 30)
    return sympy.Float._new(libmp.from_float(value, _PRECISION, _ROUNDING), _PRECISION, zero=False)


class ScaledFigures:
    """:func:`scaled_evaluator` of one evaluator, each scaled one started with the float role
    entries (:class:`~aalps.cost_models.role_entries.RoleEntry`) of the evaluator's roles that
    the varied model does not answer.

    An entry reads its members' models and their numbers only (the model, its size, the
    capability's reliability); a scaled evaluator keeps the other models and their numbers
    (:meth:`PlanEvaluator.with_catalog`), so their entries are the ones it would build.
    """

    def __init__(self, evaluator: PlanEvaluator) -> None:
        self.evaluator = evaluator
        self._kept: dict[str, dict[RoleKey, RoleEntry]] = {}  # by varied model

    def scaled(self, model: str, field: str, factor: float, capability: str = "") -> PlanEvaluator:
        """:func:`scaled_evaluator` with the role entries of the other models."""
        twin = scaled_evaluator(self.evaluator, model, field, factor, capability)
        kept = self._kept.get(model)
        if kept is None:
            kept = self._kept[model] = _other_entries(self.evaluator, twin, model)
        if kept:
            twin._role_calls[FLOAT.name] = dict(kept)
        return twin


def _other_entries(
    evaluator: PlanEvaluator, twin: PlanEvaluator, model: str
) -> dict[RoleKey, RoleEntry]:
    """The float role entries of ``evaluator`` whose members are all models other than
    ``model`` and whose numbers ``twin`` (varying ``model``) kept."""
    numbers = twin._numbers.get(FLOAT.name, {})
    kept = {}
    for key, entry in evaluator._role_calls.get(FLOAT.name, {}).items():
        _, name, _, ensemble, _ = key
        members = [name] if not ensemble else [share.model for share in ensemble]
        if all(m != model and m in numbers for m in members):
            kept[key] = entry
    return kept
