"""The evaluator's predictions against the call-by-call simulator (the independent check).

For every operator variant × cost model × votes (1, and 3 where a role may vote) the plan is
executed at least 1,000 times with a seeded stand-in LLM; the simulated mean cost must lie
within 3 standard errors *and* 2% of ``task_outcome(...).expected_cost`` (exactly, when no
retry makes the cost random), the success rate within 3 binomial standard errors of the
predicted ``success_probability``, and, for random costs, the simulated 95th percentile
within 10% of the predicted ``cost_p95``. Sizes are small (SIMULATION in conftest) so the
whole file runs in about a minute.
"""

from __future__ import annotations

import math
import zlib

import pytest
from aalps.cost_models.domain import CostModel, Operator, Plan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import SimulationSummary, simulate
from aalps.cost_models.stochastic import geometric_variance

from tests.cost_models.conftest import (
    CASE_BY_NAME,
    CASES,
    COST_MODELS,
    MODELS,
    SIMULATION,
    Case,
    build_plan,
    build_request,
    build_request_dict,
    votable_roles,
)

MIN_RUNS = 1000
MAX_RUNS = 20_000
MEAN_TOLERANCE = 0.02  # the simulated mean within 2% of the prediction
P95_TOLERANCE = 0.10


#: Every test draws its own stream: SEED_BASE + a hash of its id. The 3-SE checks (about 200
#: of them) are each allowed a 0.27% false alarm; the base is fixed once for the whole file.
SEED_BASE = 0


def _seed(label: str) -> int:
    return SEED_BASE + zlib.crc32(label.encode())


def _runs_for(expected_cost: float, cost_variance: float) -> int:
    """Enough runs that 3 predicted standard errors fit inside the 2% tolerance."""
    if cost_variance <= 0:
        return MIN_RUNS
    cv = math.sqrt(cost_variance) / expected_cost
    return max(MIN_RUNS, min(MAX_RUNS, math.ceil((3 * cv / MEAN_TOLERANCE) ** 2)))


#: Cases whose per-token decay is the same formula as a sibling's (retries are the slow ones).
PER_TOKEN_COVERED_BY_SIBLING = {
    "GLOBAL_RETRY-whole-input",  # GLOBAL_RETRY with one unit
    "GLOBAL_RETRY-llm-verifier",  # worker: GLOBAL_RETRY; verifier: LOCAL_RETRY-llm-verifier
    "LOCAL_RETRY",  # LOCAL_RETRY-llm-verifier
}


def _params() -> list:
    params = []
    for case in CASES:
        request = build_request(case, CostModel.FORWARD_PASS, SIMULATION)
        for votes in (1, 3) if votable_roles(request, case) else (1,):
            for cost_model in COST_MODELS:
                params.append(
                    pytest.param(
                        case, cost_model, votes, 0.0, id=f"{case.name}-{cost_model}-votes{votes}"
                    )
                )
        # Length-dependent reliability (the cost model does not change the random process).
        if case.name in PER_TOKEN_COVERED_BY_SIBLING:
            continue
        top = 3 if votable_roles(request, case) else 1
        params.append(
            pytest.param(
                case,
                CostModel.FORWARD_PASS,
                top,
                0.005,
                id=f"{case.name}-FORWARD_PASS-votes{top}-per-token-error",
            )
        )
    return params


def check_against_simulation(request, plan: Plan, label: str, random_cost: bool) -> None:
    evaluator = PlanEvaluator(request)
    (task_plan,) = plan.tasks
    predicted = evaluator.task_outcome(task_plan)
    plan_outcome = evaluator.outcome(plan)
    runs = _runs_for(predicted.expected_cost, predicted.cost_variance)
    sim = simulate(request, plan, runs=runs, seed=_seed(label))

    # Cost.
    if random_cost:
        assert predicted.cost_variance > 0
        assert sim.standard_error > 0
        gap = abs(sim.mean_cost - predicted.expected_cost)
        assert gap <= 3 * sim.standard_error, (sim, predicted)
        assert gap <= MEAN_TOLERANCE * predicted.expected_cost, (sim, predicted)
    else:
        assert predicted.cost_variance == 0
        assert sim.standard_error <= 1e-12 * predicted.expected_cost  # every run costs the same
        assert sim.mean_cost == pytest.approx(predicted.expected_cost, rel=1e-9, abs=0)

    # Success.
    p = predicted.success_probability
    binomial_se = math.sqrt(p * (1 - p) / runs)
    assert abs(sim.success_rate - p) <= 3 * binomial_se + 1e-9, (sim, predicted)

    # The tail of a random cost.
    if random_cost:
        assert p95_agrees(plan_outcome.cost_p95, sim), (sim.cost_p95, plan_outcome)
    else:
        assert plan_outcome.cost_p95 == pytest.approx(predicted.expected_cost, rel=1e-12)


