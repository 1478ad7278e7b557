"""The contract every decomposition operator fulfils, and the records it returns.

An operator turns one task into a :class:`Schedule`: groups of LLM calls (who makes them,
how many, how many tokens each reads and writes, which run side by side) and the
probability that the task ends right. It writes this once, in plain arithmetic over a
:class:`TaskShape` and an :class:`~aalps.cost_models.arithmetic.Arithmetic`, so the same code yields
the symbolic cost (for bounds) and the numeric one (for the search). Pricing the calls under a
cost model, votes and latency are applied by :mod:`aalps.cost_models.evaluation`, not here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Protocol, TypeVar

from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.domain import Model, Operator, Task

__all__ = [
    "CallGroup",
    "OperatorSpec",
    "ParamSpec",
    "RatedReliability",
    "Reliability",
    "RoleSpec",
    "Schedule",
    "StageRates",
    "TaskShape",
    "ToolUse",
    "chain_decisions",
    "discrete_answer",
    "per_shape",
]


class Reliability(Protocol):
    """``reliability(role, input_tokens, decisions)``: the chance one call of the role is right.

    The model's per-token error is applied, then the call's ``decisions`` (a call that writes
    ``d`` decisions of a ``steps`` chain is right only if all ``d`` are: ``p^d``), then the
    role's votes (a majority over whole calls).
    """

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> Value: ...

    def correlation(self, role: str) -> float:
        """ρ of the role's model's samples of one input (:mod:`..correlated_votes`)."""
        ...


class StageRates(Protocol):
    """``rates(role)``: a CASCADE stage's (accept rate, accepted accuracy or None)."""

    def __call__(self, role: str, /) -> tuple[Value, Value | None]: ...


@dataclass(frozen=True)
class RatedReliability:
    """A :class:`Reliability` that also gives each CASCADE stage's rates.

    CASCADE's :meth:`OperatorSpec.rated` makes one; the other operators get the plain
    reliability.
    """

    reliability: Reliability
    rates: StageRates

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> Value:
        return self.reliability(role, tokens_in, decisions)

    def correlation(self, role: str) -> float:
        return self.reliability.correlation(role)


def discrete_answer(task: Task, written: Value) -> bool:
    """Whether calls that write ``written`` tokens of ``task`` have an answer a vote can take.

    A majority needs a discrete answer: a call that writes exactly one token (a label, a
    routing decision) that is not a whole ``steps`` chain, or any call of a task that declares
    ``discrete: true`` (issue 7, item 7).
    """
    if task.discrete:
        return True
    return bool(written == 1) and task.steps is None


def chain_decisions(shape: TaskShape, calls: Value) -> Value:
    """Decisions of a ``steps`` chain that each of ``calls`` calls makes (1 without steps).

    A task with ``steps {count}`` is a chain of ``count`` decisions whatever the operator:
    calls that split the chain between them make ``count/calls`` decisions each, so the
    product of their successes is ``p^count``.
    """
    if shape.step_count == 0:
        return 1
    if calls == 0:
        return 0
    return shape.step_count / calls


@dataclass(frozen=True)
class RoleSpec:
    """A role of an operator: the capability its model needs and what it may use."""

    name: str
    capability: str
    per_variant_allowed: bool = False
    votable: bool = True


@dataclass(frozen=True)
class ParamSpec:
    """An integer parameter of an operator, searched on ``[low, high]`` (log scale if asked)."""

    name: str
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True, init=False)
class CallGroup:
    """Calls of one role. Call ``j`` (1-based) reads ``input + (j−1)·input_step`` tokens.

    ``calls`` is the expected number of calls before votes; ``stages`` sequential stages of
    ``parallel`` concurrent calls each give the latency. When retries make the number of
    calls random, ``variance`` is its variance (numeric evaluation only) and, for
    retry-until-accepted, ``retry_units`` independent units each accepted with probability
    ``retry_accept`` per attempt describe it exactly. A group that makes one call per attempt
    of another role's group (a verifier) names that role in ``follows``: the two counts are
    the same random number, so their costs vary together. ``nested`` groups are the stages
    of a cascade: ``calls`` is the chance the stage runs, and it runs only when every
    nested group before it did (the evaluator's variance counts their covariances).
    """

    role: str
    calls: Value
    input: Value
    output: Value
    input_step: Value = 0
    parallel: Value = 1
    stages: Value = 1
    variance: Value = 0
    retry_units: Value = 0
    retry_accept: Value = 1
    follows: str = ""
    nested: bool = False

    def __init__(
        self,
        role: str,
        calls: Value,
        input: Value,  # noqa: A002 - the field's name
        output: Value,
        input_step: Value = 0,
        parallel: Value = 1,
        stages: Value = 1,
        variance: Value = 0,
        retry_units: Value = 0,
        retry_accept: Value = 1,
        follows: str = "",
        nested: bool = False,
    ) -> None:
        # The dataclass's own ``__init__`` sets each field through ``object.__setattr__``
        # (2.5 µs); every scored candidate builds one or two groups, so the fields go
        # straight into the instance's dict (0.9 µs): the same record.
        state = self.__dict__
        state["role"] = role
        state["calls"] = calls
        state["input"] = input
        state["output"] = output
        state["input_step"] = input_step
        state["parallel"] = parallel
        state["stages"] = stages
        state["variance"] = variance
        state["retry_units"] = retry_units
        state["retry_accept"] = retry_accept
        state["follows"] = follows
        state["nested"] = nested

    def max_input(self) -> Value:
        return self.input + (self.calls - 1) * self.input_step if self.input_step else self.input


