"""Whose budget ran out: the caller's deadline (DEADLINE_EXCEEDED) or the request's own.

The service cuts a search's timeout to a share of the call's time left; a search that
then ends with no feasible plan must say that the deadline ran out (the caller can retry
with more time), not that the request is infeasible. Runs the search-process function in
this process, with no server, so the outcome does not hang on a race with the client.
"""

from __future__ import annotations

import time

import pytest
from aalps.cost_models.errors import (
    DeadlineExceededError,
    InfeasibleError,
    SearchBudgetExhaustedError,
)
from aalps.server.limits import Limits
from aalps.server.workers import optimize_message

from tests.server.conftest import example_request, slow_request

LIMITS = Limits(max_tasks=1000, max_models=100, max_trials=1_000_000)


@pytest.mark.parametrize("seconds", [0.05, 0.3])
def test_a_search_cut_by_the_call_deadline_reports_the_deadline(seconds: float) -> None:
    heavy = slow_request(tasks=60, n_trials=50_000)  # no feasible plan within 0.3 s
    deadline = time.time() + seconds
    with pytest.raises(DeadlineExceededError):
        optimize_message(heavy, LIMITS, "", deadline=deadline, should_stop=None)


def test_a_search_cut_by_its_own_timeout_reports_the_budget() -> None:
    heavy = slow_request(tasks=60, n_trials=50_000)
    heavy.search.timeout_seconds = 0.2
    with pytest.raises(SearchBudgetExhaustedError) as info:
        optimize_message(heavy, LIMITS, "", deadline=None, should_stop=None)
    assert isinstance(info.value, InfeasibleError)  # FAILED_PRECONDITION on the wire
    assert "search.timeout_seconds" in str(info.value)


def test_a_deadline_with_time_to_spare_returns_the_plan() -> None:
    response = optimize_message(
        example_request("k_task_routing"), LIMITS, "", deadline=time.time() + 60, should_stop=None
    )
    assert response.plan.bound.text
