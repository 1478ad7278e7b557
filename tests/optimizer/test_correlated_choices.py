"""The search with correlated votes and attempt caps, against brute force written in the test.

Oracles: every plan of the small requests enumerated here (models × votes, or models under
LOCAL_RETRY) and scored with the formulas written out in the test (the beta-binomial sum,
the truncated geometric), and the test-only brute force of :mod:`tests.optimizer.brute_force`.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.loading import load_request
from aalps.optimizer.api import optimize

from tests.optimizer.brute_force import brute_force

P_CHEAP, P_BIG, SIZE_BIG, N, TARGET = 0.7, 0.85, 7.0, 50, 0.8


def _votes_request(rho: float) -> dict[str, Any]:
    return {
        "graph": {
            "name": "label",
            "parameters": [{"name": "n", "value": N}],
            "tasks": [{"id": "label", "capability": "classify", "input_tokens": "n"}],
        },
        "catalog": {
            "models": [
                {
                    "name": "cheap",
                    "size": 1,
                    "capabilities": {"classify": P_CHEAP},
                    "vote_correlation": rho,
                },
                {"name": "big", "size": SIZE_BIG, "capabilities": {"classify": P_BIG}},
            ]
        },
        "constraints": {"min_success_probability": TARGET},
        "search": {"seed": 1},
    }


def _majority(p: float, n: int, rho: float) -> float:
    """Beta-binomial majority by rising factorials, α = p(1−ρ)/ρ, β = (1−p)(1−ρ)/ρ."""
    if rho == 0:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n // 2 + 1, n + 1))
    a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho

    def rising(x: float, m: int) -> float:
        return math.prod(x + j for j in range(m))

    total = sum(math.comb(n, i) * rising(a, i) * rising(b, n - i) for i in range(n // 2 + 1, n + 1))
    return total / rising(a + b, n)


def _hand_best(rho: float) -> tuple[str, int]:
    """The feasible (model, votes) of least cost per success; one call reads n, writes 1."""
    best: tuple[float, str, int] | None = None
    for name, p, size, r in [("big", P_BIG, SIZE_BIG, 0.0), ("cheap", P_CHEAP, 1.0, rho)]:
        for votes in (1, 3, 5, 7, 9):
            success = _majority(p, votes, r)
            if success < TARGET:
                continue
            ratio = votes * size * N / success  # FORWARD_PASS: one token of n: m·n per call
            if best is None or ratio < best[0]:
                best = (ratio, name, votes)
    assert best is not None
    return best[1], best[2]


@pytest.mark.parametrize(("rho", "expected"), [(0.0, ("cheap", 5)), (0.5, ("big", 1))])
def test_votes_win_independent_and_lose_correlated(rho: float, expected: tuple[str, int]) -> None:
    assert _hand_best(rho) == expected  # the hand enumeration itself: votes only at ρ = 0
    request = load_request(_votes_request(rho))
    result = optimize(request)
    role = result.plan.plan.tasks[0].roles[0]
    assert (role.model, role.votes) == expected
    brute = brute_force(request)
    assert brute is not None
    assert brute[0].tasks[0].roles[0].model == role.model
    assert brute[0].tasks[0].roles[0].votes == role.votes


def _cap_request(cap: int | None) -> dict[str, Any]:
    acceptance: dict[str, Any] = {"success_probability": 1}
    if cap is not None:
        acceptance["max_attempts"] = cap
    return {
        "graph": {
            "name": "blocks",
            "parameters": [{"name": "k", "value": 4}, {"name": "l", "value": 10}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "do",
                    "input_tokens": "k*l",
                    "output_tokens": "k*l",
                    "blocks": {"count": "k", "size": "l"},
                    "acceptance": acceptance,
                    "baseline": "LOCAL_RETRY",
                }
            ],
        },
        "catalog": {
            "models": [
                {"name": "cheap", "size": 1, "capabilities": {"do": 0.5}},
                {"name": "sure", "size": 2.5, "capabilities": {"do": 1.0}},
            ]
        },
        "search": {"seed": 1},
    }


def _retry_ratio(p: float, size: float, cap: int | None) -> float:
    """LOCAL_RETRY's cost per success: 4 blocks, each attempt reads 10 and writes 10."""
    one = size * (10 * 10 + 10 * 9 / 2)
    if cap is None:
        return 4 * one / p
    attempts = (1 - (1 - p) ** cap) / p
    return 4 * one * attempts / (1 - (1 - p) ** cap) ** 4


