"""Hostile requests for the service, and the invariant every answer must keep.

Shared by ``tests/server/test_fuzz_service.py`` (a couple of thousand examples in CI) and
``benchmarks/fuzz_service.py`` (10,000, with counts). A request is one of the examples with
one to three of its fields set to something hostile: a scalar leaf picked from the message's
own descriptor (so new fields are fuzzed without touching this file), an element added to or
cleared from a repeated field, or the whole message replaced by random bytes. Values are
runaway expressions (towers, nested exponentials, ceil/max tricks), code, huge or empty
strings, NaN, infinities, extreme integers and out-of-range enum numbers.

The invariant (:func:`check_answer`): never INTERNAL or UNKNOWN; every INVALID_ARGUMENT names
at least one field in a ``BadRequest`` detail; every answer arrives within the call's
deadline plus one second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import strategies as st

from tests.server.conftest import example_request

__all__ = [
    "EXAMPLES",
    "Answer",
    "FuzzCase",
    "call_case",
    "check_answer",
    "fuzz_cases",
    "leaf_paths",
    "process_tree_rss_mb",
    "trivial_call_seconds",
]

#: The examples mutated (small ones: a valid mutation still answers in well under a second).
EXAMPLES = ("code_debugging", "k_task_routing", "character_counting", "document_ranking")
#: Deadline of every fuzzed call, seconds.
CALL_DEADLINE = 4.0
#: Trials a fuzzed search may run (keeps the valid ones quick).
MAX_TRIALS = 20

RUNAWAY = [
    "ceil(k)**ceil(k)**ceil(k)",
    "max(k, 2**k)**2**k",
    "exp(exp(exp(k)))",
    "k**k**k**k",
    "2**k",
    "2**2**2**2**2",
    "9**9**9**9",
    "exp(exp(k))",
    "k**(k**2)",
    "floor(k)**floor(k)",
    "(k+1)**(k+1)",
    "log(0)",
    "1/(k-k)",
    "min(k)",
    "k*",
    "10**300*10**300",
    "(-1)**(1/2)",
    "k**-9999",
    "0**-1",
    "1e400",
    "exp(1000)",
    "ceil(exp(5))**ceil(exp(5))",
    "max(" + ",".join(["k"] * 200) + ")",
    "(" * 40 + "k" + ")" * 40,
]
CODE = [
    "__import__('os').system('touch /tmp/aalps_pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 0",
    "eval('1')",
    "exec",
    "import os",
]
ODD_TEXT = ["", " ", "k" * 100_000, "\x00", "ñ", "😀" * 50, "n; k", "k\nn", "NaN", "inf", "-0"]
SYMBOLS = ["k", "n", "l", "b", "s", "m", "x", "undefined_symbol"]


@dataclass(frozen=True)
class FuzzCase:
    """One fuzzed call: the request (or raw bytes) and what was done to it."""

    method: str
    request: Message | None
    raw: bytes | None
    mutations: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What the server said, and how long it took."""

    code: grpc.StatusCode
    seconds: float
    details: str
    fields: tuple[str, ...]


# --- the message's own shape --------------------------------------------------------------


Step = tuple[str, Any]
"""One step of a path: ("field", name), ("index", i), ("key", k), ("append", None) or
("clear", None)."""


def leaf_paths(message: Message, prefix: tuple[Step, ...] = ()) -> list[tuple[Step, ...]]:
    """Every set-able place in ``message``: scalar fields (set or not), repeated fields
    (append, clear) and map entries (add, clear, change)."""
    paths: list[tuple[Step, ...]] = []
    for field in message.DESCRIPTOR.fields:
        here = (*prefix, ("field", field.name))
        value = getattr(message, field.name)
        if field.is_repeated:
            paths += [(*here, ("append", None)), (*here, ("clear", None))]
            if _is_map(field):
                for key in list(value)[:4]:
                    if isinstance(value[key], Message):
                        paths += leaf_paths(value[key], (*here, ("key", key)))
                    else:
                        paths.append((*here, ("key", key)))
                continue
            for index, item in enumerate(list(value)[:6]):
                if isinstance(item, Message):
                    paths += leaf_paths(item, (*here, ("index", index)))
                else:
                    paths.append((*here, ("index", index)))
        elif field.message_type is not None:
            paths += leaf_paths(value, here)
        else:
            paths.append(here)
    return paths


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _text(path: tuple[Step, ...]) -> str:
    parts = []
    for kind, value in path:
        parts.append(
            {"field": f".{value}", "index": f"[{value}]", "key": f"[{value}]"}.get(kind, f" {kind}")
        )
    return "".join(parts).lstrip(".")


def _apply(draw: st.DrawFn, request: Message, path: tuple[Step, ...]) -> str:
    """Set the place ``path`` of ``request`` to a hostile value; a description of it."""
    holder: Any = request  # the message that owns the last field step
    field: FieldDescriptor | None = None
    for kind, value in path[:-1]:
        if kind == "field":
            field = holder.DESCRIPTOR.fields_by_name[value]
            holder_next = getattr(holder, value)
        else:
            holder_next = holder[value]
        holder = holder_next
    kind, value = path[-1]
    where = _text(path)
    if kind == "field":
        field = holder.DESCRIPTOR.fields_by_name[value]
        new = _value_for(draw, field)
        try:
            setattr(holder, value, new)
        except (ValueError, TypeError):  # a value the Python message itself refuses
            return f"(refused) {where}"
        return f"{where} = {str(new)[:40]!r}"
    assert field is not None  # the repeated field the container belongs to
    if kind == "clear":
        if _is_map(field):
            holder.clear()
        else:
            del holder[:]
        return where
    if _is_map(field):
        value_field = field.message_type.fields_by_name["value"]
        key = value if kind == "key" else draw(st.sampled_from(["find_bug", "solve", "x", ""]))
        if value_field.message_type is not None:
            holder[key].SetInParent()
            return f"{where} entry {key!r}"
        try:
            holder[key] = _value_for(draw, value_field)
        except (ValueError, TypeError):
            return f"(refused) {where}"
        return f"{where} [{key!r}]"
    if field.message_type is not None:
        added = holder.add()
        if kind == "append" and len(holder) > 1:
            added.CopyFrom(holder[draw(st.integers(0, len(holder) - 2))])
        return where
    try:
        if kind == "append":
            holder.append(_value_for(draw, field))
        else:
            holder[value] = _value_for(draw, field)
    except (ValueError, TypeError):
        return f"(refused) {where}"
    return where


