"""A task plan's cost and success along the scale ray, scored without the rest of its figures.

:class:`~aalps.optimizer.ray_scoring.RayScorer` must give the very floats of the evaluator's
whole :class:`~aalps.cost_models.outcomes.TaskOutcome` (expected cost, its log, the
log-success), not close ones: the crossover search's crossing points are compared bit for
bit. The oracle is a fresh evaluator built at each point, scoring each task plan by
:meth:`~aalps.cost_models.evaluation.PlanEvaluator.task_outcome` (the general path, with its
mpmath fallbacks), on every candidate the search enumerates for requests of every operator.
"""

from __future__ import annotations

import math

import pytest
from aalps.cost_models.domain import OptimizeRequest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.outcomes import TaskOutcome
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.ray_scoring import RayScorer, RayTask
from aalps.optimizer.space import Metrics

from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.random_requests import random_request_data, wide_request_data

SCALES = (0.5, 1.7, 40.0, 1e6, 3e9)


def _requests() -> list[tuple[str, OptimizeRequest]]:
    found = []
    for seed in range(1, 41):
        try:
            found.append((f"random{seed}", load_request(random_request_data(seed))))
        except Exception:  # noqa: BLE001, S112 - a request the loader rejects has no ray
            continue
    found.append(("chain", load_request(chain_request_data(1, 8, 10))))
    found.append(("wide", load_request(wide_request_data(2, 30, 6))))
    return found


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize(("name", "request_"), _requests(), ids=lambda v: str(v)[:12])
def test_ray_figures_equal_a_fresh_evaluators(name: str, request_: OptimizeRequest) -> None:
    evaluator = PlanEvaluator(request_)
    try:
        spaces = build_spaces(evaluator, Metrics.of(request_, far=False), far=None)
    except Exception:  # noqa: BLE001 - an infeasible request: no plan to score along the ray
        pytest.skip("no search space")
    assert spaces is not None
    task_plans = [c.plan for space in spaces for c in space.candidates]
    scorer = RayScorer(evaluator)
    lean = 0
    for scale in SCALES:
        point = evaluator.at(scale)
        fresh = PlanEvaluator(request_, scale=scale)
        for tp in task_plans:
            try:
                want = fresh.task_outcome(tp)
            except Exception as error:  # noqa: BLE001 - then the scorer raises the same
                with pytest.raises(type(error)):
                    scorer.figures(point, tp)
                continue
            got = scorer.figures(point, tp)
            lean += isinstance(got, RayTask)
            assert _same(got.expected_cost, want.expected_cost), (name, scale, tp)
            assert _same(got.log_cost, want.log_cost), (name, scale, tp)
            assert _same(got.log_success, want.log_success), (name, scale, tp)
    if task_plans:
        assert lean > 0  # the lean path is taken, not only the evaluator's


def test_twins_and_fallbacks_take_the_evaluators_figures() -> None:
    request = load_request(wide_request_data(1, 200, 6))
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
    assert spaces is not None
    twins = [
        c.plan
        for space in spaces
        for c in space.candidates
        if c.plan.task_id in evaluator.facts.twins
    ]
    assert twins  # the wide requests draw tasks from a few definitions
    point = evaluator.at(7.0)
    fresh = PlanEvaluator(request, scale=7.0)
    scorer = RayScorer(evaluator)
    lean = 0
    for tp in twins:
        got, want = scorer.figures(point, tp), fresh.task_outcome(tp)
        lean += isinstance(got, RayTask)
        assert (got.expected_cost, got.log_cost, got.log_success) == (
            want.expected_cost,
            want.log_cost,
            want.log_success,
        )
    assert lean > 0  # scored as their twins' plans, without the evaluator


