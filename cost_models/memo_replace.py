"""``expr.xreplace(rule)`` with every subexpression's replacement remembered.

A plan's cost is a sum of hundreds of terms that share their factors (``2*n + 200``,
``l*(l - 1)/2``) with each other and with the baseline's and every challenger's terms.
Sympy's ``xreplace`` rebuilds each of them wherever it occurs; :func:`memo_xreplace` takes
the same steps (:meth:`sympy.Basic._xreplace`: the rule's value for an expression in it, else
the arguments replaced and the expression rebuilt from them when one changed) and keeps
each result, so a shared factor is rebuilt once. Sympy expressions are immutable and
``func(*args)`` is a function of its arguments, so the result is the very expression
``xreplace`` gives (a test compares them).
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy
from sympy.core.basic import Basic

__all__ = ["Replaced", "memo_xreplace"]

#: An expression's replacement and whether it differs from the expression.
Replaced = tuple[sympy.Basic, bool]

_PLAIN = Basic._xreplace


def memo_xreplace(
    expr: sympy.Basic, rule: Mapping[sympy.Basic, sympy.Basic], memo: dict[sympy.Basic, Replaced]
) -> Replaced:
    """``expr._xreplace(rule)``, looked up in and added to ``memo`` (which must only ever
    hold results of this ``rule``), subexpressions included.

    A class that replaces in its own way (its own ``_xreplace``) is left to it, as
    ``xreplace`` does.
    """
    known = memo.get(expr)
    if known is not None:
        return known
    if expr in rule:
        known = (rule[expr], True)
    elif not rule or type(expr)._xreplace is not _PLAIN:
        known = expr._xreplace(rule)
    else:
        args = []
        changed = False
        for a in expr.args:
            if isinstance(a, Basic):
                new, moved = memo_xreplace(a, rule, memo)
                args.append(new)
                changed |= moved
            else:
                xreplace = getattr(a, "_xreplace", None)
                if xreplace is not None:
                    new, moved = xreplace(rule)
                    args.append(new)
                    changed |= moved
                else:
                    args.append(a)
        known = (expr.func(*args), True) if changed else (expr, False)
    memo[expr] = known
    return known
