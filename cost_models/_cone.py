"""Exact rational helpers and the assumptions' cone (double description) for :mod:`bounds`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from math import gcd, lcm
from typing import Any

import sympy
from sympy.core.relational import (
    Equality,
    GreaterThan,
    LessThan,
    StrictGreaterThan,
    StrictLessThan,
)

__all__ = ["Ray", "Vec", "relation_sides"]

Vec = tuple[Fraction | int, ...]
Ray = tuple[int, ...]


def relation_sides(rel: Any) -> list[tuple[sympy.Expr, sympy.Expr]] | None:
    """An assumption's (small side, large side) pairs: one for ``<=``, ``<``, ``>=``, ``>``,
    both ways for ``=``; None for any other kind of relation (each reader decides)."""
    if isinstance(rel, (LessThan, StrictLessThan)):
        return [(rel.lhs, rel.rhs)]
    if isinstance(rel, (GreaterThan, StrictGreaterThan)):
        return [(rel.rhs, rel.lhs)]
    if isinstance(rel, Equality):
        return [(rel.lhs, rel.rhs), (rel.rhs, rel.lhs)]
    return None


def _rational(e: sympy.Expr) -> Fraction | None:
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e.is_Float:
        r = sympy.nsimplify(e, rational=True)
        return Fraction(int(r.p), int(r.q))
    return None


def _sign(e: sympy.Expr) -> int | None:
    """Sign of a constant expression (numbers, logs, positive parameters), None if unknown."""
    if e.is_Rational:
        return 1 if e.p > 0 else -1 if e.p < 0 else 0
    return _worked_sign(e)


@lru_cache(maxsize=4096)
def _worked_sign(e: sympy.Expr) -> int | None:
    """:func:`_sign` of what is not a rational: an expansion and a 40-digit evaluation, the
    same answer for the same expression (the coefficients and exponential rates of a
    request's terms repeat across its plans), so remembered.

    A number far from 0 (:func:`_clear_sign`) has its sign without the expansion: the
    expansion is the same number, so its evaluation has that sign and lies past the
    ``1e-30`` below. (Expanding splits ``log(p/q)`` into ``log(p) - log(q)``, and sympy
    then asks whether ``p`` is prime: over a tenth of a second for the thousand-digit
    rationals of a success raised to thousands of tokens.)"""
    if e.is_number:
        clear = _clear_sign(e)
        if clear is not None:
            return clear
    e = sympy.expand(e)
    if e == 0:
        return 0
    if e.is_number:
        v = e.evalf(40)
        if v.is_comparable:
            if v > sympy.Float("1e-30"):
                return 1
            if v < sympy.Float("-1e-30"):
                return -1
        return None
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


#: A number whose 30-digit evaluation is farther from 0 than this has its sign: ten
#: orders of magnitude past the ``1e-30`` of :func:`_worked_sign`.
_CLEAR = sympy.Float("1e-20")


def _clear_sign(e: sympy.Expr) -> int | None:
    """The sign of a number whose 30-digit evaluation is a real number farther from 0 than
    :data:`_CLEAR` (an evaluation within a relative ``1e-29`` of the value); None when it
    is not, or when the evaluation does not have its digits."""
    v = e.evalf(30)
    if not (v.is_Float and v.is_comparable) or v._prec < 90:  # fewer than 30 digits
        return None
    if v > _CLEAR:
        return 1
    if v < -_CLEAR:
        return -1
    return None


@lru_cache(maxsize=1024)
def _log_of_base(b: sympy.Expr) -> sympy.Expr | None:
    """Canonical ``log(b)`` for an exponential's base: a sum of ``c*log(prime)`` (remembered:
    a factorization, and a request's exponentials share a few bases)."""
    if b == sympy.E:
        return sympy.Integer(1)
    if b.is_Float:
        b = sympy.nsimplify(b, rational=True)
    if b.is_Rational:
        if b <= 0:
            return None
        # ``log`` of an integer above 1 is left as it is (sympy's ``log.eval`` returns None
        # for it after a few tests): built unevaluated, the same expression, without them.
        # The sum of the terms at once is the one added term by term.
        terms = [e * _log_int(p) for p, e in sympy.factorint(int(b.p)).items()]
        terms += [-e * _log_int(p) for p, e in sympy.factorint(int(b.q)).items()]
        return sympy.Add(*terms)
    if b.is_positive:
        return sympy.expand_log(sympy.log(b), force=True)
    return None


def _expand_rate(r: sympy.Expr) -> sympy.Expr:
    """``sympy.expand(r)`` for an exponential's rate (sums of constants times
    :func:`_log_of_base` values, their differences and multiples). A rational combination
    of logs of primes, which the rates of rational bases are (``Add`` and a rational times a
    sum collect and distribute as they are built), is returned as it is: ``expand`` would
    rebuild every ``log`` (a prime is no perfect power: its ``log`` expands to itself) and
    return the same expression, in a request's first Θ analyses ~0.3 ms a rate."""
    for t in sympy.Add.make_args(r):
        if t.is_Rational:
            continue
        _, f = t.as_coeff_Mul(rational=True)
        if not (isinstance(f, sympy.log) and f.args[0].is_Integer and sympy.isprime(f.args[0])):
            return sympy.expand(r)
    return r


def _log_int(p: int) -> sympy.Expr:
    """``sympy.log(sympy.Integer(p))`` for an integer ``p > 1`` (a prime of a base)."""
    return sympy.log(sympy.Integer(p), evaluate=False)


def _compact(v: Iterable[Fraction]) -> Vec:
    """Integral entries as ``int`` (equal and hashing like the Fraction, compared faster)."""
    return tuple(x.numerator if x.denominator == 1 else x for x in v)


def _dot(a: Sequence[Fraction | int], g: Sequence[int]) -> Fraction | int:
    """Exact dot product; an ``int`` when integral (int comparisons are much faster)."""
    total: Fraction | int = sum(x * y for x, y in zip(a, g, strict=True) if x and y)
    if isinstance(total, Fraction) and total.denominator == 1:
        return total.numerator
    return total


def _primitive(v: Sequence[Fraction | int]) -> Ray:
    den = lcm(*(x.denominator for x in v)) if v else 1
    ints = [int(x * den) for x in v]
    g = gcd(*ints) if ints else 1
    return tuple(i // g for i in ints) if g else tuple(ints)


def _cone_generators(n: int, rows: Sequence[Vec]) -> list[Ray]:
    """Extreme rays of ``{y >= 0, a . y <= 0 for a in rows}`` by double description.

    Candidates are all pairwise combinations across each new constraint; a candidate is
    kept when no other candidate is tight on a superset of its tight constraints (the
    combinatorial extremality test: the candidates contain every extreme ray).
    """
    gens: list[Ray] = [tuple(int(i == j) for i in range(n)) for j in range(n)]
    active: list[Ray] = []
    for a in (_primitive(row) for row in rows):
        active.append(a)
        vals = [sum(x * y for x, y in zip(a, g, strict=True)) for g in gens]
        if all(v <= 0 for v in vals):
            continue
        new: list[Ray] = [g for g, v in zip(gens, vals, strict=True) if v <= 0]
        for g, v in zip(gens, vals, strict=True):
            if v <= 0:
                continue
            for h, w in zip(gens, vals, strict=True):
                if w < 0:
                    new.append(_primitive([v * y - w * x for x, y in zip(g, h, strict=True)]))
        candidates = [r for r in dict.fromkeys(new) if any(r)]
        tight = []
        for r in candidates:
            mask = sum(1 << j for j in range(n) if r[j] == 0)
            for i, row in enumerate(active):
                if sum(x * y for x, y in zip(row, r, strict=True)) == 0:
                    mask |= 1 << (n + i)
            tight.append(mask)
        gens = [
            r
            for r, mask in zip(candidates, tight, strict=True)
            if not any(other != mask and other & mask == mask for other in tight)
        ]
    return gens
