"""The comments of a .proto file, by message, field, enum and enum value.

The .proto's comments are the reference of the wire (and of request files, which use the
same names). :mod:`aalps.proto.request_docs` turns them into ``docs/requests.md`` and the
JSON Schema of request files. The file ships with the package (package data), and the
generated descriptors carry no comments, so this small line parser reads them: a run of
``//`` lines directly above a declaration (no blank line between) is its comment.
"""

from __future__ import annotations

import importlib.resources
import re

__all__ = ["proto_comments", "proto_text"]

_BLOCK = re.compile(r"^(message|enum|service|oneof)\s+(\w+)\s*\{")
_FIELD = re.compile(r"^(?:optional\s+|repeated\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+")
_VALUE = re.compile(r"^(\w+)\s*=\s*-?\d+")


def proto_text() -> str:
    """The text of ``aalps/v1/aalps.proto`` as installed (or in the source checkout)."""
    folder = importlib.resources.files("aalps.proto.aalps.v1")
    return folder.joinpath("aalps.proto").read_text(encoding="utf-8")


def proto_comments(text: str) -> dict[str, str]:
    """Comments by name: ``"Task"``, ``"Task.input_tokens"``, ``"CostModel.PRICED"``.

    Comment lines are joined with spaces; a declaration without a comment is absent.
    Fields of a ``oneof`` belong to the enclosing message.
    """
    comments: dict[str, str] = {}
    scopes: list[tuple[str, str]] = []  # (kind, name)
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            pending.append(line[2:].strip())
            continue
        block = _BLOCK.match(line)
        owner = next((name for kind, name in reversed(scopes) if kind != "oneof"), "")
        if block:
            kind, name = block.groups()
            if kind != "oneof" and pending:
                comments[name] = " ".join(pending)
            scopes.append((kind, name))
        elif line.startswith("}"):
            if scopes:
                scopes.pop()
        elif scopes and scopes[-1][0] == "enum" and (value := _VALUE.match(line)):
            _put(comments, f"{owner}.{value.group(1)}", pending)
        elif scopes and scopes[-1][0] in ("message", "oneof") and (field := _FIELD.match(line)):
            _put(comments, f"{owner}.{field.group(1)}", pending)
        pending = []
    return comments


def _put(comments: dict[str, str], key: str, lines: list[str]) -> None:
    if lines:
        comments[key] = " ".join(lines)
