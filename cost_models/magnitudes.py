"""Bounds on the values of request expressions, at the scale point and far along the ray.

The parser (:mod:`aalps.cost_models.expressions`) bounds every *constant* it builds; an
expression over parameters has no value until the request gives them one. This module bounds
those values, so that no request can pin a process or overflow a number later on:

* **Structure.** An exponential whose exponent is itself exponential in a parameter
  (``k**k**k``, ``2**2**k``, ``exp(exp(k))``, ``max(k, 2**k)**2**k``) is refused outright: its
  value is beyond any bound as soon as the parameter grows, and sympy's evaluation of it at
  a point never ends.
* **Magnitude.** Every expression is evaluated, step by step in a private mpmath context
  (:func:`~aalps.cost_models._expression_guards.approx`), at the scale point and at the far
  point of the scale ray (every growing free parameter multiplied by :data:`FAR_GROWTH`,
  defined parameters following, where the optimizer ranks plans asymptotically). Every step
  must be a finite real of magnitude within 10**-300..:data:`MAX_VALUE` (or 0). A step that
  leaves the range is refused before the next one is computed, so the check itself is
  bounded: a handful of multi-precision operations per node of the expression.

Exponentials of a parameter (``2**k``) stay legal while their values fit: at a scale point of
``k = 10``, ``2**k`` is 1024, but ``k`` grows to 10**7 at the far point, where ``2**k`` is
refused. The paper's exponential costs (Θ(2^k·k) for global retry) come from the operators'
formulas, not from a request expression, and are computed in log space by the evaluator.

Everything the evaluator does with a checked value stays bounded: a count or a size below
10**300 is a fast exponent of a probability (``p**count``) in mpmath, and products of such
values fall back to mpmath numbers (:data:`~aalps.cost_models.arithmetic.BIG`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sympy
from aalps.cost_models._expression_guards import MAX_MAGNITUDE, Rejected, approx

__all__ = [
    "FAR_GROWTH",
    "FAR_POINT",
    "MAX_VALUE",
    "Point",
    "check_structure",
    "far_value",
    "is_within",
    "values_at_points",
]

FAR_GROWTH = 1e6
"""How far the far point lies along the scale ray: every growing free parameter times this.

The same factor as :data:`aalps.optimizer.ray.FAR_SCALE`, where the optimizer ranks plans by
their asymptotic order (a test checks that the two agree)."""

MAX_VALUE = MAX_MAGNITUDE
"""Largest magnitude (10**300) of any expression, and of every step of its evaluation, at the
scale point and at the far point. Smaller than a float's range (1.8e308), so a value at the
scale point is a finite float, and small enough that ``p**value`` stays fast in mpmath."""

#: How messages name the far point.
FAR_POINT = (
    f"at the far point of the scale ray (every growing parameter times {FAR_GROWTH:g}; "
    "a constant is declared with grows: false)"
)

#: A named point: (its description in messages, a value per symbol).
Point = tuple[str, Mapping[sympy.Symbol, Any]]


def _exponential(expr: sympy.Basic) -> bool:
    """Whether ``expr`` holds an exponential of a parameter: ``a**f(k)`` or ``exp(f(k))``."""
    for node in sympy.preorder_traversal(expr):
        if node.is_Pow and node.exp.free_symbols:
            return True
        if isinstance(node, sympy.exp) and node.free_symbols:
            return True
    return False


def check_structure(expr: sympy.Basic) -> None:
    """Refuse a double exponential: an exponent that is itself exponential in a parameter.

    Raises
    ------
    Rejected
        naming the offending power, e.g. ``k**(k**k)``.
    """
    for node in sympy.preorder_traversal(expr):
        if node.is_Pow and node.exp.free_symbols and _exponential(node.exp):
            raise Rejected(
                f"the exponent of {_short(node)} grows exponentially in a parameter "
                "(a double exponential has no value at any useful scale)"
            )
        if isinstance(node, sympy.exp) and _exponential(node.args[0]):
            raise Rejected(
                f"the argument of {_short(node)} grows exponentially in a parameter "
                "(a double exponential has no value at any useful scale)"
            )


def _short(expr: sympy.Basic) -> str:
    text = str(expr)
    return text if len(text) <= 60 else text[:57] + "..."


def values_at_points(expr: sympy.Expr, points: Sequence[Point]) -> list[Any]:
    """``expr``'s mpmath value at every point, each step of the evaluation range-checked.

    The structure is checked first (:func:`check_structure`). Symbols without a value at a
    point are the caller's business: it evaluates only expressions whose symbols all have one.

    Raises
    ------
    Rejected
        saying at which point the value leaves the range.
    """
    check_structure(expr)
    results = []
    for where, values in points:
        try:
            results.append(approx(expr, values))
        except Rejected as error:
            raise Rejected(f"{error} {where}") from None
    return results


def far_value(
    value: float, grows: bool, expr: sympy.Expr | None, far: Mapping[sympy.Symbol, Any]
) -> Any:
    """A parameter's value at the far point: grown, kept, or its definition's value there.

    Raises
    ------
    Rejected
        when a definition's value leaves the range at the far point.
    """
    if expr is None:
        return value * FAR_GROWTH if grows else value
    return approx(expr, far)


def is_within(values: Iterable[Any]) -> bool:
    """Whether every value is at most :data:`MAX_VALUE` in magnitude (a cheap re-check)."""
    return all(abs(v) <= MAX_VALUE for v in values)
