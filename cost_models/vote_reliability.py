"""The reliability an operator asks of a role: decay, decisions, then the role's votes.

:class:`RoleReliability` is what :mod:`aalps.cost_models.evaluation` hands an operator as its
:class:`~aalps.cost_models.operators.base.Reliability`: per role, the model's reliability on
the role's capability, its per-token decay, the role's votes and the model's intra-model
correlation ``ρ`` (``vote_correlation``). A vote is the binomial majority when ``ρ = 0``
(today's figures exactly) and the beta-binomial one otherwise
(:mod:`aalps.cost_models.correlated_votes`). An ensemble role's votes are cast by several
models, each with its own reliability, decay and ``ρ``: the majority of all of them
(:func:`~aalps.cost_models.correlated_votes.ensemble_majority_success`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import mpmath
from aalps.cost_models.arithmetic import Arithmetic, Value, power
from aalps.cost_models.correlated_votes import (
    correlated_majority_success,
    ensemble_majority_success,
)
from aalps.cost_models.stochastic import majority_vote_success

__all__ = ["Prepared", "RememberedReliability", "RoleReliability", "prepare"]

_MPF = mpmath.mpf
_MP = mpmath.mp

#: A role's declaration made once (:func:`prepare`), for :meth:`RoleReliability.put`:
#: (ensemble, (p, keep, votes, exact ρ) or the members' list of them, ρ).
Prepared = tuple[bool, Any, float]


def prepare(
    arithmetic: Arithmetic, shares: Sequence[tuple[Value, Value | None, int, float]]
) -> Prepared:
    """What :meth:`RoleReliability.add` (one share) or :meth:`RoleReliability.add_ensemble`
    (several) would store, ``ρ`` converted to ``arithmetic``: a role keeps it, so that a
    task plan declares the role with :meth:`RoleReliability.put` and converts nothing."""
    number = arithmetic.number
    if len(shares) == 1:
        p, keep, votes, rho = shares[0]
        return False, (p, keep, votes, number(rho) if rho else 0), rho
    members = [(p, keep, votes, number(rho) if rho else 0) for p, keep, votes, rho in shares]
    return True, members, 0.0


class RoleReliability:
    """``reliability(role, tokens_in, decisions)`` of one task plan's roles (see the module)."""

    __slots__ = ("_arithmetic", "_ensembles", "_rho", "_roles")

    def __init__(self, arithmetic: Arithmetic) -> None:
        self._arithmetic = arithmetic
        self._roles: dict[str, tuple[Value, Value | None, int, Value]] = {}
        self._rho: dict[str, float] = {}
        self._ensembles: dict[str, list[tuple[Value, Value | None, int, Value]]] = {}

    def add(self, role: str, p: Value, keep: Value | None, votes: int, rho: float) -> None:
        """Declare ``role``: reliability ``p``, per-token keep (None: no decay), votes, ρ."""
        exact_rho = self._arithmetic.number(rho) if rho else 0
        self._roles[role] = (p, keep, votes, exact_rho)
        self._rho[role] = rho

    def add_ensemble(
        self, role: str, members: list[tuple[Value, Value | None, int, float]]
    ) -> None:
        """Declare an ensemble ``role``: (reliability, keep, votes, ρ) per member model."""
        number = self._arithmetic.number
        self._ensembles[role] = [
            (p, keep, votes, number(rho) if rho else 0) for p, keep, votes, rho in members
        ]
        # Votes across models are not one model's repeated samples: no single ρ applies.
        self._rho[role] = 0.0

    def put(self, role: str, prepared: Prepared) -> None:
        """Declare ``role`` as :func:`prepare` made it (the same as ``add``/``add_ensemble``)."""
        ensemble, value, rho = prepared
        if ensemble:
            self._ensembles[role] = value
        else:
            self._roles[role] = value
        self._rho[role] = rho

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> Value:
        ensemble = self._ensembles.get(role)
        if ensemble is not None:
            return ensemble_majority_success(
                [
                    (_decayed(p, keep, tokens_in, decisions), votes, rho)
                    for p, keep, votes, rho in ensemble
                ]
            )
        p, keep, votes, rho = self._roles[role]
        # Floats' powers in place; mpmath's remembered (:func:`~.arithmetic.power`).
        if keep is not None:
            p = p * (keep**tokens_in if type(keep) is float else power(keep, tokens_in))
        if decisions != 1:
            p = p**decisions if type(p) is float else power(p, decisions)
        if votes == 1:
            return p
        if not rho:
            return _float_majority(p, votes) if type(p) is float else _big_majority(p, votes)
        return correlated_majority_success(p, votes, rho)

    def correlation(self, role: str) -> float:
        """ρ of the role's model on the role's capability (0: independent samples)."""
        return self._rho.get(role, 0.0)


