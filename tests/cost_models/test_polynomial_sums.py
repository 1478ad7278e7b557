""":class:`~aalps.cost_models.polynomial_sums.Polynomial` (integer numerators over one
denominator) computes exactly what sympy does: every result's :meth:`to_expr` is compared
with ``sympy.expand`` of the same operations on sympy objects, by ``sympy.srepr``."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy
from aalps.cost_models.polynomial_sums import NotPolynomial, Polynomial

k, l, b, m = sympy.symbols("k l b m", positive=True)  # noqa: E741 (the paper's names)
SYMBOLS = (b, k, l, m)


def _random_poly(rng: random.Random) -> sympy.Expr:
    terms = []
    for _ in range(rng.randint(1, 4)):
        coefficient = sympy.Rational(rng.randint(-9, 9), rng.choice((1, 2, 3, 7, 10**22)))
        powers = [s ** rng.randint(0, 2) for s in rng.sample(SYMBOLS, rng.randint(0, 3))]
        terms.append(coefficient * sympy.Mul(*powers))
    expr = sympy.Add(*terms)
    return expr * rng.choice((1, k + 1, (l + 2) ** 2, sympy.Rational(3, 4)))


def _same(poly: Polynomial, expr: sympy.Expr) -> None:
    assert sympy.srepr(poly.to_expr()) == sympy.srepr(sympy.expand(expr))


def test_arithmetic_equals_sympy_expand():
    rng = random.Random(11)
    for _ in range(300):
        x, y, z = (_random_poly(rng) for _ in range(3))
        px, py, pz = (Polynomial.of(e, SYMBOLS) for e in (x, y, z))
        n = rng.choice((1, 2, 3, 6, -4))
        _same(px, x)
        _same(px + py, x + y)
        _same(px - py, x - y)
        _same(px * py - pz, x * y - z)
        _same((px * py + 3 * pz - 1) / n, (x * y + 3 * z - 1) / n)
        _same(2 - px * (py - pz), 2 - x * (y - z))
        _same(px - px, sympy.Integer(0))


def test_equality_and_coefficients():
    half = Polynomial.of(k / 2 + sympy.Rational(1, 3), SYMBOLS)
    same = Polynomial.of(3 * k + 2, SYMBOLS) / 6
    assert half == same and not half != same
    assert half != Polynomial.of(k / 2, SYMBOLS)
    assert Polynomial.of(sympy.Integer(0), SYMBOLS) == 0
    assert Polynomial.of(k - k, SYMBOLS) == 0 and Polynomial.of(k, SYMBOLS) != 0
    assert half.coefficients() == {(0, 1, 0, 0): Fraction(1, 2), (0, 0, 0, 0): Fraction(1, 3)}


@pytest.mark.parametrize("value", [0.5, sympy.Float(2.0), sympy.log(k), k**-1, sympy.ceiling(k)])
def test_non_polynomials_are_refused(value):
    with pytest.raises(NotPolynomial):
        Polynomial.of(value, SYMBOLS)
    with pytest.raises(NotPolynomial):
        Polynomial.of(k, SYMBOLS) + value


def test_canonical_sum_equals_sympy_mul_and_add():
    """:meth:`Polynomial.to_expr` assembles what ``sympy.Add`` of ``sympy.Mul`` monomials
    gives (the reference, :meth:`Polynomial._to_expr_slow`): the same ``srepr``, ``str``
    and hash, constants, single terms and zero included."""
    x = sympy.Symbol("x")  # no assumptions: ordered among the positive ones
    symbols = (b, k, l, m, x)
    rng = random.Random(3)
    for _ in range(1500):
        terms: dict[tuple[int, ...], int] = {}
        for _ in range(rng.randint(0, 7)):
            monomial = tuple(rng.choice((0, 0, 1, 1, 2, 3)) for _ in symbols)
            terms[monomial] = terms.get(monomial, 0) + rng.choice((-10, -3, -1, 1, 1, 2, 7, 10**30))
        poly = Polynomial(
            symbols, {mono: c for mono, c in terms.items() if c}, rng.choice((1, 2, 6, 361))
        )
        got, expected = poly.to_expr(), poly._to_expr_slow()
        assert sympy.srepr(got) == sympy.srepr(expected)
        assert str(got) == str(expected) and hash(got) == hash(expected)
