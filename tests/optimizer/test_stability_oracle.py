"""The reliability ranges against their documented contract, checked by brute force
(:mod:`tests.optimizer.stability_oracle`): at each end that names a plan, the plan is
optimal among every single-task alternative, and the plan named beats it within the
resolution past the end. On seeded random, wide and coupled requests, whose ranges the
scan's refinement (regula falsi steps, the grid up) places otherwise than bisection did."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aalps.cost_models.errors import InfeasibleError
from aalps.cost_models.loading import load_request
from aalps.optimizer import api

from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_oracle import reliability_problems


def _checked(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    """(how many reliability ranges with a named end optimize reported, their problems)."""
    seen: list[Any] = []
    ranges = api.stability_ranges

    def keep(evaluator: Any, plan: Any, spaces: Any, *, ratio: bool) -> Any:
        found = ranges(evaluator, plan, spaces, ratio=ratio)
        seen.append((evaluator, plan, spaces, ratio, found))
        return found

    monkeypatch.setattr(api, "stability_ranges", keep)
    try:
        api.optimize(load_request(data))
    except InfeasibleError:
        return 0, []
    count, problems = 0, []
    for evaluator, plan, spaces, ratio, found in seen:
        count += sum(1 for r in found if r.field == "reliability" and (r.above or r.below))
        problems += reliability_problems(evaluator, plan, spaces, ratio, found)
    return count, problems


@pytest.mark.parametrize("seed", [2, 3, 4, 6, 8, 12, 15, 104, 129, 154, 260])
def test_random_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    count, problems = _checked(random_request_data(seed), monkeypatch)
    assert count and problems == []


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 50, 20), (4, 20, 8), (11, 50, 20)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    count, problems = _checked(wide_request_data(seed, n_tasks, n_models), monkeypatch)
    assert count and problems == []


@pytest.mark.parametrize("seed", range(4))
def test_coupled_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    constraint = ("max_latency", "max_cost", "min_success_probability", "max_latency")[seed]
    data = chain_request_data(seed, (8, 20, 40)[seed % 3], 10, constraint=constraint)
    assert _checked(data, monkeypatch)[1] == []


def test_a_misplaced_end_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The oracle is not vacuous: an end moved well past the crossing, or one that names a
    plan that never wins there, is reported."""
    seen: list[Any] = []
    ranges = api.stability_ranges

    def keep(evaluator: Any, plan: Any, spaces: Any, *, ratio: bool) -> Any:
        found = ranges(evaluator, plan, spaces, ratio=ratio)
        seen.append((evaluator, plan, spaces, ratio, found))
        return found

    monkeypatch.setattr(api, "stability_ranges", keep)
    api.optimize(load_request(random_request_data(2)))
    evaluator, plan, spaces, ratio, found = seen[0]
    named = [r for r in found if r.field == "reliability" and r.below and r.low < 0.99]
    assert named
    moved = [replace(r, low=r.low * 0.9, above=(), high=1.0) for r in named]
    assert reliability_problems(evaluator, plan, spaces, ratio, moved)
