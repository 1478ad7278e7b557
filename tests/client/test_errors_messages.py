"""Errors a person can act on: proto field names, valid values listed, "did you mean", no
follow-on errors, and request files that grpcurl accepts (issue 13).

Each test writes the mistake a user makes and checks the message against the text a person
would write by hand (the field path, the suggestion, the full list of valid names).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aalps.client import Client
from aalps.client.cli import main
from aalps.client.errors import InfeasibleRequestError, InvalidArgumentError
from aalps.client.examples import examples
from aalps.client.inputs import request_message
from aalps.cost_models.errors import InvalidRequestError
from aalps.cost_models.loading import load_request
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.protobuf import json_format

from tests.client.conftest import EXAMPLES, ROOT, example_data

TASK_FIELDS = (
    "id, capability, role_capabilities, input_tokens, output_tokens, prompt_tokens, blocks, "
    "routing, defects, acceptance, chunkable, steps, baseline, discrete, cascade, executor, tool"
)


def violations(data: Any) -> dict[str, str]:
    with pytest.raises(InvalidArgumentError) as caught:
        request_message(data)
    return {v.field: v.description for v in caught.value.violations}


def test_a_misspelt_field_is_named_in_snake_case_with_a_suggestion() -> None:
    data = example_data("k_task_routing")
    data["graph"]["tasks"][0]["output_tokenz"] = 1
    found = violations(data)
    assert found == {
        "graph.tasks[0].output_tokenz": "unknown field; did you mean 'output_tokens'? "
        f"the fields here are {TASK_FIELDS}"
    }
    assert "outputTokens" not in str(found)


def test_every_mistake_of_a_file_is_reported_at_once() -> None:
    data = example_data("k_task_routing")
    data["grap"] = {}
    data["catalog"]["models"][0]["sise"] = 3
    data["search"] = {"n_trials": "many"}
    found = violations(data)
    assert set(found) == {"grap", "catalog.models[0].sise", "search.n_trials"}
    assert found["grap"].startswith("unknown field; did you mean 'graph'?")
    assert found["catalog.models[0].sise"].startswith("unknown field; did you mean 'size'?")
    assert found["search.n_trials"] == "must be a whole number, not 'many'"


def test_a_number_out_of_the_wire_range_names_its_field() -> None:
    data = example_data("k_task_routing")
    data["search"] = {"seed": -1, "n_trials": 2**31}
    assert violations(data) == {
        "search.seed": "must be from 0 to 4294967295, got -1",  # uint32
        "search.n_trials": "must be from -2147483648 to 2147483647, got 2147483648",  # int32
    }


def test_a_wrong_enum_lists_the_valid_values() -> None:
    data = example_data("k_task_routing")
    data["cost_model"] = "PRICE"
    data["search"] = {"objectives": ["COST", "LATENCYY"], "rank_by": "FAST"}
    found = violations(data)
    assert found["cost_model"] == (
        "unknown value 'PRICE'; did you mean 'PRICED'? "
        "expected one of FORWARD_PASS, KV_CACHED, PRICED, QUADRATIC_ATTENTION"
    )
    assert found["search.objectives[1]"] == (
        "unknown value 'LATENCYY'; did you mean 'LATENCY'? "
        "expected one of COST, LATENCY, FAILURE_PROBABILITY"
    )
    assert found["search.rank_by"] == (
        "unknown value 'FAST'; expected one of SCALE_POINT, ASYMPTOTIC"
    )


def test_the_domain_loader_suggests_too() -> None:
    """A dict handed to the loader directly (the Python API) gets the same message."""
    data = example_data("k_task_routing")
    data["graph"]["tasks"][0]["capabilty"] = "solve"
    with pytest.raises(InvalidRequestError) as caught:
        load_request(data)
    [violation] = caught.value.violations
    assert violation.field == "graph.tasks[0].capabilty"
    assert violation.description.startswith("unknown field; did you mean 'capability'?")


def test_an_undefined_symbol_suggests_the_close_one() -> None:
    data = example_data("k_task_routing")
    data["graph"]["tasks"][0]["input_tokens"] = "nn"
    with pytest.raises(InvalidRequestError) as caught:
        load_request(data)
    assert [str(v) for v in caught.value.violations] == [
        "graph.tasks[0].input_tokens: undefined symbol 'nn'; did you mean 'n'? "
        "(declared: c, k, m_s, n)"
    ]


def test_no_follow_on_error_from_a_rejected_task() -> None:
    """The edge to a task rejected for its own error is not a second, false error."""
    data = example_data("k_task_routing")
    data["graph"]["tasks"].append(
        {"id": "summarize", "capability": "solve", "input_tokens": "x*n", "output_tokens": 1}
    )
    data["graph"]["edges"] = [{"source": "answer", "target": "summarize"}]
    with pytest.raises(InvalidRequestError) as caught:
        load_request(data)
    assert [v.field for v in caught.value.violations] == ["graph.tasks[1].input_tokens"]


def test_an_edge_to_a_misspelt_task_suggests_the_id() -> None:
    data = example_data("k_task_routing")
    data["graph"]["edges"] = [{"source": "answr", "target": "answer"}]
    with pytest.raises(InvalidRequestError) as caught:
        load_request(data)
    assert [str(v) for v in caught.value.violations] == [
        "graph.edges[0].source: no task with id 'answr'; did you mean 'answer'?"
    ]


def test_a_misspelt_capability_is_suggested() -> None:
    data = example_data("k_task_routing")
    data["graph"]["tasks"][0]["capability"] = "solv"
    with Client.in_process() as client, pytest.raises(InfeasibleRequestError) as caught:
        client.optimize(data)
    assert [tuple(r) for r in caught.value.reasons] == [
        ("graph.tasks[0]", "answer: no model has capability solv; did you mean 'solve'?")
    ]


def test_a_misspelt_model_in_a_plan_is_suggested() -> None:
    data = example_data("k_task_routing")
    plan = {
        "tasks": [
            {
                "task_id": "answer",
                "operator": "DIRECT",
                "roles": [{"role": "worker", "model": "generalst"}],
            }
        ]
    }
    with Client.in_process() as client, pytest.raises(InvalidArgumentError) as caught:
        client.analyze(data, plan)
    assert (
        "plan.tasks[answer].roles[worker].model",
        "no model 'generalst' in the catalog; did you mean 'generalist'?",
    ) in [tuple(v) for v in caught.value.violations]


# -- request files and the wire -------------------------------------------------------------


def test_a_file_with_numbers_is_not_valid_proto_json() -> None:
    """The sharp edge itself: protobuf's parser (grpcurl's) refuses numbers for strings."""
    with pytest.raises(json_format.ParseError, match="expected string"):
        json_format.ParseDict(example_data("k_task_routing"), pb.OptimizeRequest())


@pytest.mark.parametrize("name", sorted(e.name for e in examples()))
def test_proto_json_output_is_accepted_by_protobufs_own_parser(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["examples", name, "--format", "proto-json"]) == 0
    text = capsys.readouterr().out
    parsed = json_format.Parse(text, pb.OptimizeRequest())  # what grpcurl does, by reflection
    assert parsed == request_message(EXAMPLES / f"{name}.yaml")
    data = example_data(name)
    assert parsed.graph.tasks[0].id == data["graph"]["tasks"][0]["id"]
    # every string field holds a JSON string: the number 1 became "1"
    first = json.loads(text)["graph"]["tasks"][0]
    assert all(isinstance(first[k], str) for k in ("input_tokens", "output_tokens") if k in first)


def test_example_descriptions_are_whole_sentences() -> None:
    for example in examples():
        assert example.description.endswith("."), example.name


def test_the_readme_shows_edges_in_a_request_that_loads() -> None:
    import yaml

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```yaml\n")[1:]]
    [block] = [b for b in blocks if "edges:" in b]
    data = yaml.safe_load(block)
    data["catalog"] = {
        "models": [{"name": "m", "size": 1, "capabilities": {"read": 1, "write": 1}}]
    }
    request = load_request(data)
    [edge] = request.graph.edges
    assert (edge.source, edge.target, str(edge.tokens)) == ("extract", "summarize", "k")
