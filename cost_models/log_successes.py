"""An underflowed success's log in floats: the operator's own formula, run on logs.

Far along the scale ray a task plan's success can fall below the smallest float (``p^b``
with ``b`` in the millions): the float run gives 0.0 and the log used to come from an
mpmath run of the whole schedule (tens of microseconds, thousands of plans per large
request). For the operators whose success is a product of powers of their roles'
reliabilities (``_PRODUCT_OPERATORS``), the same formula runs here on
:class:`LogProbability` numbers instead: each role's reliability is handed to the
operator as its log, a product adds logs and a power multiplies one. Every term of such
a log is a log of a probability (not positive), so the sums have no cancellation and the
log comes out within a few units in the last place of the exact one, as the mpmath run's
does (``tests/cost_models/test_log_successes.py`` checks both against mpmath at 50 digits).
AHEAD_BY_K's success, its step success ``1/(1+odds)`` to the steps, has its log in closed
form, ``−steps·log1p(odds)`` (:func:`_ahead_by_k_log`); a verified retry's without a cap,
its accepted attempts' rightness to the units, as the sum of its factors' logs or the float
share's log times the units (:func:`_retry_log`).

Anything else the formula asks of a number (a sum, a comparison; of a reliability below
the normal floats, a majority of votes whose later terms count, a correlated vote, an
ensemble) is not supported: :func:`float_log_success` gives None and the caller takes the
mpmath run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from aalps.cost_models.arithmetic import FLOAT, Value, power
from aalps.cost_models.domain import Operator
from aalps.cost_models.operators import OperatorSpec, TaskShape
from aalps.cost_models.operators.base import chain_decisions
from aalps.cost_models.operators.retry import verified_acceptance, whole_call
from aalps.cost_models.operators.voting import numeric_lead
from aalps.cost_models.stochastic import majority_vote_success
from aalps.cost_models.vote_reliability import RoleReliability

__all__ = ["LOG_OPERATORS", "LOG_SUCCESS", "LogProbability", "float_log_success"]

#: The operators whose success (the unverified acceptance aside, which
#: :func:`float_log_success` adds) is a product of their roles' reliabilities, their
#: powers to shape figures and factors in [0, 1] read from the shape that never underflow
#: (``1 - failure`` of a code router, whether an iteration cap is reached): the formulas
#: :class:`LogProbability` runs exactly. (The retries multiply by the acceptance to the
#: block count in floats, CASCADE and AHEAD_BY_K take sums.)
_PRODUCT_OPERATORS = frozenset(
    {
        Operator.DIRECT,
        Operator.MAP,
        Operator.ROUTE,
        Operator.CHUNK_AGGREGATE,
        Operator.ITERATE_WITH_HISTORY,
        Operator.ITERATE_STATELESS,
        Operator.SCAN_AND_FIX,
    }
)
#: The operators whose underflowed success's log :func:`float_log_success` works out:
#: the products above, AHEAD_BY_K's power of its step success (:func:`_ahead_by_k_log`) and
#: the retries' verified successes without a cap (:func:`_retry_log`).
LOG_OPERATORS = _PRODUCT_OPERATORS | {
    Operator.AHEAD_BY_K,
    Operator.GLOBAL_RETRY,
    Operator.LOCAL_RETRY,
}

#: A float arithmetic that asks for the success alone (the operators skip their call
#: groups, as for :data:`~aalps.cost_models.arithmetic.BIG_SUCCESS`).
LOG_SUCCESS = replace(FLOAT, groups=False)

#: A reliability at least this large is a float of full precision worked out from floats
#: of full precision (its terms' smaller powers are normal floats too): its log is taken
#: as it is. (2^-960, well above the smallest normal float, 2^-1022.)
_FULL_PRECISION = 2.0**-960
#: The log of a share of a probability that a 53-bit number cannot hold (2^-60).
_NEGLIGIBLE = -60 * math.log(2)


class Unsupported(TypeError):
    """The formula asked of a :class:`LogProbability` what it does not do."""


class LogProbability:
    """A probability held by its log (a float, −inf for 0): products and powers only."""

    __slots__ = ("log",)

    def __init__(self, log: float) -> None:
        if log != log:  # nan: 0 to the power 0, say (mpmath gives 1)
            raise Unsupported("an undefined log")
        self.log = log

    def __mul__(self, other: Any) -> LogProbability:
        kind = type(other)
        if kind is LogProbability:
            return LogProbability(self.log + other.log)
        if kind is int or kind is float:
            if other > 0:
                return LogProbability(self.log + math.log(other))
            if other == 0:
                return LogProbability(-math.inf)
        raise Unsupported(f"a product with {other!r}")

    __rmul__ = __mul__

    def __pow__(self, exponent: Any) -> LogProbability:
        kind = type(exponent)
        if kind is int or kind is float:
            return LogProbability(self.log * exponent)
        raise Unsupported(f"a power to {exponent!r}")

    def _unsupported(self, *_: Any) -> Any:
        raise Unsupported("a sum or a comparison")

    __add__ = __radd__ = __sub__ = __rsub__ = __truediv__ = __rtruediv__ = _unsupported
    __rpow__ = __neg__ = __float__ = __bool__ = _unsupported
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _unsupported
    __hash__ = None  # type: ignore[assignment]


class LogReliability:
    """A float :class:`~aalps.cost_models.vote_reliability.RoleReliability`'s answers as
    :class:`LogProbability` numbers: the float answer's log when it is a normal float (the
    number the mpmath run rounds to as well), else, for a role of one model, the per-token
    decay and the decisions as products of logs, and a majority of votes by its first term
    where the others do not count (ensembles and correlated votes that small unsupported)."""

    __slots__ = ("_reliability",)

    def __init__(self, reliability: RoleReliability) -> None:
        self._reliability = reliability

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> LogProbability:
        reliability = self._reliability
        value = reliability(role, tokens_in, decisions)
        if value >= _FULL_PRECISION:
            if role not in reliability._ensembles:
                p, keep, votes, rho = reliability._roles[role]
                if votes != 1 and not rho and keep is None and decisions == 1:
                    return LogProbability(_log_majority(p, votes))
            return LogProbability(math.log(value))
        if role in reliability._ensembles:
            raise Unsupported("an ensemble below the normal floats")
        p, keep, votes, rho = reliability._roles[role]
        log = math.log(p) if p > 0 else -math.inf
        if keep is not None:
            log = log + tokens_in * math.log(keep)
        if decisions != 1:
            log = log * decisions
        if votes == 1:
            return LogProbability(log)
        # A majority of ``votes`` samples each right with a probability ``q`` this small:
        # its first term ``C(votes, m)·q^m·(1−q)^(votes−m)`` (``m`` the smallest majority),
        # within a factor ``1 + votes·q`` of the sum and of ``C(votes, m)·q^m``, which a
        # 53-bit run cannot tell apart once ``votes·q < 2^-60``.
        if rho or not log + math.log(votes) < _NEGLIGIBLE:
            raise Unsupported("a vote whose later terms count")
        m = votes // 2 + 1
        return LogProbability(math.log(math.comb(votes, m)) + m * log)

    def correlation(self, role: str) -> float:
        return self._reliability.correlation(role)


@lru_cache(maxsize=1 << 12)
def _log_majority(p: float, votes: int) -> float:
    """The log of a majority of ``votes`` samples each right with probability ``p``.

    A likely majority's log from its failure (the minority's terms): the log of a number
    near 1 to a few units in the last place of itself, where the log of the majority's
    float loses the digits its rounding took (tens of units far along the ray, where the
    log is multiplied by millions of iterations); an unlikely one's from the majority's
    float (:func:`~aalps.cost_models.stochastic.majority_vote_success`), whose terms are
    then the small ones."""
    q = 1.0 - p  # exact for p in [1/2, 1]
    failure = math.fsum(
        math.comb(votes, j) * p**j * q ** (votes - j) for j in range(votes // 2 + 1)
    )
    if failure <= 0.5:
        return math.log1p(-failure)
    majority = majority_vote_success(p, votes)
    return math.log(majority) if majority > 0 else -math.inf


def float_log_success(
    spec: OperatorSpec,
    shape: TaskShape,
    reliability: Any,
    params: Mapping[str, int],
    unverified: bool,
) -> float | None:
    """The log of the success ``spec.schedule`` gives on ``shape`` with ``reliability`` (a
    float :class:`RoleReliability`) and ``params``, times the acceptance to the blocks when
    ``unverified``, worked out on logs; None when the operator is not one of
    :data:`LOG_OPERATORS` or its formula asks what logs do not support."""
    if spec.operator not in LOG_OPERATORS or type(reliability) is not RoleReliability:
        return None
    try:
        if spec.operator is Operator.AHEAD_BY_K:
            log = _ahead_by_k_log(shape, reliability, params["ahead"])
        elif spec.operator is Operator.GLOBAL_RETRY or spec.operator is Operator.LOCAL_RETRY:
            log = _retry_log(spec.operator is Operator.GLOBAL_RETRY, shape, reliability)
        else:
            success = spec.schedule(shape, LogReliability(reliability), params, LOG_SUCCESS).success
            if type(success) is not LogProbability:
                return None  # no reliability in it (a tool's): not an underflow of ours
            log = success.log
        if unverified:
            units = shape.block_count if shape.block_count != 0 else 1
            acceptance = shape.acceptance
            log = log + units * (math.log(acceptance) if acceptance > 0 else -math.inf)
    except Unsupported:
        return None
    return None if log != log else log


def _ahead_by_k_log(shape: TaskShape, reliability: RoleReliability, ahead: int) -> float:
    """The log of AHEAD_BY_K's chain success ``(1/(1+odds))^steps`` on floats, with
    ``odds = ((1−p)/p)^lead`` (:func:`~aalps.cost_models.stochastic.ahead_by_k_step_success`
    at the schedule's lead, :func:`~aalps.cost_models.operators.voting.numeric_lead`):
    ``−steps·log1p(odds)``, a sum of no cancellation (the mpmath run rounds the step success
    near 1 before its log, which loses the digits of a small ``odds``). Independent samples
    of a worker reliability of full precision only (a correlated one takes Beta
    expectations).

    For ``p ≥ 1/2`` the odds (at most 1) are the float power of ``(1−p)/p`` (``1−p`` exact);
    for ``p < 1/2`` they can pass the floats' top, and their log is ``lead·log1p((1−2p)/p)``
    (``1−2p`` rounded once, never cancelling), then ``log1p(odds)`` is that log plus
    ``log1p(1/odds)``: a few units in the last place however near 1 the ratio is."""
    if reliability.correlation("worker") > 0.0:
        raise Unsupported("correlated samples")
    p = reliability("worker", shape.prompt + shape.step_tokens)
    if not _FULL_PRECISION <= p < 1.0:
        raise Unsupported("a worker reliability below the normal floats (or sure)")
    lead = numeric_lead(p, ahead, shape)
    if p >= 0.5:
        odds = ((1.0 - p) / p) ** lead
        if odds < _FULL_PRECISION:
            raise Unsupported("odds below the normal floats")
        step_failure = math.log1p(odds)
    else:
        log_odds = lead * math.log1p((1.0 - 2.0 * p) / p)
        step_failure = log_odds + math.log1p(math.exp(-log_odds))
    return -float(shape.step_count) * step_failure


def _retry_log(whole: bool, shape: TaskShape, reliability: RoleReliability) -> float:
    """The log of a retry's success (GLOBAL_RETRY's when ``whole``, else LOCAL_RETRY's)
    with an LLM verifier and no cap: the accepted attempts' rightness ``r·v/a`` to the
    units, ``a = r·v + (1−r)(1−v)`` (:func:`~aalps.cost_models.operators.retry._groups`,
    ``r`` an attempt's rightness, ``v`` the verifier's reliability), the operator's inputs
    read as its schedule reads them.

    A rightness of full precision: ``r·v/a`` by the same float operations as the mpmath
    run's (each rounded once to 53 bits in both), its log times the units (the sum of its
    factors' logs when the float share is below the normal floats). A smaller one
    (an acceptance to millions of blocks): ``a`` is ``1−v`` rounded, as in the mpmath run,
    once ``r·v/(1−v) < 2^-60``, and the log is ``log r + log v − log(1−v)``. Without a
    verifier the success is 1 or a capped acceptance's power (not done here: mpmath's)."""
    if not shape.llm_verifier or shape.max_attempts:
        raise Unsupported("no verifier, or a cap")
    if whole:
        units: Value = 1
        count, tokens_in, tokens_out = whole_call(shape)
        decisions = chain_decisions(shape, 1)
    else:
        units, count = shape.block_count, 1  # the acceptance of one block per unit
        tokens_in, tokens_out = shape.prompt + shape.block_size, shape.block_output
        decisions = chain_decisions(shape, units)
    acceptance = shape.acceptance
    check = reliability("verifier", shape.prompt + tokens_out)
    if not _FULL_PRECISION <= check < 1.0:
        raise Unsupported("a verifier below the normal floats (or sure)")
    right = reliability("worker", tokens_in, decisions) * power(acceptance, count)
    if right >= _FULL_PRECISION:
        accept, share = verified_acceptance(right, check)
        # A share below the normal floats (not so in mpmath): its log from its factors'.
        if share >= _FULL_PRECISION:
            log_step = math.log(share)
        else:
            log_step = math.log(right) + math.log(check) - math.log(accept)
    else:
        log_right = LogReliability(reliability)("worker", tokens_in, decisions).log + count * (
            math.log(acceptance) if acceptance > 0 else -math.inf
        )
        log_share = log_right + math.log(check) - math.log(1.0 - check)
        if not log_share < _NEGLIGIBLE:
            raise Unsupported("an accepted share the right attempts count in")
        log_step = log_share
    return float(units) * log_step
