"""Turn what a caller hands the client (a file, a dict, a message) into wire messages.

Request and plan files are YAML or JSON with the proto field names (one schema for files
and wire). A path that does not exist but names a built-in example (``k_task_routing``)
reads that example. Every user mistake — a missing file, bad YAML, an unknown field —
becomes an :class:`~aalps.client.errors.InvalidArgumentError` whose violation names the file or
the field, never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from aalps.client.errors import InvalidArgumentError
from aalps.client.examples import find_example
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.protobuf.message import Message

__all__ = [
    "MAX_FILE_BYTES",
    "PlanLike",
    "RequestLike",
    "plan_message",
    "read_data",
    "request_message",
    "with_search_options",
]

#: A request: a file path (or built-in example name), a dict, or the message itself.
RequestLike = str | os.PathLike[str] | Mapping[str, Any] | pb.OptimizeRequest
#: A plan: a file path, a dict (``tasks[]: {task_id, operator, roles[], params}``), a message.
PlanLike = str | os.PathLike[str] | Mapping[str, Any] | pb.Plan

#: Larger input files are refused before they are read.
MAX_FILE_BYTES = 64 * 1024 * 1024


#: libyaml's parser where PyYAML has it (five times faster on a request file), with the
#: same safe constructor and resolver as ``yaml.safe_load``: the same data.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml; a file it refuses is parsed again by
    ``safe_load``, so that the error names the problem in PyYAML's own words."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _parse(text: str, name: str, as_json: bool) -> Any:
    try:
        return json.loads(text) if as_json else _load_yaml(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidArgumentError([(name, f"not valid JSON: {error.msg} ({where})")]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise InvalidArgumentError([(name, f"not valid YAML: {problem}{where}")]) from None


def read_data(source: str | os.PathLike[str]) -> tuple[str, Any]:
    """Read a YAML or JSON file (or a built-in example); returns (display name, data)."""
    path = Path(source)
    if not path.exists():
        example = find_example(str(source)) if path.name == str(source) else None
        if example is None:
            raise InvalidArgumentError([(str(source), "no such file (nor a built-in example)")])
        return example.name, _parse(example.read_text(), example.name, as_json=False)
    name = str(source)
    try:
        if path.is_dir():
            raise InvalidArgumentError([(name, "is a directory, not a request file")])
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidArgumentError([(name, f"is larger than {MAX_FILE_BYTES} bytes")])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise InvalidArgumentError([(name, f"cannot read it: {reason}")]) from None
    return name, _parse(text, name, as_json=path.suffix.lower() == ".json")


def _fill(data: Any, message: Message, name: str) -> None:
    """Fill ``message`` from file data through the shared converter (numbers accepted)."""
    from aalps.cost_models.errors import InvalidRequestError
    from aalps.proto.convert import dict_to_proto

    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise InvalidArgumentError([(name, f"must be a mapping of fields, not {kind}")])
    try:
        dict_to_proto(data, message)
    except InvalidRequestError as error:
        raise InvalidArgumentError([(v.field, v.description) for v in error.violations]) from None


def request_message(request: RequestLike) -> pb.OptimizeRequest:
    """The ``OptimizeRequest`` for a path, a built-in example name, a dict or a message."""
    if isinstance(request, pb.OptimizeRequest):
        return request
    message = pb.OptimizeRequest()
    if isinstance(request, Mapping):
        _fill(request, message, "request")
    else:
        name, data = read_data(request)
        _fill(data, message, name)
    return message


def plan_message(plan: PlanLike) -> pb.Plan:
    """The ``Plan`` for a path, a dict or a message.

    A file holding a whole response (``aalps optimize --format json`` output) gives its
    ``plan``, so a found plan can be fed back to ``analyze``.
    """
    if isinstance(plan, pb.Plan):
        return plan
    if isinstance(plan, Mapping):
        name, data = "plan", plan
    else:
        name, data = read_data(plan)
    if isinstance(data, Mapping) and "tasks" not in data and isinstance(data.get("plan"), Mapping):
        data = data["plan"]
    message = pb.Plan()
    _fill(data, message, name)
    return message


def with_search_options(
    request: pb.OptimizeRequest,
    *,
    n_trials: int | None = None,
    seed: int | None = None,
    timeout_seconds: float | None = None,
) -> pb.OptimizeRequest:
    """A copy of ``request`` with the given search options overridden (None keeps them)."""
    copy = pb.OptimizeRequest()
    copy.CopyFrom(request)
    if n_trials is not None:
        copy.search.n_trials = n_trials
    if seed is not None:
        copy.search.seed = seed
    if timeout_seconds is not None:
        copy.search.timeout_seconds = timeout_seconds
    return copy
