""":func:`aalps.optimizer.space.candidate` (and :func:`~aalps.optimizer.space.task_plan`)
against the dataclass's own ``__init__``: the same record (fields in order, equal, equal
hashes, still frozen), with and without the far point's figures, on task plans the
evaluator scored."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer.space import Candidate, candidate, task_plan

from tests.cost_models.test_task_scoring import _plans
from tests.optimizer.random_requests import wide_request_data


def test_candidate_is_the_dataclass_record() -> None:
    request = load_request(wide_request_data(2, 6, 4))
    near = PlanEvaluator(request)
    far = near.at(1e6)
    checked = 0
    for plan in list(_plans(near))[:300]:
        try:
            outcome, far_outcome = near.task_outcome(plan), far.task_outcome(plan)
        except Exception:  # noqa: BLE001 - a plan the request cannot run: none to build
            continue
        for args in ((plan, outcome), (plan, outcome, far_outcome), (plan, outcome, None)):
            mine, reference = candidate(*args), Candidate(*args)
            assert type(mine) is Candidate
            assert list(vars(mine).items()) == list(vars(reference).items())
            assert mine == reference and hash(mine) == hash(reference)
            with pytest.raises(dataclasses.FrozenInstanceError):
                mine.far = None  # type: ignore[misc]
            checked += 1
    assert checked > 100


def test_task_plan_is_the_dataclass_record() -> None:
    """:func:`aalps.optimizer.space.task_plan` against ``TaskPlan(...)``: the same record,
    equal and hashed alike both ways round, still frozen, pickled alike."""
    request = load_request(wide_request_data(2, 6, 4))
    checked = 0
    for plan in list(_plans(PlanEvaluator(request)))[:200]:
        args = (plan.task_id, plan.operator, plan.roles, plan.params)
        mine, reference = task_plan(*args), TaskPlan(*args)
        assert type(mine) is TaskPlan
        assert list(vars(mine).items()) == list(vars(reference).items())
        assert hash(mine) == hash(reference) and mine == reference and reference == mine
        assert {mine: 1}[reference] == 1
        assert pickle.loads(pickle.dumps(mine)) == reference
        with pytest.raises(dataclasses.FrozenInstanceError):
            mine.params = ()  # type: ignore[misc]
        checked += 1
    assert checked > 100
