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

from cost_models.domain import Operator, Plan
from cost_models.evaluation import PlanEvaluator, make_task_plan
from cost_models.loading import load_request
from cost_models.simulator import simulate


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
    runs = 3000
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
