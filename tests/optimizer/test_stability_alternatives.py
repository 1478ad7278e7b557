"""The stability context's alternatives (indexed candidates, shared swaps) against the plain
construction of :mod:`tests.optimizer.stability_reference`: the same task plans in the same
order, for every task of the plan and every figure (each model with each capability, and
with none), on random, wide and cascade-bearing requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aalps.optimizer.stability_context import StabilityContext

from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.stability_calls import stability_calls
from tests.optimizer.stability_reference import _Context

CASCADE_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cascade.yaml"


def _check(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    checked = 0
    for evaluator, plan, spaces, ratio in stability_calls(data, monkeypatch):
        fast = StabilityContext(evaluator, plan, spaces, ratio)
        plain = _Context(evaluator, plan, spaces, ratio)
        models = [m.name for m in evaluator.catalog.models]
        capabilities = sorted(
            {fast.capability(tp, r.role) for tp in plan.tasks for r in tp.roles} | {""}
        )
        # Plain figures first and then capabilities, and the other way round: the shared
        # swaps must not depend on which figure asked first.
        for order in (capabilities, capabilities[::-1]):
            fast = StabilityContext(evaluator, plan, spaces, ratio)
            for index in range(len(plan.tasks)):
                for model in models:
                    for capability in order:
                        got = fast.alternatives(index, model, capability)
                        assert got == plain.alternatives(index, model, capability)
                        checked += 1
            # What each plan involves (shared between plans of equal roles and capabilities).
            plans = {
                tp
                for index in range(len(plan.tasks))
                for name in models
                for tp in fast.alternatives(index, name, "")
            }
            for tp in [*plan.tasks, *plans]:
                for model in models:
                    for capability in capabilities:
                        want = plain.involves(tp, model, capability)
                        assert fast.involves(tp, model, capability) == want
    return checked


@pytest.mark.parametrize("seed", range(1, 13))
def test_random_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(random_request_data(seed), monkeypatch)


@pytest.mark.parametrize(("seed", "n_tasks", "n_models"), [(1, 30, 12), (2, 40, 6)])
def test_wide_requests(
    seed: int, n_tasks: int, n_models: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _check(wide_request_data(seed, n_tasks, n_models), monkeypatch) > 0


@pytest.mark.parametrize("floor", [True, False])
def test_the_cascade_example(floor: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cascade plan (no swaps, every cascade) and DIRECT with cascades among the
    alternatives."""
    data = yaml.safe_load(CASCADE_EXAMPLE.read_text())
    if not floor:
        del data["constraints"]
    assert _check(data, monkeypatch) > 0


@pytest.mark.parametrize("seed", range(4))
def test_chain_requests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(chain_request_data(seed, 8 + seed, 6, constraint="max_cost"), monkeypatch)
