"""Stability ranges checked numerically (issue 12, acceptance 3).

For random requests without coupling constraints (small enough for the brute force), every
range end is probed on a catalog rewritten by hand (the request data's figure multiplied,
then loaded afresh): just inside the end the plan's objective equals the brute-force
optimum, just outside the plan named at that end is better than the plan. Under the cost of
a correct result (the default objective) ranges are conditional: only the outside claim is
checked there.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from aalps.cost_models.domain import OptimizeRequest, Plan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import optimize
from aalps.optimizer.stability import (
    RELIABILITY,
    RESOLUTION,
    StabilityRange,
    scaled_evaluator,
)

from tests.optimizer.brute_force import all_choices, brute_force, objective
from tests.optimizer.random_requests import random_request_data

SEEDS = (0, 2, 4, 6, 8, 10, 12, 14)
#: Relative step inside and outside a linear range end.
STEP = 1e-3


def _scaled_data(data: dict[str, Any], item: StabilityRange, factor: float) -> dict[str, Any]:
    out = copy.deepcopy(data)
    (model,) = [m for m in out["catalog"]["models"] if m["name"] == item.model]
    if item.field == RELIABILITY:
        model["capabilities"][item.capability] = min(
            1.0, model["capabilities"][item.capability] * factor
        )
    else:
        model[item.field] = model[item.field] * factor
    return out


def _value(request: OptimizeRequest, plan: Plan) -> float:
    return objective(request, PlanEvaluator(request).outcome(plan))


def _swap(plan: Plan, tasks: tuple[Any, ...]) -> Plan:
    by_id = {tp.task_id: tp for tp in tasks}
    return Plan(tuple(by_id.get(tp.task_id, tp) for tp in plan.tasks))


def _probes(item: StabilityRange) -> list[tuple[float, float, tuple[Any, ...]]]:
    """(inside, outside, plans taking over) for each finite end with a named plan."""
    out = []
    linear = item.field != RELIABILITY
    if item.above and math.isfinite(item.high):
        inside = 1 + (item.high - 1) * (1 - STEP) if linear else item.high
        outside = (
            1 + (item.high - 1) * (1 + STEP) + STEP
            if linear
            else item.high * math.exp(2 * RESOLUTION)
        )
        out.append((inside, outside, item.above))
    if item.below and item.low > 0:
        inside = 1 - (1 - item.low) * (1 - STEP) if linear else item.low
        outside = (
            1 - (1 - item.low) * (1 + STEP) - STEP * item.low
            if linear
            else item.low * math.exp(-2 * RESOLUTION)
        )
        out.append((inside, outside, item.below))
    return out


def _unbounded(item: StabilityRange) -> list[float]:
    """Far factors inside an open end (no plan takes over there): the plan stays optimal."""
    if item.field == RELIABILITY:
        return [item.low] if not item.below else []
    return ([50.0] if math.isinf(item.high) else []) + ([0.02] if item.low == 0.0 else [])


def _brute_value(request: OptimizeRequest) -> float:
    best = brute_force(request)
    assert best is not None
    return objective(request, best[1])


@pytest.mark.parametrize("objective_name", ["EXPECTED_COST", "COST_OF_PASS"])
@pytest.mark.parametrize("seed", SEEDS)
def test_range_ends_hold_just_inside_and_break_just_outside(seed: int, objective_name: str) -> None:
    data = random_request_data(seed, max_joint=3_000)
    data["search"]["objective"] = objective_name
    request = load_request(data)
    result = optimize(request)
    plan = result.plan.plan
    assert result.stability, "a plan that uses models has ranges"
    used = {r.model for tp in plan.tasks for r in tp.roles}
    assert {s.model for s in result.stability} == used
    checked = 0
    for item in result.stability:
        assert item.low <= 1.0 <= item.high
        assert item.conditional is (objective_name == "COST_OF_PASS")
        for inside, outside, plans in _probes(item):
            near = load_request(_scaled_data(data, item, inside))
            if not item.conditional:
                # just inside: still optimal (the brute force finds nothing better)
                assert _value(near, plan) <= _brute_value(near) + 1e-9, (item, inside)
            far = load_request(_scaled_data(data, item, outside))
            # just outside: the plan named at that end is better
            assert _value(far, _swap(plan, plans)) < _value(far, plan), (item, outside)
            checked += 1
        if not item.conditional:
            for factor in _unbounded(item):
                near = load_request(_scaled_data(data, item, factor))
                assert _value(near, plan) <= _brute_value(near) + 1e-9, (item, factor)
                checked += 1
    assert checked >= 1 or objective_name == "COST_OF_PASS"


def test_scaled_evaluator_equals_a_fresh_one_on_the_scaled_catalog() -> None:
    data = random_request_data(4, max_joint=3_000)
    request = load_request(data)
    evaluator = PlanEvaluator(request)
    _, choices = all_choices(request)
    model = request.catalog.models[0]
    field = "price_per_output_token" if request.cost_model.value == "PRICED" else "size"
    items = [StabilityRange(model.name, field, 0.0, math.inf)]
    capability = next(iter(model.capabilities))
    items.append(StabilityRange(model.name, RELIABILITY, 0.0, math.inf, capability=capability))
    for item in items:
        for factor in (0.37, 1.9):
            fresh = PlanEvaluator(load_request(_scaled_data(data, item, factor)))
            scaled = scaled_evaluator(evaluator, item.model, item.field, factor, item.capability)
            for task in choices:
                for tp, _ in task:
                    a, b = fresh.task_outcome(tp), scaled.task_outcome(tp)
                    assert a.expected_cost == pytest.approx(b.expected_cost, rel=1e-12)
                    assert a.success_probability == pytest.approx(b.success_probability, rel=1e-12)


def test_a_hand_made_price_range() -> None:
    """One task, two models under PRICED, cost only: the crossing is where prices tie.

    ``a`` writes 10 output tokens at 3 per token and reads 100 at 1 (cost 130); ``b``
    costs 100·2 + 10·1 = 210. ``a``'s output price may grow until 100 + 10·3·f = 210,
    f = 11/3, where ``b`` takes over; it may fall to 0 with nothing cheaper.
    """
    data = {
        "graph": {
            "name": "one",
            "parameters": [{"name": "n", "value": 100}],
            "tasks": [
                {"id": "t", "capability": "solve", "input_tokens": "n", "output_tokens": "10"}
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "a",
                    "size": 1,
                    "price_per_input_token": 1,
                    "price_per_output_token": 3,
                    "capabilities": {"solve": 1.0},
                },
                {
                    "name": "b",
                    "size": 1,
                    "price_per_input_token": 2,
                    "price_per_output_token": 1,
                    "capabilities": {"solve": 1.0},
                },
            ]
        },
        "cost_model": "PRICED",
        "search": {"objective": "EXPECTED_COST"},
    }
    result = optimize(load_request(data))
    (task,) = result.plan.plan.tasks
    assert task.roles[0].model == "a"
    by_field = {s.field: s for s in result.stability if s.field != RELIABILITY}
    out = by_field["price_per_output_token"]
    assert out.high == pytest.approx(11 / 3, rel=1e-9)
    assert out.low == 0.0 and out.below == ()
    assert [r.model for r in out.above[0].roles] == ["b"]
    inp = by_field["price_per_input_token"]
    assert inp.high == pytest.approx(1.8, rel=1e-9)  # 100·f + 30 = 210


def test_a_reliability_without_upper_end_reads_as_a_floor() -> None:
    from aalps.client.render import stability_sentence
    from aalps.client.reports import StabilityReport

    def report(high: float) -> StabilityReport:
        return StabilityReport("dev", "reliability", "fix_bug", 0.6708, high, (), (), False)

    assert stability_sentence(report(math.inf)) == (
        "stays optimal while dev's fix_bug reliability is at least ×0.6708"
    )
    assert stability_sentence(report(1.25)) == (
        "stays optimal while dev's fix_bug reliability is within ×0.6708–×1.25"
    )
