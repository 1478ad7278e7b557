"""CASCADE against FrugalGPT's accounting, the simulator, and its input checks (issue 14).

The oracle is a test-local re-implementation of FrugalGPT's ``predict_one`` (query each
model in order, add its cost, stop when a stage accepts; the last stage accepts all), whose
expectation is taken exactly over every pattern of accept decisions, on a three-model table
whose figures are also worked out by hand below.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import pytest
import sympy
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate

# Input 10 tokens, output 1, no prompt; PRICED costs of one call = 10·in + 1·out:
#   cheap: 10/16 + 3/8 = 1,  mid: 10/4 + 3/2 = 4,  big: 10·1 + 6 = 16 (binary fractions).
# cheap accepts half the inputs, right on 90% of them; mid (accuracy not given: its
# reliability 0.8) accepts a quarter; big, last, answers the rest with its reliability 0.7.
#   E[cost] = 1 + (1 − 1/2)·4 + (1 − 1/2)(1 − 1/4)·16 = 1 + 2 + 6 = 9
#   success = 1/2·0.9 + 1/2·1/4·0.8 + 1/2·3/4·0.7 = 0.45 + 0.1 + 0.2625 = 0.8125
HAND_COST = 9.0
HAND_SUCCESS = 0.8125
TABLE = (  # (model, cost of one call, accept rate, accuracy when it accepts)
    ("cheap", 1.0, 0.5, 0.9),
    ("mid", 4.0, 0.25, 0.8),
    ("big", 16.0, 1.0, 0.7),
)


def request_data(**task_extra: Any) -> dict[str, Any]:
    """One classification task that may cascade over cheap, mid and big."""
    return {
        "graph": {
            "name": "cascade",
            "parameters": [{"name": "n", "value": 10}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "classify",
                    "input_tokens": "n",
                    "output_tokens": 1,
                    "cascade": {"max_stages": 3},
                    **task_extra,
                }
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "cheap",
                    "size": 1,
                    "price_per_input_token": 0.0625,
                    "price_per_output_token": 0.375,
                    "capabilities": {"classify": 0.6},
                    "cascade": {"classify": {"accept_rate": 0.5, "accepted_accuracy": 0.9}},
                },
                {
                    "name": "mid",
                    "size": 2,
                    "price_per_input_token": 0.25,
                    "price_per_output_token": 1.5,
                    "capabilities": {"classify": 0.8},
                    "cascade": {"classify": {"accept_rate": 0.25}},
                },
                {
                    "name": "big",
                    "size": 3,
                    "price_per_input_token": 1.0,
                    "price_per_output_token": 6.0,
                    "capabilities": {"classify": 0.7},
                },
            ]
        },
        "cost_model": "PRICED",
    }


def cascade_plan(*models: str) -> Plan:
    roles = tuple(RoleAssignment(f"stage{j}", m) for j, m in enumerate(models, start=1))
    return Plan((TaskPlan("t", Operator.CASCADE, roles, (("stages", len(models)),)),))


def predict_one(
    table: Sequence[tuple[str, float, float, float]], accepts: Sequence[bool], right: bool
) -> tuple[float, bool]:
    """FrugalGPT's ``predict_one`` for one query: the cost paid and whether the answer is
    right, given which stages' scorers accept (``accepts``) and whether the answer of the
    stage that stops is right (``right``)."""
    cost = 0.0
    for j, (_, price, _, _) in enumerate(table):
        cost += price
        if j == len(table) - 1 or accepts[j]:
            return cost, right
    raise AssertionError("unreachable")


def frugal_expectation(table: Sequence[tuple[str, float, float, float]]) -> tuple[float, float]:
    """E[cost] and P(right) of ``predict_one`` over every accept pattern, exactly."""
    cost = success = 0.0
    for accepts in itertools.product((True, False), repeat=len(table) - 1):
        weight = math.prod(table[j][2] if a else 1 - table[j][2] for j, a in enumerate(accepts))
        stop = next((j for j, a in enumerate(accepts) if a), len(table) - 1)
        for right in (True, False):
            q = table[stop][3]
            paid, ok = predict_one(table, (*accepts, True), right)
            p = weight * (q if right else 1 - q)
            cost += p * paid
            success += p * ok
    return cost, success


def test_the_oracle_agrees_with_the_hand_figures() -> None:
    cost, success = frugal_expectation(TABLE)
    assert cost == pytest.approx(HAND_COST, rel=1e-12)
    assert success == pytest.approx(HAND_SUCCESS, rel=1e-12)


def test_cascade_equals_frugalgpt_accounting() -> None:
    evaluator = PlanEvaluator(load_request(request_data()))
    plan = cascade_plan("cheap", "mid", "big")
    evaluator.validate_plan(plan)
    evaluation = evaluator.evaluate(plan)
    cost, success = frugal_expectation(TABLE)
    assert evaluation.outcome.expected_cost == pytest.approx(cost, rel=1e-12)
    assert evaluation.outcome.success_probability == pytest.approx(success, rel=1e-12)
    # The symbolic cost is the same formula over n: per input token 1/16 + 1/2·1/4 + 3/8·1
    # = 9/16, per output token 3/8 + 1/2·3/2 + 3/8·6 = 27/8 (9 at n = 10).
    n = sympy.Symbol("n", positive=True)
    assert sympy.expand(evaluation.cost - (sympy.Rational(9, 16) * n + sympy.Rational(27, 8))) == 0
    assert evaluator.plan_success(plan) == sympy.Rational(HAND_SUCCESS)


def test_the_cost_variance_counts_the_nested_stages() -> None:
    """The cost is 1, 1 + 4 or 1 + 4 + 16 with chances 1/2, 1/8, 3/8: E[C²] = 1/2 + 25/8 +
    3·441/8 = 169, so Var = 169 − 9² = 88 (the stages' indicators are nested, not
    independent: without the covariances it would be 64)."""
    evaluator = PlanEvaluator(load_request(request_data()))
    outcome = evaluator.outcome(cascade_plan("cheap", "mid", "big"))
    assert outcome.cost_variance == pytest.approx(88.0, rel=1e-12)
    oracle = 0.0
    for accepts in itertools.product((True, False), repeat=2):
        weight = math.prod(TABLE[j][2] if a else 1 - TABLE[j][2] for j, a in enumerate(accepts))
        paid, _ = predict_one(TABLE, (*accepts, True), True)
        oracle += weight * (paid - HAND_COST) ** 2
    assert oracle == pytest.approx(88.0, rel=1e-12)
    # P(cost <= 5) = 5/8 < 0.95, so the 95th percentile is the whole cascade's 21, exactly.
    assert (outcome.cost_p95, outcome.cost_p95_approximate) == (21.0, False)


def test_two_cascades_have_an_exact_tail() -> None:
    """Two independent cascades (the same task twice, in parallel): costs 2, 6, 10, 22, 26,
    42 with chances 1/4, 1/8, 1/64, 3/8, 3/32, 9/64; P(cost <= 26) = 55/64 < 0.95 <=
    P(cost <= 42) = 1, so the 95th percentile is 42."""
    data = request_data()
    second = {**data["graph"]["tasks"][0], "id": "u"}
    data["graph"]["tasks"].append(second)
    evaluator = PlanEvaluator(load_request(data))
    roles = tuple(RoleAssignment(f"stage{j}", m) for j, m in enumerate(["cheap", "mid", "big"], 1))
    plan = Plan(tuple(TaskPlan(t, Operator.CASCADE, roles, (("stages", 3),)) for t in ("t", "u")))
    outcome = evaluator.outcome(plan)
    assert outcome.expected_cost == pytest.approx(18.0, rel=1e-12)
    assert outcome.cost_variance == pytest.approx(176.0, rel=1e-12)
    assert (outcome.cost_p95, outcome.cost_p95_approximate) == (42.0, False)


def test_a_two_stage_cut_off_stops_at_the_second_model() -> None:
    evaluator = PlanEvaluator(load_request(request_data()))
    outcome = evaluator.outcome(cascade_plan("cheap", "big"))
    # 1 + 1/2·16 = 9; success 1/2·0.9 + 1/2·0.7 = 0.8 (big last: its reliability).
    assert outcome.expected_cost == pytest.approx(9.0, rel=1e-12)
    assert outcome.success_probability == pytest.approx(0.8, rel=1e-12)
    table = (TABLE[0], TABLE[2])
    assert (outcome.expected_cost, outcome.success_probability) == pytest.approx(
        frugal_expectation(table), rel=1e-12
    )


def test_task_rates_override_the_catalog() -> None:
    rates = {"cheap": {"accept_rate": 0.75, "accepted_accuracy": 0.5}}
    evaluator = PlanEvaluator(load_request(request_data(cascade={"rates": rates})))
    outcome = evaluator.outcome(cascade_plan("cheap", "big"))
    # 1 + 1/4·16 = 5; success 3/4·0.5 + 1/4·0.7 = 0.55.
    assert outcome.expected_cost == pytest.approx(5.0, rel=1e-12)
    assert outcome.success_probability == pytest.approx(0.55, rel=1e-12)


@pytest.mark.parametrize("models", [("cheap", "mid", "big"), ("mid", "cheap")])
def test_the_simulator_agrees(models: tuple[str, ...]) -> None:
    request = load_request(request_data())
    plan = cascade_plan(*models)
    outcome = PlanEvaluator(request).outcome(plan)
    runs = 20_000
    summary = simulate(request, plan, runs=runs, seed=14)
    error = abs(summary.mean_cost - outcome.expected_cost)
    assert error <= 3 * summary.standard_error
    assert error <= 0.02 * outcome.expected_cost
    variance = summary.standard_error**2 * runs
    assert variance == pytest.approx(outcome.cost_variance, rel=0.05)
    assert summary.cost_p95 == outcome.cost_p95  # the tail is an atom: exact
    p = outcome.success_probability
    assert abs(summary.success_rate - p) <= 3 * math.sqrt(p * (1 - p) / runs)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (cascade_plan("cheap", "cheap"), "distinct models"),
        (cascade_plan("big", "cheap"), "can only be the last stage"),
    ],
)
def test_invalid_cascades_are_named(plan: Plan, message: str) -> None:
    evaluator = PlanEvaluator(load_request(request_data()))
    with pytest.raises(InvalidRequestError) as caught:
        evaluator.validate_plan(plan)
    fields = {v.field: v.description for v in caught.value.violations}
    assert any(message in d for d in fields.values()), fields
    assert all(f.startswith("plan.tasks[t].roles") for f in fields)


def test_a_stage_count_out_of_range_is_named() -> None:
    evaluator = PlanEvaluator(load_request(request_data()))
    roles = tuple(RoleAssignment(f"stage{j}", m) for j, m in enumerate(["cheap", "mid"], 1))
    plan = Plan((TaskPlan("t", Operator.CASCADE, roles, (("stages", 4),)),))
    with pytest.raises(InvalidRequestError) as caught:
        evaluator.validate_plan(plan)
    assert "plan.tasks[t].params.stages" in {v.field for v in caught.value.violations}


def _violations(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidRequestError) as caught:
        load_request(data)
    return {v.field: v.description for v in caught.value.violations}


@pytest.mark.parametrize(
    ("rates", "field"),
    [
        ({"accept_rate": 1.5}, "catalog.models[0].cascade[classify].accept_rate"),
        ({"accept_rate": -0.1}, "catalog.models[0].cascade[classify].accept_rate"),
        ({"accept_rate": 0.5, "accepted_accuracy": 0}, "catalog.models[0].cascade[classify]"
         ".accepted_accuracy"),
        ({"accept_rate": 0.5, "accepted_accuracy": 1.2}, "catalog.models[0].cascade[classify]"
         ".accepted_accuracy"),
        ({"accepted_accuracy": 0.5}, "catalog.models[0].cascade[classify].accept_rate"),
        ({"accept_rate": 0.5, "confidence": 2}, "catalog.models[0].cascade[classify].confidence"),
    ],
)  # fmt: skip
def test_bad_model_rates_are_named(rates: dict[str, Any], field: str) -> None:
    data = request_data()
    data["catalog"]["models"][0]["cascade"] = {"classify": rates}
    assert field in _violations(data)


@pytest.mark.parametrize(
    ("fact", "field"),
    [
        ({"max_stages": 5}, "graph.tasks[0].cascade.max_stages"),
        ({"max_stages": 1}, "graph.tasks[0].cascade.max_stages"),
        ({"max_stages": 2.5}, "graph.tasks[0].cascade.max_stages"),
        ({"rates": {"nano": {"accept_rate": 0.5}}}, "graph.tasks[0].cascade.rates[nano]"),
        ({"rates": {"big": {"accept_rate": 2}}}, "graph.tasks[0].cascade.rates[big].accept_rate"),
    ],
)
def test_bad_task_facts_are_named(fact: dict[str, Any], field: str) -> None:
    assert field in _violations(request_data(cascade=fact))


def test_a_one_stage_model_without_rates_only_ends_cascades() -> None:
    """A model without rates can be last; CASCADE needs the task fact to apply at all."""
    request = load_request(request_data())
    assert request.catalog.by_name["big"].cascade == {}
    data = request_data()
    del data["graph"]["tasks"][0]["cascade"]
    evaluator = PlanEvaluator(load_request(data))
    with pytest.raises(InvalidRequestError) as caught:
        evaluator.validate_plan(cascade_plan("cheap", "big"))
    assert "needs the cascade fact" in caught.value.violations[0].description


def test_stage_roles_take_the_stage_capability() -> None:
    """``role_capabilities.stage`` names what every stage needs (here no model has the
    task's own capability, so only the cascade's stages can be played)."""
    data = request_data(capability="triage", role_capabilities={"CASCADE.stage": "classify"})
    request = load_request(data)
    evaluator = PlanEvaluator(request)
    specs = evaluator.role_specs(request.graph.tasks[0], Operator.CASCADE)
    assert [(r.name, r.capability) for r in specs] == [
        ("stage1", "classify"),
        ("stage2", "classify"),
        ("stage3", "classify"),
    ]
    outcome = evaluator.outcome(cascade_plan("cheap", "big"))
    assert outcome.expected_cost == pytest.approx(9.0, rel=1e-12)
