"""Ensemble roles (votes across different models): figures by hand, the simulator, plan checks.

Oracles: the majority of three independent votes written out by hand
(``p1p2 + p1p3 + p2p3 − 2p1p2p3``), each member's call costs and the latency rule summed by
hand, and the call-by-call simulator (each member drawing its own probability from its
Beta) within 3 standard errors.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.domain import Operator, Plan, TaskPlan
from aalps.cost_models.ensemble_roles import ensemble_role
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.plan_loading import load_plan
from aalps.cost_models.simulator import simulate

N = 100  # input tokens of the one call; it writes 1 token


def _request(models: list[dict[str, Any]], **extra: Any) -> Any:
    return load_request(
        {
            "graph": {
                "name": "label",
                "parameters": [{"name": "n", "value": N}],
                "tasks": [{"id": "t", "capability": "c", "input_tokens": "n"}],
            },
            "catalog": {"models": models},
            **extra,
        }
    )


THREE = [
    {"name": "a", "size": 3, "capabilities": {"c": 0.9}, "latency_per_token": 1},
    {"name": "b", "size": 2, "capabilities": {"c": 0.8}, "latency_per_token": 2},
    {"name": "c", "size": 1, "capabilities": {"c": 0.7}, "latency_per_token": 0.5},
]


def _plan(*shares: tuple[str, int]) -> Plan:
    return Plan((TaskPlan("t", Operator.DIRECT, (ensemble_role("worker", list(shares)),)),))


def test_three_members_one_vote_each_by_hand() -> None:
    p1, p2, p3 = 0.9, 0.8, 0.7
    majority = p1 * p2 + p1 * p3 + p2 * p3 - 2 * p1 * p2 * p3
    assert majority == pytest.approx(0.902)
    evaluator = PlanEvaluator(_request(THREE))
    plan = _plan(("a", 1), ("b", 1), ("c", 1))
    evaluator.validate_plan(plan)
    evaluation = evaluator.evaluate(plan)
    assert evaluation.outcome.success_probability == pytest.approx(majority, rel=1e-12)
    # FORWARD_PASS: a call of a size-m model reading n tokens costs m·n; one call each.
    assert evaluation.outcome.expected_cost == pytest.approx(3 * N + 2 * N + 1 * N)
    assert str(evaluation.cost) == "m_a*n + m_b*n + m_c*n"
    # The three votes run at once; the round lasts as long as the slowest (b: 2 per token).
    assert evaluation.outcome.latency == pytest.approx(2 * (N + 1))


def test_each_member_billed_at_its_own_prices_and_votes() -> None:
    priced = [
        {**m, "price_per_input_token": pin, "price_per_output_token": pout}
        for m, (pin, pout) in zip(THREE, [(0.03, 0.06), (0.01, 0.02), (0.001, 0.004)], strict=True)
    ]
    request = _request(priced, cost_model="PRICED", constraints={"parallelism": 2})
    evaluator = PlanEvaluator(request)
    outcome = evaluator.evaluate(_plan(("a", 2), ("c", 1))).outcome
    # a casts 2 votes, c one: 2·(100·0.03 + 0.06) + (100·0.001 + 0.004).
    assert outcome.expected_cost == pytest.approx(2 * (3.0 + 0.06) + (0.1 + 0.004))
    # 3 votes on 2 workers: 2 rounds, each as slow as a (1 per token; c is faster).
    assert outcome.latency == pytest.approx(2 * 1 * (N + 1))
    # a right with 0.9 per vote (independent), c with 0.7: a majority of 3 needs 2 right.
    pa, pc = 0.9, 0.7
    hand = pa * pa + 2 * pa * (1 - pa) * pc
    assert outcome.success_probability == pytest.approx(hand, rel=1e-12)


def test_every_member_must_hold_the_call() -> None:
    narrow = [*THREE[:2], {**THREE[2], "context_window": 50}]
    outcome = PlanEvaluator(_request(narrow)).evaluate(_plan(("a", 1), ("c", 2))).outcome
    assert outcome.window_violation is not None
    assert "c's context window of 50" in outcome.window_violation


def test_simulator_agrees_with_correlated_members() -> None:
    models = [
        {"name": "x", "size": 1, "capabilities": {"c": 0.8}, "vote_correlation": 0.4},
        {"name": "y", "size": 2, "capabilities": {"c": 0.7}},
        {"name": "z", "size": 3, "capabilities": {"c": 0.75}, "vote_correlation": 0.2},
    ]
    request = _request(models)
    plan = _plan(("x", 2), ("y", 1), ("z", 2))
    outcome = PlanEvaluator(request).evaluate(plan).outcome
    runs = 20_000
    summary = simulate(request, plan, runs=runs, seed=7)
    p = outcome.success_probability
    se = math.sqrt(p * (1 - p) / runs)
    assert abs(summary.success_rate - p) < 3 * se, (summary.success_rate, p, se)
    assert summary.mean_cost == pytest.approx((2 * 1 + 1 * 2 + 2 * 3) * N)
    assert outcome.expected_cost == pytest.approx((2 * 1 + 1 * 2 + 2 * 3) * N)
    # Correlation costs the ensemble: with every member independent it would do better.
    free = _request([{k: v for k, v in m.items() if k != "vote_correlation"} for m in models])
    assert PlanEvaluator(free).evaluate(plan).outcome.success_probability > p + 0.01


def _problems(task: dict[str, Any], roles: list[dict[str, Any]]) -> list[str]:
    request = load_request(
        {
            "graph": {"name": "g", "parameters": [{"name": "n", "value": N}], "tasks": [task]},
            "catalog": {"models": THREE},
        }
    )
    plan = load_plan({"tasks": [{"task_id": "t", "operator": "DIRECT", "roles": roles}]})
    return [v.field for v in PlanEvaluator(request).task_plan_problems(plan.tasks[0])]


LABEL = {"id": "t", "capability": "c", "input_tokens": "n"}
WHERE = "plan.tasks[t].roles[worker].ensemble"


@pytest.mark.parametrize(
    ("task", "shares", "fields"),
    [
        (LABEL, [("a", 1), ("b", 2)], []),
        (LABEL, [("a", 1), ("a", 2)], [WHERE]),  # one model twice
        (LABEL, [("a", 1), ("b", 1)], [WHERE]),  # a tie is possible
        (LABEL, [("a", 5), ("b", 6)], [WHERE]),  # more than 9 votes
        (LABEL, [("a", 1), ("nope", 2)], [f"{WHERE}[1].model"]),
        ({**LABEL, "output_tokens": "n"}, [("a", 1), ("b", 2)], [WHERE]),  # long text: no vote
    ],
)
def test_plan_checks_name_the_ensemble_field(
    task: dict[str, Any], shares: list[tuple[str, int]], fields: list[str]
) -> None:
    ensemble = [{"model": m, "votes": v} for m, v in shares]
    assert _problems(task, [{"role": "worker", "ensemble": ensemble}]) == fields
