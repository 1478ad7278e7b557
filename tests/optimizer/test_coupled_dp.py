"""The coupled Pareto dynamic program against independent oracles.

* Small chains and series-parallel graphs (3–6 tasks, 2–4 models) with ``max_latency``,
  ``max_cost`` and ``min_success_probability`` in random mixes, both objectives: the
  program's plan equals the brute-force optimum (:mod:`tests.optimizer.brute_force`), and it
  reports infeasibility exactly when brute force finds no plan.
* A 40-task chain of 20 models with integer latencies under ``max_latency``: ``optimize``
  returns the cost of a plain knapsack over latencies written here.
* ε-thinning keeps feasibility and stays within its stated gap; a DAG that is not
  series-parallel is declined when latency is constrained.
"""

from __future__ import annotations

import math
import random

import aalps.optimizer.branch_and_bound
import aalps.optimizer.coupled_dp
import aalps.optimizer.coupled_search
import aalps.optimizer.joint_search
import numpy as np
import pytest
from aalps.cost_models.domain import Operator, OptimizeRequest, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.coupled_dp import coupled_dp
from aalps.optimizer.coupled_search import Method
from aalps.optimizer.enumeration import build_spaces
from aalps.optimizer.exact import JointProblem
from aalps.optimizer.series_parallel import series_parallel
from aalps.optimizer.space import Metrics

from tests.optimizer.brute_force import brute_force, feasible, objective, ratio_objective
from tests.optimizer.chain_requests import chain_request_data

CONSTRAINTS = (
    ("max_latency",),
    ("min_success_probability",),
    ("max_cost",),
    ("max_latency", "max_cost"),
    ("max_latency", "min_success_probability"),
    ("max_latency", "max_cost", "min_success_probability"),
)


def small_request(seed: int) -> OptimizeRequest:
    """3–6 tasks (fewer when votes multiply the choices), 2–4 models, random limits."""
    rng = random.Random(seed)
    names = rng.choice(CONSTRAINTS)
    objective_name = rng.choice(("EXPECTED_COST", "COST_OF_PASS"))
    votes = objective_name == "COST_OF_PASS" or "min_success_probability" in names
    n_tasks = rng.randint(3, 4) if votes else rng.randint(3, 6)
    n_models = rng.randint(2, 3) if votes else rng.randint(2, 4)
    # One draw in eight puts its limits beyond reach.
    position = rng.uniform(-0.5, -0.05) if seed % 8 == 7 else None
    data = chain_request_data(
        seed,
        n_tasks,
        n_models,
        integer=seed % 3 == 0,
        constraint=names,
        objective=objective_name,
        shape=rng.choice(("chain", "series-parallel")),
        position=position,
    )
    return load_request(data)


def problem_of(request: OptimizeRequest) -> tuple[PlanEvaluator, JointProblem]:
    evaluator = PlanEvaluator(request)
    spaces = build_spaces(evaluator, Metrics.of(request))
    assert spaces is not None
    return evaluator, JointProblem.of(
        evaluator, spaces, request.constraints, ratio=ratio_objective(request)
    )


@pytest.mark.parametrize("seed", range(120))
def test_dynamic_program_equals_brute_force(seed: int) -> None:
    request = small_request(seed)
    expected = brute_force(request)
    evaluator, problem = problem_of(request)
    result = coupled_dp(problem)
    assert result is not None and result.complete and result.gap == 0.0
    if expected is None:
        assert result.selection is None
        return
    assert result.selection is not None
    outcome = evaluator.outcome(problem.plan(result.selection))
    assert feasible(request, outcome)
    found, best = objective(request, outcome), objective(request, expected[1])
    assert math.exp(found - best) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("seed", range(0, 120, 7))
def test_dynamic_program_with_an_incumbent_stays_exact(seed: int) -> None:
    """A feasible incumbent only prunes: the optimum survives it."""
    request = small_request(seed)
    expected = brute_force(request)
    if expected is None:
        return
    evaluator, problem = problem_of(request)
    start = coupled_dp(problem)
    assert start is not None and start.selection is not None
    incumbent = start.selection
    result = coupled_dp(problem, incumbent=incumbent)
    assert result is not None and result.selection is not None
    outcome = evaluator.outcome(problem.plan(result.selection))
    assert objective(request, outcome) == pytest.approx(objective(request, expected[1]), abs=1e-9)


