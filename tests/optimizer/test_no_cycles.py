"""A search frees its figures by reference counting: nothing it builds is left in a
reference cycle for the collector (a cycle that holds an evaluator keeps its thousands of
outcomes alive until a collection, which the next request then pays for: 0.3 s once in a
1,000-task request)."""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import pytest
from aalps.cost_models import evaluation
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize

from tests.optimizer.random_requests import wide_request_data

#: The project's records that a cycle would hold with the figures.
HELD = ("PlanEvaluator", "TaskOutcome", "TaskPlan", "TaskSpace", "Candidate", "StabilityContext")


def _cyclic_garbage(data: dict[str, object]) -> Counter[str]:
    """The kinds of objects one optimize of ``data`` leaves in reference cycles."""
    request = load_request(data)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        optimize(request)
        gc.collect()
        return Counter(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_a_search_leaves_no_cycle_holding_its_figures() -> None:
    kinds = _cyclic_garbage(wide_request_data(1, 30, 8))
    assert {k: kinds[k] for k in HELD} == dict.fromkeys(HELD, 0)


def test_the_check_sees_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: an evaluator tied into a cycle shows up, with its figures."""
    original = evaluation.PlanEvaluator.__init__
    made = Counter[str]()

    def tied(self: evaluation.PlanEvaluator, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.__dict__["_self"] = self  # a cycle of one
        made["evaluators"] += 1

    monkeypatch.setattr(evaluation.PlanEvaluator, "__init__", tied)
    kinds = _cyclic_garbage(wide_request_data(1, 6, 4))
    assert made["evaluators"] > 0
    assert kinds["PlanEvaluator"] > 0 and kinds["TaskOutcome"] > 0
