"""The paper's three worked examples (§3.1–3.3), symbol for symbol."""

from __future__ import annotations

import sympy
from aalps.cost_models.domain import Operator, Plan
from aalps.cost_models.evaluation import PlanEvaluation, PlanEvaluator, make_task_plan
from aalps.cost_models.loading import load_request

from tests.conftest import example_data

S = {name: sympy.Symbol(name, positive=True) for name in "n k l b c m_s m_d m_qa m_dev m_u".split()}
n, k, l, b, c = S["n"], S["k"], S["l"], S["b"], S["c"]  # noqa: E741
m_s, m_d, m_qa, m_dev, m_u = S["m_s"], S["m_d"], S["m_qa"], S["m_dev"], S["m_u"]


def _evaluate(name: str, operator: Operator, **roles: str) -> tuple[PlanEvaluator, PlanEvaluation]:
    request = load_request(example_data(name))
    evaluator = PlanEvaluator(request)
    task_id = request.graph.tasks[0].id
    plan = Plan((make_task_plan(task_id, operator, **roles),))
    return evaluator, evaluator.evaluate(plan)


def _separations(evaluator: PlanEvaluator, base: PlanEvaluation, plan: PlanEvaluation) -> dict:
    return {s.role: s.expr for s in evaluator.separation(base, plan)}


def test_k_task_routing_bounds_and_separation() -> None:
    evaluator, direct = _evaluate("k_task_routing", Operator.DIRECT, worker="generalist")
    _, route = _evaluate("k_task_routing", Operator.ROUTE, delegator="d", specialist="specialist")
    assert sympy.expand(direct.cost - k * m_s * n) == 0  # one output token: m_g·n exactly
    assert sympy.expand(route.cost - (m_d * c + m_s * n)) == 0
    assert direct.bound.expr == k * m_s * n
    assert route.bound.expr == m_s * n  # the delegator's m_d·c is dominated
    assert _separations(evaluator, direct, route) == {"": k}


def test_debugging_bounds_and_per_role_separation() -> None:
    evaluator, chat = _evaluate(
        "code_debugging", Operator.ITERATE_WITH_HISTORY, detector="qa", fixer="dev"
    )
    _, scan = _evaluate("code_debugging", Operator.SCAN_AND_FIX, detector="qa", fixer="dev")
    assert chat.bound.expr == m_qa * b**2 * k * l + m_dev * b**2 * k**2 * l**2
    assert scan.bound.expr == m_qa * k * l + m_dev * b * l**2
    assert _separations(evaluator, chat, scan) == {"m_qa": b**2, "m_dev": b * k**2}


def test_debugging_exact_developer_costs() -> None:
    _, chat = _evaluate("code_debugging", Operator.ITERATE_WITH_HISTORY, detector="qa", fixer="dev")
    _, scan = _evaluate("code_debugging", Operator.SCAN_AND_FIX, detector="qa", fixer="dev")
    developer_chat = sympy.expand(chat.cost).coeff(m_dev)
    developer_scan = sympy.expand(scan.cost).coeff(m_dev)
    half = sympy.Rational(1, 2)
    expected_chat = n**2 * (b * (b + 1) / 2 + b / 2) - b * n / 2
    expected_scan = 3 * half * b * l**2 - half * b * l
    assert sympy.expand(developer_chat - expected_chat) == 0
    assert sympy.expand(developer_scan - expected_scan) == 0
    # QA reads i versions at iteration i and writes one token: m_qa·n·b(b+1)/2.
    assert sympy.expand(sympy.expand(chat.cost).coeff(m_qa) - n * b * (b + 1) / 2) == 0


def test_evolution_bounds_and_separation() -> None:
    evaluator, global_retry = _evaluate(
        "evolutionary_optimization", Operator.GLOBAL_RETRY, worker="u"
    )
    _, local_retry = _evaluate("evolutionary_optimization", Operator.LOCAL_RETRY, worker="u")
    assert global_retry.bound.expr == m_u * 2**k * k**2 * l**2
    assert local_retry.bound.expr == m_u * k * l**2
    assert _separations(evaluator, global_retry, local_retry) == {"": 2**k * k}
    # Expected attempts are exactly 2^k (p = 1/2 per block, reliability 1): cost/p.
    one_attempt = m_u * (n * n + n * (n - 1) / 2)
    assert sympy.expand(global_retry.cost - 2**k * one_attempt.subs(n, k * l)) == 0
    assert global_retry.outcome.success_probability == 1.0
