"""The models a role's enumeration starts from, per request.

A role is played only by the catalog's models that have its capability (per-variant
families only where the role allows them, :func:`~aalps.cost_models.plan_checks.model_problem`);
of those, only the ones no other dominates in that role
(:func:`~aalps.optimizer.model_dominance.useful_models`) are scored. Both answers depend on
the role and the catalog alone, and the tasks of a request repeat their roles, so each is
worked out once per request. When no model can play a role, :meth:`RoleModels.no_model`
says why (for the task's :class:`~aalps.cost_models.errors.InfeasibleError`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aalps.cost_models.domain import Model, Operator
from aalps.cost_models.errors import did_you_mean
from aalps.cost_models.operators import RoleSpec
from aalps.cost_models.plan_checks import model_problem
from aalps.optimizer.model_dominance import useful_models
from aalps.optimizer.shadowing import shadowing_models

__all__ = ["RoleModels"]


class RoleModels:
    """Able and undominated models per role of one request's catalog (remembered)."""

    def __init__(
        self,
        catalog: Sequence[Model],
        far_sizes: Mapping[str, float] | None,
        *,
        success: bool,
        latency: bool,
    ) -> None:
        self.catalog = tuple(catalog)
        self._far_sizes = far_sizes  # None under PRICED: prices, not sizes, rank the models
        self._success = success
        self._latency = latency
        self._capable: dict[RoleSpec, tuple[Model, ...]] = {}
        self._useful: dict[tuple[object, ...], tuple[Model, ...]] = {}
        self._shadows: dict[tuple[object, ...], dict[str, tuple[str, ...]]] = {}

    def capable(self, role: RoleSpec) -> tuple[Model, ...]:
        """The catalog's models that can play ``role``, in catalog order."""
        able = self._capable.get(role)
        if able is None:
            able = tuple(m for m in self.catalog if model_problem(role, m) is None)
            self._capable[role] = able
        return able

    def useful(
        self,
        operator: Operator,
        role: RoleSpec,
        models: tuple[Model, ...],
        verifiers: tuple[str, ...],
    ) -> tuple[Model, ...]:
        """Of ``models``, those no other capable model dominates in ``role`` of
        ``operator`` (whose verifiers need ``verifiers``), in catalog order."""
        key = (operator, role, verifiers, tuple(m.name for m in models))
        known = self._useful.get(key)
        if known is None:
            known = useful_models(
                operator,
                role,
                models,
                verifiers=verifiers,
                catalog=self.catalog,
                far_sizes=self._far_sizes,
                success=self._success,
                latency=self._latency,
            )
            self._useful[key] = known
        return known

    def shadows(self, role: RoleSpec, models: tuple[Model, ...]) -> dict[str, tuple[str, ...]]:
        """Per model of ``models`` the earlier ones that shadow it in ``role``
        (:func:`~aalps.optimizer.shadowing.shadowing_models`)."""
        key = (role, tuple(m.name for m in models))
        known = self._shadows.get(key)
        if known is None:
            known = shadowing_models(role, models, far_sizes=self._far_sizes, latency=self._latency)
            self._shadows[key] = known
        return known

    def no_model(self, role: RoleSpec) -> str:
        """Why no model can play ``role``: none has the capability, or only families do."""
        capability = role.capability
        variants = [m.name for m in self.catalog if m.per_variant and capability in m.capabilities]
        if variants and not role.per_variant_allowed:
            return (
                f"only per-variant models ({', '.join(variants)}) have capability {capability}, "
                f"and they serve only as ROUTE specialists"
            )
        known = sorted({c for m in self.catalog for c in m.capabilities})
        hint = did_you_mean(capability, known)
        return f"no model has capability {capability}" + (f"; {hint}" if hint else "")
