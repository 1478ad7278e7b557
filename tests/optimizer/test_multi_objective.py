"""Multi-objective requests: the exact Pareto front equals the brute-force front."""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import aalps.optimizer.joint_search
import numpy as np
import pytest
from aalps.cost_models.domain import Objective, OptimizeRequest, SearchOptions
from aalps.optimizer import optimize
from aalps.optimizer.exact import ENUMERATION_LIMIT
from aalps.optimizer.pareto import nondominated, pareto_filter

from tests.optimizer.brute_force import (
    all_choices,
    brute_front,
    feasible,
    joint_plans,
    joint_size,
    objective_vector,
)
from tests.optimizer.conftest import cached_request

C, L, F = Objective.COST, Objective.LATENCY, Objective.FAILURE_PROBABILITY


def _with(request: OptimizeRequest, *objectives: Objective) -> OptimizeRequest:
    return replace(request, search=SearchOptions(objectives=objectives))


@functools.cache
def _small_seeds(limit: int = 20_000) -> tuple[int, ...]:
    """Seeds whose joint space stays small even with votes (failure probability counts)."""
    found = []
    for seed in range(60):
        request = _with(cached_request(seed), C, F)
        if joint_size(all_choices(request)[1]) <= limit:
            found.append(seed)
        if len(found) == 4:
            break
    return tuple(found)


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("objectives", [(C, L), (C, F), (C, L, F)])
@pytest.mark.parametrize("index", range(4))
def test_front_equals_brute_force(objectives: tuple[Objective, ...], index: int) -> None:
    request = _with(cached_request(_small_seeds()[index]), *objectives)
    result = optimize(request)
    found = [objective_vector(p.outcome, objectives) for p in result.pareto_front]
    expected = sorted(brute_front(request))
    assert result.stats.exhaustive
    assert result.plan.plan == result.pareto_front[0].plan
    assert [p.outcome.expected_cost for p in result.pareto_front] == sorted(
        p.outcome.expected_cost for p in result.pareto_front
    )
    if len(expected) <= aalps.optimizer.joint_search.MAX_FRONT:
        assert len(found) == len(expected)
    else:
        assert len(found) == aalps.optimizer.joint_search.MAX_FRONT
    for vector in found:
        assert any(_close(vector, e) for e in expected), vector


@pytest.mark.parametrize("objective", [L, F])
@pytest.mark.parametrize("enumeration_limit", [ENUMERATION_LIMIT, 1])
@pytest.mark.parametrize("index", range(3))
def test_one_objective_besides_cost_is_minimized_then_cost(
    objective: Objective, enumeration_limit: int, index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enumerated, or (limit 1) by branch and bound at the best achievable figure."""
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", enumeration_limit)
    request = _with(cached_request(_small_seeds()[index]), objective)
    result = optimize(request)
    _, outcomes = zip(*joint_plans(*all_choices(request)), strict=True)
    best = min(objective_vector(o, (objective, C)) for o in outcomes if feasible(request, o))
    assert objective_vector(result.plan.outcome, (objective, C)) == pytest.approx(best, rel=1e-9)
    assert result.pareto_front == ()
    assert result.stats.exhaustive


def test_nsga2_front_is_feasible_and_nondominated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    request = replace(
        cached_request(0), search=SearchOptions(n_trials=40, seed=3, objectives=(C, L))
    )
    result = optimize(request)
    assert not result.stats.exhaustive
    vectors = [objective_vector(p.outcome, (C, L)) for p in result.pareto_front]
    for a in vectors:
        assert not any(b != a and b[0] <= a[0] and b[1] <= a[1] for b in vectors)


def test_pareto_filter_and_nondominated_agree_with_a_naive_filter() -> None:
    rng = np.random.default_rng(0)
    for dims in (1, 2, 3):
        for _ in range(50):
            points = rng.integers(0, 6, size=(30, dims)).astype(float)
            rows = [tuple(p) for p in points]
            naive = {
                r
                for r in rows
                if not any(all(x <= y for x, y in zip(o, r, strict=True)) and o != r for o in rows)
            }
            kept = pareto_filter(rows, key=lambda r: r)
            assert set(kept) == naive and len(kept) == len(naive)
            assert {rows[i] for i in nondominated(points)} == naive
            assert len(nondominated(points)) == len(naive)