def test_task_plans_reading_the_same_share_one_scoring() -> None:
    request = load_request(wide_request_data(1, 200, 6))
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
    assert spaces is not None
    task_plans = [c.plan for space in spaces for c in space.candidates]
    scorer = RayScorer(evaluator)
    runs = 0
    run = scorer._run

    def counted(*args: object) -> RayTask | None:
        nonlocal runs
        runs += 1
        return run(*args)  # type: ignore[arg-type]

    scorer._run = counted  # type: ignore[method-assign]
    lean = 0
    for scale in (2.5, 300.0, 65536.0):  # far out, some figures take an mpmath pass
        point, fresh = evaluator.at(scale), PlanEvaluator(request, scale=scale)
        for tp in task_plans:
            got, want = scorer.figures(point, tp), fresh.task_outcome(tp)
            lean += isinstance(got, RayTask)
            if isinstance(got, TaskOutcome):  # the evaluator's (maybe a groupmate's): whole
                assert repr(got) == repr(want)
            assert (got.expected_cost, got.log_cost, got.log_success) == (
                want.expected_cost,
                want.log_cost,
                want.log_success,
            )
    assert 0 < runs < 0.8 * lean  # many lean figures were another task plan's


def test_a_plans_list_scores_as_task_plan_by_task_plan() -> None:
    """:meth:`RayScorer.fill_plan` (the list of a plan's task plans, kept from point to
    point) gives the floats of a fresh evaluator at every point, as :meth:`RayScorer.fill`
    does: far out (mpmath passes), again at a point met before, and where the point's
    evaluator had scored some task plans already."""
    request = load_request(wide_request_data(1, 200, 6))
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
    assert spaces is not None
    for pick in range(3):
        plans = [s.candidates[(pick * 7) % len(s.candidates)].plan for s in spaces]
        moving = [(2 * i + 1, tp) for i, tp in enumerate(plans)]
        kept, plain = RayScorer(evaluator), RayScorer(evaluator)
        lean = whole = 0
        for n, scale in enumerate((2.5, 300.0, 65536.0, 1e6, 2.5, 3e9)):
            point, other = evaluator.at(scale), evaluator.at(scale)
            if n == 3:  # the evaluator knows some figures at the point before the plan
                for _, tp in moving[::5]:
                    point.task_outcome(tp)
                    other.task_outcome(tp)
            got: list[object] = [None] * (2 * len(plans) + 1)
            want: list[object] = list(got)
            kept.fill_plan(point, got, moving)
            plain.fill(other, want, moving)
            fresh = PlanEvaluator(request, scale=scale)
            for position, tp in moving:
                a, b = got[position], want[position]
                assert type(a) is type(b)
                oracle = fresh.task_outcome(tp)
                figures = [(f.expected_cost, f.log_cost, f.log_success) for f in (a, b, oracle)]
                assert figures[0] == figures[1] == figures[2], (pick, scale, tp)
                lean += isinstance(a, RayTask)
                whole += isinstance(a, TaskOutcome)
            assert got[0] is None and all(got[2 * i] is None for i in range(len(plans) + 1))
        assert lean > 0
        assert whole > 0  # some the evaluator's (known before, or an mpmath pass)
        assert kept._lists  # the list was kept after the first point


def test_underflowed_successes_are_scored_on_logs_as_the_evaluator_does() -> None:
    """Far along the ray a success underflows to 0.0: the scorer works its log out on logs
    (:func:`~aalps.cost_models.log_successes.float_log_success`) instead of handing the task
    plan to the evaluator, and gets the evaluator's very floats."""
    request = load_request(wide_request_data(1, 50, 20))
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request, far=False), far=None)
    assert spaces is not None
    task_plans = [c.plan for space in spaces for c in space.candidates]
    scorer = RayScorer(evaluator)
    underflowed = 0
    for scale in (65536.0, 1e6, 3e9):
        point, fresh = evaluator.at(scale), PlanEvaluator(request, scale=scale)
        for tp in task_plans:
            want = fresh.task_outcome(tp)
            got = scorer.figures(point, tp)
            assert (got.expected_cost, got.log_cost, got.log_success) == (
                want.expected_cost,
                want.log_cost,
                want.log_success,
            ), (scale, tp)
            if want.success_probability == 0.0 and isinstance(got, RayTask):
                assert math.isfinite(got.log_success)
                underflowed += 1
    assert underflowed > 0  # the lean path, not the evaluator's, took underflowed ones
