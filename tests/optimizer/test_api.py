"""The public API around the search: studies, progress, cancellation, analysis, baselines."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import aalps.optimizer.coupled_search
import aalps.optimizer.joint_search
import optuna
import pytest
from aalps.cost_models.domain import (
    Operator,
    OptimizeRequest,
    Plan,
    RoleAssignment,
    SearchOptions,
    TaskPlan,
)
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import Progress, SearchCancelled, analyze_plan, baseline_plan, optimize

from aalps import optimizer
from tests.optimizer.brute_force import feasible
from tests.optimizer.conftest import cached_optimum, cached_request, example


def test_public_surface() -> None:
    assert sorted(optimizer.__all__) == [
        "AnalysisResult",
        "Crossover",
        "OptimizeResult",
        "Progress",
        "SearchCancelled",
        "SearchStats",
        "analyze_plan",
        "baseline_plan",
        "optimize",
    ]


def test_exact_results_are_recorded_in_the_callers_study(tmp_path) -> None:  # type: ignore[no-untyped-def]
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    result = optimize(example("code_debugging"), storage=storage, study_name="job-1")
    study = optuna.load_study(study_name="job-1", storage=storage)
    trials = {t.user_attrs["kind"]: t for t in study.trials}
    assert set(trials) == {"optimum", "baseline"}
    optimum = trials["optimum"]
    assert optimum.value == pytest.approx(math.log(result.plan.outcome.expected_cost))
    assert optimum.params["debug.operator"] == "SCAN_AND_FIX"
    assert optimum.params["debug.SCAN_AND_FIX.detector"] == "qa"
    assert optimum.user_attrs["expected_cost"] == result.plan.outcome.expected_cost
    assert trials["baseline"].params["debug.operator"] == "ITERATE_WITH_HISTORY"
    assert result.stats.trials == 0  # enumerated: the two recorded plans are not trials
    assert result.stats.stop_reason == "enumeration found the plan (all scored)"


def test_constraints_are_recorded_with_each_trial() -> None:
    study = optuna.create_study()
    request = example("evolutionary_optimization")
    optimize(request, storage=study._storage, study_name=study.study_name)
    by_kind = {t.user_attrs["kind"]: t for t in study.trials}
    assert by_kind["optimum"].constraints["min_success_probability"] <= 0
    assert by_kind["baseline"].constraints["min_success_probability"] <= 0


def test_progress_is_reported_at_start_on_improvement_and_at_end() -> None:
    events: list[Progress] = []
    result = optimize(example("k_task_routing"), progress=events.append)
    assert events[0] == Progress(0, 0, None)
    assert events[-1].best_expected_cost == result.plan.outcome.expected_cost
    assert events[-1].trials_done == result.stats.trials == 0  # recorded plans do not count


def test_stop_before_anything_is_known_cancels() -> None:
    with pytest.raises(SearchCancelled):
        optimize(example("k_task_routing"), should_stop=lambda: True)


def _force_optuna(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "NODE_BUDGET", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "USE_DP", False)


@pytest.mark.parametrize("seed", [1, 5, 9, 13])
def test_optuna_phase_is_feasible_and_warm_started(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _force_optuna(monkeypatch)
    request = replace(cached_request(seed), search=SearchOptions(n_trials=30, seed=0))
    study = optuna.create_study()
    result = optimize(request, storage=study._storage, study_name=study.study_name)
    assert not result.stats.exhaustive
    assert feasible(request, result.plan.outcome)
    first = study.trials[0]
    assert first.user_attrs["kind"] == "warm start"
    assert result.plan.outcome.expected_cost <= first.user_attrs["expected_cost"]
    best = cached_optimum(seed)
    assert best is not None
    assert result.plan.outcome.expected_cost >= best[1].expected_cost * (1 - 1e-9)
    assert all(t.constraints for t in study.trials)


def test_stop_request_ends_the_optuna_phase_early(monkeypatch: pytest.MonkeyPatch) -> None:
    _force_optuna(monkeypatch)
    request = replace(cached_request(9), search=SearchOptions(n_trials=500, seed=0))
    events: list[Progress] = []
    result = optimize(request, progress=events.append, should_stop=lambda: len(events) > 8)
    assert not result.stats.exhaustive
    assert result.stats.trials < 20
    assert feasible(request, result.plan.outcome)


def test_timeout_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    _force_optuna(monkeypatch)
    request = replace(
        cached_request(9), search=SearchOptions(n_trials=100_000, seed=0, timeout_seconds=1.0)
    )
    started = time.monotonic()
    result = optimize(request)
    assert time.monotonic() - started < 10
    assert result.stats.trials < 100_000


def test_analyze_plan_scores_the_given_plan() -> None:
    request = example("code_debugging")
    best = optimize(request)
    analysis = analyze_plan(request, best.plan.plan)
    assert analysis.plan.outcome == best.plan.outcome
    assert analysis.plan.bound.text == best.plan.bound.text
    assert analysis.baseline.plan == best.baseline.plan
    assert [(s.role, s.text) for s in analysis.separation] == [
        (s.role, s.text) for s in best.separation
    ]


def test_analyze_plan_rejects_bad_plans_by_field() -> None:
    request = example("code_debugging")
    bad = Plan((TaskPlan("debug", Operator.SCAN_AND_FIX, (RoleAssignment("detector", "nobody"),)),))
    with pytest.raises(InvalidRequestError) as caught:
        analyze_plan(request, bad)
    fields = {v.field for v in caught.value.violations}
    assert "plan.tasks[debug].roles[detector].model" in fields
    assert "plan.tasks[debug].roles" in fields
    good = optimize(request).plan.plan
    with pytest.raises(InvalidRequestError) as caught:
        analyze_plan(request, good, baseline=bad)
    assert all(v.field.startswith("baseline") for v in caught.value.violations)


def test_baseline_falls_back_to_direct_then_to_the_cheapest_plan() -> None:
    data = {
        "graph": {
            "parameters": [{"name": "k", "value": 10}, {"name": "l", "value": 100}],
            "tasks": [
                # GLOBAL_RETRY is named but the task has no acceptance fact: DIRECT stands in.
                {
                    "id": "a",
                    "capability": "solve",
                    "input_tokens": "k*l",
                    "baseline": "GLOBAL_RETRY",
                },
                # DIRECT overflows every window; only per-block work (MAP) fits.
                {
                    "id": "b",
                    "capability": "solve",
                    "input_tokens": "k*l",
                    "blocks": {"count": "k", "size": "l"},
                },
            ],
        },
        "catalog": {
            "models": [
                {"name": "m", "size": 10**9, "context_window": 500, "capabilities": {"solve": 1}}
            ]
        },
    }
    data["graph"]["tasks"][0]["input_tokens"] = "l"
    request = load_request(data)
    plan = baseline_plan(PlanEvaluator(request))
    assert [tp.operator for tp in plan.tasks] == [Operator.DIRECT, Operator.MAP]
    assert optimize(request).baseline.plan == plan


def _empty_chunkable_request(aggregator: str = "") -> OptimizeRequest:
    chunkable = {"aggregate_tokens": 4, **({"aggregator": aggregator} if aggregator else {})}
    return load_request(
        {
            "graph": {
                "parameters": [{"name": "n", "value": 10}],
                "tasks": [
                    {
                        "id": "t",
                        "capability": "c",
                        "input_tokens": 0,
                        "output_tokens": 5,
                        "chunkable": chunkable,
                    }
                ],
            },
            "catalog": {"models": [{"name": "m", "size": 1, "capabilities": {"c": 1}}]},
        }
    )


def _chunked(*roles: str) -> Plan:
    assignments = tuple(RoleAssignment(role, "m") for role in roles)
    return Plan((TaskPlan("t", Operator.CHUNK_AGGREGATE, assignments, (("chunk", 1),)),))


def test_chunking_an_empty_input_is_analyzed_as_no_calls() -> None:
    """The search skips CHUNK_AGGREGATE without input; a caller's plan of it is valid: no
    chunk, so no worker call (no cost, no time, nothing to fail), and the aggregator's one
    call when there is one. It used to be refused, when the evaluator divided by zero."""
    request = _empty_chunkable_request()
    assert optimize(request).plan.plan.tasks[0].operator is Operator.DIRECT
    result = analyze_plan(request, _chunked("worker"))
    outcome = result.plan.outcome
    assert (outcome.expected_cost, outcome.latency, outcome.success_probability) == (0, 0, 1)
    assert result.plan.cost == 0
    request = _empty_chunkable_request(aggregator="c")
    outcome = analyze_plan(request, _chunked("worker", "aggregator")).plan.outcome
    assert outcome.expected_cost == 10  # forward pass: size 1 x (0 read + 5 written) x 2
    assert outcome.latency == 5


def test_plan_checks_name_the_field_that_holds_the_plan() -> None:
    """One validation for the plan and the caller's baseline: the paths say which."""
    request = _empty_chunkable_request()
    wrong = Plan((TaskPlan("t", Operator.MAP, (RoleAssignment("worker", "m"),)),))
    with pytest.raises(InvalidRequestError) as caught:
        analyze_plan(request, wrong)
    assert [v.field for v in caught.value.violations] == ["plan.tasks[t].operator"]
    with pytest.raises(InvalidRequestError) as caught:
        analyze_plan(request, _chunked("worker"), baseline=Plan(()))
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("baseline.tasks", "task t has no plan")
    ]
    with pytest.raises(InvalidRequestError) as caught:
        PlanEvaluator(request).validate_plan(Plan((*wrong.tasks, *wrong.tasks)), field="mine")
    assert {v.field for v in caught.value.violations} == {
        "mine.tasks[t].operator",
        "mine.tasks",
    }
