"""Issue 7, "right answers": the objective, ties, the asymptotic optimum and crossovers.

Each expected value is derived by hand in the comment beside it.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from aalps.cost_models.domain import Operator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize

from tests.optimizer.conftest import EXAMPLES


def data(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return loaded


def operators(plan: Any) -> list[Operator]:
    return [t.plan.operator for t in plan.tasks]


def roles(plan: Any) -> dict[str, str]:
    return {r.role: r.model for r in plan.tasks[0].plan.roles}


# --------------------------------------------------------------- cost of a correct result

# The evolution example: k = 20 blocks of l = 100 tokens, each attempt right with 1/2,
# model u of size m = 1e9, FORWARD_PASS: a call reading i and writing t tokens costs
# m·(t·i + t(t−1)/2); one block call (i = t = l) costs m·(1.5·l² − 0.5·l) = 14,950·m.
BLOCK_CALL = 1e9 * (1.5 * 100**2 - 0.5 * 100)


def test_evolution_without_a_floor_is_local_retry() -> None:
    # MAP: 20 block calls, right with 0.5^20: cost of a correct result 20·B·2^20.
    # LOCAL_RETRY: 2 expected attempts per block, always right: 40·B, the least.
    # DIRECT / GLOBAL_RETRY read and write all n = 2000 tokens (×2^20 to be right).
    request = data("evolutionary_optimization")
    del request["constraints"]
    result = optimize(load_request(request))
    assert operators(result.plan) == [Operator.LOCAL_RETRY]
    assert result.plan.outcome.expected_cost == pytest.approx(40 * BLOCK_CALL, rel=1e-12)
    assert result.plan.outcome.success_probability == 1.0
    assert result.plan.outcome.cost_of_pass == pytest.approx(40 * BLOCK_CALL, rel=1e-12)


def test_expected_cost_objective_keeps_the_raw_cost() -> None:
    # search.objective EXPECTED_COST: MAP's 20·B beats LOCAL_RETRY's 40·B; its success
    # 0.5^20 is reported, and its cost of a correct result 20·B·2^20.
    request = data("evolutionary_optimization")
    del request["constraints"]
    request["search"] = {"objective": "EXPECTED_COST"}
    result = optimize(load_request(request))
    assert operators(result.plan) == [Operator.MAP]
    assert result.plan.outcome.expected_cost == pytest.approx(20 * BLOCK_CALL, rel=1e-12)
    assert result.plan.outcome.success_probability == pytest.approx(0.5**20, rel=1e-12)
    assert result.plan.outcome.cost_of_pass == pytest.approx(20 * BLOCK_CALL * 2**20, rel=1e-9)


def test_unlikely_acceptance_under_kv_cache_is_local_retry() -> None:
    # p = 0.2, KV_CACHED (a call costs m·(i + t)): DIRECT costs m·4000 but is right with
    # 0.2^20 ≈ 1e-14; LOCAL_RETRY makes 5 attempts per block of m·200: 20·5·200·m = 2e13.
    request = data("evolutionary_optimization")
    del request["constraints"]
    request["cost_model"] = "KV_CACHED"
    request["graph"]["tasks"][0]["acceptance"]["success_probability"] = 0.2
    result = optimize(load_request(request))
    assert operators(result.plan) == [Operator.LOCAL_RETRY]
    assert result.plan.outcome.expected_cost == pytest.approx(2e13, rel=1e-12)


# --------------------------------------------------------------- ties and the asymptotic plan


def routing(delegator_size: float) -> dict[str, Any]:
    """k-task routing where the generalist (k·m_s = 1e12 at the scale point) can route too."""
    request = data("k_task_routing")
    models = request["catalog"]["models"]
    models[1]["size"] = delegator_size
    return request


def test_a_tie_goes_to_the_asymptotically_smaller_plan() -> None:
    # Delegator d of fixed size 1e12 and the generalist (k·m_s = 1000·1e9 = 1e12) cost the
    # same at the scale point; d stays constant as k grows, so ROUTE(d, specialist) wins:
    # cost m_d·c + m_s·n (c fixed) → Θ(m_s·n); DIRECT m_g·n = k·m_s·n → separation Θ(k).
    result = optimize(load_request(routing(1e12)))
    assert operators(result.plan) == [Operator.ROUTE]
    assert roles(result.plan) == {"delegator": "d", "specialist": "specialist"}
    assert result.plan.bound.text == "m_s*n"
    assert [(s.role, s.text) for s in result.separation] == [("", "k")]
    assert result.asymptotic_plan is None


def test_a_dearer_constant_delegator_is_a_crossover_at_k_1010() -> None:
    # d costs 1.01e12·c against k·m_s·c for the generalist: the generalist routes at the
    # scale point; along the ray (k and n multiplied by s) k·m_s = 1e12·s passes 1.01e12 at
    # s = 1.01, i.e. k ≈ 1,010 and n ≈ 101,000. ROUTE(d) is the asymptotic optimum.
    result = optimize(load_request(routing(1.01e12)))
    assert roles(result.plan) == {"delegator": "generalist", "specialist": "specialist"}
    assert result.asymptotic_plan is not None
    assert roles(result.asymptotic_plan) == {"delegator": "d", "specialist": "specialist"}
    crossing = result.crossovers[0]
    assert crossing.scale == pytest.approx(1.01, rel=1e-6)
    assert dict(crossing.values) == pytest.approx({"n": 101_000, "k": 1_010}, rel=1e-6)
    assert "scale ×1.01 (n ≈ 101,000, k ≈ 1,010)" in crossing.text


def test_rank_by_asymptotic_returns_the_asymptotic_plan() -> None:
    request = routing(1.01e12)
    request["search"] = {"rank_by": "ASYMPTOTIC"}
    result = optimize(load_request(request))
    assert roles(result.plan) == {"delegator": "d", "specialist": "specialist"}
    assert result.asymptotic_plan is None
    assert result.plan.bound.text == "m_s*n"


def test_document_ranking_reports_the_cost_of_a_correct_result() -> None:
    # MAP with the scorer: 500 one-token calls over 2,000 tokens, m = 3e9: cost 3e15, right
    # with 0.999^500 ≈ 0.606 → 4.95e15 per correct result. Three votes per block: 9e15 and
    # (3p² − 2p³)^500 ≈ 0.9985 → 9.01e15, dearer. DIRECT with the frontier (4e11, reading
    # k·l = 1e6 tokens for each of its 500 output tokens): ≈ 2.0e20 at 0.99. So MAP wins,
    # and it says what a correct ranking costs.
    result = optimize(load_request(data("document_ranking")))
    assert operators(result.plan) == [Operator.MAP]
    assert roles(result.plan) == {"worker": "scorer"}
    assert result.plan.tasks[0].plan.roles[0].votes == 1
    assert result.plan.outcome.cost_of_pass == pytest.approx(3e15 / 0.999**500, rel=1e-9)
    assert result.baseline.outcome.cost_of_pass == pytest.approx(
        4e11 * (500 * 1e6 + 500 * 499 / 2) / 0.99, rel=1e-9
    )


def steps_request(count: float, p: float, target: float) -> dict[str, Any]:
    return {
        "graph": {
            "name": "long chain",
            "parameters": [{"name": "S", "value": count}],
            "tasks": [
                {"id": "chain", "capability": "step", "input_tokens": "S", "steps": {"count": "S"}}
            ],
        },
        "catalog": {"models": [{"name": "w", "size": 1e9, "capabilities": {"step": p}}]},
        "constraints": {"min_success_probability": target},
    }


def test_a_million_steps_at_p_07_need_a_lead_of_22() -> None:
    # Per-step failure with lead k is r^k/(1 + r^k), r = 3/7; the chain of S = 10^6 steps is
    # right with (1 + r^k)^−S ≈ exp(−S·r^k) ≥ 0.99 ⇔ r^k ≤ 1.005e-8: r^21 = 1.87e-8 fails,
    # r^22 = 8.0e-9 holds. The cheapest correct result alone would take a shorter lead (20),
    # so the floor decides: 22. DIRECT is right with 0.7^10^6 and votes are refused on it.
    result = optimize(load_request(steps_request(1e6, 0.7, 0.99)))
    (task,) = result.plan.tasks
    assert task.plan.operator is Operator.AHEAD_BY_K
    assert task.plan.param_map["ahead"] == 22
    assert result.plan.outcome.success_probability >= 0.99
    # The lead grows as log S along the ray: Θ(S·log S) (MAKER).
    assert result.plan.bound.text == "S*m_w*log(S)"


def test_a_long_summary_gets_no_votes_even_under_a_floor() -> None:
    # A 500-token summary has no majority. Were votes allowed, `small ×5` (success
    # Σ_{j≥3} C(5,j)·0.9^j·0.1^(5−j) = 0.99144 ≥ 0.99, five calls of size 1e9) would beat
    # the big model (1e12); they are not, so the big model writes the summary.
    request = {
        "graph": {
            "name": "summary",
            "parameters": [{"name": "n", "value": 10_000}],
            "tasks": [
                {"id": "sum", "capability": "write", "input_tokens": "n", "output_tokens": "500"}
            ],
        },
        "catalog": {
            "models": [
                {"name": "small", "size": 1e9, "capabilities": {"write": 0.9}},
                {"name": "big", "size": 1e12, "capabilities": {"write": 0.995}},
            ]
        },
        "constraints": {"min_success_probability": 0.99},
    }
    result = optimize(load_request(request))
    assert [(r.model, r.votes) for r in result.plan.tasks[0].plan.roles] == [("big", 1)]
