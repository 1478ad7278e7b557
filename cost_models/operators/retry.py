"""Retry until verified: GLOBAL_RETRY redoes the whole input, LOCAL_RETRY one block at a time.

With ``acceptance.success_probability`` a per block and worker reliability p, one global
attempt over ``count`` blocks is right with probability ``p·a^count`` (with a code verifier,
expected attempts its inverse: the paper's 2^k, §3.3); a local attempt on one block with
``p·a``. The verifier is code (free) unless ``acceptance.verifier`` names a capability: then
an LLM role reads each attempt's output and errs on *each check* (DESIGN §2): with ``r`` the
chance an attempt is right and ``v`` the verifier's reliability, it accepts a right attempt
with probability ``v`` and a wrong one with ``1−v``. One attempt is accepted with
``a = r·v + (1−r)(1−v)`` (expected attempts ``1/a``), and the accepted result is right with
``r·v/a``. ``acceptance.max_attempts`` caps the attempts of each unit (a block under
LOCAL_RETRY, the whole under GLOBAL_RETRY): a geometric truncated at the cap
(:func:`capped_attempts`), whose lost success the task's success carries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import mpmath
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
    chain_decisions,
)
from aalps.cost_models.stochastic import geometric_variance

__all__ = [
    "GlobalRetry",
    "LocalRetry",
    "accepted_share",
    "capped_attempts",
    "capped_reached",
    "verified_acceptance",
    "whole_call",
]


class _Retry(OperatorSpec):
    needs_blocks = False

    def missing(self, task: Task) -> str | None:
        if task.acceptance is None:
            return "needs the acceptance fact"
        if self.needs_blocks and task.blocks is None:
            return "needs the blocks fact"
        return None

    def roles(self, task: Task) -> tuple[RoleSpec, ...]:
        assert task.acceptance is not None
        worker = RoleSpec("worker", task.role_capability(self.operator, "worker"), votable=False)
        if not task.acceptance.verifier:
            return (worker,)
        verifier = task.role_capability(self.operator, "verifier", task.acceptance.verifier)
        return (worker, RoleSpec("verifier", verifier, votable=False))


def whole_call(shape: TaskShape) -> tuple[Value, Value, Value]:
    """GLOBAL_RETRY's one attempt over the whole input: the blocks it holds (1 without
    blocks), its input tokens (the prompt and every block, or the whole input) and its
    output tokens."""
    if shape.block_count != 0:
        count = shape.block_count
        return count, shape.prompt + count * shape.block_size, count * shape.block_output
    return 1, shape.prompt + shape.whole_input, shape.output


def verified_acceptance(right: Value, check: Value) -> tuple[Value, Value]:
    """(P(an attempt is accepted), P(an accepted attempt is right)) for one unit.

    ``right``: the chance an attempt is right; ``check``: the verifier's reliability on each
    check (it accepts a right attempt with ``check`` and a wrong one with ``1 − check``).
    """
    accept = accepted_share(right, check)
    return accept, right * check / accept


def accepted_share(right: Value, check: Value) -> Value:
    """P(an attempt is accepted), :func:`verified_acceptance`'s first figure alone."""
    return right * check + (1 - right) * (1 - check)


def capped_attempts(accept: Value, cap: int) -> tuple[Value, Value, Value]:
    """Attempts of one unit retried until accepted, at most ``cap`` times (0: no cap).

    The attempts are geometric truncated at the cap, ``T = min(G, c)``: expected attempts
    ``(1 − (1−a)^c)/a``, P(some attempt accepted) ``1 − (1−a)^c``, and (numeric only, 0 for
    symbolic ``a``) ``Var T = Σ_{t=1}^{c} (2t−1)(1−a)^{t−1} − E[T]²``. Without a cap:
    ``1/a``, 1 and the geometric variance (again 0 for symbolic ``a``: a call group's
    variance is read by the numeric evaluation alone, and a symbolic ``(1−a)/a²`` of a new
    ``a`` is a sixth of a first-seen symbolic retry's build).
    """
    symbolic = isinstance(accept, sympy.Basic)
    if not cap:
        return 1 / accept, 1, 0 if symbolic else geometric_variance(accept)
    if symbolic:
        reached = capped_reached(accept, cap)
        return reached / accept, reached, 0
    if accept >= 1:
        return accept * 0 + 1, accept * 0 + 1, 0.0
    reached = capped_reached(accept, cap)
    mean = reached / accept if accept > 0 else accept * 0 + cap
    m = float(1 - accept)
    if cap <= _DIRECT_SUM:
        second = math.fsum((2 * t - 1) * m ** (t - 1) for t in range(1, cap + 1))
    else:  # Σ (2t−1)·m^{t−1} in closed form
        second = (1 + m - (2 * cap + 1) * m**cap + (2 * cap - 1) * m ** (cap + 1)) / (1 - m) ** 2
    return mean, reached, max(second - float(mean) ** 2, 0.0)


#: Caps up to this many attempts sum the second moment term by term (exact near a = 0).
_DIRECT_SUM = 4096