class RememberedReliability(RoleReliability):
    """A :class:`RoleReliability` whose roles keep their answers (mpmath numbers, slow to
    work out): each role is declared with a memo of its own, by (tokens, decisions), that
    lives as long as the role's figures (:class:`~aalps.cost_models.task_scoring.RoleEntry`).
    The same numbers: the answer depends on nothing else (the memo keys hold the numbers'
    types as well, so an ``int`` and an equal ``mpf`` are kept apart, and an ``mpf`` by
    its exact digits, equal for equal numbers, which hash in C)."""

    __slots__ = ("_memos",)

    def __init__(self, arithmetic: Arithmetic) -> None:
        super().__init__(arithmetic)
        self._memos: dict[str, dict[tuple[Any, ...], Value]] = {}

    def remember(self, role: str, prepared: Prepared, memo: dict[tuple[Any, ...], Value]) -> None:
        """:meth:`put`, with the role's memo."""
        self.put(role, prepared)
        self._memos[role] = memo

    def __call__(self, role: str, tokens_in: Value, decisions: Value = 1) -> Value:
        memo = self._memos.get(role)
        if memo is None:
            return super().__call__(role, tokens_in, decisions)
        kind = type(tokens_in)
        times = type(decisions)
        key = (
            kind,
            tokens_in._mpf_ if kind is _MPF else tokens_in,
            times,
            decisions._mpf_ if times is _MPF else decisions,
        )
        known = memo.get(key)
        if known is None:
            known = memo[key] = super().__call__(role, tokens_in, decisions)
        return known


def _decayed(p: Value, keep: Value | None, tokens_in: Value, decisions: Value) -> Value:
    """One sample's reliability on a call: per-token decay, then every decision right."""
    if keep is not None:
        p = p * power(keep, tokens_in)
    return p if decisions == 1 else power(p, decisions)


@lru_cache(maxsize=1 << 16)
def _float_majority(p: float, votes: int) -> float:
    """:func:`majority_vote_success` on a float, remembered: a search asks the same
    (reliability, votes) of many candidates (a role's model beside every other choice)."""
    result: float = majority_vote_success(p, votes)
    return result


#: mpmath majorities by (reliability, votes, precision and rounding): :func:`_big_majority`.
_MAJORITIES: dict[tuple[Any, ...], Any] = {}
#: The most majorities kept (then the memo starts over).
_MAX_MAJORITIES = 1 << 14


def _big_majority(p: Value, votes: int) -> Value:
    """:func:`majority_vote_success` on an mpmath number, remembered by its exact digits
    and the context's precision and rounding (the far point's successes ask the same few
    of many roles and token counts); other numbers (sympy) computed."""
    if type(p) is not _MPF:
        return majority_vote_success(p, votes)
    key = (p._mpf_, votes, *_MP._prec_rounding)
    known = _MAJORITIES.get(key)
    if known is None:
        if len(_MAJORITIES) >= _MAX_MAJORITIES:
            _MAJORITIES.clear()
        known = _MAJORITIES[key] = majority_vote_success(p, votes)
    return known
