"""Whether cancelling a separation's ratio can shorten it, without sympy's polynomial gcd.

:func:`~aalps.cost_models.bounds.separation` reduces a ratio of two bounds as it stands and
after ``cancel(together(...))``, and keeps the cancelled form only when its bound has fewer
terms. ``cancel`` divides the ratio's numerator and denominator polynomials (over sympy's
generators: symbols, ``4**k``, ``99999**(k*l)``, ``log(k)``, ...) by their gcd, which sympy
works out with integer coefficients that for an exponential with a constant offset
(``(99999/100000)**(-2*k*l - 201)``) have a thousand digits: a tenth of a second and more.

:func:`cancel_keeps_terms` shows, in this case, that the cancelled bound has as many terms
as the ratio's as it stands (so the latter is kept, as ``min`` keeps the first of equals):

1. every term of both bounds is a positive plain product (powers and logs of growing
   symbols, exponentials of them, model symbols; no opaque factor, no alternatives) and the
   polynomials sympy forms have one term per term of each bound. Then the numerator is
   ``sum_i a_i * M`` and the denominator ``sum_j b_j * M`` for one monomial ``M`` (the
   common denominator ``together`` clears), times constants;
2. the two polynomials share no *edge direction*: no two monomials of the numerator differ
   by a multiple of a vector that two monomials of the denominator differ by. A common
   factor ``G`` that is not a monomial would make both Newton polytopes have an edge
   parallel to each edge of ``G``'s (the Newton polytope of a product is the Minkowski
   sum of its factors'), and an edge's ends are monomials. So the gcd is a monomial times a
   constant, and the cancelled ratio is ``sum_i a_i * M' / sum_j b_j * M'`` up to constants.

Condition 2 is first looked for on the terms' growth keys (:func:`_keys_show_it`: a linear
image of sympy's exponent vectors), which shows it in most separations without forming
sympy's polynomials (``together`` and ``sring``: milliseconds); only when the keys do not
show it are the polynomials formed.

Its terms are then those of the ratio as it stands times one monomial: the analysis reads
the same growth keys, shifted alike (dominance compares key differences), the same
alternatives for the denominator's sum, so it keeps as many terms. Anything else (an
opaque factor, a domain other than the integers or rationals, a direction in common)
answers False: the ratio is then cancelled as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import gcd, lcm

import sympy
from aalps.cost_models._cone import _sign
from aalps.cost_models._theta import _Theta
from sympy.polys.polyerrors import PolynomialError
from sympy.polys.rings import sring
from sympy.simplify.simplify import signsimp

__all__ = ["cancel_keeps_terms"]


def cancel_keeps_terms(theta: _Theta, num: sympy.Expr, den: sympy.Expr) -> bool:
    """True when the bound of ``cancel(together(num / den))`` is shown to have as many
    terms as that of ``num / den`` (the module's conditions); False when not shown."""
    tops = sympy.Add.make_args(num)
    bottoms = sympy.Add.make_args(den)
    if len(tops) < 2 or len(bottoms) < 2:
        return False
    if not all(_plain(theta, t) for t in (*tops, *bottoms)):
        return False
    if not (theta._growing_in(num) and theta._growing_in(den)):
        return False  # (see below)
    # Seen first without sympy's polynomials: the growth keys' degrees, logs and model
    # powers of two terms differ in a direction the other side's do too (a common factor
    # such as the plan's bound itself, ``2**k*k*(k*l**2 + ...) / (k*l**2 + ...)``).
    if _seen_directions(theta, tops, bottoms):
        return False
    if _keys_show_it(theta, tops, bottoms):
        return True
    # The steps of ``sympy.cancel`` up to its gcd, on what it is given.
    f = signsimp(sympy.together(num / den))
    if not isinstance(f, sympy.Expr) or f.is_Number or f.has(sympy.Piecewise):
        return False
    p, q = sympy.factor_terms(f, radical=True).as_numer_denom()
    try:
        ring, (top, bottom) = sring((p, q))
    except PolynomialError:
        return False
    if not ring.ngens or not (ring.domain.is_ZZ or ring.domain.is_QQ):
        return False
    if len(top) != len(tops) or len(bottom) != len(bottoms):
        return False
    if _directions(list(top)) & _directions(list(bottom)):
        return False
    # Both sides still grow once the monomial gcd is divided out, as they do now (checked
    # above: a side left constant would be read as one constant, its model symbols with it).
    growing = [theta._growing_in(g) for g in ring.symbols]
    low = [min(e) for e in zip(*top, *bottom, strict=True)]
    return _grows(list(top), low, growing) and _grows(list(bottom), low, growing)


def _grows(monomials: list[tuple[int, ...]], low: list[int], growing: list[bool]) -> bool:
    """Whether a monomial over ``low`` has a generator that grows."""
    return any(
        e > m and g for mono in monomials for e, m, g in zip(mono, low, growing, strict=True)
    )


def _plain(theta: _Theta, term: sympy.Expr) -> bool:
    """A positive product whose growth key the analysis reads in full."""
    t = theta._analyze(term)
    return not t.key.opaque and not t.alts and _sign(t.coef) == 1


def _seen_directions(
    theta: _Theta, tops: tuple[sympy.Expr, ...], bottoms: tuple[sympy.Expr, ...]
) -> bool:
    """Whether the terms' degrees, log powers and model powers (their exponentials left
    out) give a direction on both sides, or two terms of a side that differ only there:
    then a common factor is likely, and sympy's ``cancel`` looks for it as before."""
    models = sorted({m for t in (*tops, *bottoms) for m in _powers(theta, t)}, key=str)
    sides = []
    for side in (tops, bottoms):
        vectors = []
        for term in side:
            t = theta._analyze(term)
            powers = _powers(theta, term)
            row = (*t.key.deg, *t.key.logs, *(powers.get(m, 0) for m in models))
            vectors.append(_integral(row))
        if len(set(vectors)) < len(vectors):
            return True  # two terms differ only in their exponentials
        sides.append(_directions(vectors))
    return bool(sides[0] & sides[1])


def _keys_show_it(
    theta: _Theta, tops: tuple[sympy.Expr, ...], bottoms: tuple[sympy.Expr, ...]
) -> bool:
    """Condition 2 and the growth after the gcd, shown on the terms' full growth keys
    without sympy's polynomials: True when it holds there.

    A term's key (degrees, log powers, per exponent monomial its rate as a vector over
    ``log(prime)``, model powers) is a linear function of its exponent vector over the
    generators sympy forms (a symbol, ``x**(1/q)``, ``log(x)``, ``c**monomial``, a model
    symbol: each has its key), so two sympy monomials whose difference is parallel to
    another two's have keys whose differences are parallel too, or equal keys. Keys
    distinct on each side, with no direction of one side's differences among the other
    side's, therefore show that sympy's have none in common either. A side whose keys
    differ in their growing part has monomials that differ in a growing generator, so it
    grows once the monomial gcd is divided out. Rational coefficients only (sympy's
    domain is then the integers or rationals); a rate that is not a sum of rationals times
    logs of integers answers False."""
    models = sorted({m for t in (*tops, *bottoms) for m in _powers(theta, t)}, key=str)
    keys = []
    for term in (*tops, *bottoms):
        t = theta._analyze(term)
        if not t.coef.is_Rational:
            return False
        rates = {}
        for mono, rate in t.key.exp:
            logs = _log_vector(rate)
            if logs is None:
                return False
            for prime, c in logs.items():
                rates[(mono, prime)] = c
        powers = _powers(theta, term)
        keys.append((t.key.deg + t.key.logs, rates, tuple(powers.get(m, 0) for m in models)))
    axes = sorted({a for _, rates, _ in keys for a in rates})
    rows = [(*grow, *(rates.get(a, 0) for a in axes), *model) for grow, rates, model in keys]
    scale = lcm(*(Fraction(x).denominator for row in rows for x in row))
    points = [tuple(int(x * scale) for x in row) for row in rows]
    grown = len(points[0]) - len(models)  # the growing part: all but the model powers
    sides = (points[: len(tops)], points[len(tops) :])
    for side in sides:
        if len(set(side)) < len(side) or len({p[:grown] for p in side}) < 2:
            return False
    return not (_directions(sides[0]) & _directions(sides[1]))


def _log_vector(rate: sympy.Expr) -> dict[int, Fraction] | None:
    """A rate ``sum c*log(p)`` (``p`` an integer above 1; ``1`` for a bare rational, the rate
    of ``e``) as ``{p: c}``; None for any other rate."""
    out: dict[int, Fraction] = {}
    for term in sympy.Add.make_args(rate):
        c, f = term.as_coeff_Mul()
        if not c.is_Rational:
            return None
        if f is sympy.S.One:
            p = 1
        elif isinstance(f, sympy.log) and f.args[0].is_Integer and int(f.args[0]) > 1:
            p = int(f.args[0])
        else:
            return None
        out[p] = out.get(p, Fraction(0)) + Fraction(int(c.p), int(c.q))
    return {p: c for p, c in out.items() if c}


def _powers(theta: _Theta, term: sympy.Expr) -> dict[sympy.Expr, Fraction]:
    """The term's model symbols and their (rational) powers."""
    out = {}
    for m, e in theta._analyze(term).model.as_powers_dict().items():
        if m != 1:
            out[m] = Fraction(int(e.p), int(e.q)) if e.is_Rational else Fraction(1)
    return out


def _integral(row: Sequence[Fraction | int]) -> tuple[int, ...]:
    """The row scaled by its denominators' lcm (directions are the same)."""
    den = lcm(*(Fraction(x).denominator for x in row))
    return tuple(int(x * den) for x in row)


def _directions(monomials: list[tuple[int, ...]]) -> set[tuple[int, ...]]:
    """The primitive directions (first non-zero entry positive) of the differences of two
    monomials' exponent vectors."""
    out = set()
    for i, a in enumerate(monomials):
        for b in monomials[i + 1 :]:
            d = [x - y for x, y in zip(a, b, strict=True)]
            g = gcd(*d)
            lead = next(x for x in d if x)  # distinct monomials differ somewhere
            sign = 1 if lead > 0 else -1
            out.add(tuple(sign * x // g for x in d))
    return out
