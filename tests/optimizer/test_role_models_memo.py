"""The models a role's enumeration starts from are remembered per request
(:meth:`~aalps.optimizer.enumeration.SpaceBuilder.capable` and the undominated models per
operator, role and able models): the spaces are those of working every task's roles out
afresh, the old way (the capable models filtered from the catalog, then
:func:`~aalps.optimizer.model_dominance.useful_models`), figure for figure.
"""

from __future__ import annotations

from typing import Any

import pytest
from aalps.cost_models.domain import CostModel, Model
from aalps.cost_models.operators import RoleSpec
from aalps.cost_models.plan_checks import model_problem
from aalps.optimizer.enumeration import OperatorEnumerator, SpaceBuilder
from aalps.optimizer.model_dominance import useful_models

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.space_summaries import built_spaces, space_summary

CASES: list[tuple[str, dict[str, Any]]] = [
    *((f"random {s}", random_request_data(s)) for s in range(1, 41)),
    *((f"wide {s}", wide_request_data(s, 30, 8)) for s in range(3)),
    ("wide 0, success >= 0.5", wide_request_data(0, 30, 8, min_success_probability=0.5)),
]


def _afresh_capable(self: SpaceBuilder, role: RoleSpec) -> tuple[Model, ...]:
    return tuple(m for m in self.catalog if model_problem(role, m) is None)


def _afresh_useful(
    self: OperatorEnumerator, role: RoleSpec, models: tuple[Model, ...]
) -> tuple[Model, ...]:
    priced = self.evaluator.request.cost_model is CostModel.PRICED
    return useful_models(
        self.operator,
        role,
        models,
        verifiers=[r.capability for r in self.roles if r.name == "verifier"],
        catalog=self.owner.catalog,
        far_sizes=None if priced else self.owner.far_sizes,
        success=bool(self.metrics.success),
        latency=bool(self.metrics.latency),
    )


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_remembered_role_models_give_the_same_spaces(
    name: str, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    remembered = built_spaces(data)[1]
    monkeypatch.setattr(SpaceBuilder, "capable", _afresh_capable)
    monkeypatch.setattr(OperatorEnumerator, "_useful", _afresh_useful)
    afresh = built_spaces(data)[1]
    assert [space_summary(s) for s in remembered] == [space_summary(s) for s in afresh], name
