"""The request reference and the JSON Schema of request files (issue 13).

Both are generated from ``aalps.proto`` (scripts/gen_docs.py) and checked in: the files
must match a fresh generation, every example request must validate, and the schema must
refuse what the service refuses (a misspelt field, an unknown enum value).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aalps.client.cli import main
from aalps.client.examples import examples
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.proto_comments import proto_comments
from aalps.proto.request_docs import request_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FILES = sorted((ROOT / "examples").glob("*.yaml"))


def _gen_docs() -> Any:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _validator() -> jsonschema.protocols.Validator:
    schema = request_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_generated_docs_are_up_to_date() -> None:
    for path, text in _gen_docs().outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"run python scripts/gen_docs.py ({path})"


def test_aalps_schema_prints_the_checked_in_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ROOT / "docs" / "request.schema.json").read_text("utf-8"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_validates_against_the_schema(path: Path) -> None:
    errors = list(_validator().iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(e.name for e in examples()))
def test_proto_json_examples_validate_too(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["examples", name, "--format", "proto-json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not list(_validator().iter_errors(data))


def test_the_schema_refuses_what_the_service_refuses() -> None:
    data = yaml.safe_load(EXAMPLE_FILES[0].read_text(encoding="utf-8"))
    data["graph"]["tasks"][0]["output_tokenz"] = 1
    data["cost_model"] = "PRICE"
    data["graph"]["tasks"][0]["discrete"] = "yes"
    found = {tuple(e.absolute_path) for e in _validator().iter_errors(data)}
    assert found == {("graph", "tasks", 0), ("cost_model",), ("graph", "tasks", 0, "discrete")}


def test_every_request_field_and_enum_value_is_documented() -> None:
    schema = request_schema()
    defs = schema["$defs"]
    expected = {
        "OptimizeRequest", "TaskGraph", "Parameter", "Task", "Blocks", "Routing", "Defects",
        "Acceptance", "Chunkable", "Steps", "Edge", "Catalog", "Model", "TokenPrices",
        "Constraints", "SearchOptions", "CostModel", "Operator", "Objective", "SearchObjective",
        "RankBy", "Pricing", "CascadeFact", "CascadeRates",
        "Executor", "ToolSpec", "CacheOptions",
    }  # fmt: skip
    assert set(defs) == expected
    for name, definition in defs.items():
        assert definition["description"], name
        if "properties" in definition:
            descriptor = pb.DESCRIPTOR.message_types_by_name[name]
            assert list(definition["properties"]) == [f.name for f in descriptor.fields]
            undocumented = [
                k for k, v in definition["properties"].items() if not v.get("description")
            ]
            assert not undocumented, (name, undocumented)
    reference = (ROOT / "docs" / "requests.md").read_text(encoding="utf-8")
    assert '| `output_tokens` | string | Expression: tokens of output. Default "1". |' in reference
    assert "| `grows` | optional boolean |" in reference
    assert "| `PRICED` |" in reference


def test_the_comment_parser() -> None:
    text = """
// A thing.
message Thing {
  // Its name.
  string name = 1;

  // detached: not the comment of size

  int32 size = 2;
  // One of two.
  oneof choice {
    // A map.
    map<string, double> weights = 3;
  }
  // Nested.
  repeated Other others = 4;
}
// Colours.
enum Colour {
  // None.
  COLOUR_UNSPECIFIED = 0;
  RED = 1;
}
"""
    assert proto_comments(text) == {
        "Thing": "A thing.",
        "Thing.name": "Its name.",
        "Thing.weights": "A map.",
        "Thing.others": "Nested.",
        "Colour": "Colours.",
        "Colour.COLOUR_UNSPECIFIED": "None.",
    }
