"""The growth terms the Θ analysis compares: a term's key, its parts, and factor tests.

Split from :mod:`aalps.cost_models._dominance` (which decides dominance between them) so
each module holds one idea; :mod:`aalps.cost_models._theta` builds and combines them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import starmap
from operator import add

import sympy
from aalps.cost_models._cone import Ray, Vec, _dot, _sign

__all__ = [
    "_MAX_ALTS",
    "_EPS",
    "_MAX_SUBSETS",
    "_Key",
    "_Term",
    "_base_exp",
    "_is_atomic_factor",
    "_is_expanded_product",
    "_sum_sign",
    "_times",
    "_vec_sum",
    "exp_margin",
]

_MAX_SUBSETS = 12  # up-set enumeration is exponential in this; beyond it, stay undecided
_MAX_ALTS = 16  # alternatives of a Min-like term; beyond it, its factors are only opaque
_EPS = Fraction(1, 2**20)  # a growth small enough to show a strict dominance with


@dataclass(frozen=True)
class _Key:
    """Growth key of a term's core (what survives when constants are dropped)."""

    exp: tuple[tuple[Vec, sympy.Expr], ...]  # exponent monomial -> rate (sum of c*log(p))
    deg: Vec  # polynomial degree per growing symbol
    logs: Vec  # power of log(x) per growing symbol
    opaque: tuple[sympy.Expr, ...]  # factors outside the model, compared by identity


@dataclass
class _Term:
    model: sympy.Expr
    core: sympy.Expr
    coef: sympy.Expr
    key: _Key
    proj: tuple[Fraction | int, ...]  # degree vector projected on each cone generator
    exp_id: int  # interned key.exp, so exponential levels are compared once per pair
    # Non-empty for a term with ``Min``-like factors (``Min(k, n)``, ``1/(k + n)``): the term
    # is Θ of the smallest of these sums of plain terms (one alternative per choice).
    alts: tuple[tuple[_Term, ...], ...] = ()


def _is_atomic_factor(f: sympy.Expr) -> bool:
    """``x``, ``3``, ``x**q``, ``2**x``, ``exp(x)``, ``log(x)``, ``log(x)**q``."""
    if f.is_Symbol or f.is_Number:
        return True
    if f.is_Pow:
        base, e = f.args
        if e.is_Number:
            return bool(base.is_Symbol) or (isinstance(base, sympy.log) and base.args[0].is_Symbol)
        return bool(base.is_Number and e.is_Symbol)
    if isinstance(f, sympy.exp | sympy.log):
        return bool(f.args[0].is_Symbol)
    return False


def _base_exp(f: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """``(base, exponent)``: powering factor by factor keeps ``(log(k)**2)**(1/2)`` from
    becoming ``Abs(log(k))`` (the factors of a core are positive)."""
    base, e = f.as_base_exp()
    return base, e


def _is_expanded_product(t: sympy.Expr) -> bool:
    """A product of atomic factors: ``sympy.expand`` would leave it as it is."""
    return all(_is_atomic_factor(f) for f in sympy.Mul.make_args(t))


def _vec_sum(a: Vec, b: Vec) -> Vec:
    """``_compact`` of the entrywise sum of two compact vectors: their entries are ints and
    Fractions, whose sums are exact as they are (ints stay ints); an integral Fraction is
    made an int, as :func:`~aalps.cost_models._cone._compact` does."""
    out = tuple(starmap(add, zip(a, b, strict=True)))
    if all(type(x) is int for x in out):
        return out
    return tuple(x.numerator if type(x) is Fraction and x.denominator == 1 else x for x in out)


def _times(x: sympy.Expr, y: sympy.Expr) -> sympy.Expr:
    """``x * y``; a factor ``1`` is dropped as ``Mul`` drops it (the other factor itself)
    without going through sympy."""
    one = sympy.S.One
    if x is one:
        return y
    if y is one:
        return x
    return x * y


def _sum_sign(rates: Sequence[sympy.Expr]) -> int | None:
    """``_sign(sympy.Add(*rates))`` for exponential rates (sums of ``c*log(p)``): from
    their floats when the sum is far from 0 (each float is within ~1e-16 of its rate, so
    past ``1e-9`` of the rates' size, and past ``1e-20``, the float sum has the sign the
    40-digit evaluation of :func:`._cone._sign` finds), else from :func:`._cone._sign`.
    Spares building and evaluating the sum (the exponential levels ask for a few sums of
    the same rates)."""
    floats = [_rate_float(r) for r in rates]
    if None not in floats:
        total = math.fsum(floats)  # type: ignore[arg-type]
        size = math.fsum(abs(f) for f in floats)  # type: ignore[arg-type]
        if abs(total) > 1e-9 * size and abs(total) > 1e-20:
            return 1 if total > 0 else -1
    return _sign(sympy.Add(*rates))


@lru_cache(maxsize=4096)
def _rate_float(r: sympy.Expr) -> float | None:
    """A numeric rate as a float (None when it holds a symbol)."""
    if not r.is_number:
        return None
    try:
        f = float(r)
    except (TypeError, ValueError):  # not a real number: the exact sign says so
        return None
    return f if math.isfinite(f) else None


def exp_margin(diff: list[tuple[Vec, sympy.Expr]], unit_gens: Sequence[Ray]) -> str | None:
    """Is ``sum d_mu * z_mu <= 0`` on the order cone of the exponent monomials (``unit_gens``:
    the cone's generators)? Returns ``"strict"`` (< 0 away from 0), ``"weak"`` (<= 0), or
    None (not shown); the signs of the up-sets' rate sums from :func:`_sum_sign`."""
    items = sorted(diff, key=lambda md: md[0])
    if len(items) > _MAX_SUBSETS:
        return None
    monos = [m for m, _ in items]
    below = [
        [all(_dot(monos[i], g) <= _dot(monos[j], g) for g in unit_gens) for j in range(len(monos))]
        for i in range(len(monos))
    ]
    seen: set[frozenset[int]] = set()
    weak = False
    for r in range(1, len(items) + 1):
        for subset in itertools.combinations(range(len(items)), r):
            upset = frozenset(j for j in range(len(items)) if any(below[i][j] for i in subset))
            if upset in seen:
                continue
            seen.add(upset)
            s = _sum_sign([items[j][1] for j in upset])
            if s is None or s > 0:
                return None
            weak = weak or s == 0
    return "weak" if weak else "strict"
