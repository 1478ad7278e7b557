"""ITERATE_WITH_HISTORY's history read from a cache (issue 14), by hand.

A task with ``b`` defects, input ``n``, reports of ``r`` tokens and a prompt of ``P``: at
iteration ``i`` the detector reads ``P + i·n + (i−1)·r`` and writes ``r``, the fixer reads
``P + i·n + i·r`` and writes ``n``. With a cache that lives the whole loop, each role's call
``i ≥ 2`` processes only what was added since its call ``i − 1`` (``n + r``), the first call
its input past the prompt, and the prompt is written once. The oracles are the sums written
out below, the call-by-call simulator and the bound's degree in ``b``.
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate

B, N, R, P, M = 4, 100, 5, 50, 2

PLAN = Plan(
    (
        TaskPlan(
            "t",
            Operator.ITERATE_WITH_HISTORY,
            (RoleAssignment("detector", "m"), RoleAssignment("fixer", "m")),
        ),
    )
)


def request(cost_model: str, cache: dict[str, Any] | None) -> Any:
    data: dict[str, Any] = {
        "graph": {
            "parameters": [{"name": "b", "value": B}, {"name": "n", "value": N}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "x",
                    "input_tokens": "n",
                    "output_tokens": "n",
                    "prompt_tokens": str(P),
                    "defects": {"count": "b", "report_tokens": str(R)},
                }
            ],
        },
        "catalog": {"models": [{"name": "m", "size": str(M), "capabilities": {"x": 0.999}}]},
        "cost_model": cost_model,
    }
    if cache is not None:
        data["prompt_cache"] = cache
    return load_request(data)


def kv(i: float, t: float) -> float:
    return M * (i + t)


def fp(i: float, t: float) -> float:
    return M * (t * i + t * (t - 1) / 2)


def uncached(call: Any) -> float:
    return sum(
        call(P + i * N + (i - 1) * R, R) + call(P + i * N + i * R, N) for i in range(1, B + 1)
    )


def cached(call: Any) -> float:
    detector = call(N, R) + (B - 1) * call(N + R, R)
    fixer = call(N + R, N) + (B - 1) * call(N + R, N)
    return detector + fixer + 2 * M * P  # each role's model writes the prompt once


@pytest.mark.parametrize(
    ("cost_model", "cache", "hand"),
    [
        ("KV_CACHED", None, uncached(kv)),
        ("KV_CACHED", {"enabled": True}, cached(kv)),
        ("FORWARD_PASS", {"enabled": True}, cached(fp)),
        # With a lifetime only the prompt is cached; a lifetime of one call writes it in
        # every call, which under KV_CACHED is the sum without a cache.
        ("KV_CACHED", {"enabled": True, "lifetime_calls": 1}, uncached(kv)),
    ],
)
def test_history_cost_by_hand(cost_model: str, cache: dict[str, Any] | None, hand: float) -> None:
    evaluated = PlanEvaluator(request(cost_model, cache)).evaluate(PLAN)
    assert evaluated.outcome.expected_cost == pytest.approx(hand, rel=1e-12)


@pytest.mark.parametrize("cost_model", ["KV_CACHED", "FORWARD_PASS"])
@pytest.mark.parametrize("cache", [None, {"enabled": True}, {"enabled": True, "lifetime_calls": 3}])
def test_the_simulator_bills_the_same(cost_model: str, cache: dict[str, Any] | None) -> None:
    """Call by call (the costs are not random: every run bills the same)."""
    req = request(cost_model, cache)
    evaluated = PlanEvaluator(req).evaluate(PLAN)
    simulated = simulate(req, PLAN, runs=3, seed=1)
    assert simulated.mean_cost == pytest.approx(evaluated.outcome.expected_cost, rel=1e-12)


def test_the_figures_written_out() -> None:
    assert uncached(kv) == 5800 and cached(kv) == 2710


def test_a_cached_history_is_linear_in_the_defects() -> None:
    b = sympy.Symbol("b", positive=True)
    plain = PlanEvaluator(request("KV_CACHED", None)).evaluate(PLAN)
    with_cache = PlanEvaluator(request("KV_CACHED", {"enabled": True})).evaluate(PLAN)
    assert sympy.degree(sympy.expand(plain.cost), b) == 2
    assert sympy.degree(sympy.expand(with_cache.cost), b) == 1
    assert b in with_cache.bound.expr.free_symbols
    assert sympy.degree(sympy.expand(with_cache.bound.expr), b) == 1
