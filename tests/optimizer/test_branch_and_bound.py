"""Branch and bound, its LP bound and the incumbents, on random joint problems."""

from __future__ import annotations

import itertools
import math
import random

import aalps.optimizer.branch_and_bound
import pytest
from aalps.optimizer.branch_and_bound import SuccessBound, branch_and_bound
from aalps.optimizer.exact import JointProblem, cheapest_enumerated
from aalps.optimizer.incumbents import greedy_repair, lagrangian_incumbent


def _problem(seed: int) -> JointProblem:
    rng = random.Random(seed)
    n = rng.randint(4, 8)
    sizes = [rng.randint(1, 6) for _ in range(n)]
    cost = [[rng.lognormvariate(0, 1.5) for _ in range(k)] for k in sizes]
    success = [[rng.uniform(0.5, 1.0) for _ in range(k)] for k in sizes]
    latency = [[rng.uniform(1, 10) for _ in range(k)] for k in sizes]
    preds = [[i for i in range(j) if rng.random() < 0.25] for j in range(n)]
    problem = JointProblem(cost, success, latency, preds)
    cheapest = problem.figures(tuple(c.index(min(c)) for c in cost))
    kinds = rng.choice(("success", "latency", "both", "all"))
    if kinds in ("success", "both", "all"):  # between the cheapest plan's and the best
        u = rng.uniform(0.2, 0.9)
        problem.target = cheapest.success ** (1 - u) * problem.best_success() ** u
    if kinds in ("latency", "both", "all"):
        problem.max_latency = problem.fastest_latency() + rng.uniform(0.2, 0.9) * (
            cheapest.latency - problem.fastest_latency()
        )
    if kinds == "all":
        problem.max_cost = cheapest.cost * rng.uniform(1.5, 4.0)
    return problem


def _cost(problem: JointProblem, selection: tuple[int, ...] | None) -> float | None:
    return None if selection is None else problem.figures(selection).cost


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("first_round", [16, 20_000])
def test_branch_and_bound_equals_enumeration(seed: int, first_round: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Small first rounds force restarts from improved incumbents; the result stays optimal."""
    monkeypatch.setattr(aalps.optimizer.branch_and_bound, "FIRST_ROUND", first_round)
    problem = _problem(seed)
    expected = _cost(problem, cheapest_enumerated(problem))
    result = branch_and_bound(problem, incumbent=greedy_repair(problem, (0,) * len(problem.cost)))
    assert result.complete
    found = _cost(problem, result.selection)
    assert (found is None) == (expected is None)
    if expected is not None:
        assert found == pytest.approx(expected, rel=1e-12)
        assert problem.feasible(problem.figures(result.selection))  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(40))
def test_success_bound_is_a_valid_and_useful_lower_bound(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 5)
    cost = [[rng.lognormvariate(0, 1) for _ in range(rng.randint(1, 5))] for _ in range(n)]
    logs = [[math.log(rng.uniform(0.3, 1.0)) for _ in c] for c in cost]
    bound = SuccessBound(cost, logs)
    for depth in range(n + 1):
        combos = list(itertools.product(*[range(len(c)) for c in cost[depth:]]))
        for need in (-5.0, -2.0, -1.0, -0.5, -0.1, 0.0):
            feasible = [
                sum(cost[depth + i][j] for i, j in enumerate(combo))
                for combo in combos
                if sum(logs[depth + i][j] for i, j in enumerate(combo)) >= need
            ]
            lower = bound.bound(depth, need)
            if not feasible:  # the relaxation may still reach the need
                continue
            assert lower <= min(feasible) * (1 + 1e-12)
            assert lower >= sum(min(c) for c in cost[depth:]) * (1 - 1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_incumbents_are_feasible(seed: int) -> None:
    problem = _problem(seed)
    for selection in (
        lagrangian_incumbent(problem),
        greedy_repair(problem, (0,) * len(problem.cost)),
    ):
        if selection is not None:
            assert problem.feasible(problem.figures(selection))
