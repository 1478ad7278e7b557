"""Request and plan inputs: files, example names, dicts, messages, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalps.client.errors import InvalidArgumentError
from aalps.client.inputs import plan_message, request_message, with_search_options
from aalps.proto.aalps.v1 import aalps_pb2

from tests.client.conftest import EXAMPLES, example_data


def test_numbers_in_expression_fields_are_accepted() -> None:
    message = request_message(example_data("k_task_routing"))
    assert message.catalog.models[1].size == "8000000000"
    assert message.graph.tasks[0].output_tokens == "1"


def test_example_name_json_and_yaml_agree(tmp_path: Path) -> None:
    import json

    path = tmp_path / "routing.json"
    path.write_text(json.dumps(example_data("k_task_routing")))
    assert request_message(path) == request_message("k_task_routing")
    assert request_message(EXAMPLES / "k_task_routing.yaml") == request_message(path)


def test_message_passes_through() -> None:
    message = aalps_pb2.OptimizeRequest()
    assert request_message(message) is message


def test_directory_is_not_a_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="is a directory"):
        request_message(tmp_path)


def test_unknown_field_is_named() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        request_message({"graph": {"tasks": [{"id": "a", "inputs": "n"}]}})
    assert "inputs" in str(caught.value)


def test_plan_from_a_saved_response() -> None:
    plan = plan_message({"plan": {"tasks": [{"task_id": "t", "operator": "DIRECT"}]}})
    assert plan.tasks[0].operator == aalps_pb2.DIRECT


def test_overrides_copy() -> None:
    original = request_message("k_task_routing")
    changed = with_search_options(original, n_trials=9, seed=4, timeout_seconds=2.5)
    assert (changed.search.n_trials, changed.search.seed, changed.search.timeout_seconds) == (
        9,
        4,
        2.5,
    )
    assert original.search.n_trials == 0
