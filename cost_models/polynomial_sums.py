"""Exact polynomial arithmetic for the symbolic call-group sums (:func:`.call_costs.group_cost`).

A call group's closed form multiplies and subtracts sums of sizes (``k*l``, ``b + 1``, the
model size, rational prices) and is then expanded with :func:`sympy.expand`; on sympy
objects every step re-flattens and re-sorts growing sums, and the expand cancels what the
differences of the three sampled calls put in. When every input is a polynomial with
rational coefficients in plain symbols, the same formula runs here instead on
:class:`Polynomial` values (a dict from exponent vectors to integer numerators over one
denominator), and :meth:`Polynomial.to_expr` builds the expanded sum once. A polynomial in
symbols has one fully expanded form (the sum of its monomials with their non-zero rational
coefficients, in sympy's canonical order), which is what ``sympy.expand`` returns for it, so
the two agree exactly (tests compare them with ``sympy.srepr``). Anything else (``ceiling``,
``log``, negative or symbolic powers, floats) is not converted, and the caller computes with sympy.
"""

from __future__ import annotations

import math
from fractions import Fraction
from operator import add
from typing import Any

import sympy
from sympy.core.add import Add, _addsort
from sympy.core.mul import Mul, _mulsort

__all__ = ["NotPolynomial", "Polynomial"]

Monomial = tuple[int, ...]


class NotPolynomial(Exception):
    """An input that is not a polynomial with rational coefficients in plain symbols."""


