"""The wire carries issue 14's fields: tools, code routers, prompt caching, setups, volume.

Each new example read from its file (the dict loader) and through the wire message
(``dict_to_proto`` then the message view) gives the same domain request; an explicit
``enabled: false`` survives the wire (an optional bool), and bad values name their field.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from aalps.cost_models.domain import Executor
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.loading import load_request
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto, request_from_proto

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _message(name: str) -> tuple[dict, pb.OptimizeRequest]:
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    message = pb.OptimizeRequest()
    dict_to_proto(data, message)
    return data, message


@pytest.mark.parametrize("name", ["tool_pipeline", "prompt_caching", "in_context_distillation"])
def test_file_and_wire_give_the_same_request(name: str) -> None:
    data, message = _message(name)
    assert request_from_proto(message) == load_request(data)


def test_wire_fields_arrive() -> None:
    _, message = _message("tool_pipeline")
    search, classify = request_from_proto(message).graph.tasks
    assert search.executor is Executor.TOOL and search.tool is not None
    assert float(search.tool.failure_rate) == 0.05 and search.tool.latency == 800
    assert classify.routing is not None and classify.routing.code_router is not None
    _, message = _message("prompt_caching")
    message.prompt_cache.enabled = False
    assert request_from_proto(message).prompt_cache.enabled is False
    message.prompt_cache.ClearField("enabled")
    assert request_from_proto(message).prompt_cache.enabled is None
    _, message = _message("in_context_distillation")
    request = request_from_proto(message)
    assert request.volume == 2000 and float(request.catalog.by_name["student"].setup_cost) == 29.5


def test_bad_wire_values_name_their_field() -> None:
    _, message = _message("prompt_caching")
    message.prompt_cache.lifetime_calls = -2
    message.volume = -1
    with pytest.raises(InvalidRequestError) as caught:
        request_from_proto(message)
    fields = {v.field for v in caught.value.violations}
    assert {"prompt_cache.lifetime_calls", "volume"} <= fields
