"""Ensemble roles through the wire: domain → proto → domain, and AnalyzePlan in process.

Oracles: the plan read back equals the plan sent (every share, in order); the figures
AnalyzePlan returns equal the ones written out by hand (three independent votes:
``p1p2 + p1p3 + p2p3 − 2p1p2p3``; FORWARD_PASS costs ``m·n`` per call).
"""

from __future__ import annotations

import pytest
from aalps.client import Client
from aalps.client.errors import InvalidArgumentError
from aalps.cost_models.domain import Operator, Plan, TaskPlan
from aalps.cost_models.ensemble_roles import ensemble_role
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import plan_from_proto, task_plan_to_proto

N = 100
REQUEST = {
    "graph": {
        "name": "label",
        "parameters": [{"name": "n", "value": N}],
        "tasks": [{"id": "t", "capability": "c", "input_tokens": "n"}],
    },
    "catalog": {
        "models": [
            {"name": "a", "size": 3, "capabilities": {"c": 0.9}},
            {"name": "b", "size": 2, "capabilities": {"c": 0.8}, "vote_correlation": 0.3},
            {"name": "c", "size": 1, "capabilities": {"c": 0.7}},
        ]
    },
}
ENSEMBLE = {
    "role": "worker",
    "ensemble": [
        {"model": "a", "votes": 1},
        {"model": "b", "votes": 1},
        {"model": "c", "votes": 1},
    ],
}


def test_a_plan_with_an_ensemble_round_trips() -> None:
    role = ensemble_role("worker", [("b", 2), ("a", 1), ("c", 2)])
    plan = Plan((TaskPlan("t", Operator.DIRECT, (role,)),))
    message = pb.Plan(tasks=[task_plan_to_proto(tp) for tp in plan.tasks])
    wire = pb.Plan.FromString(message.SerializeToString())
    assert [(s.model, s.votes) for s in wire.tasks[0].roles[0].ensemble] == [
        ("b", 2),
        ("a", 1),
        ("c", 2),
    ]
    assert (wire.tasks[0].roles[0].model, wire.tasks[0].roles[0].votes) == ("b", 5)
    assert plan_from_proto(wire) == plan


def test_analyze_plan_costs_an_ensemble() -> None:
    p1, p2, p3 = 0.9, 0.8, 0.7  # one vote each: b's correlation does not matter
    with Client.in_process() as client:
        report = client.analyze(
            REQUEST, {"tasks": [{"task_id": "t", "operator": "DIRECT", "roles": [ENSEMBLE]}]}
        )
    assert report.plan.success_probability == pytest.approx(
        p1 * p2 + p1 * p3 + p2 * p3 - 2 * p1 * p2 * p3
    )
    assert report.plan.expected_cost == pytest.approx((3 + 2 + 1) * N)
    (role,) = report.plan.tasks[0].roles
    assert role.ensemble == (("a", 1), ("b", 1), ("c", 1))
    assert role.models_text == "a + b + c"


def test_analyze_plan_names_a_bad_share() -> None:
    bad = {"role": "worker", "ensemble": [{"model": "a", "votes": 1}, {"model": "zz", "votes": 2}]}
    with Client.in_process() as client, pytest.raises(InvalidArgumentError) as caught:
        client.analyze(REQUEST, {"tasks": [{"task_id": "t", "operator": "DIRECT", "roles": [bad]}]})
    fields = [v.field for v in caught.value.violations]
    assert fields == ["plan.tasks[t].roles[worker].ensemble[1].model"], fields
