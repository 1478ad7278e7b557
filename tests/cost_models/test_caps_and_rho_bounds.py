"""Θ bounds with an attempt cap and with correlated samples, checked along the scale ray.

Oracle: the numeric expected cost at growing scales divided by the bound's value there
settles to a constant (a Θ bound) — for a capped GLOBAL_RETRY that is k²·l², not 2^k·k²·l²;
for AHEAD_BY_K with ρ > 0 it is the S·log S of independent samples (ρ moves constants).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import sympy
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request


def _ratios(data: dict[str, Any], plan: Plan, theta: Any) -> list[float]:
    evaluator = PlanEvaluator(load_request(data))
    return [evaluator.at(s).outcome(plan).expected_cost / theta(s) for s in (10, 100, 1000)]


def test_capped_global_retry_is_one_attempt_asymptotically() -> None:
    data = {
        "graph": {
            "name": "evolution",
            "parameters": [{"name": "k", "value": 4}, {"name": "l", "value": 10}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "mutate",
                    "input_tokens": "k*l",
                    "output_tokens": "k*l",
                    "blocks": {"count": "k", "size": "l"},
                    "acceptance": {"success_probability": 0.5, "max_attempts": 3},
                }
            ],
        },
        "catalog": {"models": [{"name": "u", "size": 1, "capabilities": {"mutate": 1.0}}]},
    }
    plan = Plan((TaskPlan("t", Operator.GLOBAL_RETRY, (RoleAssignment("worker", "u"),)),))
    bound = PlanEvaluator(load_request(data)).evaluate(plan).bound
    k, blk, m = sympy.symbols("k l m_u", positive=True)
    assert sympy.simplify(bound.expr - k**2 * blk**2 * m) == 0
    ratios = _ratios(data, plan, lambda s: (4 * s) ** 2 * (10 * s) ** 2)
    # Attempts → 3 as the per-attempt acceptance 2^−k → 0: cost/(k²l²) → 3·(1 + 1/2) = 4.5.
    assert ratios[-1] == pytest.approx(4.5, rel=0.01)
    # Uncapped, the same plan is exponential: the ratio explodes.
    del data["graph"]["tasks"][0]["acceptance"]["max_attempts"]
    uncapped = _ratios(data, plan, lambda s: (4 * s) ** 2 * (10 * s) ** 2)
    assert uncapped[1] > 1e6 * uncapped[0]


@pytest.mark.parametrize("rho", [0.0, 0.3])
def test_ahead_by_k_bound_keeps_its_shape_with_rho(rho: float) -> None:
    data = {
        "graph": {
            "name": "chain",
            "parameters": [{"name": "s", "value": 100}],
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
                {"name": "w", "size": 1, "capabilities": {"step": 0.8}, "vote_correlation": rho}
            ]
        },
    }
    plan = Plan(
        (TaskPlan("c", Operator.AHEAD_BY_K, (RoleAssignment("worker", "w"),), (("ahead", 3),)),)
    )
    evaluation = PlanEvaluator(load_request(data)).evaluate(plan)
    s = sympy.Symbol("s", positive=True)
    assert sympy.simplify(evaluation.bound.expr / (s * sympy.log(s))).free_symbols <= {
        sympy.Symbol("m_w", positive=True)
    }
    # The symbolic cost at the scale point is the numeric one (ρ changes the constant).
    at_point = float(evaluation.cost.subs({s: 100, sympy.Symbol("m_w", positive=True): 1}))
    assert at_point == pytest.approx(evaluation.outcome.expected_cost, rel=1e-9)
    # Numeric cost / (S log S) settles (the lead grows by whole steps: within 25%).
    ratios = _ratios(data, plan, lambda x: 100 * x * math.log(100 * x))
    assert ratios[2] == pytest.approx(ratios[1], rel=0.25)
