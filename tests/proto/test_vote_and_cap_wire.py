"""ρ and caps through the wire: a request file → proto → domain, and field-named errors."""

from __future__ import annotations

from typing import Any

import pytest
from aalps.cost_models.errors import InvalidRequestError
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import dict_to_proto, request_from_proto


def _data(rho: Any, rhos: Any, attempts: Any, iterations: Any) -> dict[str, Any]:
    return {
        "graph": {
            "name": "wire",
            "parameters": [{"name": "k", "value": 4}],
            "tasks": [
                {
                    "id": "t",
                    "capability": "do",
                    "input_tokens": "k",
                    "blocks": {"count": "k", "size": 1},
                    "acceptance": {"success_probability": 0.5, "max_attempts": attempts},
                    "defects": {"count": 2, "max_iterations": iterations},
                }
            ],
        },
        "catalog": {
            "models": [
                {
                    "name": "w",
                    "size": 1,
                    "capabilities": {"do": 0.9},
                    "vote_correlation": rho,
                    "vote_correlations": rhos,
                }
            ]
        },
    }


def test_facts_reach_the_domain_through_the_wire() -> None:
    message = dict_to_proto(_data(0.25, {"do": 0.4}, 3, 5), pb.OptimizeRequest())
    assert isinstance(message, pb.OptimizeRequest)
    assert message.graph.tasks[0].acceptance.HasField("max_attempts")
    request = request_from_proto(message)
    model = request.catalog.models[0]
    assert (model.vote_correlation, model.correlation("do"), model.correlation("x")) == (
        0.25,
        0.4,
        0.25,
    )
    task = request.graph.tasks[0]
    assert task.acceptance is not None and task.acceptance.max_attempts == 3
    assert task.defects is not None and task.defects.max_iterations == 5


def test_absent_means_independent_and_uncapped() -> None:
    data = _data(0.0, {}, None, None)
    for key in ("max_attempts",):
        del data["graph"]["tasks"][0]["acceptance"][key]
    del data["graph"]["tasks"][0]["defects"]["max_iterations"]
    request = request_from_proto(dict_to_proto(data, pb.OptimizeRequest()))
    task = request.graph.tasks[0]
    assert task.acceptance is not None and task.acceptance.max_attempts is None
    assert task.defects is not None and task.defects.max_iterations is None
    assert request.catalog.models[0].correlation("do") == 0.0


def test_wire_errors_name_the_fields() -> None:
    # A zero cap is present on the wire (optional field) and refused, as is ρ out of [0, 1].
    message = dict_to_proto(_data(1.5, {"do": -0.5}, 0, -2), pb.OptimizeRequest())
    with pytest.raises(InvalidRequestError) as err:
        request_from_proto(message)
    fields = {v.field for v in err.value.violations}
    assert fields >= {
        "catalog.models[0].vote_correlation",
        "catalog.models[0].vote_correlations[do]",
        "graph.tasks[0].acceptance.max_attempts",
        "graph.tasks[0].defects.max_iterations",
    }


def test_a_fractional_cap_is_refused_before_protobuf() -> None:
    with pytest.raises(InvalidRequestError) as err:
        dict_to_proto(_data(0.1, {}, 2.5, 1), pb.OptimizeRequest())
    assert "graph.tasks[0].acceptance.max_attempts" in {v.field for v in err.value.violations}
