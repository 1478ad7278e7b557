"""Exact polynomial arithmetic for the symbolic call-group sums (:func:`.call_costs.group_cost`).

A call group's closed form multiplies and subtracts sums of sizes (``k*l``, ``b + 1``, the
model size, rational prices) and is then expanded with :func:`sympy.expand`; on sympy
objects every step re-flattens and re-sorts growing sums, and the expand cancels what the
differences of the three sampled calls put in. When every input is a polynomial with
rational coefficients in plain symbols, the same formula runs here instead on
:class:`Polynomial` values (a dict from exponent vectors to :class:`fractions.Fraction`),
and :meth:`Polynomial.to_expr` builds the expanded sum once. A polynomial in symbols has one
fully expanded form (the sum of its monomials with their non-zero rational coefficients, in
sympy's canonical order), which is what ``sympy.expand`` returns for it, so the two agree
exactly (tests compare them with ``sympy.srepr``). Anything else (``ceiling``, ``log``,
negative or symbolic powers, floats) is not converted, and the caller computes with sympy.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy

__all__ = ["NotPolynomial", "Polynomial"]

Monomial = tuple[int, ...]


class NotPolynomial(Exception):
    """An input that is not a polynomial with rational coefficients in plain symbols."""


class Polynomial:
    """A polynomial over fixed ``symbols``: ``{exponents: coefficient}``, no zero entries."""

    __slots__ = ("symbols", "terms")

    def __init__(self, symbols: tuple[sympy.Symbol, ...], terms: dict[Monomial, Fraction]):
        self.symbols = symbols
        self.terms = terms

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
        return cls(symbols, _convert(value, index, len(symbols)))

    def _const(self, c: Fraction) -> Polynomial:
        return Polynomial(self.symbols, {(0,) * len(self.symbols): c} if c else {})

    def _lift(self, other: Any) -> Polynomial:
        if isinstance(other, Polynomial):
            return other
        if isinstance(other, int) and not isinstance(other, bool):
            return self._const(Fraction(other))
        raise NotPolynomial(f"cannot combine with {type(other).__name__}")

    def __add__(self, other: Any) -> Polynomial:
        out = dict(self.terms)
        for m, c in self._lift(other).terms.items():
            s = out.get(m, 0) + c
            if s:
                out[m] = s
            else:
                out.pop(m, None)
        return Polynomial(self.symbols, out)

    __radd__ = __add__

    def __neg__(self) -> Polynomial:
        return Polynomial(self.symbols, {m: -c for m, c in self.terms.items()})

    def __sub__(self, other: Any) -> Polynomial:
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> Polynomial:
        return self._lift(other) + (-self)

    def __mul__(self, other: Any) -> Polynomial:
        right = self._lift(other)
        out: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in right.terms.items():
                m = tuple(x + y for x, y in zip(m1, m2, strict=True))
                s = out.get(m, 0) + c1 * c2
                if s:
                    out[m] = s
                else:
                    out.pop(m, None)
        return Polynomial(self.symbols, out)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Polynomial:
        if isinstance(other, int) and not isinstance(other, bool) and other != 0:
            return Polynomial(self.symbols, {m: c / other for m, c in self.terms.items()})
        raise NotPolynomial(f"cannot divide by {other!r}")

    def __eq__(self, other: object) -> bool:  # ``x == 0`` tests of the formulas
        if isinstance(other, int) and not isinstance(other, bool):
            return self.terms == self._const(Fraction(other)).terms
        return isinstance(other, Polynomial) and self.terms == other.terms

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def to_expr(self) -> sympy.Expr:
        """The expanded sympy sum of the monomials (``sympy.expand``'s form)."""
        terms = []
        for m, c in self.terms.items():
            factors = [
                s if e == 1 else sympy.Pow(s, e) for s, e in zip(self.symbols, m, strict=True) if e
            ]
            terms.append(sympy.Mul(sympy.Rational(c.numerator, c.denominator), *factors))
        return sympy.Add(*terms)


def _convert(value: Any, index: dict[sympy.Symbol, int], n: int) -> dict[Monomial, Fraction]:
    zero = (0,) * n
    if isinstance(value, bool):
        raise NotPolynomial("a bool")
    if isinstance(value, int):
        return {zero: Fraction(value)} if value else {}
    if not isinstance(value, sympy.Basic):
        raise NotPolynomial(f"a {type(value).__name__}")
    if value.is_Rational:
        c = Fraction(int(value.p), int(value.q))
        return {zero: c} if c else {}
    if value.is_Symbol and value in index:
        return {tuple(int(i == index[value]) for i in range(n)): Fraction(1)}
    p = Polynomial(tuple(index), {})  # the arithmetic of the parts
    if value.is_Add:
        for a in value.args:
            p = p + Polynomial(p.symbols, _convert(a, index, n))
        return p.terms
    if value.is_Mul:
        p = p._const(Fraction(1))
        for a in value.args:
            p = p * Polynomial(p.symbols, _convert(a, index, n))
        return p.terms
    if value.is_Pow and value.exp.is_Integer and int(value.exp) > 0:
        base = Polynomial(p.symbols, _convert(value.base, index, n))
        p = p._const(Fraction(1))
        for _ in range(int(value.exp)):
            p = p * base
        return p.terms
    raise NotPolynomial(f"not a polynomial: {value}")
