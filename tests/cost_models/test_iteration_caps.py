"""Iteration and attempt caps: the truncated attempt distribution by hand and by simulation."""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate


def _request(cap: int | None, *, iterations: int | None = None) -> dict[str, Any]:
    acceptance: dict[str, Any] = {"success_probability": 0.5}
    if cap is not None:
        acceptance["max_attempts"] = cap
    defects: dict[str, Any] = {"count": 3}
    if iterations is not None:
        defects["max_iterations"] = iterations
    return {
        "graph": {
            "name": "caps",
            "parameters": [{"name": "k", "value": 3}, {"name": "l", "value": 2}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "do",
                    "input_tokens": "k*l",
                    "output_tokens": "k*l",
                    "blocks": {"count": "k", "size": "l"},
                    "acceptance": acceptance,
                    "defects": defects,
                }
            ],
        },
        "catalog": {"models": [{"name": "w", "size": 1, "capabilities": {"do": 1.0}}]},
    }


def _plan(operator: Operator) -> Plan:
    roles = (
        (RoleAssignment("detector", "w"), RoleAssignment("fixer", "w"))
        if operator.name.startswith("ITERATE")
        else (RoleAssignment("worker", "w"),)
    )
    return Plan((TaskPlan("t", operator, roles),))


def _call(i: float, t: float) -> float:
    """FORWARD_PASS, size 1: t·i + t(t−1)/2."""
    return t * i + t * (t - 1) / 2


def test_global_retry_cap_by_hand_and_by_simulation() -> None:
    request = load_request(_request(4))
    plan = _plan(Operator.GLOBAL_RETRY)
    outcome = PlanEvaluator(request).outcome(plan)
    a = 0.5**3  # all three blocks right at once
    reached = 1 - (1 - a) ** 4
    assert outcome.success_probability == pytest.approx(reached, rel=1e-12)
    assert outcome.expected_cost == pytest.approx(_call(6, 6) * reached / a, rel=1e-12)
    # Var min(G, 4) by the definition: Σ t²·P(T = t) − E[T]².
    pmf = [a * (1 - a) ** (t - 1) for t in range(1, 4)] + [(1 - a) ** 3]
    mean = sum(t * q for t, q in enumerate(pmf, 1))
    var = sum(t * t * q for t, q in enumerate(pmf, 1)) - mean**2
    assert outcome.cost_variance == pytest.approx(var * _call(6, 6) ** 2, rel=1e-9)
    runs = 8000
    sim = simulate(request, plan, runs=runs, seed=5)
    assert abs(sim.mean_cost - outcome.expected_cost) < 3 * sim.standard_error
    se = math.sqrt(reached * (1 - reached) / runs)
    assert abs(sim.success_rate - reached) < 3 * se


def test_local_retry_cap_per_block() -> None:
    request = load_request(_request(2))
    plan = _plan(Operator.LOCAL_RETRY)
    outcome = PlanEvaluator(request).outcome(plan)
    # Per block: a = 1/2, at most 2 attempts: E[T] = 1 + 1/2 = 1.5, accepted with 3/4.
    assert outcome.expected_cost == pytest.approx(3 * 1.5 * _call(2, 2), rel=1e-12)
    assert outcome.success_probability == pytest.approx(0.75**3, rel=1e-12)
    runs = 8000
    sim = simulate(request, plan, runs=runs, seed=6)
    assert abs(sim.mean_cost - outcome.expected_cost) < 3 * sim.standard_error
    se = math.sqrt(0.75**3 * (1 - 0.75**3) / runs)
    assert abs(sim.success_rate - 0.75**3) < 3 * se


def test_no_cap_is_the_uncapped_figure() -> None:
    capped = PlanEvaluator(load_request(_request(10**6))).outcome(_plan(Operator.LOCAL_RETRY))
    free = PlanEvaluator(load_request(_request(None))).outcome(_plan(Operator.LOCAL_RETRY))
    assert free.expected_cost == pytest.approx(3 * 2 * _call(2, 2), rel=1e-12)
    assert capped.expected_cost == pytest.approx(free.expected_cost, rel=1e-12)
    assert free.success_probability == 1.0


@pytest.mark.parametrize("operator", [Operator.ITERATE_STATELESS, Operator.ITERATE_WITH_HISTORY])
def test_iteration_cap(operator: Operator) -> None:
    # The stateless loop's 3 iterations: detector reads 6 writes 1, fixer reads 6 writes 6.
    enough = PlanEvaluator(load_request(_request(None, iterations=3))).outcome(_plan(operator))
    free = PlanEvaluator(load_request(_request(None))).outcome(_plan(operator))
    assert enough.expected_cost == free.expected_cost
    request = load_request(_request(None, iterations=2))
    short = PlanEvaluator(request).outcome(_plan(operator))
    # Two of three defects fixed: the task fails, two iterations paid.
    assert short.success_probability == 0.0
    if operator is Operator.ITERATE_STATELESS:
        assert short.expected_cost == pytest.approx(2 * (_call(6, 1) + _call(6, 6)))
    sim = simulate(request, _plan(operator), runs=50, seed=1)
    assert sim.success_rate == 0.0
    assert sim.mean_cost == pytest.approx(short.expected_cost, rel=1e-12)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "x", True])
def test_caps_are_whole_numbers_at_least_one(bad: Any) -> None:
    data = _request(None)
    data["graph"]["tasks"][0]["acceptance"]["max_attempts"] = bad
    data["graph"]["tasks"][0]["defects"]["max_iterations"] = bad
    with pytest.raises(InvalidRequestError) as err:
        load_request(data)
    fields = {v.field for v in err.value.violations}
    assert "graph.tasks[0].acceptance.max_attempts" in fields
    assert "graph.tasks[0].defects.max_iterations" in fields


@pytest.mark.parametrize("bad", [-0.1, 1.5, "x"])
def test_correlation_is_in_zero_one(bad: Any) -> None:
    data = _request(None)
    model = data["catalog"]["models"][0]
    model["vote_correlation"] = bad
    model["vote_correlations"] = {"do": bad, "other": 0.1}
    with pytest.raises(InvalidRequestError) as err:
        load_request(data)
    fields = {v.field for v in err.value.violations}
    assert "catalog.models[0].vote_correlation" in fields
    assert "catalog.models[0].vote_correlations[do]" in fields
    assert "catalog.models[0].vote_correlations[other]" in fields  # not a listed capability


def test_symbolic_cost_follows_a_cap_on_a_constant_defect_count() -> None:
    """With ``defects.count: 3`` (a number) and a cap of 2, the symbolic cost is that of the
    two iterations run, equal to the numeric figure at the scale point."""
    request = load_request(_request(None, iterations=2))
    evaluation = PlanEvaluator(request).evaluate(_plan(Operator.ITERATE_STATELESS))
    values = {s: v for s, v in request.graph.values.items()}
    values.update({m: 1 for m in request.model_symbols})
    assert float(evaluation.cost.subs(values)) == pytest.approx(
        2 * (_call(6, 1) + _call(6, 6)), rel=1e-12
    )
    assert evaluation.outcome.success_probability == 0.0
