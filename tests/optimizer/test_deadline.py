"""search.timeout_seconds bounds the whole optimize(): spaces, search and the work after."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.progress import Reporter

from tests.optimizer.random_requests import wide_request_data


@pytest.mark.parametrize(("timeout", "n_tasks"), [(0.5, 200), (2.0, 1000)])
def test_a_large_request_returns_within_its_timeout(timeout: float, n_tasks: int) -> None:
    """Within T + 1 s of CPU: on a quiet machine that is the wall time the user waits (the
    wall figure is benchmarks/bench_optimizer.py's); on a loaded one the deadline, a wall
    clock, comes with less CPU spent, so the bound still catches a search or a final step
    that ignores the deadline, without failing because other processes took the cores.
    Each request's full spaces take longer than its timeout (200 x 20 about 1 s of CPU),
    so the deadline cuts them."""
    request = load_request(wide_request_data(1, n_tasks, 20))
    request = replace(request, search=replace(request.search, timeout_seconds=timeout))
    started = time.process_time()
    result = optimize(request)
    elapsed = time.process_time() - started
    assert elapsed < timeout + 1.0
    assert result.plan.outcome.expected_cost > 0
    assert any("DIRECT only" in s for s in result.stats.skipped)
    assert not result.stats.exhaustive


def test_without_a_deadline_nothing_is_skipped() -> None:
    result = optimize(load_request(wide_request_data(2, 12, 6)))
    assert result.stats.skipped == ()


def test_a_reserve_takes_at_most_half_the_budget() -> None:
    reporter = Reporter(None, None, 4.0)
    assert reporter.deadline is not None
    reserved = reporter.reserving(10.0)
    assert reserved == pytest.approx(reporter.deadline - 2.0)
    assert reporter.reserving(1.0) == pytest.approx(reporter.deadline - 1.0)
    assert Reporter(None, None, None).reserving(1.0) is None
