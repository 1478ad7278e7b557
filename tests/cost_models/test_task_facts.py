"""The table of task fact readers: one reader per fact, one fact per Task field and proto field."""

from __future__ import annotations

import dataclasses

import pytest
from aalps.cost_models.domain import Task
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.loading import load_request
from aalps.cost_models.task_facts import FACT_READERS, TASK_KEYS
from aalps.proto.aalps.v1 import aalps_pb2 as pb

#: A task's own keys, read before its facts.
OWN = {"id", "capability", "role_capabilities", "input_tokens", "output_tokens", "prompt_tokens"}


def test_every_task_field_is_its_own_key_or_a_fact_with_a_reader() -> None:
    fields = {f.name for f in dataclasses.fields(Task)}
    assert set(FACT_READERS) == fields - OWN
    assert TASK_KEYS == fields


def test_every_fact_and_its_keys_are_in_the_proto() -> None:
    message = pb.Task.DESCRIPTOR
    for name, reader in FACT_READERS.items():
        field = message.fields_by_name[name]
        if reader.keys is not None:
            assert set(field.message_type.fields_by_name) == reader.keys, name


def _request(**task: object) -> dict[str, object]:
    return {
        "graph": {"tasks": [{"id": "t", "capability": "c", "input_tokens": 10, **task}]},
        "catalog": {"models": [{"name": "m", "size": 1, "capabilities": {"c": 1}}]},
    }


def test_facts_are_read_into_the_task() -> None:
    task = load_request(
        _request(
            blocks={"count": 3, "size": 4},
            steps={"count": 5},
            baseline="MAP",
            discrete=True,
        )
    ).graph.tasks[0]
    assert task.blocks is not None and (task.blocks.count, task.blocks.output) == (3, 4)
    assert task.steps is not None and (task.steps.count, task.steps.tokens) == (5, 1)
    assert task.baseline is not None and task.baseline.name == "MAP"
    assert task.discrete is True
    assert task.routing is None and task.defects is None


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"blocks": {"size": 4, "colour": 1}}, {"blocks.colour", "blocks.count"}),
        ({"defects": 3}, {"defects", "defects.count"}),
        ({"acceptance": {"success_probability": 2}}, {"acceptance.success_probability"}),
        ({"steps": {}}, {"steps.count"}),
        ({"discrete": "yes", "baseline": "NOPE"}, {"discrete", "baseline"}),
    ],
)
def test_each_reader_names_its_fields(facts: dict[str, object], expected: set[str]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        load_request(_request(**facts))
    fields = {v.field.removeprefix("graph.tasks[0].") for v in caught.value.violations}
    assert fields == expected
