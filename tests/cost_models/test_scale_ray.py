"""Numbers along the scale ray: ``PlanEvaluator(request, scale=s)`` and the symbolic figures.

Along the ray every growing free parameter is multiplied by ``s``, defined parameters and
model sizes such as ``k*m_s`` follow. For every operator variant × cost model the numeric
cost at ``s`` must equal the symbolic cost evaluated at the scaled point (the same formula),
and the numeric success the symbolic success. AHEAD_BY_K's lead grows as
``ahead + log(S/S0)/log(p/(1−p))`` (numerically rounded up): at ``s = 9`` with ``p = 0.9``
(``p/(1−p) = 9``) the growth is exactly one, so the two agree exactly there.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy
from aalps.cost_models.domain import CostModel, Operator, Plan
from aalps.cost_models.evaluation import PlanEvaluator, make_task_plan
from aalps.cost_models.loading import load_request
from aalps.cost_models.stochastic import (
    ahead_by_k_expected_samples,
    ahead_by_k_step_success,
    lead_choices,
    target_lead,
)

from tests.conftest import example_data
from tests.cost_models.conftest import (
    AGREEMENT,
    CASE_BY_NAME,
    CASES,
    COST_MODELS,
    build_plan,
    build_request,
    build_request_dict,
    scale_point,
)

SCALE = 9.0  # p = 0.9: log(9)/log(0.9/0.1) = 1, the lead grows by exactly one


def scaled_point(request, scale: float) -> dict:
    point = scale_point(request)
    for p in request.graph.parameters:
        if p.expr is None and p.grows:
            point[p.symbol] = point[p.symbol] * sympy.Rational(repr(scale))
    for p in request.graph.parameters:
        if p.expr is not None:
            point[p.symbol] = p.expr.xreplace(point)
    return point


@pytest.mark.parametrize("cost_model", COST_MODELS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_numeric_at_scale_agrees_with_symbolic_at_the_scaled_point(case, cost_model):
    request = build_request(case, cost_model)
    evaluator = PlanEvaluator(request, scale=SCALE)
    task_plan = build_plan(request, case)
    point = scaled_point(request, SCALE)
    exact_cost = sympy.N(evaluator.task_cost(task_plan).xreplace(point), 50)
    exact_success = sympy.N(evaluator.task_success(task_plan).xreplace(point), 50)
    outcome = evaluator.task_outcome(task_plan)
    assert outcome.expected_cost == pytest.approx(float(exact_cost), rel=1e-9)
    assert outcome.success_probability == pytest.approx(float(exact_success), rel=1e-9)
    # At the scale point the symbolic success is the numeric one as well.
    at_one = PlanEvaluator(request).task_outcome(task_plan).success_probability
    one = sympy.N(evaluator.task_success(task_plan).xreplace(scale_point(request)), 50)
    if case.operator is not Operator.ITERATE_WITH_HISTORY:  # symbolic: mean-length form
        assert at_one == pytest.approx(float(one), rel=1e-9)


def test_scale_multiplies_growing_parameters_only():
    """A request whose growing values are multiplied by 9 by hand scores the same at s = 1."""
    case = CASE_BY_NAME["SCAN_AND_FIX"]
    data = build_request_dict(case, CostModel.FORWARD_PASS)
    by_hand = build_request_dict(case, CostModel.FORWARD_PASS)
    for p in by_hand["graph"]["parameters"]:
        if "value" in p and p.get("grows", True):
            p["value"] = p["value"] * 9
    request, scaled = load_request(data), load_request(by_hand)
    tp = build_plan(request, case)
    far = PlanEvaluator(request, scale=9.0).task_outcome(tp)
    assert far == PlanEvaluator(scaled).task_outcome(tp)


def test_ahead_by_k_lead_grows_by_one_at_nine_times_the_steps():
    """q = 20 steps at the scale point, 180 at s = 9; p = 0.9, ahead 2 → lead 3 there.

    Cost (KV_CACHED, size 3, in 7 + 15 = 22, out 3): 180·E[samples(0.9, 3)]·3·25, success
    step_success(0.9, 3)^180 = (1/(1 + 9^−3))^180.
    """
    case = CASE_BY_NAME["AHEAD_BY_K-2"]
    request = build_request(case, CostModel.KV_CACHED)
    outcome = PlanEvaluator(request, scale=SCALE).task_outcome(build_plan(request, case))
    samples = ahead_by_k_expected_samples(0.9, 3)
    assert outcome.expected_cost == pytest.approx(180 * samples * 3 * 25, rel=1e-12)
    assert outcome.success_probability == pytest.approx((1 / (1 + 9.0**-3)) ** 180, rel=1e-12)
    # The chain's success stays about what it was: 180·ln(1 + 1/729) = 0.24675 against
    # 20·ln(1 + 1/81) = 0.24540 at the scale point.
    assert ahead_by_k_step_success(0.9, 3) ** 180 == pytest.approx(
        ahead_by_k_step_success(0.9, 2) ** 20, rel=0.002
    )


def test_ahead_by_k_symbolic_cost_carries_the_log_factor():
    """Cost = S·E[samples(k(S))]·c with k(S) = ahead + log(S/S0)/log 9: Θ(S·log S).

    By hand (KV_CACHED, c = 3·(22 + 3) = 75 per sample, p = 0.9, ahead 2, S0 = 20): the odds
    against a step are r^k = 9^−2·20/S, and E[samples] = k/(p − q)·(1 − r^k)/(1 + r^k), so
    cost(S) = 75·S·(2 + ln(S/20)/ln 9)/0.8·(1 − 20/(81·S))/(1 + 20/(81·S)).
    """
    case = CASE_BY_NAME["AHEAD_BY_K-2"]
    request = build_request(case, CostModel.KV_CACHED)
    evaluator = PlanEvaluator(request)
    tp = build_plan(request, case)
    cost = evaluator.task_cost(tp)
    q = next(p.symbol for p in request.graph.parameters if p.name == "q")
    point = scale_point(request)
    for steps in (20, 10**4, 10**8, 10**12):
        odds = 20 / (81 * steps)
        lead = 2 + math.log(steps / 20) / math.log(9)
        by_hand = 75 * steps * lead / 0.8 * (1 - odds) / (1 + odds)
        value = float(sympy.N(cost.xreplace({**point, q: steps}), 30))
        assert value == pytest.approx(by_hand, rel=1e-12)
    # The log factor: cost/S grows by 75/0.8·ln(10^4)/ln 9 per factor 10^4 of steps.
    per_step = [float(sympy.N(cost.xreplace({**point, q: s}), 30)) / s for s in (10**8, 10**12)]
    assert per_step[1] - per_step[0] == pytest.approx(75 / 0.8 * math.log(1e4) / math.log(9))
    # The chain's success stays exp(−r^ahead·S0) = exp(−20/81) as S grows.
    success = evaluator.task_success(tp)
    # Floats, not integers: sympy would expand an exact rational to the 10^12th power.
    far = float(sympy.N(success.xreplace({**point, q: sympy.Float(1e12, 30)}), 30))
    assert far == pytest.approx(math.exp(-20 / 81), rel=1e-6)


def test_lead_choices_example():
    """S = 10^6, p = 0.7, target 0.99 (issue 7 item 4).

    (1/(1+r^k))^S ≥ 0.99 with r = 3/7 ⇔ r^k ≤ 0.99^(−1/S) − 1 = 1.00503e−8:
    ln(1.00503e−8) = −18.4156, ln(3/7) = −0.847298, so k ≥ 21.73: k = 22.
    Check: (3/7)^21 = 1.87e−8 > 1.005e−8 (fails), (3/7)^22 = 8.0e−9 (meets).
    The cheapest correct result: minimize E[samples(k)]·(1 + r^k)^S; at k = 20 the penalty
    (1 + (3/7)^20)^(10^6) = e^0.0437 and samples 20/0.4·(1−r^20)/(1+r^20) ≈ 50.0;
    k = 19 costs e^0.102·47.5/… more, k = 21 adds 2.5 samples for e^0.019 less: 20.
    """
    assert (3 / 7) ** 21 > math.expm1(-math.log(0.99) / 1e6) >= (3 / 7) ** 22
    assert target_lead(0.7, 1e6, 0.99) == 22
    assert lead_choices(0.7, 1e6, 0.99) == (18, 19, 20, 21, 22, 23, 24)
    assert lead_choices(0.7, 1e6, None) == (18, 19, 20, 21, 22)


def _lead_cost(p: float, k: int, steps: float) -> float:
    samples = ahead_by_k_expected_samples(p, k)
    return math.log(samples) - steps * math.log(ahead_by_k_step_success(p, k))


@pytest.mark.parametrize(("p", "steps"), [(0.7, 1e6), (0.9, 1e4), (0.55, 1e5), (0.99, 1e9)])
def test_cheapest_lead_is_the_argmin(p, steps):
    """Brute force over every lead up to 400: the cheapest is among the choices."""
    best = min(range(1, 400), key=lambda k: _lead_cost(p, k, steps))
    assert best in lead_choices(p, steps, None)


def test_lead_choices_when_a_lead_cannot_help():
    assert lead_choices(0.5, 100, 0.99) == (1, 2, 3)
    assert lead_choices(1.0, 100, 0.99) == (1, 2, 3)


def test_the_lead_is_not_capped_at_twelve():
    """A plan with lead 22 is valid (the cap was 12)."""
    data = build_request_dict(CASE_BY_NAME["AHEAD_BY_K-2"], CostModel.FORWARD_PASS)
    request = load_request(data)
    tp = make_task_plan("t", Operator.AHEAD_BY_K, worker="solver")
    tp = type(tp)(tp.task_id, tp.operator, tp.roles, (("ahead", 22),))
    assert not PlanEvaluator(request).task_plan_problems(tp)


# ------------------------------------------------------------------ far along the ray


def test_far_along_the_ray_costs_overflow_and_success_underflows():
    """Evolution (p = 1/2 per block) at s = 10^12: k = 1.6e13 blocks, 2^k attempts.

    log cost = k·ln 2 + log(one attempt) (mpmath), finite; success is 1 (code verifier).
    """
    request = load_request(example_data("evolutionary_optimization"))
    evaluator = PlanEvaluator(request, scale=1e12)
    tp = make_task_plan(request.graph.tasks[0].id, Operator.GLOBAL_RETRY, worker="u")
    outcome = evaluator.task_outcome(tp)
    point = scaled_point(request, 1e12)
    cost = evaluator.task_cost(tp)
    symbols = sorted(cost.free_symbols, key=str)
    # mpmath, not sympy: sympy would expand 2^(1.6e13) into an exact integer.
    at = sympy.lambdify(symbols, cost, modules="mpmath")
    with mpmath.workdps(30):
        log_exact = float(mpmath.log(at(*(mpmath.mpf(str(point[x])) for x in symbols))))
    assert outcome.expected_cost == math.inf
    assert outcome.log_cost == pytest.approx(log_exact, rel=1e-9)
    assert outcome.log_success == 0.0
    plan = evaluator.outcome(Plan((tp,)))
    assert plan.log_cost_of_pass == pytest.approx(log_exact, rel=1e-9)
    assert plan.cost_of_pass == math.inf


def test_log_success_of_a_long_chain_at_scale():
    """DIRECT on a chain of q steps, p = 0.9: log success = 20·s·ln 0.9 at scale s."""
    case = CASE_BY_NAME["DIRECT-steps"]
    request = build_request(case, CostModel.KV_CACHED)
    tp = build_plan(request, case)
    for scale in (1.0, 1e3, 1e9, 1e12):
        outcome = PlanEvaluator(request, scale=scale).outcome(Plan((tp,)))
        steps = AGREEMENT.steps * scale
        assert outcome.log_success == pytest.approx(steps * math.log(0.9), rel=1e-9)
        assert outcome.log_cost_of_pass == pytest.approx(
            outcome.log_cost - steps * math.log(0.9), rel=1e-9
        )
        assert math.isfinite(outcome.log_cost_of_pass)
