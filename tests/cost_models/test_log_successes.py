"""Underflowed successes worked out on logs (:mod:`aalps.cost_models.log_successes`).

The oracle is the operator's formula run in mpmath at 50 digits on the same inputs (the
models' figures as the 53-bit runs read them: ``1 - per_token_error`` rounded to 53 bits
is the model's decay in every arithmetic). A log worked out on logs must be as close to it
as the 53-bit mpmath run that gave it before (a few dozen units in the last place more at
most: both round a reliability near 1 before its log is multiplied by the iterations), and
on average within a unit of it (over the benchmark's requests, eight times closer: a mean
relative error of 2.4e-16 against 1.9e-15, at most 3.7e-13 against 1.1e-11); where the
formula asks what logs do not do, the mpmath run's log stands.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import mpmath
import pytest
from aalps.cost_models.arithmetic import BIG, BIG_SUCCESS
from aalps.cost_models.domain import Operator, OptimizeRequest, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.far_successes import log_success as mpmath_log
from aalps.cost_models.loading import load_request
from aalps.cost_models.log_successes import LOG_OPERATORS, LogProbability, Unsupported
from aalps.cost_models.shapes import ModelNumbers
from aalps.cost_models.task_scoring import run_schedule

from tests.cost_models.test_task_scoring import _plans, _requests
from tests.optimizer.random_requests import wide_request_data

FAR = 1e6


def _cases() -> Iterator[tuple[str, OptimizeRequest]]:
    yield from _requests()
    for seed in (1, 3):
        yield f"wide {seed} 12x8", load_request(wide_request_data(seed, 12, 8))


def _oracle(request: OptimizeRequest) -> PlanEvaluator:
    """An evaluator for 50-digit runs, with the models' figures as 53-bit runs read them."""
    with mpmath.workdps(50):
        oracle = PlanEvaluator(request, scale=FAR)
    with mpmath.workprec(53):
        oracle._numbers[BIG.name] = {
            m.name: ModelNumbers.of(m, BIG, oracle._model_sizes[m.name])
            for m in request.catalog.models
        }
    return oracle


def _exact_log(oracle: PlanEvaluator, plan: TaskPlan) -> mpmath.mpf:
    with mpmath.workdps(50):
        big = oracle._compiled[plan.task_id].big
        return mpmath.log(run_schedule(oracle, plan, BIG_SUCCESS, big)[0].success)


@pytest.mark.parametrize(("name", "request_"), list(_cases()), ids=lambda x: str(x)[:40])
def test_logs_are_as_close_to_mpmath_at_50_digits(name: str, request_: OptimizeRequest) -> None:
    far = PlanEvaluator(request_, scale=FAR)
    oracle = _oracle(request_)
    checked = 0
    new_errors = old_errors = 0.0
    for plan in _plans(far):
        try:
            outcome = far.task_outcome(plan)
        except Exception:  # noqa: BLE001 - no figures: nothing to compare
            continue
        if outcome.success_probability != 0.0 or not math.isfinite(outcome.expected_cost):
            continue
        big = far._compiled[plan.task_id].big
        old = mpmath_log(run_schedule(far, plan, BIG_SUCCESS, big)[0].success)
        new = outcome.log_success
        if plan.operator not in LOG_OPERATORS:
            assert new == old, (name, plan)  # the mpmath run's
            continue
        exact = _exact_log(oracle, plan)
        if not math.isfinite(new) or not mpmath.isfinite(exact):
            assert new == old == float(exact), (name, plan, new, old, exact)
            continue
        new_error = float(abs(mpmath.mpf(new) - exact))
        old_error = float(abs(mpmath.mpf(old) - exact))
        assert new_error <= old_error + 64 * math.ulp(float(exact)), (name, plan, new, old)
        new_errors += new_error / abs(float(exact))
        old_errors += old_error / abs(float(exact))
        checked += 1
    if name.startswith("wide"):
        assert checked > 20
    assert new_errors <= old_errors + checked * 2.0**-52  # on average within a unit of it


def test_a_log_probability_does_products_and_powers_only() -> None:
    a, b = LogProbability(-3.0), LogProbability(-4.5)
    assert (a * b).log == -7.5
    assert (2 * a).log == -3.0 + math.log(2)
    assert (a * 0).log == -math.inf
    assert (a**2.5).log == -7.5
    for ask in (lambda: a + b, lambda: 1 - a, lambda: a < b, lambda: bool(a), lambda: a / 2):
        with pytest.raises(Unsupported):
            ask()
    with pytest.raises(Unsupported):
        LogProbability(-math.inf) ** 0  # 0 to the power 0: mpmath's 1, not a log's nan


def test_retries_logs_match_mpmath_at_50_digits() -> None:
    """A verified retry's underflowed success (GLOBAL_RETRY's rightness to millions of
    blocks' acceptance, LOCAL_RETRY's accepted rightness to millions of blocks) has its log
    within a few units in the last place of the 50-digit oracle; a capped one or one whose
    accepted share the right attempts count in keeps the mpmath run's."""
    request = load_request(wide_request_data(4, 20, 8))
    far = PlanEvaluator(request, scale=FAR)
    oracle = _oracle(request)
    checked = {Operator.GLOBAL_RETRY: 0, Operator.LOCAL_RETRY: 0}
    for plan in _plans(far):
        if plan.operator not in checked:
            continue
        try:
            outcome = far.task_outcome(plan)
        except Exception:  # noqa: BLE001 - no figures: nothing to compare
            continue
        if outcome.success_probability != 0.0 or not math.isfinite(outcome.log_success):
            continue
        exact = _exact_log(oracle, plan)
        assert abs(mpmath.mpf(outcome.log_success) - exact) <= 8 * math.ulp(float(exact)), plan
        checked[plan.operator] += 1
    assert all(checked.values()), checked


def test_ahead_by_k_logs_match_mpmath_at_50_digits() -> None:
    """AHEAD_BY_K's ``−steps·log1p(odds)`` keeps the digits of a small ``odds`` that the
    mpmath run loses when it rounds the step success near 1: within a few units in the last
    place of the 50-digit oracle (the run it replaces is only as close as the mpmath one)."""
    assert Operator.AHEAD_BY_K in LOG_OPERATORS
    request = load_request(wide_request_data(3, 12, 8))
    far = PlanEvaluator(request, scale=FAR)
    oracle = _oracle(request)
    checked = 0
    for plan in _plans(far):
        if plan.operator is not Operator.AHEAD_BY_K:
            continue
        try:
            outcome = far.task_outcome(plan)
        except Exception:  # noqa: BLE001 - no figures: nothing to compare
            continue
        if outcome.success_probability != 0.0:
            continue
        exact = _exact_log(oracle, plan)
        assert abs(mpmath.mpf(outcome.log_success) - exact) <= 8 * math.ulp(float(exact)), plan
        checked += 1
    assert checked >= 10