@pytest.mark.parametrize(("cap", "expected"), [(None, "cheap"), (2, "sure")])
def test_attempt_cap_changes_the_worker(cap: int | None, expected: str) -> None:
    ratios = {"cheap": _retry_ratio(0.5, 1.0, cap), "sure": _retry_ratio(1.0, 2.5, cap)}
    assert min(ratios, key=ratios.__getitem__) == expected
    request = load_request(_cap_request(cap))
    result = optimize(request)
    brute = brute_force(request)
    assert brute is not None
    chosen = result.plan.plan.tasks[0]
    assert chosen.operator == brute[0].tasks[0].operator
    assert chosen.role_map["worker"].model == brute[0].tasks[0].role_map["worker"].model
    assert result.plan.outcome.expected_cost == pytest.approx(brute[1].expected_cost, rel=1e-9)
    if chosen.operator.name == "LOCAL_RETRY":
        assert chosen.role_map["worker"].model == expected
        ratio = result.plan.outcome.expected_cost / result.plan.outcome.success_probability
        assert ratio == pytest.approx(ratios[expected], rel=1e-9)


def _example_request() -> Any:
    import yaml
    from aalps.client.examples import get_example

    return load_request(yaml.safe_load(get_example("correlated_votes").read_text()))


def test_crossover_with_rho_and_caps_flips_where_it_says() -> None:
    """The example (ρ = 0.5, 3 attempts per block): each crossover's plan is dearer than the
    plan a little before its scale and cheaper a little after, per correct result."""
    from aalps.cost_models.evaluation import PlanEvaluator

    request = _example_request()
    result = optimize(request)
    assert result.crossovers
    evaluator = PlanEvaluator(request)

    def ratio(plan: Any, scale: float) -> float:
        outcome = evaluator.at(scale).outcome(plan)
        return outcome.expected_cost / outcome.success_probability

    for crossover in result.crossovers:
        mine, theirs = result.plan.plan, crossover.plan.plan
        before, after = crossover.scale * 0.95, crossover.scale * 1.05
        assert ratio(theirs, before) > ratio(mine, before)
        assert ratio(theirs, after) < ratio(mine, after)


def test_whatif_lowering_rho_brings_the_votes_back() -> None:
    from aalps.proto.aalps.v1 import aalps_pb2 as pb
    from aalps.proto.convert import dict_to_proto, request_from_proto
    from aalps.server.whatif import apply_changes

    message = dict_to_proto(_votes_request(0.5), pb.OptimizeRequest())
    change = pb.CatalogChange(model="cheap", field="vote_correlation", factor=0.0001)
    message.catalog.CopyFrom(apply_changes(message.catalog, [change]))  # type: ignore[attr-defined]
    request = request_from_proto(message)  # type: ignore[arg-type]
    assert request.catalog.by_name["cheap"].vote_correlation == pytest.approx(5e-5)
    role = optimize(request).plan.plan.tasks[0].roles[0]
    assert (role.model, role.votes) == _hand_best(5e-5) == ("cheap", 5)


@pytest.mark.parametrize("rho", [0.0, 0.3])
def test_ahead_by_k_lead_with_rho_matches_brute_force(rho: float) -> None:
    """A 30-step chain, a cheap correlated worker and a dearer independent one: the search's
    (model, lead) is the brute force's over every lead up to its cap."""
    data = {
        "graph": {
            "name": "chain",
            "parameters": [{"name": "s", "value": 30}],
            "tasks": [
                {
                    "id": "c",
                    "capability": "step",
                    "input_tokens": "s",
                    "steps": {"count": "s", "tokens": 4},
                }
            ],
        },
        "catalog": {
            "models": [
                {"name": "w", "size": 1, "capabilities": {"step": 0.8}, "vote_correlation": rho},
                {"name": "v", "size": 3, "capabilities": {"step": 0.97}},
            ]
        },
        "search": {"seed": 1},
    }
    request = load_request(data)
    result = optimize(request)
    brute = brute_force(request)
    assert brute is not None
    mine, best = result.plan.outcome, brute[1]
    assert mine.expected_cost / mine.success_probability == pytest.approx(
        best.expected_cost / best.success_probability, rel=1e-9
    )
    assert result.plan.plan.tasks[0] == brute[0].tasks[0]
