"""The request reference (``docs/requests.md``) and the JSON Schema of request files.

Both come from one source: the messages reachable from ``OptimizeRequest`` (the generated
descriptors give their structure) and the comments of ``aalps.proto``
(:mod:`aalps.proto.proto_comments`). ``aalps schema`` prints the schema;
``scripts/gen_docs.py`` writes both files and, with ``--check``, fails CI when they drift
from the .proto.

Request files accept numbers where the proto has strings (``output_tokens: 1``): the
schema says so (``"type": ["string", "number"]``). Protobuf's JSON parser, and so grpcurl,
does not; ``aalps examples NAME --format proto-json`` prints the quoted form.
"""

from __future__ import annotations

from typing import Any

from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.proto_comments import proto_comments, proto_text
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

__all__ = ["request_reference", "request_schema"]

_SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"
_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_INT32 = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED32,
    }
)
_UNSIGNED = frozenset(
    {FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED32}
)


def _reachable(root: Descriptor) -> tuple[list[Descriptor], list[EnumDescriptor]]:
    """Messages (``root`` first, then in order of first use) and enums a request uses."""
    messages: list[Descriptor] = []
    enums: list[EnumDescriptor] = []

    def visit(message: Descriptor) -> None:
        if message in messages:
            return
        messages.append(message)
        for field in message.fields:
            target = _item(field)
            if target.enum_type is not None and target.enum_type not in enums:
                enums.append(target.enum_type)
            if target.message_type is not None:
                visit(target.message_type)

    visit(root)
    return messages, enums


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    entry = field.message_type
    return entry if entry is not None and entry.GetOptions().map_entry else None


def _item(field: FieldDescriptor) -> FieldDescriptor:
    """The field that holds one value: a map's value field, else the field itself."""
    entry = _map_entry(field)
    return entry.fields_by_name["value"] if entry is not None else field


# -- JSON Schema ----------------------------------------------------------------------------


def _scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
        return {"$ref": f"#/$defs/{field.message_type.name}"}
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        return {"$ref": f"#/$defs/{field.enum_type.name}"}
    if kind == FieldDescriptor.TYPE_STRING:
        return {"type": ["string", "number"]}
    if kind == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if kind in _INT64:
        return {"type": ["integer", "string"], "pattern": "^-?[0-9]+$"}
    if kind in _INT32:
        return {"type": "integer", **({"minimum": 0} if kind in _UNSIGNED else {})}
    return {"type": "number"}


def _field_schema(
    message: Descriptor, field: FieldDescriptor, comments: dict[str, str]
) -> dict[str, Any]:
    if _map_entry(field) is not None:
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": _scalar_schema(_item(field)),
        }
    elif field.is_repeated:
        schema = {"type": "array", "items": _scalar_schema(field)}
    else:
        schema = _scalar_schema(field)
    text = comments.get(f"{message.name}.{field.name}")
    return {"description": text, **schema} if text else schema


def request_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of request files: an ``OptimizeRequest`` by field name."""
    comments = proto_comments(proto_text())
    messages, enums = _reachable(pb.OptimizeRequest.DESCRIPTOR)
    defs: dict[str, Any] = {}
    for message in messages:
        defs[message.name] = {
            "type": "object",
            **({"description": comments[message.name]} if message.name in comments else {}),
            "properties": {f.name: _field_schema(message, f, comments) for f in message.fields},
            "additionalProperties": False,
        }
    for enum in enums:
        values = [v.name for v in enum.values]
        described = [
            f"- {v}: {comments[f'{enum.name}.{v}']}"
            for v in values
            if f"{enum.name}.{v}" in comments
        ]
        head = comments.get(enum.name, "")
        defs[enum.name] = {"description": "\n".join([head, *described]).strip(), "enum": values}
    return {
        "$schema": _SCHEMA_URL,
        "title": "aalps request file (aalps.v1.OptimizeRequest)",
        "description": (
            "A request file, YAML or JSON, with the proto field names of "
            "proto/aalps/v1/aalps.proto. Fields the proto types as strings (expressions, "
            "names) also accept numbers in a file; on the wire (grpcurl) quote them."
        ),
        "$ref": "#/$defs/OptimizeRequest",
        "$defs": defs,
    }


# -- markdown -------------------------------------------------------------------------------


def _anchor(name: str) -> str:
    return f"[{name}](#{name.lower()})"


def _type_text(field: FieldDescriptor) -> str:
    def one(item: FieldDescriptor) -> str:
        if item.message_type is not None:
            return _anchor(item.message_type.name)
        if item.enum_type is not None:
            return _anchor(item.enum_type.name)
        if item.type == FieldDescriptor.TYPE_STRING:
            return "string"
        if item.type == FieldDescriptor.TYPE_BOOL:
            return "boolean"
        if item.type in _INT64 or item.type in _INT32:
            return "integer"
        return "number"

    entry = _map_entry(field)
    if entry is not None:
        return f"map of {one(entry.fields_by_name['key'])} to {one(_item(field))}"
    if field.is_repeated:
        return f"list of {one(field)}"
    return ("optional " if field.has_presence and field.message_type is None else "") + one(field)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def request_reference() -> str:
    """``docs/requests.md``: every message and enum of a request, field by field."""
    comments = proto_comments(proto_text())
    messages, enums = _reachable(pb.OptimizeRequest.DESCRIPTOR)
    lines = [
        "# Request reference",
        "",
        "<!-- Generated by scripts/gen_docs.py from proto/aalps/v1/aalps.proto: do not edit;",
        "     run `python scripts/gen_docs.py` after changing the .proto. -->",
        "",
        "A request file (YAML or JSON) is an `OptimizeRequest` written with the proto field",
        "names below; the wire carries the same message. `aalps schema` prints a JSON Schema",
        "of request files (also in [`request.schema.json`](request.schema.json)).",
        "",
        "In a request file, a field of type string (every expression, such as",
        "`output_tokens`) also accepts a number: `output_tokens: 1`. Protobuf's JSON parser,",
        'and so grpcurl, wants `"1"`; `aalps examples NAME --format proto-json` prints a',
        "request in that form. Enum values are written by name (`cost_model: KV_CACHED`).",
        "",
        "Messages: " + ", ".join(_anchor(m.name) for m in messages) + ".",
        "Enums: " + ", ".join(_anchor(e.name) for e in enums) + ".",
    ]
    for message in messages:
        lines += ["", f"## {message.name}", ""]
        if message.name in comments:
            lines += [comments[message.name], ""]
        lines += ["| field | type | description |", "|---|---|---|"]
        for field in message.fields:
            text = comments.get(f"{message.name}.{field.name}", "")
            lines.append(f"| `{field.name}` | {_type_text(field)} | {_cell(text)} |")
    for enum in enums:
        lines += ["", f"## {enum.name}", ""]
        if enum.name in comments:
            lines += [comments[enum.name], ""]
        lines += ["| value | description |", "|---|---|"]
        for value in enum.values:
            text = comments.get(f"{enum.name}.{value.name}", "")
            lines.append(f"| `{value.name}` | {_cell(text)} |")
    return "\n".join(lines) + "\n"