@dataclass(frozen=True)
class ToolUse:
    """Calls of a tool or of code (:mod:`aalps.cost_models.tools`): no forward pass, a price
    per call under PRICED, a latency each, run before the calls that need them."""

    role: str
    calls: Value
    price: Value
    latency: Value


@dataclass(frozen=True, init=False)
class Schedule:
    """What a task costs under one operator, before calls are priced."""

    groups: tuple[CallGroup, ...]
    success: Value
    tools: tuple[ToolUse, ...] = ()

    def __init__(
        self, groups: tuple[CallGroup, ...], success: Value, tools: tuple[ToolUse, ...] = ()
    ) -> None:
        # As :class:`CallGroup`'s: the fields straight into the dict (one per candidate).
        state = self.__dict__
        state["groups"] = groups
        state["success"] = success
        state["tools"] = tools


@dataclass(frozen=True)
class TaskShape:
    """A task's sizes in one arithmetic (all sympy expressions, or all numbers).

    ``whole_input`` is the task's input plus the tokens its incoming edges carry;
    ``aggregate_tokens`` maps a chunk size to the tokens one chunk's call writes.
    """

    whole_input: Value
    output: Value
    prompt: Value
    block_count: Value = 0
    block_size: Value = 0
    block_output: Value = 0
    routing_tokens: Value = 0
    defect_count: Value = 0
    report_tokens: Value = 0
    acceptance: Value = 1
    llm_verifier: bool = False
    llm_aggregator: bool = False
    aggregate_tokens: Callable[[Value], Value] | None = None
    step_count: Value = 0
    step_tokens: Value = 0
    step_output: Value = 1
    #: ``acceptance.max_attempts`` and ``defects.max_iterations`` (0: no cap).
    max_attempts: int = 0
    max_iterations: int = 0
    #: The step count at the scale point (a number in every arithmetic): AHEAD_BY_K's lead
    #: ``ahead`` is the lead there, and it grows with the steps along the scale ray.
    step_reference: Value = 0
    #: A TOOL/CODE task's tool, and ROUTE's code router (:mod:`aalps.cost_models.tools`).
    tool_task: bool = False
    tool_price: Value = 0
    tool_latency: Value = 0
    tool_failure: Value = 0
    code_router: bool = False
    router_price: Value = 0
    router_latency: Value = 0
    router_failure: Value = 0

    @property
    def report_written(self) -> Value:
        """A detector writes its report, and at least one token."""
        return self.report_tokens if self.report_tokens != 0 else 1


_Layout = TypeVar("_Layout")

#: The most shapes a :func:`per_shape` memo keeps (then it starts over): the shapes of a
#: large request at the points it scores (a 1,000-task one has under two thousand).
MAX_SHAPES = 1 << 12


def per_shape(build: Callable[[TaskShape], _Layout]) -> Callable[[TaskShape], _Layout]:
    """``build(shape)`` remembered per shape object: an operator's call groups and sizes
    that read the shape alone (not the reliability), the same for every task plan of the
    task the operator scores there (one per choice of models), built once.

    Kept by the shape's ``id`` beside the shape itself (a recycled id never matches); a
    shape is frozen, so the values are the ones ``build`` gives it on every call (the same
    objects: call groups are frozen too). The source walk of ``test_shape_fields`` reads
    ``build`` (``__wrapped__``)."""
    memo: dict[int, tuple[TaskShape, _Layout]] = {}

    @wraps(build)
    def remembered(shape: TaskShape) -> _Layout:
        known = memo.get(id(shape))
        if known is not None and known[0] is shape:
            return known[1]
        layout = build(shape)
        if len(memo) >= MAX_SHAPES:
            memo.clear()
        memo[id(shape)] = (shape, layout)
        return layout

    return remembered


class OperatorSpec(ABC):
    """One decomposition operator: when it applies, its roles, parameters and schedule."""

    operator: Operator
    #: The :class:`TaskShape` fields :meth:`schedule` may read, on any path (None: not
    #: declared). Two tasks whose shapes agree on them get the same schedule from the same
    #: reliability and parameters: :mod:`aalps.optimizer.operator_twins` shares their figures
    #: (``tests/cost_models/test_shape_fields.py`` checks the declarations).
    shape_fields: frozenset[str] | None = None

    @abstractmethod
    def missing(self, task: Task) -> str | None:
        """Why the operator does not apply to ``task`` (a missing fact), or None if it does."""

    @abstractmethod
    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        """The roles of the operator on ``task``, in a fixed order."""

    def rated(
        self,
        task: Task,
        models: Mapping[str, Model],
        capability: Mapping[str, str],
        reliability: Reliability,
        arithmetic: Arithmetic,
    ) -> Reliability:
        """The reliability :meth:`schedule` gets for ``models`` (role -> model): as given,
        but for CASCADE, whose stages' rates come with it (a :class:`RatedReliability`)."""
        return reliability

    def plan_roles(self, task: Task, params: Mapping[str, int]) -> tuple[RoleSpec, ...]:
        """The roles a task plan with ``params`` assigns (all of :meth:`roles` but for
        CASCADE, whose ``stages`` param says how many stages run)."""
        return self.roles(task)

    def params(self, task: Task) -> tuple[ParamSpec, ...]:
        """Integer parameters, with the widest range the operator allows (windows aside)."""
        return ()

    @abstractmethod
    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        """The calls and success probability of the operator on a task of this shape."""
