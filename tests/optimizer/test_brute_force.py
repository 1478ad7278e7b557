"""Acceptance 1: on 30 seeded random graphs, optimize() returns the brute-force optimum.

Half of the graphs carry coupling constraints chosen so that they bind. The same graphs are
solved again with joint enumeration switched off, so that branch and bound (coupled) and the
parametric hull sweep (uncoupled) are checked against the brute force too.
"""

from __future__ import annotations

import math
from dataclasses import replace

import aalps.optimizer.joint_search
import pytest
from aalps.cost_models.domain import SearchObjective
from aalps.optimizer import optimize

from tests.optimizer.brute_force import brute_force, feasible, objective
from tests.optimizer.conftest import cached_optimum, cached_request
from tests.optimizer.random_requests import random_request

SEEDS = range(30)


def _check(seed: int) -> None:
    request = cached_request(seed)
    best = cached_optimum(seed)
    assert best is not None, "the generator only makes feasible requests"
    result = optimize(request)
    outcome = result.plan.outcome
    # The request's objective (by default log of the cost of a correct result).
    found, least = objective(request, outcome), objective(request, best[1])
    assert math.isclose(found, least, rel_tol=1e-12, abs_tol=1e-9), (seed, found, least)
    assert feasible(request, outcome)
    assert outcome.window_violation is None
    assert result.stats.exhaustive


@pytest.mark.parametrize("seed", SEEDS)
def test_optimum_equals_brute_force(seed: int) -> None:
    _check(seed)


@pytest.mark.parametrize("seed", [s for s in SEEDS if s % 2 == 1])
def test_branch_and_bound_equals_brute_force(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    _check(seed)


@pytest.mark.parametrize("seed", [s for s in SEEDS if s % 2 == 0])
def test_parametric_sweep_equals_brute_force(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without coupling constraints and without enumeration: the exact hull sweep."""
    monkeypatch.setattr(aalps.optimizer.joint_search, "ENUMERATION_LIMIT", 1)
    _check(seed)


def test_the_random_graphs_are_varied() -> None:
    """The generator covers what the claims above are about (a guard, not a result)."""
    requests = [cached_request(s) for s in SEEDS]
    coupled = [r for r in requests if r.constraints.coupled]
    assert len(coupled) == 15
    sizes = {len(r.graph.tasks) for r in requests}
    assert len(sizes) >= 4 and min(sizes) == 3
    assert len({r.cost_model for r in requests}) == 4
    operators = {tp.operator for s in SEEDS for tp in cached_optimum(s)[0].tasks}  # type: ignore[index]
    assert len(operators) >= 4


#: Odd seeds (their constraints bind) under the raw expected cost, where a cheaper but less
#: reliable choice can win while the success target still holds: every third of the
#: benchmark's 100, and the two where a less reliable LLM verifier was the optimum (it
#: accepts more often when attempts are mostly wrong: fewer retries, less success).
EXPECTED_COST_SEEDS = sorted({2 * i + 1 for i in range(0, 100, 3)} | {141, 187})


@pytest.mark.parametrize("seed", EXPECTED_COST_SEEDS)
def test_expected_cost_optimum_equals_brute_force(seed: int) -> None:
    request = random_request(seed)
    request = replace(
        request, search=replace(request.search, objective=SearchObjective.EXPECTED_COST)
    )
    best = brute_force(request)
    assert best is not None
    result = optimize(request)
    outcome = result.plan.outcome
    assert feasible(request, outcome)
    assert outcome.expected_cost == pytest.approx(best[1].expected_cost, rel=1e-9), seed
    assert result.stats.exhaustive
