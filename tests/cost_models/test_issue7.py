"""Issue 7's examples that the cost core owns, each with its answer derived by hand.

* item 5: an LLM verifier errs on each check (false accept and false reject);
* item 4: the lead of AHEAD_BY_K is unbounded and chosen by :func:`lead_choices`; tasks
  with ``steps`` are chains of decisions for every operator;
* item 7: votes only where a majority exists.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.domain import Operator, Plan
from aalps.cost_models.evaluation import PlanEvaluator, make_task_plan
from aalps.cost_models.loading import load_request
from aalps.cost_models.simulator import simulate


def _request(task: dict[str, Any], models: list[dict[str, Any]], **extra: Any):
    data: dict[str, Any] = {
        "graph": {
            "name": "issue 7",
            "parameters": [
                {"name": "k", "description": "blocks", "value": 50},
                {"name": "S", "description": "steps", "value": 10_000},
            ],
            "tasks": [task],
        },
        "catalog": {"models": models},
    }
    data.update(extra)
    return load_request(data)


# ------------------------------------------------------------------ item 5: verifiers


def _verified_request():
    """50 blocks, worker reliability 0.8, acceptance 0.5, an LLM verifier of reliability 0.999."""
    task = {
        "id": "t",
        "capability": "solve",
        "input_tokens": "10*k",
        "output_tokens": "10*k",
        "blocks": {"count": "k", "size": "10", "output": "10"},
        "acceptance": {"success_probability": "0.5", "verifier": "verify"},
    }
    models = [
        {"name": "w", "size": "1", "capabilities": {"solve": 0.8}},
        {"name": "v", "size": "1", "capabilities": {"verify": 0.999}},
    ]
    return _request(task, models)


def test_llm_verifier_errs_on_each_check():
    """Issue 7 item 5, LOCAL_RETRY over 50 blocks.

    r = 0.8·0.5 = 0.4 (an attempt on a block is right); the verifier accepts it with
    a = 0.4·0.999 + 0.6·0.001 = 0.3996 + 0.0006 = 0.4002, and the accepted block is right
    with 0.3996/0.4002 = 0.998500749...; over 50 blocks 0.998500749^50 = 0.92773...
    (the old reading, "the verifier is right about the final acceptance", gave
    0.999^50 = 0.95121). Expected attempts per block 1/0.4002, not 1/0.4.
    """
    request = _verified_request()
    evaluator = PlanEvaluator(request)
    tp = make_task_plan("t", Operator.LOCAL_RETRY, worker="w", verifier="v")
    outcome = evaluator.task_outcome(tp)
    per_block = 0.3996 / 0.4002
    assert per_block == pytest.approx(0.9985007496, rel=1e-9)
    assert outcome.success_probability == pytest.approx(per_block**50, rel=1e-12)
    assert outcome.success_probability == pytest.approx(0.92773, abs=1e-5)
    # Cost: 50/0.4002 attempts, each a worker call (in 10, out 10) and a check (in 10, out 1),
    # FORWARD_PASS with size 1: worker 10·10 + 45 = 145, verifier 10·1 + 0 = 10.
    assert outcome.expected_cost == pytest.approx(50 / 0.4002 * (145 + 10), rel=1e-12)


def test_llm_verifier_agrees_with_the_call_by_call_simulation():
    """The simulator draws each check independently; the issue measured 0.927."""
    request = _verified_request()
    tp = make_task_plan("t", Operator.LOCAL_RETRY, worker="w", verifier="v")
    predicted = PlanEvaluator(request).task_outcome(tp)
    runs = 1500
    sim = simulate(request, Plan((tp,)), runs=runs, seed=7)
    p = predicted.success_probability
    assert abs(sim.success_rate - p) <= 3 * math.sqrt(p * (1 - p) / runs)
    assert abs(sim.mean_cost - predicted.expected_cost) <= 3 * sim.standard_error
    assert abs(sim.mean_cost - predicted.expected_cost) <= 0.02 * predicted.expected_cost


def test_global_retry_llm_verifier_over_the_whole_output():
    """GLOBAL_RETRY: r = p·a^count = 0.8·0.5^50; a wrong attempt is accepted with 0.001.

    Accept = r·0.999 + (1 − r)·0.001 ≈ 0.001 (r ≈ 7.1e-16): the verifier almost always
    waves a wrong attempt through, so success = r·0.999/accept ≈ 7.1e-13.
    """
    request = _verified_request()
    tp = make_task_plan("t", Operator.GLOBAL_RETRY, worker="w", verifier="v")
    outcome = PlanEvaluator(request).task_outcome(tp)
    r = 0.8 * 0.5**50
    accept = r * 0.999 + (1 - r) * 0.001
    assert outcome.success_probability == pytest.approx(r * 0.999 / accept, rel=1e-9)
    # One attempt: worker reads 500, writes 500 (FORWARD_PASS: 500·500 + 500·499/2);
    # the verifier reads 500 and writes 1.
    one = 500 * 500 + 500 * 499 / 2 + 500
    assert outcome.expected_cost == pytest.approx(one / accept, rel=1e-9)


# ------------------------------------------------------------------ item 7: votes


def _summary_request(output_tokens: str, discrete: bool = False):
    task: dict[str, Any] = {
        "id": "t",
        "capability": "solve",
        "input_tokens": "10*k",
        "output_tokens": output_tokens,
    }
    if discrete:
        task["discrete"] = True
    models = [{"name": "small", "size": "1", "capabilities": {"solve": 0.9}}]
    return _request(task, models, constraints={"min_success_probability": 0.99})


def test_a_500_token_summary_cannot_vote():
    """Issue 7 item 7: no majority over 500-token summaries, so `worker: small x3` is refused."""
    request = _summary_request("500")
    evaluator = PlanEvaluator(request)
    (worker,) = evaluator.role_specs(request.graph.tasks[0], Operator.DIRECT)
    assert not worker.votable
    problems = evaluator.task_plan_problems(
        make_task_plan("t", Operator.DIRECT, worker=("small", 3))
    )
    assert [p.field for p in problems] == ["plan.tasks[t].roles[worker].votes"]


@pytest.mark.parametrize(("output", "discrete"), [("1", False), ("500", True)])
def test_a_label_or_a_discrete_answer_can_vote(output, discrete):
    """A one-token label, or a task declared discrete: 3 votes at p = 0.9 give
    0.9³ + 3·0.9²·0.1 = 0.729 + 0.243 = 0.972."""
    request = _summary_request(output, discrete)
    evaluator = PlanEvaluator(request)
    tp = make_task_plan("t", Operator.DIRECT, worker=("small", 3))
    assert not evaluator.task_plan_problems(tp)
    assert evaluator.task_outcome(tp).success_probability == pytest.approx(0.972, rel=1e-12)


def test_route_delegator_votes_but_a_long_answer_does_not():
    """The delegator writes one token (a routing decision): votable; the specialist writes 500."""
    task = {
        "id": "t",
        "capability": "solve",
        "input_tokens": "10*k",
        "output_tokens": "500",
        "routing": {"tokens": "4", "capability": "identify"},
    }
    models = [{"name": "m", "size": "1", "capabilities": {"solve": 0.9, "identify": 0.9}}]
    request = _request(task, models)
    specs = PlanEvaluator(request).role_specs(request.graph.tasks[0], Operator.ROUTE)
    assert {s.name: s.votable for s in specs} == {"delegator": True, "specialist": False}


# ------------------------------------------------------------------ item 4: steps chains


def _steps_request():
    task = {
        "id": "t",
        "capability": "solve",
        "input_tokens": "S",
        "output_tokens": "S",
        "steps": {"count": "S", "tokens": "20"},
    }
    models = [{"name": "w", "size": "1", "capabilities": {"solve": 0.9}}]
    return _request(task, models, constraints={"min_success_probability": 0.99})


def test_direct_on_a_steps_chain_is_right_only_if_every_step_is():
    """Issue 7 item 4: DIRECT on a 10^4-step chain at p = 0.9 succeeds with 0.9^10000, which
    underflows a float: log success = 10^4·ln 0.9 = −1053.6; and 5 votes are refused (a
    whole chain is no discrete answer)."""
    request = _steps_request()
    evaluator = PlanEvaluator(request)
    problems = evaluator.task_plan_problems(make_task_plan("t", Operator.DIRECT, worker=("w", 5)))
    assert [p.field for p in problems] == ["plan.tasks[t].roles[worker].votes"]
    outcome = evaluator.task_outcome(make_task_plan("t", Operator.DIRECT, worker="w"))
    assert outcome.success_probability == 0.0  # 0.9^10000 ≈ 10^−457.6
    assert outcome.log_success == pytest.approx(10_000 * math.log(0.9), rel=1e-12)


# ------------------------------------------------------------------ p95 of several retries


def _two_retries_request(accepts: tuple[float, float], steps_task: bool = False):
    """Tasks a and b, each GLOBAL_RETRY over its whole input with a code verifier (KV_CACHED).

    Worker size 1, input 6, output 4: one attempt costs 1·(6 + 4) = 10 for a; task b's input
    is 6 + the 4 tokens a passes on, output 4: 1·(10 + 4) = 14 per attempt.
    """
    tasks: list[dict[str, Any]] = [
        {
            "id": name,
            "capability": "solve",
            "input_tokens": "6",
            "output_tokens": "4",
            "acceptance": {"success_probability": str(a)},
        }
        for name, a in zip("ab", accepts, strict=True)
    ]
    if steps_task:
        tasks.append(
            {
                "id": "c",
                "capability": "step",
                "input_tokens": "6",
                "steps": {"count": "S", "tokens": "3"},
            }
        )
    data = {
        "graph": {
            "name": "two retries",
            "parameters": [{"name": "S", "description": "steps", "value": 5}],
            "tasks": tasks,
            "edges": [{"source": "a", "target": "b"}],
        },
        "catalog": {
            "models": [{"name": "w", "size": "1", "capabilities": {"solve": 1.0, "step": 0.9}}]
        },
        "cost_model": "KV_CACHED",
    }
    return load_request(data)


def _two_retries_plan(steps_task: bool = False) -> Plan:
    plans = [make_task_plan(t, Operator.GLOBAL_RETRY, worker="w") for t in "ab"]
    if steps_task:
        tp = make_task_plan("c", Operator.AHEAD_BY_K, worker="w")
        plans.append(type(tp)(tp.task_id, tp.operator, tp.roles, (("ahead", 2),)))
    return Plan(tuple(plans))


def test_p95_of_two_retried_tasks_is_exact():
    """Attempts T_a, T_b geometric with 0.76 and 0.5; cost = 10·T_a + 14·T_b.

    By hand, P(10·T_a + 14·T_b ≤ x) = Σ_{t_b} 0.5^{t_b}·(1 − 0.24^{⌊(x − 14·t_b)/10⌋}):
    x = 58: t_b=1 → 0.5·(1 − 0.24^4) = 0.498341, t_b=2 → 0.25·(1 − 0.24^3) = 0.246544,
    t_b=3 → 0.125·(1 − 0.24^1) = 0.095, t_b=4 (56 + 10 > 58) → 0: total 0.8399 < 0.95.
    x = 78 (the atom below 80): 0.5·(1 − 0.24^6) + 0.25·(1 − 0.24^5) + 0.125·(1 − 0.24^3)
    + 0.0625·(1 − 0.24^2) = 0.499904 + 0.249801 + 0.123272 + 0.058900 = 0.931877 < 0.95;
    x = 80 adds t_b=5, t_a=1: 0.03125·0.76 = 0.02375, total 0.955627 ≥ 0.95. So p95 = 80
    (before, two retried tasks fell back to the moment-matched gamma).
    """

    def cdf(x: float) -> float:
        total = 0.0
        for tb in range(1, 200):
            ta = math.floor((x - 14 * tb) / 10)
            if ta >= 1:
                total += 0.5**tb * (1 - 0.24**ta)
        return total

    assert cdf(58) == pytest.approx(0.498341 + 0.246544 + 0.095, abs=1e-6)
    values = sorted({10 * ta + 14 * tb for ta in range(1, 60) for tb in range(1, 60)})
    exact = next(x for x in values if cdf(x) >= 0.95)
    assert cdf(78) == pytest.approx(0.931877, abs=1e-6)
    assert exact == 80
    request = _two_retries_request((0.76, 0.5))
    outcome = PlanEvaluator(request).outcome(_two_retries_plan())
    assert outcome.expected_cost == pytest.approx(10 / 0.76 + 14 / 0.5, rel=1e-12)
    assert outcome.cost_p95 == exact
    assert outcome.cost_p95_approximate is False


def test_p95_of_two_retried_tasks_agrees_with_the_simulator():
    from tests.cost_models.test_simulator import p95_agrees

    request = _two_retries_request((0.3, 0.45))
    plan = _two_retries_plan()
    outcome = PlanEvaluator(request).outcome(plan)
    sim = simulate(request, plan, runs=20_000, seed=95)
    assert p95_agrees(outcome.cost_p95, sim), (outcome.cost_p95, sim.cost_p95)
    assert not outcome.cost_p95_approximate


def test_p95_with_ahead_by_k_samples_is_labelled_approximate():
    """AHEAD_BY_K's sample count is no retry: the moment-matched quantile, flagged."""
    request = _two_retries_request((0.76, 0.5), steps_task=True)
    plan = _two_retries_plan(steps_task=True)
    outcome = PlanEvaluator(request).outcome(plan)
    assert outcome.cost_p95_approximate is True
    assert outcome.cost_p95 > outcome.expected_cost
