"""The price and size ranges' bounds on an alternative whose line may turn parallel to the
plan's between its costs' ends (:func:`aalps.optimizer.stability_linear._bounds`,
``_BOTH``): each such alternative is scored under a fresh doubled evaluator and the end its
line then sets must lie within its bounds (at or beyond the ``high`` one, at or before the
``low`` one), on random and wide requests, priced and size-based."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from aalps.cost_models.domain import CostModel
from aalps.optimizer.scaled_figures import PRICE_FIELDS, SIZE, scaled_evaluator
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_linear import _BOTH, _alternatives, _bounds, line_through

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_calls import stability_calls


def _check(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """The alternatives with a bound on each end, each checked."""
    checked = 0
    for evaluator, plan, spaces, ratio in stability_calls(data, monkeypatch):
        context = StabilityContext(evaluator, plan, spaces, ratio)
        priced = evaluator.request.cost_model is CostModel.PRICED
        used = {m for tp in plan.tasks for r in tp.roles for m, _ in r.members}
        for model in evaluator.catalog.models:
            if model.name not in used:
                continue
            for field in PRICE_FIELDS if priced else (SIZE,):
                fresh = scaled_evaluator(evaluator, model.name, field, 2.0)
                costs1 = [evaluator.task_outcome(tp).expected_cost for tp in plan.tasks]
                costs2 = [fresh.task_outcome(tp).expected_cost for tp in plan.tasks]
                success = math.prod(
                    evaluator.task_outcome(tp).success_probability for tp in plan.tasks
                )
                chosen = line_through(math.fsum(costs1), math.fsum(costs2), success, ratio)
                found = _alternatives(context, model.name, costs1, costs2)
                kind, high, low = _bounds(chosen, found, ratio)
                for j in np.flatnonzero(kind == _BOTH).tolist():
                    cost2 = fresh.task_outcome(found.plans[j]).expected_cost
                    line = line_through(
                        float(found.cost1[j]),
                        float(found.rest2[j]) + cost2,
                        float(found.success[j]),
                        ratio,
                    )
                    slope = line.beta - chosen.beta
                    if slope != 0:
                        cross = (chosen.alpha - line.alpha) / slope
                        assert cross >= high[j] if slope < 0 else cross <= low[j]
                    checked += 1
    return checked


@pytest.mark.parametrize("seed", range(1, 13))
def test_random_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(random_request_data(seed), monkeypatch)


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 50, 20), (2, 40, 6)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _check(wide_request_data(seed, n_tasks, n_models), monkeypatch) > 20
