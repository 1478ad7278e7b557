"""The search offers ensembles, against a brute force written in the test.

The request: one labelling task, three cheap models whose own votes correlate (ρ = 0.5, so
self-votes cannot lift them above ~0.85) and a dear one, with a success target of 0.9.
The oracle enumerates every plan the search may choose: every model with every odd vote
count 1–9, and every pair and triple of distinct models with every split of an odd total of
at most 5 votes, scoring each with formulas written out here (the beta-binomial by rising
factorials, members convolved, FORWARD_PASS's ``m·n`` per call). Its optimum is an ensemble;
the search must find exactly it. Without correlation, the search offers no ensemble.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from aalps.cost_models.loading import load_request
from aalps.optimizer.api import optimize

N, TARGET, RHO = 100, 0.9, 0.5
MODELS = {"c1": (1.2, 0.82), "c2": (1.1, 0.81), "c3": (1.0, 0.80), "big": (5.0, 0.92)}


def _data(rho: float) -> dict[str, Any]:
    return {
        "graph": {
            "name": "label",
            "parameters": [{"name": "n", "value": N}],
            "tasks": [{"id": "label", "capability": "classify", "input_tokens": "n"}],
        },
        "catalog": {
            "models": [
                {"name": m, "size": s, "capabilities": {"classify": p}, "vote_correlation": rho}
                for m, (s, p) in MODELS.items()
            ]
        },
        "constraints": {"min_success_probability": TARGET},
        "search": {"seed": 1},
    }


def _pmf(p: float, n: int, rho: float) -> list[float]:
    """P(i of n votes right), beta-binomial by rising factorials (binomial at ρ = 0)."""
    if rho == 0:
        return [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho

    def rising(x: float, m: int) -> float:
        return math.prod(x + j for j in range(m))

    return [
        math.comb(n, i) * rising(a, i) * rising(b, n - i) / rising(a + b, n) for i in range(n + 1)
    ]


def _majority(shares: tuple[tuple[str, int], ...], rho: float) -> float:
    dist = [1.0]
    for name, votes in shares:
        own = _pmf(MODELS[name][1], votes, rho)
        merged = [0.0] * (len(dist) + votes)
        for i, x in enumerate(dist):
            for j, y in enumerate(own):
                merged[i + j] += x * y
        dist = merged
    total = sum(v for _, v in shares)
    return sum(dist[total // 2 + 1 :])


def _all_plans() -> list[tuple[tuple[str, int], ...]]:
    plans = [((m, v),) for m in MODELS for v in (1, 3, 5, 7, 9)]
    for size in (2, 3):
        for group in itertools.combinations(MODELS, size):
            for split in itertools.product(range(1, 6), repeat=size):
                if sum(split) % 2 == 1 and sum(split) <= 5:
                    plans.append(tuple(zip(group, split, strict=True)))
    return plans


def _brute(rho: float, plans: list[tuple[tuple[str, int], ...]]) -> tuple[float, Any]:
    best: tuple[float, Any] | None = None
    for shares in plans:
        success = _majority(shares, rho)
        if success < TARGET:
            continue
        cost = sum(v * MODELS[m][0] * N for m, v in shares)
        if best is None or cost / success < best[0]:
            best = (cost / success, shares)
    assert best is not None
    return best


def test_the_best_plan_is_an_ensemble_and_the_search_finds_it() -> None:
    plans = _all_plans()
    ratio, shares = _brute(RHO, plans)
    assert len(shares) > 1  # the optimum is an ensemble ...
    singles = [p for p in plans if len(p) == 1]
    single_ratio, _ = _brute(RHO, singles)
    assert ratio < 0.8 * single_ratio  # ... well ahead of any model's self-votes
    result = optimize(load_request(_data(RHO)))
    (role,) = result.plan.plan.tasks[0].roles
    assert sorted(role.members) == sorted(shares)
    outcome = result.plan.outcome
    assert outcome.success_probability == pytest.approx(_majority(shares, RHO), rel=1e-9)
    assert outcome.expected_cost == pytest.approx(sum(v * MODELS[m][0] * N for m, v in shares))


def test_without_correlation_no_ensemble_is_offered() -> None:
    """ρ = 0: self-votes buy independence; the search's plan is the best single-model plan."""
    _, shares = _brute(0.0, [p for p in _all_plans() if len(p) == 1])
    result = optimize(load_request(_data(0.0)))
    (role,) = result.plan.plan.tasks[0].roles
    assert not role.ensemble
    assert role.members == shares
