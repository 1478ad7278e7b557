"""Checks a request file's data against the proto messages before protobuf parses it.

``json_format.ParseDict`` stops at the first problem and words it for protobuf's authors: a
misspelt field lists the valid ones in camelCase, a wrong enum value lists nothing, and the
path reads ``OptimizeRequest.graph.tasks[0]``. This walk reports every problem at once, by
the proto (snake_case) field path the loader uses (``graph.tasks[0].output_tokens``), with
"did you mean" for a misspelt field or enum value and the valid names listed. What it
accepts, ``ParseDict`` accepts too (after :func:`aalps.proto.convert.dict_to_proto` turns
numbers into strings where the proto has strings).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aalps.cost_models.errors import FieldViolation
from aalps.cost_models.fields import unknown_field, unknown_value
from google.protobuf.descriptor import Descriptor, FieldDescriptor

__all__ = ["check_dict"]

_INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
#: The values each integer type holds (the wire refuses the rest).
_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})
_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})


def check_dict(data: Any, descriptor: Descriptor, path: str = "") -> list[FieldViolation]:
    """Every problem of ``data`` read as a ``descriptor`` message, by field path."""
    problems: list[FieldViolation] = []
    _message(data, descriptor, path, problems)
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _message(data: Any, descriptor: Descriptor, path: str, out: list[FieldViolation]) -> None:
    if not isinstance(data, Mapping):
        out.append(
            FieldViolation(path, f"must be an object (a {descriptor.name}), not {_kind(data)}")
        )
        return
    by_json = {fd.json_name: fd for fd in descriptor.fields}
    for key, value in data.items():
        fd = descriptor.fields_by_name.get(str(key)) or by_json.get(str(key))
        where = _join(path, str(key))
        if fd is None:
            names = [f.name for f in descriptor.fields]
            out.append(FieldViolation(where, unknown_field(str(key), names)))
        elif value is not None:
            _field(value, fd, where, out)


def _field(value: Any, fd: FieldDescriptor, path: str, out: list[FieldViolation]) -> None:
    entry = fd.message_type
    if entry is not None and entry.GetOptions().map_entry:
        if not isinstance(value, Mapping):
            out.append(FieldViolation(path, f"must be an object (a map), not {_kind(value)}"))
            return
        item = entry.fields_by_name["value"]
        for key, v in value.items():
            _single(v, item, f"{path}[{key}]", out)
        return
    if fd.is_repeated:
        if not isinstance(value, list):
            out.append(FieldViolation(path, f"must be a list, not {_kind(value)}"))
            return
        for i, v in enumerate(value):
            _single(v, fd, f"{path}[{i}]", out)
        return
    _single(value, fd, path, out)


def _single(value: Any, fd: FieldDescriptor, path: str, out: list[FieldViolation]) -> None:
    kind = fd.type
    if kind == FieldDescriptor.TYPE_MESSAGE and fd.message_type is not None:
        _message(value, fd.message_type, path, out)
    elif kind == FieldDescriptor.TYPE_ENUM and fd.enum_type is not None:
        names = [v.name for v in fd.enum_type.values if not v.name.endswith("_UNSPECIFIED")]
        numbers = {v.number for v in fd.enum_type.values}
        known = isinstance(value, str) and value in fd.enum_type.values_by_name
        if not known and not (_is_int(value) and value in numbers):
            out.append(FieldViolation(path, unknown_value(value, names)))
    elif kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            out.append(FieldViolation(path, f"must be true or false, not {_shown(value)}"))
    elif kind in _INTEGERS:
        number = _whole(value)
        low, high = _RANGES.get(kind, (-(2**63), 2**64 - 1))
        if number is None:
            out.append(FieldViolation(path, f"must be a whole number, not {_shown(value)}"))
        elif not low <= number <= high:
            out.append(FieldViolation(path, f"must be from {low} to {high}, got {number}"))
    elif kind in _FLOATS:
        if not _is_number(value):
            out.append(FieldViolation(path, f"must be a number, not {_shown(value)}"))
    elif kind == FieldDescriptor.TYPE_STRING and not _is_text(value):
        out.append(FieldViolation(path, f"must be text or a number, not {_kind(value)}"))


def _whole(value: Any) -> int | None:
    """The whole number ``value`` stands for (an int, an integral float, digits), or None."""
    if _is_int(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        if value in _NON_FINITE:
            return True
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False


def _is_text(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    return f"a {type(value).__name__}"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:40])
    return _kind(value)
