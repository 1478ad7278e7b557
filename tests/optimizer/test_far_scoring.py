"""The far point's figures are scored only for plans whose calls fit their windows at the
scale point (:meth:`~aalps.optimizer.enumeration.OperatorEnumerator.score_plan`, which
every scoring goes through): the spaces equal those built scoring both points of every
plan, the old way, figure for figure, and the problems recorded (the windows' reasons) are
the same.
"""

from __future__ import annotations

from typing import Any

import aalps.optimizer.enumeration as enumeration
import pytest
from aalps.cost_models.domain import TaskPlan
from aalps.optimizer.enumeration import OperatorEnumerator
from aalps.optimizer.space import Candidate

from tests.optimizer.random_requests import random_request_data, wide_request_data
from tests.optimizer.space_summaries import built_spaces, space_summary

CASES: list[tuple[str, dict[str, Any]]] = [
    *((f"random {s}", random_request_data(s)) for s in range(1, 41)),
    *((f"wide {s}", wide_request_data(s, 30, 8)) for s in range(3)),
    ("wide 2, 40 x 10", wide_request_data(2, 40, 10)),  # 97 plans overflow a window
]


def _both_points(self: OperatorEnumerator, plan: TaskPlan) -> Candidate:
    self.space.scored += 1
    far = self.owner.far
    return Candidate(
        plan,
        self.evaluator.task_outcome(plan),
        far.task_outcome(plan) if far is not None else None,
    )


@pytest.mark.parametrize(("name", "data"), CASES, ids=[n for n, _ in CASES])
def test_far_figures_only_where_the_windows_hold_give_the_same_spaces(
    name: str, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fitting = built_spaces(data)[1]
    monkeypatch.setattr(OperatorEnumerator, "score_plan", _both_points)
    both = built_spaces(data)[1]
    assert [space_summary(s) for s in fitting] == [space_summary(s) for s in both], name


def test_plans_that_overflow_a_window_skip_the_far_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not vacuous: a wide request scores plans whose calls overflow a window, far-less."""
    seen: list[Candidate] = []
    score = enumeration.OperatorEnumerator.score_plan

    def spy(self: OperatorEnumerator, plan: TaskPlan) -> Candidate:
        candidate = score(self, plan)
        seen.append(candidate)
        return candidate

    monkeypatch.setattr(enumeration.OperatorEnumerator, "score_plan", spy)
    built_spaces(wide_request_data(2, 40, 10))
    overflowing = [c for c in seen if c.outcome.window_violation is not None]
    assert overflowing and all(c.far is None for c in overflowing)
    assert all(c.far is not None for c in seen if c.outcome.window_violation is None)