def p95_agrees(predicted: float, sim: SimulationSummary) -> bool:
    """The predicted 95th percentile is within 10% of the simulated one, or is a 95% quantile.

    Attempt counts are whole numbers, so the cost's distribution has atoms: when
    P(cost ≤ q) is close to 0.95 the empirical percentile jumps between two atoms a whole
    attempt apart. A number ``q`` is a 95% quantile when P(cost ≤ q) ≥ 0.95 ≥ P(cost < q);
    the empirical fractions must meet that within 3 binomial standard errors.
    """
    if predicted == pytest.approx(sim.cost_p95, rel=P95_TOLERANCE):
        return True
    se = math.sqrt(0.95 * 0.05 / sim.runs)
    at_most = sim.fraction_at_most(predicted * (1 + 1e-9))
    below = sim.fraction_below(predicted * (1 - 1e-9))
    return at_most >= 0.95 - 3 * se and below <= 0.95 + 3 * se


@pytest.mark.parametrize(("case", "cost_model", "votes", "per_token_error"), _params())
def test_prediction_matches_simulation(request, case: Case, cost_model, votes, per_token_error):
    aalps_request = build_request(case, cost_model, SIMULATION, per_token_error=per_token_error)
    plan = Plan((build_plan(aalps_request, case, votes),))
    check_against_simulation(aalps_request, plan, request.node.name, case.random_cost)


# ------------------------------------------------- the tail of retries

#: The checker's size in these tests: its calls then cost about as much as the worker's.
RESIZED_CHECKER = 6


def _retry_figures(case: Case, acceptance: float) -> tuple[int, float, float]:
    """(units, P(an attempt is accepted), KV_CACHED cost of one attempt) by hand."""
    s = SIMULATION
    worker, checker = MODELS["solver"][1], RESIZED_CHECKER
    if case.operator is Operator.GLOBAL_RETRY and case.whole_input:
        units, accept = 1, s.reliability["solver"] * acceptance
        tokens_in, tokens_out = s.prompt + s.blocks * s.block_size, s.output
    elif case.operator is Operator.GLOBAL_RETRY:
        units, accept = 1, s.reliability["solver"] * acceptance**s.blocks
        tokens_in, tokens_out = s.prompt + s.blocks * s.block_size, s.blocks * s.block_output
    else:
        units, accept = s.blocks, s.reliability["solver"] * acceptance
        tokens_in, tokens_out = s.prompt + s.block_size, s.block_output
    per_attempt = worker * (tokens_in + tokens_out)
    if case.verifier:
        per_attempt += checker * (s.prompt + tokens_out + 1)
        # The verifier errs on each check: it accepts a right attempt with v, a wrong one
        # with 1 − v, so an attempt is accepted with r·v + (1 − r)(1 − v).
        v = s.reliability["checker"]
        accept = accept * v + (1 - accept) * (1 - v)
    return units, accept, per_attempt


def _retry_request(case: Case, acceptance: float):
    """KV_CACHED, the verifier resized so that its calls cost about as much as the worker's."""
    data = build_request_dict(case, CostModel.KV_CACHED, SIMULATION)
    data["graph"]["tasks"][0]["acceptance"]["success_probability"] = str(acceptance)
    for model in data["catalog"]["models"]:
        if model["name"] == "checker":
            model["size"] = str(RESIZED_CHECKER)
    return load_request(data)


