"""Tool and code steps (issue 14): a code router, a TOOL task in a chain, bad input.

Oracles: costs and success probabilities added up by hand in each test, the Θ bound's
model-size symbols, and the call-by-call simulator (:mod:`aalps.cost_models.simulator`).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.plan_loading import load_plan
from aalps.cost_models.simulator import simulate
from aalps.optimizer import analyze_plan, optimize


def routing_request(code_router: dict[str, Any] | None, cost_model: str = "FORWARD_PASS") -> Any:
    routing: dict[str, Any] = {"tokens": "c"}
    if code_router is not None:
        routing["code_router"] = code_router
    return load_request(
        {
            "graph": {
                "parameters": [
                    {"name": "k", "value": 10},
                    {"name": "c", "value": 20},
                    {"name": "n", "value": 1000},
                ],
                "tasks": [
                    {"id": "t", "capability": "solve", "input_tokens": "n", "routing": routing}
                ],
            },
            "catalog": {
                "models": [
                    {
                        "name": "g",
                        "size": "10*k",
                        "capabilities": {"solve": 0.9},
                        "price_per_input_token": 1e-5,
                        "price_per_output_token": 1e-4,
                    },
                    {
                        "name": "s",
                        "size": "1",
                        "per_variant": True,
                        "capabilities": {"solve": 0.9},
                        "price_per_input_token": 1e-6,
                        "price_per_output_token": 1e-5,
                    },
                    {
                        "name": "d",
                        "size": "2",
                        "capabilities": {"solve": 0.95},
                        "price_per_input_token": 2e-6,
                        "price_per_output_token": 2e-5,
                    },
                ]
            },
            "cost_model": cost_model,
        }
    )


def _route(*roles: tuple[str, str]) -> Plan:
    return Plan((TaskPlan("t", Operator.ROUTE, tuple(RoleAssignment(r, m) for r, m in roles)),))


def test_code_router_makes_no_delegator_forward_pass() -> None:
    llm = routing_request(None)
    code = routing_request({"price_per_call": 0.001, "failure_rate": 0.02, "latency": 3})
    # By hand, FORWARD_PASS with one output token: m·i per call.
    with_llm = PlanEvaluator(llm).evaluate(_route(("delegator", "d"), ("specialist", "s")))
    assert with_llm.outcome.expected_cost == pytest.approx(2 * 20 + 1 * 1000)
    with_code = PlanEvaluator(code).evaluate(_route(("specialist", "s")))
    assert with_code.outcome.expected_cost == pytest.approx(1 * 1000)
    assert with_code.outcome.success_probability == pytest.approx(0.98 * 0.9)
    assert with_code.outcome.latency == pytest.approx(3 + 1001)  # router, then the call
    # Θ: the delegator's term c·m_d is gone, the specialist's n·m_s stays.
    assert with_llm.bound.text == "c*m_d + m_s*n"
    assert with_code.bound.text == "m_s*n"


def test_code_router_price_under_priced_and_the_search_drops_the_delegator() -> None:
    code = routing_request({"price_per_call": 0.0001}, "PRICED")
    result = optimize(code)
    route = result.plan.plan.tasks[0]
    assert route.operator is Operator.ROUTE
    assert [r.role for r in route.roles] == ["specialist"]
    assert result.plan.outcome.expected_cost == pytest.approx(1e-6 * 1000 + 1e-5 + 0.0001)


def chain_request(cost_model: str) -> Any:
    return load_request(
        {
            "graph": {
                "parameters": [{"name": "q", "value": 50}],
                "tasks": [
                    {
                        "id": "search",
                        "executor": "TOOL",
                        "input_tokens": "q",
                        "output_tokens": "300",
                        "tool": {"price_per_call": 0.002, "latency": 5, "failure_rate": 0.1},
                    },
                    {
                        "id": "answer",
                        "capability": "qa",
                        "input_tokens": "q",
                        "output_tokens": "20",
                    },
                ],
                "edges": [{"source": "search", "target": "answer"}],
            },
            "catalog": {
                "models": [
                    {
                        "name": "m",
                        "size": "3",
                        "capabilities": {"qa": 0.8},
                        "price_per_input_token": 1e-6,
                        "price_per_output_token": 4e-6,
                        "latency_per_token": 0.01,
                    }
                ]
            },
            "cost_model": cost_model,
        }
    )


@pytest.mark.parametrize("cost_model", ["PRICED", "FORWARD_PASS"])
def test_tool_task_feeds_its_tokens_and_its_failure_lowers_success(cost_model: str) -> None:
    request = chain_request(cost_model)
    result = optimize(request)
    plan = result.plan
    tasks = {t.plan.task_id: t for t in plan.tasks}
    assert tasks["search"].plan.roles == () and tasks["search"].plan.operator is Operator.DIRECT
    read = 50 + 300  # the answer reads its own input and the tool's returned tokens
    if cost_model == "PRICED":
        hand = 0.002 + 1e-6 * read + 4e-6 * 20
    else:  # the tool makes no forward pass; m·(t·i + t(t−1)/2) for the answer
        hand = 3 * (20 * read + 20 * 19 / 2)
    assert plan.outcome.expected_cost == pytest.approx(hand, rel=1e-12)
    assert tasks["search"].outcome.expected_cost == pytest.approx(0.002 if hand < 1 else 0.0)
    assert plan.outcome.success_probability == pytest.approx(0.9 * 0.8)
    assert plan.outcome.latency == pytest.approx(5 + 0.01 * (read + 20))
    sim = simulate(request, plan.plan, runs=4000, seed=3)
    se = math.sqrt(0.72 * 0.28 / 4000)
    assert abs(sim.success_rate - 0.72) < 3 * se
    assert sim.mean_cost == pytest.approx(hand, rel=1e-9)


def test_code_task_defaults_to_free_and_exact() -> None:
    data: dict[str, Any] = {
        "graph": {"tasks": [{"id": "parse", "executor": "CODE", "input_tokens": "10"}]},
        "catalog": {"models": [{"name": "m", "size": "1", "capabilities": {"x": 1}}]},
    }
    result = optimize(load_request(data))
    assert result.plan.outcome.expected_cost == 0.0
    assert result.plan.outcome.success_probability == 1.0


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"executor": "TOOL", "tool": {"failure_rate": 1.0}}, "graph.tasks[0].tool.failure_rate"),
        (
            {"executor": "TOOL", "tool": {"price_per_call": -1}},
            "graph.tasks[0].tool.price_per_call",
        ),
        ({"executor": "ROBOT"}, "graph.tasks[0].executor"),
        ({"capability": "x", "tool": {"latency": 1}}, "graph.tasks[0].tool"),
        ({"executor": "CODE", "blocks": {"count": "2", "size": "5"}}, "graph.tasks[0].blocks"),
        ({"executor": "TOOL", "tool": {"speed": 1}}, "graph.tasks[0].tool.speed"),
        (
            {"capability": "x", "routing": {"code_router": {"failure_rate": 2}}},
            "graph.tasks[0].routing.code_router.failure_rate",
        ),
    ],
)
def test_bad_tool_input_names_the_field(task: dict[str, Any], field: str) -> None:
    data = {
        "graph": {"tasks": [{"id": "t", "input_tokens": "10", **task}]},
        "catalog": {"models": [{"name": "m", "size": "1", "capabilities": {"x": 1}}]},
    }
    with pytest.raises(InvalidRequestError) as caught:
        load_request(data)
    assert field in {v.field for v in caught.value.violations}


def test_a_priced_code_router_crosses_over_a_generalist() -> None:
    """DIRECT pays 1e-5 per token, ROUTE 0.5 per routing call plus 1e-6 per token: the code
    router's fixed price is worth it beyond n = 0.5 / 9e-6 = 55,555.6 tokens (scale ×55.6)."""
    data: dict[str, Any] = {
        "graph": {
            "parameters": [{"name": "n", "value": 1000}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "solve",
                    "input_tokens": "n",
                    "routing": {"code_router": {"price_per_call": 0.5}},
                }
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "g",
                    "size": "10",
                    "capabilities": {"solve": 1},
                    "price_per_input_token": 1e-5,
                },
                {
                    "name": "s",
                    "size": "1",
                    "per_variant": True,
                    "capabilities": {"solve": 1},
                    "price_per_input_token": 1e-6,
                },
            ]
        },
        "cost_model": "PRICED",
    }
    result = optimize(load_request(data))
    assert result.plan.plan.tasks[0].operator is Operator.DIRECT
    assert result.plan.outcome.expected_cost == pytest.approx(1e-5 * 1000)
    (crossover,) = result.crossovers
    assert crossover.plan.plan.tasks[0].operator is Operator.ROUTE
    assert crossover.values["n"] == pytest.approx(0.5 / 9e-6, rel=1e-3)


def test_analyze_a_callers_tool_plan_and_reject_roles_on_a_tool() -> None:
    request = chain_request("PRICED")
    plan = load_plan(
        {
            "tasks": [
                {"task_id": "search", "operator": "DIRECT"},
                {
                    "task_id": "answer",
                    "operator": "DIRECT",
                    "roles": [{"role": "worker", "model": "m"}],
                },
            ]
        }
    )
    result = analyze_plan(request, plan)
    assert result.plan.outcome.expected_cost == pytest.approx(0.002 + 1e-6 * 350 + 4e-6 * 20)
    bad = load_plan(
        {
            "tasks": [
                {
                    "task_id": "search",
                    "operator": "DIRECT",
                    "roles": [{"role": "worker", "model": "m"}],
                },
                {
                    "task_id": "answer",
                    "operator": "DIRECT",
                    "roles": [{"role": "worker", "model": "m"}],
                },
            ]
        }
    )
    with pytest.raises(InvalidRequestError) as caught:
        analyze_plan(request, bad)
    assert "plan.tasks[search].roles[worker]" in {v.field for v in caught.value.violations}
