"""Exact expressions in a form a reader, and Python's integer-to-text limit, can take.

A chain's success ``p**steps`` at a large lead keeps thousands of exact digits: beyond what
Python converts an integer to text (4,300 digits), so that ``str`` and ``repr`` of such a cost
raise, and of no use to a reader. The wire's texts (``proto.printing``) and the ``repr`` of
the evaluations show those constants as 15-digit floats; the expressions themselves stay
exact.
"""

from __future__ import annotations

import math

import sympy

__all__ = ["EXACT_DIGITS", "readable"]

#: Exact constants with more digits than this (numerator or denominator) are shown as floats.
EXACT_DIGITS = 30


def readable(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with its exact rationals of more than :data:`EXACT_DIGITS` digits replaced by
    15-digit floats (``expr`` itself when it has none)."""
    huge = {
        r: sympy.Float(r, 15)
        for r in expr.atoms(sympy.Rational)
        if max(r.p.bit_length(), r.q.bit_length()) > EXACT_DIGITS * math.log2(10)
    }
    return expr.xreplace(huge) if huge else expr
