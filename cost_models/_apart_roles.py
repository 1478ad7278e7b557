"""Whether a whole-plan separation surely splits per role, without reducing the ratio.

:func:`~aalps.cost_models.bounds.separation` reduces ``baseline / plan`` (two bounds'
expressions) twice, as it stands and after ``cancel(together(...))`` (a polynomial gcd over
every generator of the ratio: tens of milliseconds), and reports one whole-plan entry only
when one of the two has a single term; else one entry per role. :func:`roles_stay_apart`
shows cheaply that neither can have one term, in this case:

1. every term of both bounds is one model-size symbol times a positive factor free of
   model sizes whose growth key is plain (powers and logs of growing symbols, exponentials
   of them; no opaque factor, no alternatives), and the two bounds do not have the same
   model symbols. Then the ratio's numerator and denominator (after ``together``) are
   linear forms in the model symbols, not proportional (a symbol of one is missing from
   the other), so their gcd is free of model symbols: the cancelled numerator is
   ``sum_i m_i * P_i`` with ``m_i * P_i / Q`` equal to the baseline's part of role ``m_i``
   over the plan's bound. The ratio as it stands is ``(sum_i num_i) / den`` with the same
   parts. Either way the reduction keeps the roles apart (terms of different model
   monomials are never compared);
2. for two roles ``m_i``, ``num_i / den`` is unbounded on the assumptions' region: a path
   of it (every growing symbol going to infinity as ``t**a`` or ``e**(c*t)``, the
   assumptions holding) along which ``a / b_j`` tends to infinity for one term ``a`` of
   the role and every term ``b_j`` of the plan's bound (then ``num_i / den >=
   min_j a / b_j / len(den)`` does too).

The reduction only drops a role it shows bounded (it never claims a bound that does not
hold), so it keeps both roles of 2, as the ratio stands and cancelled: two terms or more,
the split per role. Anything this module cannot read (Piecewise, a bounded growing symbol,
an assumption beyond monomial relations, a symbolic exponential rate) answers False: the
ratio is then reduced both ways as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy
from aalps.cost_models._cone import Vec, _sign, relation_sides
from aalps.cost_models._growth_terms import _Term
from aalps.cost_models._theta import _Theta
from sympy.core.relational import (
    StrictGreaterThan,
    StrictLessThan,
)

__all__ = ["roles_stay_apart"]

#: A path: per growing symbol, (False, a) for ``t**a`` or (True, c) for ``e**(c*t)``.
_Path = tuple[tuple[bool, int], ...]
#: Scales of ``log(a/b)`` along a path, largest first in tuple order:
#: ``e**(Q*t) * t**P`` as (Q, P, 0, 0), ``log(t)`` as (0, 0, 1, 0), ``log(log(t))`` (0, 0, 0, 1).
_Scale = tuple[Fraction | int, ...]
_STEPS: tuple[tuple[bool, int], ...] = ((False, 1), (True, 1), (False, 2), (True, 4))
_MAX_PATHS = 64  # paths tried per role (4**3: every step for 3 growing symbols)
_MARGIN = 1e-9  # a float sum farther from 0 than this (relative) has its sign


def roles_stay_apart(
    theta: _Theta, num: sympy.Expr, den: sympy.Expr, assumptions: Sequence[Any]
) -> bool:
    """True when the bound of ``num / den`` has two terms or more, as it stands and after
    ``cancel(together(...))`` (the module's conditions 1 and 2 shown); False when that is
    not shown."""
    if len(num.free_symbols & theta.models) < 2:
        return False  # one role at most
    if len(theta.active) != len(theta.growing):
        return False  # a growing symbol the assumptions bound: a constant, not a path's
    if num.has(sympy.Piecewise) or den.has(sympy.Piecewise):
        return False
    tops = _terms(theta, num)
    bottoms = _terms(theta, den)
    if tops is None or bottoms is None or not bottoms:
        return False
    roles: dict[sympy.Expr, list[_Term]] = {}
    for t in tops:
        roles.setdefault(t.model, []).append(t)
    if len(roles) < 2 or roles.keys() == {t.model for t in bottoms}:
        return False
    relations = _relations(theta, assumptions)
    if relations is None:
        return False
    paths = [p for p in _paths(theta.n) if _holds(relations, p)]
    shown = 0
    for left, role in enumerate(roles.values()):
        if shown + len(roles) - left < 2:
            break  # too few roles left to show two
        if any(_unbounded(theta, a, bottoms, paths) for a in role):
            shown += 1
            if shown == 2:
                return True
    return False


def _terms(theta: _Theta, expr: sympy.Expr) -> list[_Term] | None:
    """The terms of a bound's expression, each one model symbol times a positive plain
    factor free of model symbols; None when a term is not."""
    out = []
    models = theta.models
    for term in sympy.Add.make_args(expr):
        t = theta._analyze(term)
        if t.model not in models or t.key.opaque or t.alts:
            return None
        if (t.core.free_symbols | t.coef.free_symbols) & models:
            return None
        if _sign(t.coef) != 1:
            return None
        out.append(t)
    return out


#: A monomial of a relation's side: its coefficient and degree vector.
_Mono = tuple[sympy.Expr, Vec]
_Relation = tuple[list[_Mono], list[_Mono], bool]


def _relations(theta: _Theta, assumptions: Sequence[Any]) -> list[_Relation] | None:
    """Each assumption as (small side's positive terms, large side's terms, strict); None
    when one is not a relation between sums of monomials with coefficients of known sign,
    the large side's all positive."""
    out: list[_Relation] = []
    for rel in assumptions:
        if rel is sympy.true:
            continue
        pairs = relation_sides(rel)
        if pairs is None:
            return None
        strict = isinstance(rel, (StrictLessThan, StrictGreaterThan))
        for small, big in pairs:
            sides = []
            for side in (small, big):
                terms = theta._plain_terms(side)
                if terms is None:
                    return None
                signs = [_sign(c) for c, _ in terms]
                if any(s is None for s in signs):
                    return None
                sides.append((terms, signs))
            (small_terms, small_signs), (big_terms, big_signs) = sides
            if not big_terms or any(s != 1 for s in big_signs):
                return None
            # A negative term of the small side only makes the relation easier.
            positive = [t for t, s in zip(small_terms, small_signs, strict=True) if s == 1]
            out.append((positive, big_terms, strict))
    return out


def _paths(n: int) -> list[_Path]:
    """The paths tried: every step per symbol while that makes at most :data:`_MAX_PATHS`,
    else the first two (``t`` and ``e**t``); none past six symbols."""
    for count in (len(_STEPS), 2):
        if count**n <= _MAX_PATHS:
            return list(itertools.product(_STEPS[:count], repeat=n))
    return []


def _log_growth(path: _Path, delta: Vec) -> tuple[Fraction | int, Fraction | int]:
    """``log`` of a monomial with degrees ``delta`` along ``path``: (coefficient of ``t``,
    coefficient of ``log(t)``)."""
    lin: Fraction | int = 0
    slow: Fraction | int = 0
    for (fast, v), d in zip(path, delta, strict=True):
        if fast:
            lin += d * v
        else:
            slow += d * v
    return lin, slow


def _holds(relations: list[_Relation], path: _Path) -> bool:
    """Whether every relation holds along ``path`` for every large ``t``: each positive term
    of the small side is outgrown by a term of the large side (then each is below that
    term over their count, eventually), or it is the only one and a term of the large
    side grows exactly as it does (the same power of ``t`` and ``e**t``: their ratio is
    the coefficients') with a coefficient at least as large (larger when strict)."""
    for small, big, strict in relations:
        for coef, deg in small:
            ok = False
            for big_coef, big_deg in big:
                delta = tuple(b - a for a, b in zip(deg, big_deg, strict=True))
                lin, slow = _log_growth(path, delta)
                if lin > 0 or (lin == 0 and slow > 0):
                    ok = True
                elif lin == 0 and slow == 0 and len(small) == 1:
                    s = _sign(big_coef - coef)
                    ok = s == 1 or (s == 0 and not strict)
                if ok:
                    break
            if not ok:
                return False
    return True


def _unbounded(theta: _Theta, a: _Term, bottoms: list[_Term], paths: list[_Path]) -> bool:
    """Whether ``a / b`` tends to infinity along one of ``paths`` for every ``b``."""
    deltas = []
    for b in bottoms:
        d = _delta(a, b)
        if d is None:
            return False
        deltas.append(d)
    return any(all(_grows(d, p) for d in deltas) for p in paths)


#: ``log(a/b)``'s parts: per exponent monomial the rate difference (exact, and as a float),
#: and the differences of the degrees and of the log powers.
_Delta = tuple[list[tuple[Vec, sympy.Expr, float]], Vec, Vec]


def _delta(a: _Term, b: _Term) -> _Delta | None:
    """:data:`_Delta` of ``a / b``; None for a rate that is not a number."""
    rates: dict[Vec, sympy.Expr] = dict(a.key.exp)
    for mono, r in b.key.exp:
        rates[mono] = rates.get(mono, sympy.Integer(0)) - r
    parts = []
    for mono, r in rates.items():
        approx = _float(r)
        if approx is None:
            return None
        parts.append((mono, r, approx))
    deg = tuple(x - y for x, y in zip(a.key.deg, b.key.deg, strict=True))
    logs = tuple(x - y for x, y in zip(a.key.logs, b.key.logs, strict=True))
    return parts, deg, logs


@lru_cache(maxsize=4096)
def _float(r: sympy.Expr) -> float | None:
    """A numeric rate (a sum of ``c*log(p)``) as a float; None when it is not a number."""
    if not r.is_number:
        return None
    try:
        return float(r)
    except (TypeError, ValueError):  # not a real number: left to no path
        return None


def _grows(delta: _Delta, path: _Path) -> bool:
    """Whether ``log(a/b)`` tends to +infinity along ``path``: the sign of its largest
    scale's coefficient, from floats when they are far from 0 (their error is ~1e-15 of
    the terms' size), else worked out exactly (:func:`._cone._sign`)."""
    parts, deg, logs = delta
    scales: dict[_Scale, list[tuple[float, sympy.Expr | Fraction | int]]] = {}
    for mono, r, ra in parts:
        q, p = _log_growth(path, mono)
        scales.setdefault((q, p, 0, 0), []).append((ra, r))
    lin, slow = _log_growth(path, deg)
    # log(log(x)) is log(t) + log(c) for x = e**(c*t), log(log(t)) + log(a) for x = t**a.
    log_lin: Fraction | int = 0
    log_slow: Fraction | int = 0
    for (fast, _), d in zip(path, logs, strict=True):
        if fast:
            log_lin += d
        else:
            log_slow += d
    fixed: tuple[tuple[_Scale, Fraction | int], ...] = (
        ((0, 1, 0, 0), lin),
        ((0, 0, 1, 0), slow + log_lin),
        ((0, 0, 0, 1), log_slow),
    )
    for at, c in fixed:
        if c:
            scales.setdefault(at, []).append((float(c), c))
    for scale in sorted(scales, reverse=True):
        terms = scales[scale]
        total = sum(f for f, _ in terms)
        size = sum(abs(f) for f, _ in terms)
        if abs(total) > _MARGIN * max(size, 1.0):
            return total > 0
        s = _sign(sympy.Add(*(_exact(x) for _, x in terms)))
        if s is None or s < 0:
            return False
        if s > 0:
            return True
    return False


def _exact(x: sympy.Expr | Fraction | int) -> sympy.Expr:
    """A scale's coefficient part as a sympy number."""
    if isinstance(x, sympy.Basic):
        return x
    f = Fraction(x)
    return sympy.Rational(f.numerator, f.denominator)
