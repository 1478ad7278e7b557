"""The figures the evaluators of one request share along its scale ray (:mod:`.ray_siblings`).

The reference is the plain path: a fresh evaluator per check, each underflowed success
worked out by its own mpmath run (no remembered log success), compared bit for bit.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import mpmath
import pytest
from aalps.cost_models import task_scoring
from aalps.cost_models.arithmetic import BIG
from aalps.cost_models.domain import Catalog, OptimizeRequest, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.far_successes import with_log_success
from aalps.cost_models.loading import load_request
from aalps.cost_models.outcomes import RetryTail, TaskOutcome
from aalps.cost_models.shapes import log_of
from aalps.cost_models.task_scoring import fixed_figures, run_schedule

from tests.cost_models.test_task_scoring import _plans, _requests, _same
from tests.optimizer.random_requests import wide_request_data

FAR = 1e6


def _plain(evaluator: PlanEvaluator, plan: TaskPlan) -> TaskOutcome | str:
    """The task plan's figures with every underflowed success run in mpmath by itself."""
    evaluator._success_key = lambda _plan: None  # type: ignore[method-assign]
    try:
        return evaluator.task_outcome(plan)
    except Exception as error:  # noqa: BLE001 - the same error either way
        return type(error).__name__


def _scored(evaluator: PlanEvaluator, plan: TaskPlan) -> TaskOutcome | str:
    try:
        return evaluator.task_outcome(plan)
    except Exception as error:  # noqa: BLE001
        return type(error).__name__


def _cases() -> list[tuple[str, OptimizeRequest]]:
    cases = list(_requests())
    cases.append(("wide 30x8", load_request(wide_request_data(3, 30, 8))))
    return cases


