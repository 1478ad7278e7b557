"""Correlated votes (beta-binomial) and AHEAD_BY_K over a Beta, against hand sums and the simulator.

Oracles: the beta-binomial sums written out by hand for p = 0.7 (n = 3, 5; ρ = 0, 0.3, 1), the
Beta moments of the quadrature, and the call-by-call simulator that draws each input's
probability from the Beta (within 3 standard errors).
"""

from __future__ import annotations

import math
import random

import pytest
from aalps.cost_models.correlated_votes import (
    ahead_by_k_correlated,
    ahead_by_k_correlated_variance,
    correlated_majority_success,
    ensemble_majority_success,
)
from aalps.cost_models.domain import Operator, Plan, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate
from aalps.cost_models.stochastic import ahead_by_k_expected_samples, ahead_by_k_step_success


def test_majority_of_three_and_five_by_hand() -> None:
    p, q = 0.7, 0.3
    # ρ = 0: the binomial.
    assert correlated_majority_success(p, 3, 0.0) == pytest.approx(p**3 + 3 * p**2 * q)
    five = p**5 + 5 * p**4 * q + 10 * p**3 * q**2
    assert correlated_majority_success(p, 5, 0.0) == pytest.approx(five)
    # ρ = 0.3: θ = (1−ρ)/ρ = 7/3, α = 0.7θ = 49/30, β = 0.3θ = 0.7. Beta-binomial:
    # P(i) = C(n,i)·B(i+α, n−i+β)/B(α,β) = C(n,i)·α^(i)·β^(n−i)/(α+β)^(n), rising factorials.
    a, b = 0.7 * 7 / 3, 0.3 * 7 / 3
    s = a + b  # 7/3
    den3 = s * (s + 1) * (s + 2)
    three = (a * (a + 1) * (a + 2) + 3 * a * (a + 1) * b) / den3
    assert three == pytest.approx(0.7316615384615385, abs=1e-15)  # the same sum, done once by hand
    assert correlated_majority_success(p, 3, 0.3) == pytest.approx(three, rel=1e-12)
    den5 = den3 * (s + 3) * (s + 4)
    r = [a * (a + 1) * (a + 2) * (a + 3) * (a + 4), a * (a + 1) * (a + 2) * (a + 3) * b]
    r.append(a * (a + 1) * (a + 2) * b * (b + 1))
    five_rho = (r[0] + 5 * r[1] + 10 * r[2]) / den5
    assert correlated_majority_success(p, 5, 0.3) == pytest.approx(five_rho, rel=1e-12)
    # Correlation lowers the majority's gain: ρ = 0 > ρ = 0.3 > p.
    assert five > five_rho > p
    # ρ = 1: every sample the same, the majority is right with p.
    assert correlated_majority_success(p, 3, 1.0) == p
    assert correlated_majority_success(p, 5, 1.0) == p
    # Near 1 the formula tends to p continuously.
    assert correlated_majority_success(p, 5, 0.999999) == pytest.approx(p, abs=1e-5)


