"""Prompt caching (issue 14): a MAP task's prompt of P tokens over b blocks, by hand.

Each call reads ``P + s`` tokens (prompt and block) and writes ``o``. With the cache the
prompt is charged once per write: ``⌈b/L⌉`` writes with a lifetime of ``L`` calls, one
without. The oracles are sums written out in each test and the call-by-call simulator.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate
from aalps.optimizer import optimize

B, S, OUT, P, M = 8, 100, 10, 500, 2  # blocks, block size, output, prompt, model size
PIN, POUT, READ, WRITE = 2e-6, 1e-5, 2e-7, 2.5e-6


def request(cost_model: str, cache: dict[str, Any] | None, prompt: str = str(P)) -> Any:
    data: dict[str, Any] = {
        "graph": {
            "parameters": [{"name": "b", "value": B}, {"name": "p", "value": P}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "x",
                    "prompt_tokens": prompt,
                    "blocks": {"count": "b", "size": str(S), "output": str(OUT)},
                }
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "m",
                    "size": str(M),
                    "capabilities": {"x": 0.99},
                    "price_per_input_token": PIN,
                    "price_per_output_token": POUT,
                    "price_per_cached_input_token": READ,
                    "price_per_cache_write_token": WRITE,
                }
            ]
        },
        "cost_model": cost_model,
    }
    if cache is not None:
        data["prompt_cache"] = cache
    return load_request(data)


PLAN = Plan((TaskPlan("t", Operator.MAP, (RoleAssignment("worker", "m"),)),))


def figures(cost_model: str, cache: dict[str, Any] | None) -> tuple[float, float]:
    req = request(cost_model, cache)
    evaluated = PlanEvaluator(req).evaluate(PLAN)
    sim = simulate(req, PLAN, runs=50, seed=1)
    return evaluated.outcome.expected_cost, sim.mean_cost


def fp(i: float, t: float) -> float:
    return M * (t * i + t * (t - 1) / 2)


@pytest.mark.parametrize(
    ("cost_model", "cache", "hand"),
    [
        # Off by default: every call pays for its prompt (today's figures).
        ("KV_CACHED", None, B * M * (P + S + OUT)),
        ("KV_CACHED", {"enabled": False}, B * M * (P + S + OUT)),
        ("FORWARD_PASS", None, B * fp(P + S, OUT)),
        # On: the prompt once per group, or once per lifetime of 3 calls (⌈8/3⌉ = 3 writes).
        ("KV_CACHED", {"enabled": True}, B * M * (S + OUT) + M * P),
        ("KV_CACHED", {"enabled": True, "lifetime_calls": 3}, B * M * (S + OUT) + 3 * M * P),
        ("FORWARD_PASS", {"enabled": True}, B * fp(S, OUT) + M * P),
        ("FORWARD_PASS", {"enabled": True, "lifetime_calls": 8}, B * fp(S, OUT) + M * P),
        ("FORWARD_PASS", {"enabled": True, "lifetime_calls": 1}, B * fp(S, OUT) + B * M * P),
        # PRICED: the cache is on where the model lists a read price; writes at WRITE.
        ("PRICED", None, B * (S * PIN + OUT * POUT + P * READ) + P * (WRITE - READ)),
        (
            "PRICED",
            {"lifetime_calls": 3},
            B * (S * PIN + OUT * POUT + P * READ) + 3 * P * (WRITE - READ),
        ),
        ("PRICED", {"enabled": False}, B * ((S + P) * PIN + OUT * POUT)),
    ],
)
def test_prefix_charged_once_per_lifetime(
    cost_model: str, cache: dict[str, Any] | None, hand: float
) -> None:
    cost, simulated = figures(cost_model, cache)
    assert cost == pytest.approx(hand, rel=1e-12)
    assert simulated == pytest.approx(hand, rel=1e-12)  # the MAP's cost is not random


def test_quadratic_attention_is_unchanged_by_the_cache() -> None:
    off, _ = figures("QUADRATIC_ATTENTION", None)
    on, simulated = figures("QUADRATIC_ATTENTION", {"enabled": True})
    assert on == off == pytest.approx(simulated)


def test_bound_drops_the_prompt_from_every_block() -> None:
    """With P a growing parameter, KV_CACHED: Θ(b·P) uncached, Θ(b + P) cached."""
    off = PlanEvaluator(request("KV_CACHED", None, prompt="p")).evaluate(PLAN)
    on = PlanEvaluator(request("KV_CACHED", {"enabled": True}, prompt="p")).evaluate(PLAN)
    assert off.bound.text == "b*m_m*p"
    assert on.bound.text == "b*m_m + m_m*p"
    # A lifetime of 3 calls writes the prompt ⌈b/3⌉ times: Θ(b·P) again.
    short = request("KV_CACHED", {"enabled": True, "lifetime_calls": 3}, prompt="p")
    assert PlanEvaluator(short).evaluate(PLAN).bound.text == "b*m_m*p"
    # Numerically along a ray: the ratio uncached / cached grows without end.
    ratios = []
    for scale in (1.0, 10.0, 100.0):
        off_cost = PlanEvaluator(request("KV_CACHED", None, "p"), scale=scale).evaluate(PLAN)
        on_req = request("KV_CACHED", {"enabled": True}, "p")
        on_cost = PlanEvaluator(on_req, scale=scale).evaluate(PLAN)
        ratios.append(off_cost.outcome.expected_cost / on_cost.outcome.expected_cost)
    assert ratios[0] < ratios[1] < ratios[2]
    assert not math.isinf(ratios[2])


@pytest.mark.parametrize(
    ("cache", "field"),
    [
        ({"enabled": "yes"}, "prompt_cache.enabled"),
        ({"lifetime_calls": -1}, "prompt_cache.lifetime_calls"),
        ({"lifetime_calls": 2.5}, "prompt_cache.lifetime_calls"),
        ({"lifetime": 2}, "prompt_cache.lifetime"),
        ({"lifetime_calls": 2**31}, "prompt_cache.lifetime_calls"),
    ],
)
def test_bad_cache_options_name_the_field(cache: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        request("KV_CACHED", cache)
    assert field in {v.field for v in caught.value.violations}


def _crossing(cache: bool) -> Any:
    data: dict[str, Any] = {
        "graph": {
            "parameters": [{"name": "b", "value": 2}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "x",
                    "prompt_tokens": "5000",
                    "output_tokens": "10",
                    "blocks": {"count": "b", "size": "10", "output": "10"},
                }
            ],
        },
        "catalog": {
            "models": [
                {"name": "big", "size": "4", "capabilities": {"x": 1}},
                {"name": "small", "size": "1", "context_window": 5025, "capabilities": {"x": 1}},
            ]
        },
        "cost_model": "KV_CACHED",
    }
    if cache:
        data["prompt_cache"] = {"enabled": True}
    return optimize(load_request(data))


def test_the_cache_removes_a_crossover() -> None:
    """KV_CACHED, a 5,000-token prompt over b blocks of 10 tokens; the small model's window
    holds one block, not the whole input. Uncached, MAP on it costs 5020·b and DIRECT on
    the big model 4·(5000 + 10·b + 10): DIRECT overtakes beyond b = 20040/4980 = 4.024.
    Cached, MAP costs 20·b + 5000, below DIRECT at every b: no crossover."""
    uncached = _crossing(False)
    assert uncached.plan.outcome.expected_cost == pytest.approx(5020 * 2)
    (crossover,) = uncached.crossovers
    assert crossover.plan.plan.tasks[0].operator is Operator.DIRECT
    assert crossover.values["b"] == pytest.approx(20040 / 4980, rel=1e-6)
    cached = _crossing(True)
    assert cached.plan.plan.tasks[0].operator is Operator.MAP
    assert cached.plan.outcome.expected_cost == pytest.approx(20 * 2 + 5000)
    assert cached.crossovers == () and "crossovers" not in cached.stats.skipped