class Polynomial:
    """A polynomial over fixed ``symbols``: ``{exponents: numerator}`` over one positive
    denominator ``den`` (no zero numerators).

    Integer numerators over a shared denominator instead of a :class:`fractions.Fraction` per
    monomial: a product of two polynomials is then integer products (tens of nanoseconds)
    where Fractions reduce every product and sum by a gcd (a microsecond each), and the
    call-group sums of a wide plan multiply thousands of them. The value is the same exact
    rational polynomial; :meth:`to_expr` reduces each coefficient once.
    """

    __slots__ = ("den", "symbols", "terms")

    def __init__(
        self, symbols: tuple[sympy.Symbol, ...], terms: dict[Monomial, int], den: int = 1
    ) -> None:
        self.symbols = symbols
        self.terms = terms
        self.den = den

    @staticmethod
    def symbols_of(values: Any) -> tuple[sympy.Symbol, ...]:
        """The symbols of ``values`` (sympy objects or Python numbers), in a fixed order."""
        found: set[sympy.Symbol] = set()
        for v in values:
            if isinstance(v, sympy.Basic):
                found |= v.free_symbols
        return tuple(sorted(found, key=sympy.default_sort_key))

    @classmethod
    def of(cls, value: Any, symbols: tuple[sympy.Symbol, ...]) -> Polynomial:
        """``value`` as a polynomial over ``symbols``; :class:`NotPolynomial` otherwise."""
        index = {s: i for i, s in enumerate(symbols)}
        return _convert(value, index, symbols)

    def coefficients(self) -> dict[Monomial, Fraction]:
        """``{exponents: coefficient}``, each coefficient reduced."""
        return {m: Fraction(c, self.den) for m, c in self.terms.items()}

    def _const(self, c: int) -> Polynomial:
        return Polynomial(self.symbols, {(0,) * len(self.symbols): c} if c else {})

    def _lift(self, other: Any) -> Polynomial:
        if isinstance(other, Polynomial):
            return other
        if isinstance(other, int) and not isinstance(other, bool):
            return self._const(other)
        raise NotPolynomial(f"cannot combine with {type(other).__name__}")

    def __add__(self, other: Any) -> Polynomial:
        right = self._lift(other)
        d1, d2 = self.den, right.den
        if d1 == d2:
            den, f1, f2 = d1, 1, 1
        else:
            den = math.lcm(d1, d2)
            f1, f2 = den // d1, den // d2
        out = {m: c * f1 for m, c in self.terms.items()} if f1 != 1 else dict(self.terms)
        get = out.get
        for m, c in right.terms.items():
            out[m] = get(m, 0) + c * f2
        return Polynomial(self.symbols, {m: c for m, c in out.items() if c}, den)

    __radd__ = __add__

    def __neg__(self) -> Polynomial:
        return Polynomial(self.symbols, {m: -c for m, c in self.terms.items()}, self.den)

    def __sub__(self, other: Any) -> Polynomial:
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> Polynomial:
        return self._lift(other) + (-self)

    def __mul__(self, other: Any) -> Polynomial:
        right = self._lift(other)
        out: dict[Monomial, int] = {}
        get = out.get
        for m1, c1 in self.terms.items():
            for m2, c2 in right.terms.items():
                m = tuple(map(add, m1, m2))
                out[m] = get(m, 0) + c1 * c2
        return Polynomial(self.symbols, {m: c for m, c in out.items() if c}, self.den * right.den)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Polynomial:
        if isinstance(other, int) and not isinstance(other, bool) and other != 0:
            if other < 0:
                return Polynomial(
                    self.symbols, {m: -c for m, c in self.terms.items()}, self.den * -other
                )
            return Polynomial(self.symbols, self.terms, self.den * other)
        raise NotPolynomial(f"cannot divide by {other!r}")

    def __eq__(self, other: object) -> bool:  # ``x == 0`` tests of the formulas
        if isinstance(other, int) and not isinstance(other, bool):
            other = self._const(other)
        if not isinstance(other, Polynomial):
            return False
        # a/d1 == b/d2 term by term: a*d2 == b*d1 (numerators are never zero)
        return self.terms.keys() == other.terms.keys() and all(
            c * other.den == other.terms[m] * self.den for m, c in self.terms.items()
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def to_expr(self) -> sympy.Expr:
        """The expanded sympy sum of the monomials (``sympy.expand``'s form).

        Built as ``Add``'s and ``Mul``'s own flattening leaves it (:func:`_canonical_sum`):
        the monomials are distinct and their factors distinct powers of symbols, so there is
        nothing to collect, only to sort. Non-commutative symbols go through sympy."""
        if not all(s.is_commutative for s in self.symbols):
            return self._to_expr_slow()
        return _canonical_sum(self.symbols, self.terms, self.den)

    def _to_expr_slow(self) -> sympy.Expr:
        """:meth:`to_expr` through ``sympy.Mul`` and ``sympy.Add`` (the reference)."""
        terms = []
        den = self.den
        for m, c in self.terms.items():
            factors = [
                s if e == 1 else sympy.Pow(s, e) for s, e in zip(self.symbols, m, strict=True) if e
            ]
            terms.append(sympy.Mul(sympy.Rational(c, den), *factors))
        return sympy.Add(*terms)


def _canonical_sum(
    symbols: tuple[sympy.Symbol, ...], terms: dict[Monomial, int], den: int
) -> sympy.Expr:
    """``Add(*(Mul(Rational(c, den), *powers) ...))`` for distinct monomials of commutative
    symbols and non-zero coefficients, assembled the way ``Mul.flatten`` and
    ``Add.flatten`` assemble it: each product's powers in sympy's canonical order behind
    its coefficient (none when it is 1), the sum's terms in that order behind its constant.
    The same steps with nothing to merge, so the same expression (tests compare ``srepr``
    with the reference)."""
    one = sympy.S.One
    const = None
    seq: list[sympy.Expr] = []
    for m, c in terms.items():
        coeff = sympy.Rational(c, den)
        factors = [s if e == 1 else sympy.Pow(s, e) for s, e in zip(symbols, m, strict=True) if e]
        if not factors:
            const = coeff
            continue
        if len(factors) > 1:
            _mulsort(factors)
        if coeff is one:
            seq.append(factors[0] if len(factors) == 1 else Mul._from_args(factors, True))
        else:
            seq.append(Mul._from_args([coeff, *factors], True))
    _addsort(seq)
    if const is not None:
        seq.insert(0, const)
    if not seq:
        return sympy.S.Zero
    return seq[0] if len(seq) == 1 else Add._from_args(seq, True)


def _convert(
    value: Any, index: dict[sympy.Symbol, int], symbols: tuple[sympy.Symbol, ...]
) -> Polynomial:
    """``value`` over ``symbols`` (``index``: each symbol's position)."""
    n = len(symbols)
    zero = (0,) * n
    if isinstance(value, bool):
        raise NotPolynomial("a bool")
    if isinstance(value, int):
        return Polynomial(symbols, {zero: value} if value else {})
    if not isinstance(value, sympy.Basic):
        raise NotPolynomial(f"a {type(value).__name__}")
    if value.is_Rational:
        num, den = int(value.p), int(value.q)
        return Polynomial(symbols, {zero: num} if num else {}, den)
    if value.is_Symbol and value in index:
        return Polynomial(symbols, {tuple(int(i == index[value]) for i in range(n)): 1})
    if value.is_Add:
        p = Polynomial(symbols, {})
        for a in value.args:
            p = p + _convert(a, index, symbols)
        return p
    if value.is_Mul:
        p = Polynomial(symbols, {zero: 1})
        for a in value.args:
            p = p * _convert(a, index, symbols)
        return p
    if value.is_Pow and value.exp.is_Integer and int(value.exp) > 0:
        base = _convert(value.base, index, symbols)
        p = Polynomial(symbols, {zero: 1})
        for _ in range(int(value.exp)):
            p = p * base
        return p
    raise NotPolynomial(f"not a polynomial: {value}")
