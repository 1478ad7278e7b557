"""A task plan's built symbolic cost (:func:`~aalps.cost_models.symbolic_costs._built_cost`,
which leaves zero tools' and setup costs out of its sum and returns a lone group's cost as
it is) is exactly the full ``sympy.Add`` of every group, the tools and the setup
(:func:`~tests.cost_models.full_run_costs.full_run_cost`): compared with ``sympy.srepr`` on
every task plan, every operator, of random requests."""

from __future__ import annotations

from collections import Counter

import sympy
from aalps.cost_models.arithmetic import SYMBOLIC
from aalps.cost_models.domain import Operator
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.role_calls import member_models
from aalps.cost_models.setup_costs import amortized, setup_of
from aalps.cost_models.symbolic_costs import _built_cost
from aalps.cost_models.tools import tool_figures

from tests.cost_models.full_run_costs import full_run_cost
from tests.cost_models.test_success_only_costs import _requests, _task_plans
from tests.cost_models.test_tool_nodes import routing_request
from tests.optimizer.random_requests import wide_request_data


def _with_setup(seed: int, cost_model: str) -> object:
    """A wide request whose first model has a one-time setup cost (a non-zero term)."""
    data = wide_request_data(seed, 8, 5)
    data["cost_model"] = cost_model
    data["catalog"]["models"][0]["setup_cost"] = 20.0
    return load_request(data)


def test_built_cost_is_the_full_sum():
    kinds: Counter[str] = Counter()
    requests = _requests()[:25]
    requests += [_with_setup(seed, m) for seed in range(2) for m in ("FORWARD_PASS", "PRICED")]
    requests += [
        routing_request({"price_per_call": 0.001, "failure_rate": 0.02, "latency": 3}),
        routing_request({"price_per_call": 0.0001}, "PRICED"),
    ]
    for request in requests:
        reference = PlanEvaluator(request)
        built = PlanEvaluator(request)  # its own caches
        for task_plan in _task_plans(reference, frozenset(Operator)):
            expected = full_run_cost(reference, task_plan)
            got = _built_cost(built, task_plan)
            assert sympy.srepr(got) == sympy.srepr(expected), task_plan
            kinds[type(expected).__name__] += 1
            shape = reference._compiled[task_plan.task_id].symbolic
            schedule, calls, _ = reference._run(task_plan, SYMBOLIC, shape)
            kinds["tools"] += tool_figures(schedule.tools, request.cost_model)[0] != 0
            kinds["setup"] += (
                amortized(setup_of(member_models(calls)), request.volume, SYMBOLIC) != 0
            )
    # Lone terms (a Mul: one group, nothing else), sums, and plans with a tools' or a setup
    # cost term were all compared, many times.
    assert kinds["Mul"] >= 100 and kinds["Add"] >= 100, kinds
    assert kinds["tools"] >= 5 and kinds["setup"] >= 100, kinds