@pytest.mark.parametrize("name", ["GLOBAL_RETRY-llm-verifier", "LOCAL_RETRY-llm-verifier"])
def test_retry_cost_variance_counts_worker_and_verifier_together(name):
    """Worker and verifier run once per attempt: cost = Σ_units N_u·(c_worker + c_verifier).

    Var = units·Var(N)·(c_w + c_v)², not units·Var(N)·(c_w² + c_v²): both groups' call
    counts are the same random number of attempts, not independent ones.
    """
    case = CASE_BY_NAME[name]
    request = _retry_request(case, SIMULATION.acceptance)
    outcome = PlanEvaluator(request).task_outcome(build_plan(request, case))
    units, accept, per_attempt = _retry_figures(case, SIMULATION.acceptance)
    assert outcome.expected_cost == pytest.approx(units * per_attempt / accept, rel=1e-12)
    exact_variance = units * geometric_variance(accept) * per_attempt**2
    assert outcome.cost_variance == pytest.approx(exact_variance, rel=1e-9)


def test_retry_p95_with_an_expensive_verifier_matches_simulation(request):
    case = CASE_BY_NAME["GLOBAL_RETRY-llm-verifier"]
    aalps_request = _retry_request(case, SIMULATION.acceptance)
    plan = Plan((build_plan(aalps_request, case),))
    check_against_simulation(aalps_request, plan, request.node.name, random_cost=True)


def test_retry_p95_when_few_attempts_are_needed():
    """One unit accepted with probability 0.95·0.8 = 0.76: 95% of runs need at most 3 attempts.

    P(T ≤ 2) = 1 − 0.24² = 0.9424 < 0.95 ≤ P(T ≤ 3) = 0.986, so the 95th-percentile cost is
    exactly 3 attempts' cost (what a long simulation converges to); the prediction must be
    within 10% of it.
    """
    case = CASE_BY_NAME["GLOBAL_RETRY-whole-input"]
    aalps_request = _retry_request(case, 0.8)
    _, accept, per_attempt = _retry_figures(case, 0.8)
    assert accept == pytest.approx(0.76)
    assert 1 - (1 - accept) ** 2 < 0.95 <= 1 - (1 - accept) ** 3
    plan = Plan((build_plan(aalps_request, case),))
    predicted = PlanEvaluator(aalps_request).outcome(plan)
    assert predicted.expected_cost == pytest.approx(per_attempt / accept, rel=1e-12)
    assert predicted.cost_p95 == pytest.approx(3 * per_attempt, rel=P95_TOLERANCE)


def test_growing_lead_at_scale_matches_simulation(request):
    """AHEAD_BY_K at s = 19 along the ray: q = 4·19 = 76 steps, p = 0.95 (p/(1−p) = 19), so the
    lead grows by log(19)/log(19) = 1: ahead 2 at the scale point plays lead 3. The
    simulator runs a request with q = 76 by hand and lead 3; the evaluator the original
    request at scale 19 with ahead 2."""
    case = CASE_BY_NAME["AHEAD_BY_K-2"]
    base = build_request(case, CostModel.FORWARD_PASS, SIMULATION)
    data = build_request_dict(case, CostModel.FORWARD_PASS, SIMULATION)
    for p in data["graph"]["parameters"]:
        if "value" in p and p.get("grows", True):
            p["value"] = p["value"] * 19
    scaled = load_request(data)
    tp = build_plan(base, case)
    lead3 = type(tp)(tp.task_id, tp.operator, tp.roles, (("ahead", 3),))
    predicted = PlanEvaluator(base, scale=19.0).task_outcome(tp)
    assert predicted == PlanEvaluator(scaled).task_outcome(lead3)
    runs = _runs_for(predicted.expected_cost, predicted.cost_variance)
    sim = simulate(scaled, Plan((lead3,)), runs=runs, seed=_seed(request.node.name))
    gap = abs(sim.mean_cost - predicted.expected_cost)
    assert gap <= 3 * sim.standard_error
    assert gap <= MEAN_TOLERANCE * predicted.expected_cost
    p = predicted.success_probability
    assert abs(sim.success_rate - p) <= 3 * math.sqrt(p * (1 - p) / runs) + 1e-9
