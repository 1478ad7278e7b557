"""A task plan's roles resolved once (:mod:`aalps.cost_models.role_entries`): plans whose
roles have the same entries share one :data:`Resolved`, and it holds what the roles declared
one by one give (a fresh :class:`RoleReliability` per plan, each role's
:class:`RoleCalls` read anew); the scoring that reads it equals the plain reference
(``tests/cost_models/test_task_scoring.py``), here with a ``parallelism`` as well.
"""

from __future__ import annotations

import pytest
from aalps.cost_models.arithmetic import BIG, FLOAT, Arithmetic
from aalps.cost_models.domain import Operator, OptimizeRequest, RoleAssignment, TaskPlan
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS, applicable_operators
from aalps.cost_models.plan_checks import model_problem
from aalps.cost_models.role_calls import declare, role_calls
from aalps.cost_models.role_entries import resolve, resolved_roles, role_entry
from aalps.cost_models.shapes import ModelNumbers
from aalps.cost_models.task_scoring import fixed_of, numeric_outcome
from aalps.cost_models.vote_reliability import RoleReliability

from tests.cost_models.test_task_scoring import _plans, _same, reference_outcome
from tests.optimizer.random_requests import wide_request_data


def _request(
    seed: int, cost_model: str = "FORWARD_PASS", parallelism: int | None = None
) -> OptimizeRequest:
    data = wide_request_data(seed, 8, 5)
    data["cost_model"] = cost_model
    if parallelism is not None:
        data.setdefault("constraints", {})["parallelism"] = parallelism
    models = data["catalog"]["models"]
    models[0]["setup_cost"] = 20.0
    models[1]["per_token_error"] = 1e-4
    return load_request(data)


def _two_role_plans(evaluator: PlanEvaluator) -> list[TaskPlan]:
    """ROUTE plans (delegator and specialist) of the request's first routed task."""
    task = next(
        t
        for t in evaluator.graph.tasks
        if Operator.ROUTE in applicable_operators(t)
        and len(OPERATORS[Operator.ROUTE].roles(t)) == 2
    )
    roles = OPERATORS[Operator.ROUTE].roles(task)
    able = [
        [m.name for m in evaluator.catalog.models if model_problem(r, m) is None] for r in roles
    ]
    return [
        TaskPlan(
            task.id,
            Operator.ROUTE,
            (RoleAssignment(roles[0].name, a), RoleAssignment(roles[1].name, b)),
        )
        for a in able[0][:3]
        for b in able[1][:3]
    ]


def _declared(evaluator: PlanEvaluator, plan: TaskPlan, arithmetic: Arithmetic) -> RoleReliability:
    """The plan's roles declared one by one to a fresh reliability (the plain way)."""
    capability = fixed_of(evaluator, plan)[1]
    by_name = evaluator.catalog.by_name
    numbers = {
        m.name: ModelNumbers.of(m, arithmetic, evaluator._model_sizes[m.name])
        for m in evaluator.catalog.models
    }
    reliability = RoleReliability(arithmetic)
    for assignment in plan.roles:
        if assignment.role in capability:
            shares = role_calls(assignment, capability[assignment.role], numbers, by_name)[1]
            declare(reliability, assignment.role, shares)
    return reliability


@pytest.mark.parametrize("arithmetic", [FLOAT, BIG])
def test_plans_with_the_same_entries_share_their_resolved_roles(arithmetic: Arithmetic) -> None:
    evaluator = PlanEvaluator(_request(3))
    plans = _two_role_plans(evaluator)
    assert len(plans) >= 4
    for plan in plans:
        capability = fixed_of(evaluator, plan)[1]
        first = resolved_roles(evaluator, plan, capability, arithmetic)
        copy = TaskPlan(
            plan.task_id, plan.operator, tuple(RoleAssignment(**vars(r)) for r in plan.roles)
        )
        assert resolved_roles(evaluator, copy, capability, arithmetic) is first
        calls, models, _, reliability, figures = first
        plain = _declared(evaluator, plan, arithmetic)
        for role, own in calls.items():
            for tokens, decisions in ((100, 1), (2500, 3), (40, 1)):
                assert reliability(role, tokens, decisions) == plain(role, tokens, decisions)
            assert models[role] is own.members[0].model
            figure = figures[role]
            assert figure[0] is own and figure[1] is own.members[0].pricing
            assert figure[2:] == (
                own.members[0].votes,
                own.members[1:],
                own.votes,
                own.latency_per_token,
                own.window_limit,
            )
    assert len(evaluator._resolved[arithmetic.name]) == len(plans)


def test_a_role_declared_twice_keeps_the_later_declaration() -> None:
    """As declaring one by one would: the later entry's calls and reliability."""
    evaluator = PlanEvaluator(_request(4))
    plan = _two_role_plans(evaluator)[0]
    capability = fixed_of(evaluator, plan)[1]
    role = plan.roles[1].role
    spec = next(
        r
        for r in OPERATORS[plan.operator].roles(evaluator.graph.task_by_id[plan.task_id])
        if r.name == role
    )
    other = next(
        m.name
        for m in evaluator.catalog.models
        if m.name != plan.roles[1].model and model_problem(spec, m) is None
    )
    entries = [
        role_entry(evaluator, RoleAssignment(role, name), capability[role], FLOAT)
        for name in (plan.roles[1].model, other)
    ]
    calls, _, _, reliability, figures = resolve(entries, FLOAT)
    assert calls[role] is entries[1].calls and figures[role][0] is entries[1].calls
    single = resolve(entries[1:], FLOAT)[3]
    plain = _declared(
        evaluator, TaskPlan(plan.task_id, plan.operator, (RoleAssignment(role, other),)), FLOAT
    )
    for tokens in (30, 300, 3000):
        assert reliability(role, tokens, 1) == single(role, tokens, 1) == plain(role, tokens, 1)


@pytest.mark.parametrize(
    "cost_model", ["FORWARD_PASS", "KV_CACHED", "QUADRATIC_ATTENTION", "PRICED"]
)
@pytest.mark.parametrize("parallelism", [None, 2, 5])
def test_scoring_matches_the_reference_with_parallelism(
    cost_model: str, parallelism: int | None
) -> None:
    compared = 0
    for scale in (1.0, 1e6):
        evaluator = PlanEvaluator(_request(5, cost_model, parallelism), scale=scale)
        for plan in _plans(evaluator):
            shape = evaluator._compiled[plan.task_id].numeric
            try:
                fast = numeric_outcome(evaluator, plan, FLOAT, shape)
            except Exception as error:  # noqa: BLE001 - the same error either way
                with pytest.raises(type(error)):
                    reference_outcome(evaluator, plan, FLOAT, shape)
                continue
            slow = reference_outcome(evaluator, plan, FLOAT, shape)
            assert _same(fast, slow), (cost_model, parallelism, scale, plan, fast, slow)
            compared += 1
    assert compared > 50