@pytest.mark.parametrize("seed", range(0, 120, 5))
def test_dispatch_reaches_the_dynamic_program(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enumeration and branch and bound out of reach: optimize() answers by the program."""
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "FIRST_ROUND", 1)
    monkeypatch.setattr(aalps.optimizer.coupled_search, "NODE_BUDGET", 1)
    request = small_request(seed)
    expected = brute_force(request)
    if expected is None:
        return
    result = optimize(request)
    single = problem_of(request)[1].size == 1  # one joint plan: enumerated, whatever the limit
    assert result.stats.method == (Method.ENUMERATION if single else Method.PARETO_DP)
    assert result.stats.exhaustive and result.stats.gap == 0.0
    assert feasible(request, result.plan.outcome)
    found, best = objective(request, result.plan.outcome), objective(request, expected[1])
    assert found == pytest.approx(best, abs=1e-9)


def knapsack_cost(request: OptimizeRequest) -> float:
    """The cheapest chain of DIRECT calls within ``max_latency``: a knapsack over latency.

    Every latency is an integer; ``best[t]`` is the least cost of the tasks so far whose
    latencies sum to exactly ``t``.
    """
    evaluator = PlanEvaluator(request)
    limit = math.floor(request.constraints.max_latency or 0.0)
    best = np.full(limit + 1, np.inf)
    best[0] = 0.0
    for task in request.graph.tasks:
        after = np.full(limit + 1, np.inf)
        for model in request.catalog.models:
            plan = TaskPlan(task.id, Operator.DIRECT, (RoleAssignment("worker", model.name, 1),))
            outcome = evaluator.task_outcome(plan)
            assert outcome.latency == int(outcome.latency)
            t = int(outcome.latency)
            if t <= limit:
                after[t:] = np.minimum(after[t:], best[: limit + 1 - t] + outcome.expected_cost)
        best = after
    return float(best.min())


@pytest.mark.parametrize("seed", [1, 2])
def test_long_chain_equals_a_knapsack_over_latency(seed: int) -> None:
    request = load_request(chain_request_data(seed, 40, 20, integer=True))
    expected = knapsack_cost(request)
    assert math.isfinite(expected)
    result = optimize(request)
    assert result.stats.exhaustive
    assert result.stats.method in (Method.PARETO_DP, Method.BRANCH_AND_BOUND)
    assert result.plan.outcome.latency <= (request.constraints.max_latency or 0.0)
    assert result.plan.outcome.expected_cost == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_thinning_keeps_feasibility_within_its_gap(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Label sets forced under a tiny budget: ε-dominance, a stated gap that holds."""
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "MIN_LABELS", 40)
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "MAX_LABELS", 40)
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "LABEL_BUDGET", 40)
    request = load_request(chain_request_data(seed, 12, 8, integer=False))
    evaluator, problem = problem_of(request)
    exact = coupled_dp(problem, thinning=False)
    assert exact is not None and not exact.complete  # over budget: an exact-only run stops
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "MAX_LABELS", 10**6)
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "LABEL_BUDGET", 10**9)
    optimum = coupled_dp(problem)
    assert optimum is not None and optimum.selection is not None and optimum.gap == 0.0
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "MAX_LABELS", 40)
    monkeypatch.setattr(aalps.optimizer.coupled_dp, "LABEL_BUDGET", 40)
    thinned = coupled_dp(problem)
    assert thinned is not None and thinned.complete and thinned.selection is not None
    assert math.isfinite(thinned.gap) and thinned.gap > 0.0
    best = problem.figures(optimum.selection).cost
    found = problem.figures(thinned.selection)
    assert problem.feasible(found)
    assert best * (1 - 1e-12) <= found.cost <= best * (1 + thinned.gap) * (1 + 1e-12)


def test_latency_on_a_graph_that_is_not_series_parallel_is_declined() -> None:
    preds = [[], [], [0, 1], [1]]  # the "N" graph
    assert series_parallel(preds) is None
    problem = JointProblem(
        [[1.0, 2.0]] * 4, [[1.0, 1.0]] * 4, [[2.0, 1.0]] * 4, preds, max_latency=3.0
    )
    assert coupled_dp(problem) is None
    problem.max_latency = None
    problem.max_cost = 5.0  # without latency any graph is a chain of its tasks
    result = coupled_dp(problem)
    assert result is not None and result.selection == (0, 0, 0, 0)


def test_series_parallel_parts_nest() -> None:
    part = series_parallel([[], [0], [0], [1, 2], [3], [3], [4, 5]])
    assert part is not None and part.kind == "series"
    assert [p.kind for p in part.parts] == ["task", "parallel", "task", "parallel", "task"]
    # A complete bipartite join of two parallel pairs is a series composition.
    join = series_parallel([[], [], [0, 1], [0, 1]])
    assert join is not None and [p.kind for p in join.parts] == ["parallel", "parallel"]
    # An implied edge changes nothing.
    assert series_parallel([[], [0], [0, 1]]) is not None
