"""The message view reads a wire request exactly as the ``MessageToDict`` copy did.

Oracle: ``json_format.MessageToDict`` itself. Every example request and 40 seeded random
requests load to equal domain records through both; bad requests give the same violations.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.loading import load_request
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto
from aalps.proto.message_view import MessageView
from google.protobuf import json_format

from tests.conftest import EXAMPLES
from tests.optimizer.random_requests import random_request_data


def plain(view: Any) -> Any:
    """The view materialized as plain dicts and lists (to compare with MessageToDict)."""
    if isinstance(view, MessageView | dict):
        return {k: plain(v) for k, v in view.items()}
    if isinstance(view, list):
        return [plain(v) for v in view]
    return view


def message_of(data: dict[str, Any]) -> pb.OptimizeRequest:
    message = dict_to_proto(data, pb.OptimizeRequest())
    assert isinstance(message, pb.OptimizeRequest)
    return message


REQUESTS = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))] + [
    random_request_data(seed, max_joint=2_000) for seed in range(40)
]


@pytest.mark.parametrize("index", range(len(REQUESTS)))
def test_view_has_message_to_dicts_shape_and_loads_the_same(index: int) -> None:
    message = message_of(REQUESTS[index])
    copy = json_format.MessageToDict(message, preserving_proto_field_name=True)
    assert plain(MessageView(message)) == copy
    assert load_request(MessageView(message)) == load_request(copy)


def test_enums_int64_and_non_finite_numbers_as_message_to_dict_writes_them() -> None:
    plan = pb.Plan(tasks=[pb.TaskPlan(task_id="t", operator=pb.ROUTE, params={"chunk": 300})])
    response = pb.OptimizeResponse(plan=plan, stats=pb.SearchStats(candidates=7))
    response.plan.expected_cost = math.inf
    response.plan.latency = math.nan
    view = plain(MessageView(response))
    assert view == json_format.MessageToDict(response, preserving_proto_field_name=True)
    assert view["plan"]["tasks"][0]["operator"] == "ROUTE"
    assert view["plan"]["tasks"][0]["params"] == {"chunk": "300"}
    assert view["stats"]["candidates"] == "7"
    assert view["plan"]["expected_cost"] == "Infinity"


def test_bad_requests_name_the_same_fields() -> None:
    data = yaml.safe_load((EXAMPLES / "code_debugging.yaml").read_text())
    data["graph"]["tasks"][0]["blocks"]["count"] = "x + 1"
    data["catalog"]["models"][0]["capabilities"] = {"find_bug": 2.0}
    message = message_of(data)
    copy = json_format.MessageToDict(message, preserving_proto_field_name=True)
    with pytest.raises(InvalidRequestError) as via_view:
        load_request(MessageView(message))
    with pytest.raises(InvalidRequestError) as via_copy:
        load_request(copy)
    assert via_view.value.violations == via_copy.value.violations
    assert {v.field for v in via_view.value.violations} >= {
        "graph.tasks[0].blocks.count",
        "catalog.models[0].capabilities[find_bug]",
    }
