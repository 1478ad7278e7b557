"""The stability ranges' fast paths against the straightforward reference
(:mod:`tests.optimizer.stability_reference`): the very same ranges, every field, on seeded
random, wide and coupled requests (floats compared exactly, ``-0.0`` apart from ``0.0``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import api

from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_reference import reference_ranges

FIELDS = ("model", "field", "low", "high", "below", "above", "capability", "conditional")


def _warm_copy(evaluator: PlanEvaluator) -> PlanEvaluator:
    """The evaluator with copies of its caches (warm from the search, as in a real run)."""
    twin = copy.copy(evaluator)
    for name, value in vars(evaluator).items():
        if isinstance(value, dict) and name.startswith("_"):
            setattr(
                twin, name, {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
            )
    return twin


def _both(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    """The ranges of the request's plan: optimize's (fast) and the reference's, each on its
    own copy of the evaluator as the search left it."""
    seen: list[tuple[PlanEvaluator, Any, Any, bool]] = []
    ranges = api.stability_ranges

    def keep(evaluator: PlanEvaluator, plan: Any, spaces: Any, *, ratio: bool) -> Any:
        seen.append((_warm_copy(evaluator), plan, spaces, ratio))
        return ranges(evaluator, plan, spaces, ratio=ratio)

    monkeypatch.setattr(api, "stability_ranges", keep)
    try:
        result = api.optimize(load_request(data))
    except InfeasibleError:
        return [], []
    if not seen:
        return [], []
    evaluator, plan, spaces, ratio = seen[0]
    expected = reference_ranges(_warm_copy(evaluator), plan, spaces, ratio=ratio)

    def digest(items: Any) -> list[tuple[str, ...]]:
        return [tuple(repr(getattr(r, f)) for f in FIELDS) for r in items]

    return digest(result.stability), digest(expected)


@pytest.mark.parametrize("seed", range(1, 41))
def test_random_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference = _both(random_request_data(seed), monkeypatch)
    assert fast == reference


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 50, 20), (2, 120, 10), (3, 40, 6)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, reference = _both(wide_request_data(seed, n_tasks, n_models), monkeypatch)
    assert fast and fast == reference


@pytest.mark.parametrize("seed", range(12))
def test_coupled_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    constraint = ("max_latency", "max_cost", "min_success_probability")[seed % 3]
    objective = ("EXPECTED_COST", "COST_OF_PASS")[seed // 3 % 2]
    data = chain_request_data(
        seed,
        8 + seed % 7,
        6,
        constraint=constraint,
        objective=objective,
        shape="chain" if seed % 2 else "series-parallel",
    )
    fast, reference = _both(data, monkeypatch)
    assert fast == reference
