""":func:`aalps.optimizer.space.candidate` against the dataclass's own ``__init__``: the
same record (fields in order, equal, equal hashes, still frozen), with and without the
far point's figures, on task plans the evaluator scored."""

from __future__ import annotations

import dataclasses

import pytest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer.space import Candidate, candidate

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
