"""A task from plain data: its sizes, then its facts, each read by one registered reader.

A task's facts (``blocks``, ``routing``, ``defects``, ``acceptance``, ``chunkable``,
``steps``, ``cascade``, ``baseline``, ``discrete``, ``executor``, ``tool``) say which operators
apply to it and with which sizes.
Each is read by one small function registered in :data:`FACT_READERS` under the fact's key,
which is also the :class:`~aalps.cost_models.domain.Task` field it fills. A fact given as an
object declares its keys with the reader; :func:`read_task` checks them before the reader
runs, so a reader sees only known keys. Adding a task fact touches one reader here, the
:class:`~aalps.cost_models.domain.Task` field and the ``.proto`` message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy
from aalps.cost_models.cascade_facts import CASCADE_KEYS, read_cascade
from aalps.cost_models.domain import (
    CHUNK,
    Acceptance,
    Blocks,
    Chunkable,
    Defects,
    Operator,
    Routing,
    Steps,
    Task,
)
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import ExpressionReader, check_keys, read_enum, read_mapping
from aalps.cost_models.tools import check_tool_task, read_executor, read_tool

__all__ = ["FACT_READERS", "TASK_KEYS", "FactReader", "read_task"]

#: ``reader(value, field, expressions, errors)``: the fact, or None when it is wrong.
Reader = Callable[[Any, str, ExpressionReader, Violations], Any]


@dataclass(frozen=True)
class FactReader:
    """How one task fact is read.

    ``keys`` are the fact's own keys when it is an object (the reader then gets the checked
    mapping; an absent fact is None without calling it), None for a plain value (the reader
    gets the raw value, None when absent, and supplies the default).
    """

    read: Reader
    keys: frozenset[str] | None = None


#: The task facts by key (the :class:`~aalps.cost_models.domain.Task` field), in reading order.
FACT_READERS: dict[str, FactReader] = {}

_ONE = sympy.Integer(1)
_ZERO = sympy.Integer(0)


def fact(name: str, keys: set[str] | None = None) -> Callable[[Reader], Reader]:
    """Register the decorated function as the reader of task fact ``name``."""

    def register(read: Reader) -> Reader:
        FACT_READERS[name] = FactReader(read, None if keys is None else frozenset(keys))
        return read

    return register


def _required(raw: Mapping[str, Any], key: str, field: str, errors: Violations) -> None:
    """Report ``key`` as required when it is absent (a wrong value was reported already)."""
    if raw.get(key) is None:
        errors.add(f"{field}.{key}", "is required")


@fact("blocks", {"count", "size", "output"})
def _blocks(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Blocks | None:
    """Independent blocks (MAP): their count, size and the tokens written per block."""
    count = ex.parse(raw.get("count"), f"{field}.count", errors)
    size = ex.parse(raw.get("size"), f"{field}.size", errors, tokens=True)
    if count is None or size is None:
        _required(raw, "count", field, errors)
        _required(raw, "size", field, errors)
        return None
    output = ex.parse(raw.get("output"), f"{field}.output", errors, default=size, tokens=True)
    return Blocks(count, size, output or size)


@fact("routing", {"tokens", "capability", "code_router"})
def _routing(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Routing | None:
    """Variants to route between (ROUTE): the routing decision's tokens, its capability,
    and the code that routes instead of a delegator (:mod:`aalps.cost_models.tools`)."""
    tokens = ex.parse(raw.get("tokens"), f"{field}.tokens", errors, default=_ONE, tokens=True)
    router = read_tool(raw.get("code_router"), f"{field}.code_router", errors)
    return Routing(tokens or _ONE, str(raw.get("capability") or ""), router)


#: The largest iteration or attempt cap a task may state.
MAX_CAP = 1_000_000


def _cap(raw: Mapping[str, Any], key: str, field: str, errors: Violations) -> int | None:
    """An optional cap: a whole number in [1, MAX_CAP] (None when absent)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAP:
        errors.add(f"{field}.{key}", f"must be a whole number from 1 to {MAX_CAP:,}, got {value!r}")
        return None
    return value


