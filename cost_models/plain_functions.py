"""Size expressions of the common polynomial forms as plain Python closures.

``sympy.lambdify`` prints an expression as Python source and compiles it: about half a
millisecond a call, and the first one in a process imports sympy's code printers (a few
more). A request's sizes are mostly of a few forms (``2*n + 1``, ``l + n``, ``chunk/10 +
2``, ``19/20``), met for the first time by a process's first request. :func:`plain_function`
builds those as closures that perform the very operations the generated code performs, on
the same operands in the same order, so they return the same numbers of the same types
(``tests/cost_models/test_plain_functions.py`` checks them against ``lambdify``):

* an integer is the literal (a Python ``int``); a rational ``p/q`` is ``p/q`` (a float) in
  the ``math`` module and ``mpf(p)/mpf(q)`` (at the precision of the call) in ``mpmath``;
* a term is a parameter, a parameter to a positive integer power (``n**2``), either times a
  positive integer or rational coefficient (``(1/10)*chunk``, the coefficient on the left),
  or the product of two parameters (``l*n``);
* a sum has at most two such terms: ``a + b`` (one addition, the same number whichever
  operand comes first, as a float's or an mpf's sum is; a negative integer constant ``c``
  added is the subtraction ``a - |c|`` the code prints, the same number).

Anything else (floats, functions, longer sums or products, a symbol the point does not
give) returns None, and the caller uses ``lambdify``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mpmath
import sympy

__all__ = ["plain_function", "size_function"]

Function = Callable[..., Any]


def size_function(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], module: str) -> Function:
    """``expr`` as a function of ``symbols`` in ``module`` (``"math"`` or ``"mpmath"``): the
    closure of :func:`plain_function` for the common forms, else ``sympy.lambdify``'s."""
    plain = plain_function(expr, symbols, module)
    if plain is not None:
        return plain
    compiled: Function = sympy.lambdify(symbols, expr, modules=module)
    return compiled


def plain_function(
    expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], module: str
) -> Function | None:
    """``sympy.lambdify(symbols, expr, modules=module)``'s function as a closure, for the
    forms in the module's docstring (``module``: ``"math"`` or ``"mpmath"``); else None."""
    if module not in ("math", "mpmath"):
        return None
    terms = expr.args if expr.is_Add else (expr,)
    if len(terms) > 2:
        return None
    parts = [_term(term, symbols, module) for term in terms]
    if len(parts) == 1:
        return parts[0]
    first, second = parts
    if first is None or second is None:
        return None
    return lambda *args: first(*args) + second(*args)


def _term(term: sympy.Expr, symbols: tuple[sympy.Symbol, ...], module: str) -> Function | None:
    """One term of a sum (or the whole expression) as a closure, or None."""
    if term.is_Integer:
        value = int(term)
        return lambda *args: value
    if term.is_Rational:
        return _rational(term, module) if term.is_positive else None
    if term.is_Mul and len(term.args) == 2:
        coefficient, rest = term.args
        if coefficient.is_Symbol and rest.is_Symbol:  # ``l*n``: one product
            x, y = _position(coefficient, symbols), _position(rest, symbols)
            if x is None or y is None:
                return None
            return lambda *args: args[x] * args[y]
        factor = _power(rest, symbols)
        if factor is None or not coefficient.is_Rational or not coefficient.is_positive:
            return None
        if coefficient.is_Integer:
            c = int(coefficient)
            return lambda *args: c * factor(*args)
        ratio = _rational(coefficient, module)
        return lambda *args: ratio() * factor(*args)
    return _power(term, symbols)


def _power(term: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> Function | None:
    """A parameter (``n``) or a parameter to a positive integer power (``n**2``), or None."""
    if term.is_Symbol:
        position = _position(term, symbols)
        if position is None:
            return None
        return lambda *args: args[position]
    if term.is_Pow and term.base.is_Symbol and term.exp.is_Integer and term.exp >= 2:
        base, exponent = _position(term.base, symbols), int(term.exp)
        if base is None:
            return None
        return lambda *args: args[base] ** exponent
    return None


def _position(symbol: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> int | None:
    return symbols.index(symbol) if symbol in symbols else None


def _rational(value: sympy.Expr, module: str) -> Function:
    """A rational ``p/q`` as the code prints it: ``p/q`` (a float, the same at every call) in
    ``math``, ``mpf(p)/mpf(q)`` at the call's precision in ``mpmath``."""
    p, q = int(value.p), int(value.q)
    if module == "math":
        number = p / q
        return lambda *args: number
    mpf = mpmath.mpf
    return lambda *args: mpf(p) / mpf(q)