def test_majority_formula_is_the_beta_integral() -> None:
    """Independently: ∫ P(binomial majority | x) Beta(x; α, β) dx by a fine midpoint rule."""
    p, rho, n = 0.7, 0.3, 5
    theta = (1 - rho) / rho
    a, b = p * theta, (1 - p) * theta
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    steps = 200_000
    total = 0.0
    for i in range(steps):
        x = (i + 0.5) / steps
        majority = sum(
            math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(n // 2 + 1, n + 1)
        )
        total += majority * math.exp((a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - log_beta)
    assert correlated_majority_success(p, n, rho) == pytest.approx(total / steps, abs=2e-4)


@pytest.mark.parametrize("rho", [0.05, 0.3, 0.8])
def test_ahead_by_k_over_the_beta_against_monte_carlo(rho: float) -> None:
    p, k, runs = 0.7, 3, 20_000
    theta = (1 - rho) / rho
    rng = random.Random(7)
    wins, samples = 0, []
    for _ in range(runs):
        x = rng.betavariate(p * theta, (1 - p) * theta)
        lead = t = 0
        while abs(lead) < k:
            lead += 1 if rng.random() < x else -1
            t += 1
        wins += lead > 0
        samples.append(t)
    mean = sum(samples) / runs
    var = sum((t - mean) ** 2 for t in samples) / (runs - 1)
    fig = ahead_by_k_correlated(p, rho, k)
    rate = wins / runs
    assert abs(fig.success - rate) < 3 * math.sqrt(rate * (1 - rate) / runs)
    assert abs(fig.samples - mean) < 3 * math.sqrt(var / runs)
    assert ahead_by_k_correlated_variance(p, rho, k) == pytest.approx(var, rel=0.15)


def test_ahead_by_k_limits() -> None:
    # k = 1: one sample per step, the mean reliability; ρ = 1: k equal samples, success p.
    assert ahead_by_k_correlated(0.7, 0.4, 1).success == 0.7
    one = ahead_by_k_correlated(0.7, 1.0, 5)
    assert (one.success, one.samples) == (0.7, 5.0)
    # ρ → 0: the independent gambler's ruin.
    tiny = ahead_by_k_correlated(0.7, 1e-7, 4)
    assert tiny.success == pytest.approx(ahead_by_k_step_success(0.7, 4), rel=1e-6)
    assert tiny.samples == pytest.approx(ahead_by_k_expected_samples(0.7, 4), rel=1e-5)
    # With ρ > 0 a long lead cannot lift a step above about P(x > 1/2) (≈ 0.773 at ρ = 0.3).
    assert ahead_by_k_correlated(0.7, 0.3, 60).success < 0.78


def _vote_request(rho: float, votes_model: str = "cheap") -> dict[str, object]:
    return {
        "graph": {
            "name": "label",
            "parameters": [{"name": "n", "value": 50}],
            "tasks": [{"id": "label", "capability": "classify", "input_tokens": "n"}],
        },
        "catalog": {
            "models": [
                {
                    "name": "cheap",
                    "size": 1,
                    "capabilities": {"classify": 0.7},
                    "vote_correlation": rho,
                },
                {"name": "big", "size": 7, "capabilities": {"classify": 0.85}},
            ]
        },
        "constraints": {"min_success_probability": 0.8},
    }


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
def test_evaluator_and_simulator_agree_on_correlated_votes(rho: float) -> None:
    request = load_request(_vote_request(rho))
    plan = Plan((TaskPlan("label", Operator.DIRECT, (RoleAssignment("worker", "cheap", 5),)),))
    outcome = PlanEvaluator(request).outcome(plan)
    assert outcome.success_probability == pytest.approx(
        correlated_majority_success(0.7, 5, rho), rel=1e-12
    )
    runs = 20_000
    sim = simulate(request, plan, runs=runs, seed=3)
    se = math.sqrt(outcome.success_probability * (1 - outcome.success_probability) / runs)
    assert abs(sim.success_rate - outcome.success_probability) < 3 * se
    assert sim.mean_cost == pytest.approx(outcome.expected_cost, rel=1e-12)  # 5 calls, fixed


def test_ahead_by_k_plan_against_the_simulator() -> None:
    data = {
        "graph": {
            "name": "chain",
            "parameters": [{"name": "s", "value": 20}],
            "tasks": [
                {
                    "id": "chain",
                    "capability": "step",
                    "input_tokens": "s",
                    "steps": {"count": "s", "tokens": 4},
                }
            ],
        },
        "catalog": {
            "models": [
                {"name": "w", "size": 1, "capabilities": {"step": 0.8}, "vote_correlation": 0.2}
            ]
        },
    }
    request = load_request(data)
    plan = Plan(
        (TaskPlan("chain", Operator.AHEAD_BY_K, (RoleAssignment("worker", "w"),), (("ahead", 3),)),)
    )
    outcome = PlanEvaluator(request).outcome(plan)
    fig = ahead_by_k_correlated(0.8, 0.2, 3)
    assert outcome.success_probability == pytest.approx(fig.success**20, rel=1e-9)
    runs = 6000
    sim = simulate(request, plan, runs=runs, seed=11)
    se = math.sqrt(outcome.success_probability * (1 - outcome.success_probability) / runs)
    assert abs(sim.success_rate - outcome.success_probability) < 3 * se
    assert abs(sim.mean_cost - outcome.expected_cost) < 3 * sim.standard_error
    # The variance the evaluator predicts matches the simulated one (law of total variance).
    sim_sd = sim.standard_error * math.sqrt(runs)
    assert math.sqrt(outcome.cost_variance) == pytest.approx(sim_sd, rel=0.1)


def test_ensemble_of_different_models_by_hand() -> None:
    # Three models, one vote each (independent across models): the Poisson-binomial majority
    # P(at least two right) = p1p2 + p1p3 + p2p3 − 2·p1p2p3.
    p1, p2, p3 = 0.9, 0.8, 0.7
    hand = p1 * p2 + p1 * p3 + p2 * p3 - 2 * p1 * p2 * p3
    members = [(p1, 1, 0.0), (p2, 1, 0.5), (p3, 1, 1.0)]  # ρ is moot for a single vote
    assert ensemble_majority_success(members) == pytest.approx(hand, rel=1e-12)
    # One model's 5 votes as an ensemble of itself: the beta-binomial majority.
    assert ensemble_majority_success([(0.7, 5, 0.3)]) == pytest.approx(
        correlated_majority_success(0.7, 5, 0.3), rel=1e-12
    )
    # Two correlated votes of one model (ρ = 1: both equal) and one of another: right when
    # the pair is right (p1) — a 2-of-3 majority the pair decides alone.
    assert ensemble_majority_success([(p1, 2, 1.0), (p2, 1, 0.0)]) == pytest.approx(p1)
    # Monte-Carlo: 2 votes of a ρ = 0.4 model and 1 of an independent one.
    rng = random.Random(2)
    runs, wins = 40_000, 0
    theta = 0.6 / 0.4
    for _ in range(runs):
        x = rng.betavariate(0.7 * theta, 0.3 * theta)
        right = (rng.random() < x) + (rng.random() < x) + (rng.random() < 0.8)
        wins += right >= 2
    expected = ensemble_majority_success([(0.7, 2, 0.4), (0.8, 1, 0.0)])
    assert abs(wins / runs - expected) < 3 * math.sqrt(expected * (1 - expected) / runs)
    with pytest.raises(ValueError, match="odd"):
        ensemble_majority_success([(0.7, 2, 0.0)])


def test_symbolic_success_with_rho_is_the_numeric_one() -> None:
    """The beta-binomial is a polynomial ratio in p: with a per-token error (p symbolic in n)
    the symbolic success at the scale point is the numeric one."""
    data = _vote_request(0.3)
    data["catalog"]["models"][0]["per_token_error"] = 0.001  # type: ignore[index]
    request = load_request(data)
    plan = Plan((TaskPlan("label", Operator.DIRECT, (RoleAssignment("worker", "cheap", 5),)),))
    evaluator = PlanEvaluator(request)
    symbolic = evaluator.plan_success(plan)
    assert symbolic.free_symbols  # depends on n through the decay
    at_point = float(symbolic.subs(dict(request.graph.values)))
    p = 0.7 * 0.999**50
    assert at_point == pytest.approx(correlated_majority_success(p, 5, 0.3), rel=1e-12)
    assert evaluator.outcome(plan).success_probability == pytest.approx(at_point, rel=1e-12)


def test_correlated_lead_choices_hold_the_brute_force_optimum() -> None:
    from aalps.cost_models.correlated_votes import correlated_lead_choices

    p, rho, steps = 0.8, 0.3, 30.0

    def log_ratio(k: int) -> float:
        fig = ahead_by_k_correlated(p, rho, k)
        return math.log(fig.samples) - steps * math.log(fig.success)

    best = min(range(1, 121), key=log_ratio)
    # A target some lead reaches (a step's success stays below about P(x > 1/2)).
    target = 0.999 * ahead_by_k_correlated(p, rho, 6).success ** steps
    first = next(
        k
        for k in range(1, 121)
        if steps * math.log(ahead_by_k_correlated(p, rho, k).success) >= math.log(target)
    )
    choices = correlated_lead_choices(p, rho, steps, target)
    assert best in choices and first in choices
