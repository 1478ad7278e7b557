"""Find-and-fix loops over a task with ``defects``: the paper's debugging example (§3.2).

ITERATE_WITH_HISTORY is the anthropomorphic QA/developer chat: at iteration ``i`` (1..b)
both agents read the whole history, ``i`` versions of the input and the reports so far, and
the developer rewrites the whole input. ITERATE_STATELESS drops the history. SCAN_AND_FIX
reads each block once and rewrites only the ``b`` flagged blocks. Their decisions are the
defects' fixes, one per call, whether or not the task also has a ``steps`` fact.
``defects.max_iterations`` caps the ITERATE_* loops: each iteration fixes one defect, so a cap
below the defect count runs that many iterations and leaves the rest unfixed (success 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import sympy
from aalps.cost_models.arithmetic import UNWORKED, Arithmetic, Value, power
from aalps.cost_models.domain import Operator, Task
from aalps.cost_models.operators.base import (
    CallGroup,
    OperatorSpec,
    Reliability,
    RoleSpec,
    Schedule,
    TaskShape,
    discrete_answer,
    per_shape,
)

__all__ = ["IterateStateless", "IterateWithHistory", "ScanAndFix"]


#: The shape fields both iterating repairs read (for :mod:`aalps.optimizer.operator_twins`).
_ITERATE_FIELDS = frozenset(
    {"defect_count", "max_iterations", "prompt", "report_tokens", "report_written", "whole_input"}
)


class _Repair(OperatorSpec):
    needs_blocks = False

    def missing(self, task: Task) -> str | None:
        if task.defects is None:
            return "needs the defects fact"
        if self.needs_blocks and task.blocks is None:
            return "needs the blocks fact"
        return None

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        assert task.defects is not None
        report = task.defects.report_tokens
        written = report if report != 0 else 1  # a detector writes at least one token
        return (
            RoleSpec(
                "detector",
                task.role_capability(self.operator, "detector"),
                votable=discrete_answer(task, written),
            ),
            RoleSpec("fixer", task.role_capability(self.operator, "fixer"), votable=False),
        )


def _capped(shape: TaskShape) -> tuple[Value, Value, Value]:
    """(iterations, input, report tokens) of an ITERATE_* loop under ``max_iterations``.

    Each iteration fixes one defect (the operators' model: ``b`` iterations, each right with
    its calls' reliability), so a cap ``c`` runs ``min(b, c)`` iterations; with ``c < b``
    the defects past the cap stay unfixed (:func:`_cap_reached`).
    """
    b = shape.defect_count
    cap = shape.max_iterations
    if cap and _known(b) and float(b) > cap:
        b = b * 0 + cap  # the arithmetic's own number type
    return b, shape.whole_input, shape.report_tokens


def _known(value: Value) -> bool:
    """Whether ``value`` is a number (a float, an mpf or a sympy number, not a symbol)."""
    return not isinstance(value, sympy.Basic) or bool(value.is_number)


def _cap_reached(shape: TaskShape) -> Value:
    """1 when ``max_iterations`` covers every defect (or there is none), else 0.

    Symbolic with a growing defect count: 1, and the cost is the uncapped loop's (a cap is a
    number, the defects grow past it; the numeric figures at each point apply the cap).
    """
    b, cap = shape.defect_count, shape.max_iterations
    if not cap or not _known(b):
        return 1
    return 1 if round(float(b)) <= cap else 0


class IterateWithHistory(_Repair):
    operator = Operator.ITERATE_WITH_HISTORY
    shape_fields = _ITERATE_FIELDS

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        groups, reached, b, n, r, first, inputs, mean = _history_layout(shape)
        if inputs is not None and not arithmetic.symbolic:
            # :func:`_iterated_success`'s numeric product, the calls' inputs worked out.
            success: Value = 1
            for detect_in, fix_in in inputs:
                success = success * reliability("detector", detect_in)
                success = success * reliability("fixer", fix_in)
        elif mean is not None and not arithmetic.symbolic:
            # :func:`_iterated_success`'s numeric mean form, the mean inputs worked out.
            detect_in, fix_in = mean
            success = power(reliability("detector", detect_in) * reliability("fixer", fix_in), b)
        elif not arithmetic.success:  # the groups alone (:data:`~.arithmetic.SYMBOLIC_COST`)
            success = UNWORKED
        else:
            success = _iterated_success(b, n, r, first, reliability, arithmetic)
        return Schedule(groups, success * reached)


#: Iterations whose calls' inputs a layout lists (more: worked out per scoring).
_LISTED_ITERATIONS = 64


@per_shape
def _history_layout(
    shape: TaskShape,
) -> tuple[
    tuple[CallGroup, ...],
    Value,
    Value,
    Value,
    Value,
    Value,
    tuple[tuple[Value, Value], ...] | None,
    tuple[Value, Value] | None,
]:
    """ITERATE_WITH_HISTORY's (groups, cap reached, iterations, input, report tokens, the
    first detector's input, each iteration's (detector's, fixer's) input when the
    iterations are a number up to ``_LISTED_ITERATIONS``, else None, and the (detector's,
    fixer's) mean input when they are a number past ``_EXACT_ITERATIONS``, else None:
    :func:`_iterated_success`'s steps, the same for every task plan) on ``shape``."""
    b, n, r = _capped(shape)
    # Iteration i: the detector reads i versions and i-1 reports, the fixer also the i-th.
    detect = CallGroup("detector", b, shape.prompt + n, shape.report_written, n + r, stages=b)
    fix = CallGroup("fixer", b, shape.prompt + n + r, n, n + r, stages=b)
    first = shape.prompt + n
    inputs = mean = None
    if not isinstance(b, sympy.Basic):
        if b <= _LISTED_ITERATIONS:
            inputs = tuple(_inputs(int(round(b)), n, r, first))
        elif not b <= _EXACT_ITERATIONS:
            mean = _mean_inputs(b, n, r, first)
    return (detect, fix), _cap_reached(shape), b, n, r, first, inputs, mean


def _inputs(count: int, n: Value, r: Value, first: Value) -> Iterator[tuple[Value, Value]]:
    """Each of ``count`` iterations' (detector's, fixer's) input, as
    :func:`_iterated_success` works them out."""
    for i in range(count):
        detect_in = first + i * (n + r)
        yield detect_in, detect_in + r


#: Beyond this many iterations the numeric success uses the mean input of a call.
_EXACT_ITERATIONS = 10_000


def _iterated_success(
    b: Value, n: Value, r: Value, first: Value, reliability: Reliability, arithmetic: Arithmetic
) -> Value:
    """Success of ``b`` iterations whose calls read more and more history (input ``n``,
    reports of ``r`` tokens, the first detector reading ``first``).

    The product over iterations of each call's reliability at its own input length. With
    votes and a per-token error the reliability is not exponential in the length, so the mean
    length is not enough: the numeric form multiplies call by call (up to
    ``_EXACT_ITERATIONS``); the symbolic form, used for display only, takes the mean.
    """
    if not arithmetic.symbolic and b <= _EXACT_ITERATIONS:
        success: Value = 1
        for detect_in, fix_in in _inputs(int(round(b)), n, r, first):
            success = success * reliability("detector", detect_in)
            success = success * reliability("fixer", fix_in)
        return success
    detect_in, fix_in = _mean_inputs(b, n, r, first)
    return power(reliability("detector", detect_in) * reliability("fixer", fix_in), b)


def _mean_inputs(b: Value, n: Value, r: Value, first: Value) -> tuple[Value, Value]:
    """The (detector's, fixer's) mean input over ``b`` iterations (:func:`_inputs`'s)."""
    mean_detect = first + (b - 1) * (n + r) / 2
    return mean_detect, mean_detect + r


class IterateStateless(_Repair):
    operator = Operator.ITERATE_STATELESS
    shape_fields = _ITERATE_FIELDS

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        groups, reached, b, detect_in, fix_in = _stateless_layout(shape)
        success = power(reliability("detector", detect_in) * reliability("fixer", fix_in), b)
        return Schedule(groups, success * reached)


@per_shape
def _stateless_layout(
    shape: TaskShape,
) -> tuple[tuple[CallGroup, ...], Value, Value, Value, Value]:
    """ITERATE_STATELESS's (groups, cap reached, iterations, the detector's and the fixer's
    input) on ``shape``."""
    b, n, r = _capped(shape)
    detect = CallGroup("detector", b, shape.prompt + n, shape.report_written, stages=b)
    fix = CallGroup("fixer", b, shape.prompt + n + r, n, stages=b)
    return (detect, fix), _cap_reached(shape), b, shape.prompt + n, shape.prompt + n + r


class ScanAndFix(_Repair):
    operator = Operator.SCAN_AND_FIX
    shape_fields = frozenset(
        {
            "block_count",
            "block_output",
            "block_size",
            "defect_count",
            "prompt",
            "report_tokens",
            "report_written",
        }
    )
    needs_blocks = True

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        groups, k, b, scan_in, fix_in = _scan_layout(shape)
        success = power(reliability("detector", scan_in), k) * power(
            reliability("fixer", fix_in), b
        )
        return Schedule(groups, success)


@per_shape
def _scan_layout(shape: TaskShape) -> tuple[tuple[CallGroup, ...], Value, Value, Value, Value]:
    """SCAN_AND_FIX's (groups, blocks, defects, the scan's and the fix's input) on ``shape``."""
    k, b, r = shape.block_count, shape.defect_count, shape.report_tokens
    scan_in = shape.prompt + shape.block_size
    fix_in = scan_in + r
    scan = CallGroup("detector", k, scan_in, shape.report_written, parallel=k)
    fix = CallGroup("fixer", b, fix_in, shape.block_output, parallel=b)
    return (scan, fix), k, b, scan_in, fix_in