@fact("defects", {"count", "report_tokens", "max_iterations"})
def _defects(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Defects | None:
    """Defects to find and fix (the repair operators): their count, a report's tokens."""
    count = ex.parse(raw.get("count"), f"{field}.count", errors)
    report = ex.parse(
        raw.get("report_tokens"),
        f"{field}.report_tokens",
        errors,
        default=_ZERO,
        allow_zero=True,
    )
    if count is None:
        _required(raw, "count", field, errors)
        return None
    cap = _cap(raw, "max_iterations", field, errors)
    return Defects(count, report if report is not None else _ZERO, cap)


@fact("acceptance", {"success_probability", "verifier", "max_attempts"})
def _acceptance(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Acceptance | None:
    """A check of each attempt (the retry operators): its pass rate, its verifier."""
    where = f"{field}.success_probability"
    p = ex.parse(raw.get("success_probability"), where, errors)
    if p is None:
        _required(raw, "success_probability", field, errors)
        return None
    if p.free_symbols or not 0 < p <= 1:
        errors.add(where, "must be a number in (0, 1]")
        return None
    cap = _cap(raw, "max_attempts", field, errors)
    return Acceptance(p, str(raw.get("verifier") or ""), cap)


@fact("chunkable", {"aggregate_tokens", "aggregator"})
def _chunkable(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Chunkable | None:
    """An input to cut into chunks (CHUNK_AGGREGATE): tokens written per chunk, aggregator."""
    written = ex.parse(
        raw.get("aggregate_tokens"),
        f"{field}.aggregate_tokens",
        errors,
        default=_ONE,
        extra={"chunk": CHUNK},
    )
    return Chunkable(written or _ONE, str(raw.get("aggregator") or ""))


@fact("steps", {"count", "tokens", "output"})
def _steps(
    raw: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Steps | None:
    """A chain of decisions (AHEAD_BY_K): their count, tokens read and written per step."""
    count = ex.parse(raw.get("count"), f"{field}.count", errors)
    tokens = ex.parse(raw.get("tokens"), f"{field}.tokens", errors, default=_ONE, tokens=True)
    output = ex.parse(raw.get("output"), f"{field}.output", errors, default=_ONE, tokens=True)
    if count is None:
        _required(raw, "count", field, errors)
        return None
    return Steps(count, tokens or _ONE, output or _ONE)


fact("cascade", set(CASCADE_KEYS))(read_cascade)  # models tried in order (CASCADE)


@fact("baseline")
def _baseline(value: Any, field: str, ex: ExpressionReader, errors: Violations) -> Operator | None:
    """The operator of the task's baseline plan (None: the default baseline)."""
    return read_enum(Operator, value, field, errors, None)


@fact("discrete")
def _discrete(value: Any, field: str, ex: ExpressionReader, errors: Violations) -> bool:
    """Whether the answer is discrete, so that votes can be taken on it."""
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.add(field, "must be true or false")
        return False
    return value


fact("executor")(lambda value, field, ex, errors: read_executor(value, field, errors))
fact("tool")(lambda value, field, ex, errors: read_tool(value, field, errors))

#: Every key a task may have: its own, then its facts'.
TASK_KEYS = frozenset(
    {"id", "capability", "role_capabilities", "input_tokens", "output_tokens", "prompt_tokens"}
    | set(FACT_READERS)
)


def read_task(
    data: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Task | None:
    """The task at ``field``: its id, capabilities and sizes, then every fact's reader.

    Parameters
    ----------
    data
        The task's plain data.
    field
        Its path (``graph.tasks[3]``), prefixed to every violation.
    ex
        Parses expressions over the request's parameters.
    errors
        Collects the violations.

    Returns
    -------
    Task or None
        None when the task cannot be built (its problems are in ``errors``).
    """
    check_keys(data, TASK_KEYS, field, errors)
    task_id = data.get("id")
    if not isinstance(task_id, str) or not task_id.strip() or len(task_id) > 128:
        errors.add(f"{field}.id", "must be a non-empty string of at most 128 characters")
        return None
    capability = data.get("capability")
    roles = read_mapping(data.get("role_capabilities"), f"{field}.role_capabilities", errors)
    if not capability and not roles and data.get("executor") in (None, "", "LLM"):
        errors.add(f"{field}.capability", "a task needs a capability (or role_capabilities)")
    input_tokens = ex.parse(
        data.get("input_tokens"), f"{field}.input_tokens", errors, allow_zero=True
    )
    facts = {name: _read_fact(name, data, field, ex, errors) for name in FACT_READERS}
    if input_tokens is None:
        blocks = facts["blocks"]
        if data.get("input_tokens") is None and blocks is not None:
            input_tokens = blocks.count * blocks.size  # count x size must stay in range too
            before = len(errors.items)
            if ex.value(input_tokens, f"{field}.blocks", errors) is None and errors.items[before:]:
                return None
        else:
            if data.get("input_tokens") is None:
                errors.add(f"{field}.input_tokens", "is required")
            return None
    output = ex.parse(
        data.get("output_tokens"), f"{field}.output_tokens", errors, default=_ONE, tokens=True
    )
    prompt = ex.parse(
        data.get("prompt_tokens"),
        f"{field}.prompt_tokens",
        errors,
        default=_ZERO,
        allow_zero=True,
    )
    task = Task(
        id=task_id,
        capability=str(capability or ""),
        input_tokens=input_tokens,
        output_tokens=output or _ONE,
        prompt_tokens=prompt or _ZERO,
        role_capabilities={str(k): str(v) for k, v in roles.items()},
        **facts,
    )
    check_tool_task(task, field, errors)
    return task


def _read_fact(
    name: str, data: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Any:
    """Fact ``name`` of a task: its object's keys checked, then its reader."""
    reader = FACT_READERS[name]
    where = f"{field}.{name}"
    value = data.get(name)
    if reader.keys is None:
        return reader.read(value, where, ex, errors)
    if value is None:
        return None
    raw = read_mapping(value, where, errors)
    check_keys(raw, reader.keys, where, errors)
    return reader.read(raw, where, ex, errors)
