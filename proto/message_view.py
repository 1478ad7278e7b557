"""A read-only mapping over a protobuf message, shaped as ``MessageToDict`` would shape it.

The domain loader validates plain mappings (request files and the wire share one schema).
Reading a wire request through this view instead of a ``MessageToDict`` copy spares one
conversion of every request: the message is walked once, by the loader itself. The shape is
``MessageToDict(message, preserving_proto_field_name=True)``'s: only fields that are set,
enums by name, 64-bit integers as strings, non-finite doubles as ``"NaN"``/``"Infinity"``,
maps as mappings, repeated fields as lists, sub-messages as views.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

__all__ = ["MessageView"]

_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


class MessageView(Mapping[str, Any]):
    """``message``'s set fields by proto field name (see the module docstring)."""

    def __init__(self, message: Message) -> None:
        self._fields = {field.name: (field, value) for field, value in message.ListFields()}

    def __getitem__(self, key: str) -> Any:
        field, value = self._fields[key]
        return _field_value(field, value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def _field_value(field: FieldDescriptor, value: Any) -> Any:
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        item = message_type.fields_by_name["value"]
        return {str(k): _single(item, v) for k, v in value.items()}
    if field.is_repeated:
        return [_single(field, v) for v in value]
    return _single(field, value)


def _single(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return MessageView(value)
    if field.type == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        named = field.enum_type.values_by_number.get(value)
        return named.name if named is not None else value
    if field.type in _INT64:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