def _value_for(draw: st.DrawFn, field: FieldDescriptor) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return draw(_hostile_text())
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return draw(
            st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0, 1e308, -1e308, 5e-324])
            | st.floats(allow_nan=True, allow_infinity=True)
        )
    if kind == FieldDescriptor.TYPE_BOOL:
        return draw(st.booleans())
    if kind == FieldDescriptor.TYPE_ENUM:
        return draw(st.integers(-3, 40))
    if kind == FieldDescriptor.TYPE_BYTES:
        return draw(st.binary(max_size=64))
    bits = 32 if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32) else 64
    unsigned = kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64)
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return draw(
        st.sampled_from([low, high, 0, 1, 2, 10**6, 10**9]).filter(lambda v: low <= v <= high)
        | st.integers(low, high)
    )


def _hostile_text() -> st.SearchStrategy[str]:
    expression = st.recursive(
        st.sampled_from(SYMBOLS) | st.integers(-5, 10**6).map(str),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["**", "*", "+", "-", "/", "^"]), inner).map(
                lambda t: f"({t[0]}){t[1]}({t[2]})"
            ),
            st.tuples(st.sampled_from(["exp", "ceil", "floor", "log"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(st.sampled_from(["max", "min"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
        ),
        max_leaves=8,
    )
    return st.one_of(
        st.sampled_from(RUNAWAY),
        st.sampled_from(CODE),
        st.sampled_from(ODD_TEXT),
        expression,
        st.text(max_size=40),
    )


@st.composite
def fuzz_cases(draw: st.DrawFn) -> FuzzCase:
    """An Optimize, AnalyzePlan or SubmitJob-free call with a hostile request."""
    if draw(st.integers(0, 19)) == 0:
        return FuzzCase("Optimize", None, draw(st.binary(max_size=200)), ("random bytes",))
    request = example_request(draw(st.sampled_from(EXAMPLES)))
    request.search.n_trials = MAX_TRIALS
    mutations = []
    for _ in range(draw(st.integers(1, 3))):
        paths = leaf_paths(request)
        path = draw(st.sampled_from(paths))
        mutations.append(_apply(draw, request, path))
    if not request.search.n_trials or request.search.n_trials > MAX_TRIALS:
        mutations.append("(n_trials kept small)")
        request.search.n_trials = MAX_TRIALS
    return FuzzCase("Optimize", request, None, tuple(mutations))


# --- calling and judging ------------------------------------------------------------------


def _fields(error: grpc.RpcError) -> tuple[str, ...]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return ()
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            fields += [v.subject for v in failure.violations if v.subject]
    return tuple(fields)


def call_case(channel: grpc.Channel, case: FuzzCase, deadline: float = CALL_DEADLINE) -> Answer:
    """Make the call; the status, elapsed seconds and fields named."""
    identity: Callable[[bytes], bytes] = lambda data: data  # noqa: E731
    call = channel.unary_unary(
        f"/aalps.v1.AalpsService/{case.method}",
        request_serializer=identity,
        response_deserializer=identity,
    )
    payload = case.raw if case.raw is not None else case.request.SerializeToString()  # type: ignore[union-attr]
    start = time.monotonic()
    try:
        call(payload, timeout=deadline)
    except grpc.RpcError as error:
        return Answer(
            error.code(),  # type: ignore[attr-defined]
            time.monotonic() - start,
            str(error.details())[:300],  # type: ignore[attr-defined]
            _fields(error),
        )
    return Answer(grpc.StatusCode.OK, time.monotonic() - start, "", ())


def check_answer(answer: Answer, deadline: float = CALL_DEADLINE) -> str | None:
    """What is wrong with ``answer`` (None when it keeps the invariant)."""
    if answer.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        return f"{answer.code.name}: {answer.details}"
    if answer.code == grpc.StatusCode.INVALID_ARGUMENT and not answer.fields:
        return f"INVALID_ARGUMENT names no field: {answer.details}"
    if answer.seconds > deadline + 1.0:
        return f"answered after {answer.seconds:.1f} s (deadline {deadline} s)"
    return None


def describe(case: FuzzCase) -> str:
    return "; ".join(case.mutations)


def trivial_call_seconds(channel: grpc.Channel, timeout: float = 30.0) -> float:
    """How long a small valid Optimize takes now (the service is still answering)."""
    request = example_request("code_debugging")
    start = time.monotonic()
    stub_call = channel.unary_unary(
        "/aalps.v1.AalpsService/Optimize",
        request_serializer=pb.OptimizeRequest.SerializeToString,
        response_deserializer=pb.OptimizeResponse.FromString,
    )
    stub_call(request, timeout=timeout)
    return time.monotonic() - start


def process_tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MiB (Linux ``/proc``; 0 elsewhere)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as handle:
                pending += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return total


def summarize(answers: Sequence[Answer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer.code.name] = counts.get(answer.code.name, 0) + 1
    return counts