@pytest.mark.parametrize(("name", "request_"), _cases(), ids=lambda x: str(x)[:40])
@pytest.mark.parametrize("on_logs", [True, False])
def test_remembered_log_success_is_the_plain_one(
    name: str, request_: OptimizeRequest, on_logs: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every task plan scored by two siblings at the far point (the second finds the
    first's successes) equals a fresh evaluator's plain figures, bit for bit; with the
    successes worked out on logs where they run (:mod:`.log_successes`) and without."""
    if not on_logs:
        monkeypatch.setattr(task_scoring, "float_log_success", lambda *_: None)
    base = PlanEvaluator(request_)
    far = base.at(FAR)
    # A second evaluator at the point (``at`` would hand back the first while it lives).
    again = PlanEvaluator(request_, scale=FAR, facts=base.facts, siblings=base._siblings)
    assert again is not far
    plans = list(_plans(far))
    underflowed = 0
    for plan in plans:
        mine, reference = _scored(far, plan), _plain(PlanEvaluator(request_, scale=FAR), plan)
        assert _same(mine, reference), (name, plan, mine, reference)
        if isinstance(mine, TaskOutcome) and mine.success_probability == 0.0:
            underflowed += 1
    for plan in reversed(plans):  # the sibling: its successes from the memo
        assert _same(_scored(again, plan), _scored(far, plan)), (name, plan)
    assert again._log_successes is far._log_successes
    assert len(far._log_successes) <= underflowed


def test_equal_declarations_share_one_mpmath_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide requests give two models 0.9 on each capability: plans that differ only in
    which of them serves a role share the run, and the log success is the plain one
    (every underflowed success from mpmath: none worked out on logs, :mod:`.log_successes`)."""
    monkeypatch.setattr(task_scoring, "float_log_success", lambda *_: None)
    request = load_request(wide_request_data(3, 30, 8))
    far = PlanEvaluator(request).at(FAR)
    runs = 0
    for plan in _plans(far):
        outcome = _scored(far, plan)
        if not isinstance(outcome, TaskOutcome) or outcome.success_probability != 0.0:
            continue
        runs += 1
        schedule = run_schedule(far, plan, BIG, far._compiled[plan.task_id].big)[0]
        assert outcome.log_success == log_of(schedule.success)
        assert math.isfinite(outcome.log_success)
    assert runs > 50
    assert len(far._log_successes) < runs  # some were shared


def test_tasks_whose_shapes_agree_share_one_mpmath_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans of different tasks whose mpmath shapes agree on the fields their operator
    reads share one run (:func:`.ray_siblings.shape_key`); each log success is its own
    task's plain one, worked out by a fresh evaluator (all of them in mpmath)."""
    monkeypatch.setattr(task_scoring, "float_log_success", lambda *_: None)
    request = load_request(wide_request_data(3, 30, 8))
    far = PlanEvaluator(request).at(FAR)
    tasks: dict[object, set[str]] = {}
    plans: dict[object, list[TaskPlan]] = {}
    for plan in _plans(far):
        outcome = _scored(far, plan)
        if not isinstance(outcome, TaskOutcome) or outcome.success_probability != 0.0:
            continue
        key = far._success_key(plan)
        if key is not None and not isinstance(key[0], str):
            tasks.setdefault(key, set()).add(plan.task_id)
            plans.setdefault(key, []).append(plan)
    shared = [key for key, ids in tasks.items() if len(ids) > 1]
    assert shared
    fresh = PlanEvaluator(request, scale=FAR)
    for key in shared:
        for plan in plans[key]:
            assert _same(_scored(far, plan), _plain(fresh, plan)), plan


def test_fixed_figures_are_shared_and_the_same() -> None:
    request = load_request(wide_request_data(1, 8, 5))
    base = PlanEvaluator(request)
    far = base.at(FAR)
    assert far._capabilities is base._capabilities
    for plan in _plans(far):
        _scored(far, plan)
    assert base._capabilities
    for (task_id, operator), fixed in base._capabilities.items():
        fresh = fixed_figures(base, TaskPlan(task_id, operator, ()))
        assert fixed[1:] == fresh[1:] and fixed[0] is fresh[0]


def test_another_catalog_keeps_none_of_the_successes() -> None:
    """``with_catalog`` with other reliabilities: equal to a fresh evaluator of that
    catalog, although the original scored the same plans first (and its siblings too)."""
    request = load_request(wide_request_data(3, 12, 6))
    far = PlanEvaluator(request).at(FAR)
    plans = list(_plans(far))
    for plan in plans:
        _scored(far, plan)
    models = tuple(
        replace(m, capabilities={c: p * 0.5 for c, p in m.capabilities.items()})
        for m in request.catalog.models
    )
    catalog = Catalog(models)
    twin = far.with_catalog(catalog)
    assert twin._capabilities is far._capabilities
    assert twin._log_successes is not far._log_successes
    sibling = twin.at(FAR)
    fresh = PlanEvaluator(replace(request, catalog=catalog), scale=FAR)
    changed = 0
    for plan in plans:
        mine, reference = _scored(sibling, plan), _plain(fresh, plan)
        assert _same(mine, reference), (plan, mine, reference)
        old = _scored(far, plan)
        if isinstance(mine, TaskOutcome) and isinstance(old, TaskOutcome):
            changed += mine.log_success != old.log_success
    assert changed > 0


def test_log_of_is_mpmath_log() -> None:
    """The direct libmp call equals ``float(mpmath.log(x))`` bit for bit, at the extremes
    of an mpf's exponent as well, and −inf for zero and below."""
    rng = random.Random(7)
    values = [mpmath.mpf(1), mpmath.mpf(2) ** -(10**7), mpmath.mpf(3) ** 10**6, 1, 7]
    for _ in range(2000):
        mantissa = mpmath.mpf(rng.random())
        values.append(mantissa * mpmath.mpf(2) ** rng.randint(-(10**6), 10**6))
    for value in values:
        assert log_of(value).hex() == float(mpmath.log(value)).hex(), value
    for value in (mpmath.mpf(0), mpmath.mpf(-2), 0, -1.0, 0.0):
        assert log_of(value) == -math.inf


def test_with_log_success_is_replace() -> None:
    tail = RetryTail(2, 0.5, 1.0, 2.0)
    outcome = TaskOutcome(1.5, 0.4, 0.0, 2.0, 3.0, "too long", tail, -math.inf, 4.0, 0.1)
    for log_success in (-7.25, -math.inf, 0.0, math.nan):
        fresh = replace(outcome)  # a record no one else holds, as the evaluator's
        mine, reference = (
            with_log_success(fresh, log_success),
            replace(outcome, log_success=log_success),
        )
        assert _same(mine, reference)
        assert list(vars(mine)) == list(vars(reference))
        assert outcome.log_success == -math.inf  # the original untouched
