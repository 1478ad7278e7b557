"""The size ranges' shortcut (:func:`aalps.optimizer.stability_linear._twice`): a task plan
it says costs exactly twice as much under the doubled size is scored under the doubled size
and must cost exactly that (floats compared exactly), on random requests under each
size-based cost model, with the prompt cache on and off, and on wide requests; a model with
a setup cost is never taken."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aalps.optimizer.scaled_figures import SIZE, scaled_evaluator
from aalps.optimizer.stability_context import StabilityContext
from aalps.optimizer.stability_linear import _twice

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_calls import stability_calls


def _check(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(task plans taken and checked, task plans of the model not taken)."""
    taken = left = 0
    for evaluator, plan, spaces, ratio in stability_calls(data, monkeypatch):
        context = StabilityContext(evaluator, plan, spaces, ratio)
        for model in evaluator.catalog.models:
            if not any(
                m == model.name for tp in plan.tasks for r in tp.roles for m, _ in r.members
            ):
                continue
            doubled = scaled_evaluator(evaluator, model.name, SIZE, 2.0)
            twice = _twice(context, model, SIZE, doubled)
            ids, _ = context.figure_alternatives(model.name, "")
            plans = [*plan.tasks, *(context.pool.plans[g] for g in ids.tolist())]
            for tp in plans:
                cost = evaluator.task_outcome(tp).expected_cost
                if twice(context.pairs(tp), cost):
                    assert doubled.task_outcome(tp).expected_cost == 2.0 * cost
                    taken += 1
                elif context.involves(tp, model.name, ""):
                    left += 1
    return taken, left


@pytest.mark.parametrize("cost_model", ["FORWARD_PASS", "KV_CACHED", "QUADRATIC_ATTENTION"])
@pytest.mark.parametrize("cache", [None, {"enabled": True}, {"enabled": True, "lifetime_calls": 3}])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_requests(
    seed: int, cost_model: str, cache: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random_request_data(seed)
    data["cost_model"] = cost_model
    if cache is not None:
        data["prompt_cache"] = cache
    _check(data, monkeypatch)


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 30, 12), (2, 40, 6)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken, left = _check(wide_request_data(seed, n_tasks, n_models), monkeypatch)
    assert taken > 100 and left > 100  # both kinds met


def test_a_setup_cost_is_never_doubled(monkeypatch: pytest.MonkeyPatch) -> None:
    data = copy.deepcopy(wide_request_data(1, 30, 12))
    for model in data["catalog"]["models"]:
        model["setup_cost"] = 1000
    assert _check(data, monkeypatch)[0] == 0


def test_priced_requests_are_never_doubled(monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(1, 12):
        data = random_request_data(seed)
        if data["cost_model"] == "PRICED":
            assert _check(data, monkeypatch)[0] == 0
            return
    pytest.fail("no PRICED request among the seeds")
