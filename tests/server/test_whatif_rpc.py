"""The WhatIf RPC on a real server (loopback port): one response per workflow, in order,
equal to Optimize on each workflow's changed request; bad changes are INVALID_ARGUMENT."""

from __future__ import annotations

import copy

import grpc
import pytest
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.proto.convert import dict_to_proto

from tests.optimizer.random_requests import random_request_data


def _message(data: dict) -> pb.OptimizeRequest:
    message = pb.OptimizeRequest()
    dict_to_proto(data, message)
    return message


def test_whatif_streams_each_workflow_as_optimize_gives_it(
    stub: aalps_pb2_grpc.AalpsServiceStub,
) -> None:
    workflows = [random_request_data(seed, max_joint=2_000) for seed in (200, 201, 202, 203)]
    request = pb.WhatIfRequest(
        requests=[_message(d) for d in workflows],
        names=["a", "b", "c", "d"],
        changes=[pb.CatalogChange(model="m1", field="price_per_output_token", factor=4.0)],
    )
    entries = list(stub.WhatIf(request, timeout=120))
    assert [(e.index, e.name) for e in entries] == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]
    for entry, data in zip(entries, workflows, strict=True):
        changed = copy.deepcopy(data)
        for model in changed["catalog"]["models"]:
            if model["name"] == "m1":
                model["price_per_output_token"] *= 4.0
        direct = stub.Optimize(_message(changed), timeout=120)
        assert entry.cost_after == pytest.approx(direct.plan.expected_cost, rel=1e-12)
        assert [t.operator for t in entry.after.tasks] == [t.operator for t in direct.plan.tasks]


def test_whatif_rejects_an_unknown_model(stub: aalps_pb2_grpc.AalpsServiceStub) -> None:
    request = pb.WhatIfRequest(
        requests=[_message(random_request_data(200, max_joint=2_000))],
        changes=[pb.CatalogChange(model="nosuch", field="size", factor=2.0)],
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.WhatIf(request, timeout=60))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "changes[0].model" in caught.value.details()