def capped_reached(accept: Value, cap: int) -> Value:
    """P(some attempt of a unit accepted) within a ``cap`` of attempts (not 0):
    :func:`capped_attempts`' second figure alone, by the same operations."""
    if isinstance(accept, sympy.Basic):
        return 1 - (1 - accept) ** cap
    if accept >= 1:
        return accept * 0 + 1
    # 1 − (1−a)^c without cancellation when a is tiny (2^−k far along the ray).
    big = isinstance(accept, mpmath.mpf)
    log1p, expm1 = (mpmath.log1p, mpmath.expm1) if big else (math.log1p, math.expm1)
    return -expm1(cap * log1p(-accept))


def _groups(
    units: Value,
    tokens_in: Value,
    tokens_out: Value,
    right: Value,
    reliability: Reliability,
    with_verifier: bool,
    prompt: Value,
    cap: int = 0,
    success_wanted: bool = True,
    groups_wanted: bool = True,
) -> tuple[tuple[CallGroup, ...], Value]:
    """Calls for ``units`` independent units, each retried until an attempt is accepted.

    ``right`` is the chance one attempt of a unit is right. A code verifier accepts exactly
    the right attempts; an LLM verifier errs on each check (see the module docstring). With
    a ``cap`` each unit stops after that many attempts (:func:`capped_attempts`); a unit
    none of whose attempts was accepted fails the task.

    Without ``success_wanted`` (:data:`~.arithmetic.SYMBOLIC_COST`) the success is left
    :data:`~.arithmetic.UNWORKED`: the groups read the acceptance, never the accepted
    attempts' rightness nor the success's powers (over half of a symbolic build). Without
    ``groups_wanted`` (:data:`~.arithmetic.BIG_SUCCESS`, the far point's mpmath success) the
    groups are empty: only the success is worked out (:func:`_success_alone`).
    """
    check_in = prompt + tokens_out
    if not groups_wanted:  # :data:`~.arithmetic.BIG_SUCCESS`: no attempts, calls, variance
        return (), _success_alone(units, right, reliability, with_verifier, check_in, cap)
    success: Value = 1
    accept = right
    if with_verifier:
        check = reliability("verifier", check_in)
        if success_wanted:
            accept, right_when_accepted = verified_acceptance(right, check)
            success = power(right_when_accepted, units)
        else:
            accept = accepted_share(right, check)
    attempts, reached, one_variance = capped_attempts(accept, cap)
    if not success_wanted:
        success = UNWORKED
    elif cap:
        success = success * power(reached, units)
    calls = units * attempts
    variance = units * one_variance
    groups = [
        CallGroup(
            "worker",
            calls,
            tokens_in,
            tokens_out,
            parallel=units,
            stages=attempts,
            variance=variance,
            # The exact negative-binomial tail holds only without a cap.
            retry_units=0 if cap else units,
            retry_accept=1 if cap else accept,
        )
    ]
    if with_verifier:
        groups.append(
            CallGroup(
                "verifier",
                calls,
                check_in,
                1,
                parallel=units,
                stages=attempts,
                follows="worker",
            )
        )
    return tuple(groups), success


def _success_alone(
    units: Value,
    right: Value,
    reliability: Reliability,
    with_verifier: bool,
    check: Value,
    cap: int,
) -> Value:
    """:func:`_groups`' success without its groups, by the same operations: the verified
    share and its rightness, the capped acceptance (:func:`capped_reached`), their powers;
    not the attempts' mean and variance nor the calls, which only the groups read (the
    mpmath variance is most of a far-point success run). ``check``: the verifier's input."""
    success: Value = 1
    accept = right
    if with_verifier:
        accept, right_when_accepted = verified_acceptance(right, reliability("verifier", check))
        success = power(right_when_accepted, units)
    if cap:
        success = success * power(capped_reached(accept, cap), units)
    return success


class GlobalRetry(_Retry):
    operator = Operator.GLOBAL_RETRY
    shape_fields = frozenset(
        {
            "acceptance",
            "block_count",
            "block_output",
            "block_size",
            "llm_verifier",
            "max_attempts",
            "output",
            "prompt",
            "step_count",
            "whole_input",
        }
    )

    def schedule(
        self,
        shape: TaskShape,
        reliability: Reliability,
        params: Mapping[str, int],
        arithmetic: Arithmetic,
    ) -> Schedule:
        count, tokens_in, tokens_out = whole_call(shape)
        decisions = chain_decisions(shape, 1)
        right = reliability("worker", tokens_in, decisions) * power(shape.acceptance, count)
        groups, success = _groups(
            1,
            tokens_in,
            tokens_out,
            right,
            reliability,
            shape.llm_verifier,
            shape.prompt,
            shape.max_attempts,
            arithmetic.success,
            arithmetic.groups,
        )
        return Schedule(groups, success)


class LocalRetry(_Retry):
    operator = Operator.LOCAL_RETRY
    shape_fields = frozenset(
        {
            "acceptance",
            "block_count",
            "block_output",
            "block_size",
            "llm_verifier",
            "max_attempts",
            "prompt",
            "step_count",
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
        tokens_in = shape.prompt + shape.block_size
        decisions = chain_decisions(shape, shape.block_count)
        right = reliability("worker", tokens_in, decisions) * shape.acceptance
        groups, success = _groups(
            shape.block_count,
            tokens_in,
            shape.block_output,
            right,
            reliability,
            shape.llm_verifier,
            shape.prompt,
            shape.max_attempts,
            arithmetic.success,
            arithmetic.groups,
        )
        return Schedule(groups, success)
