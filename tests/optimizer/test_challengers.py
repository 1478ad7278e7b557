"""One-task challengers scored by deltas pick what whole-plan recombination picks."""

from __future__ import annotations

import functools
import itertools

import pytest
from aalps.cost_models.domain import TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer.challengers import MAX_CROSSOVERS, one_task_challengers
from aalps.optimizer.cost_of_pass import best_ratio_selection, sweep_selections
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.exact import JointProblem, Selection
from aalps.optimizer.ray import FAR_SCALE, evaluator_at
from aalps.optimizer.space import Metrics

from tests.optimizer.random_requests import random_request, wide_request_data


def _recombined(problem: JointProblem, selection: Selection) -> list[TaskPlan]:
    """The former whole-plan implementation: the oracle."""
    assert problem.far_cost is not None and problem.far_logs is not None
    far_cost, far_logs = problem.far_cost, problem.far_logs
    figures = problem.figures(selection)
    here = problem.value(figures)
    far_here = problem.far_value(selection)
    best: dict[tuple[int, str], tuple[float, int]] = {}
    for i, choices in enumerate(problem.choices):
        now = selection[i]
        for j, candidate in enumerate(choices):
            if j == now:
                continue
            trial = (*selection[:i], j, *selection[i + 1 :])
            if far_cost[i][j] >= far_cost[i][now] and far_logs[i][j] <= far_logs[i][now]:
                continue
            far = problem.far_value(trial)
            if not far < far_here:
                continue
            trial_figures = problem.figures(trial)
            if not problem.feasible(trial_figures) or problem.value(trial_figures) <= here:
                continue
            key = (i, str(candidate.plan.operator))
            if key not in best or far < best[key][0]:
                best[key] = (far, j)
    ranked = sorted(best.items(), key=lambda item: (item[1][0], item[0]))[:MAX_CROSSOVERS]
    return [problem.choices[i][j].plan for (i, _), (_, j) in ranked]


@functools.cache
def _problem(index: int, ratio: bool) -> JointProblem:
    request = _request(index)
    evaluator = PlanEvaluator(request)
    far = evaluator_at(request, FAR_SCALE)
    spaces = build_spaces(evaluator, Metrics.of(request, far=True), far=far)
    assert spaces is not None
    return JointProblem.of(evaluator, spaces, request.constraints, ratio=ratio)


def _request(index: int):  # type: ignore[no-untyped-def]
    if index < 8:
        return random_request(index + 1)
    return load_request(wide_request_data(index, 20, 6))


@pytest.mark.parametrize(("index", "ratio"), list(itertools.product(range(10), (False, True))))
def test_delta_challengers_match_recombination(index: int, ratio: bool) -> None:
    problem = _problem(index, ratio)
    starts = [tuple(0 for _ in problem.cost), best_ratio_selection(problem)]
    starts += sweep_selections(problem.cost, problem.logs)[:: max(1, len(problem.cost) // 3)]
    for selection in starts:
        assert one_task_challengers(problem, selection) == _recombined(problem, selection)


@pytest.mark.parametrize("index", range(10))
def test_screened_ratio_sweep_matches_whole_plan_scoring(index: int) -> None:
    problem = _problem(index, True)
    candidates = sweep_selections(problem.cost, problem.logs)
    values = [problem.value(problem.figures(s)) for s in candidates]
    best = min(values)
    tied = [s for s, v in zip(candidates, values, strict=True) if v <= best + 1e-9]
    assert best_ratio_selection(problem) == min(tied, key=problem.far_value)


@pytest.mark.parametrize("index", range(10))
def test_the_sweeps_lean_values_are_the_whole_plan_values(index: int) -> None:
    """The screened sweep scores its candidates by two sums alone: the very floats the
    whole-plan figures give (the value reads no other figure)."""
    from aalps.optimizer.cost_of_pass import _whole_value

    for ratio in (True, False):
        problem = _problem(index, ratio)
        for selection in sweep_selections(problem.cost, problem.logs):
            assert _whole_value(problem, selection) == problem.value(problem.figures(selection))
