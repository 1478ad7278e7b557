"""Text and LaTeX of the optimizer's sympy expressions for the wire: sympy's own output, faster.

sympy's printers take about a millisecond per cost expression (ordering an ``Add``'s terms
dominates), and one response prints dozens: every plan's cost and its tasks' costs, its
bound, for the plan, the baseline, the front, each crossover; the separations. Plans share
tasks and a plan's cost is the sum of its tasks', so most of that text was printed before.
Whole expressions are therefore cached (:func:`functools.lru_cache`), and below them the
printers remember every subexpression they printed (:class:`_MemoStrPrinter`,
:class:`_MemoLatexPrinter`). The text is sympy's, character for character
(``tests/proto/test_printing.py``): a printer's ``_print`` of an expression depends on the
expression and the printer's settings alone, except that ``str`` shows a ``Float``'s
trailing zeros at the top level only, hence the memo's key (expression, top level or not).
Only sympy objects are remembered (``1 == 1.0`` for Python numbers, not for sympy's), and
sympy's equality tells apart what prints differently (a ``Float``'s precision, a symbol's
assumptions).
"""

from __future__ import annotations

import functools
from typing import Any

import sympy
from aalps.cost_models.readable import EXACT_DIGITS, readable
from sympy.core.basic import Basic
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["EXACT_DIGITS", "TEXT_CACHE_SIZE", "expression_text", "text_and_latex"]

#: Whole expressions' text kept (each a few hundred bytes).
TEXT_CACHE_SIZE = 4096

#: Subexpressions' text each printer keeps; past it, it starts again from empty.
MEMO_LIMIT = 50_000

_text_memo: dict[tuple[Basic, bool], str] = {}
_latex_memo: dict[tuple[Basic, bool], str] = {}


def _memo_print(printer: Any, memo: dict[tuple[Basic, bool], str], expr: Any, **kwargs: Any) -> str:
    """``printer``'s ``_print`` of ``expr``, remembered when it is a sympy object printed
    with no options (the options, e.g. LaTeX's exponent, are the caller's context)."""
    if kwargs or not isinstance(expr, Basic):
        return str(super(type(printer), printer)._print(expr, **kwargs))
    key = (expr, printer._print_level == 0)
    text = memo.get(key)
    if text is None:
        text = str(super(type(printer), printer)._print(expr))
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = text
    return text


class _MemoStrPrinter(StrPrinter):
    """``str`` of sympy expressions (``sstr(expr, order=None)``), subexpressions once."""

    def __init__(self) -> None:
        super().__init__({"order": None})

    def _print(self, expr: Any, **kwargs: Any) -> str:
        return _memo_print(self, _text_memo, expr, **kwargs)


class _MemoLatexPrinter(LatexPrinter):
    """``sympy.latex(expr)``, subexpressions once."""

    def __init__(self) -> None:
        super().__init__({})

    def _print(self, expr: Any, **kwargs: Any) -> str:
        return _memo_print(self, _latex_memo, expr, **kwargs)


def _text(expr: sympy.Expr) -> str:
    # A printer per call: a printer counts its nesting level (threads may print at once).
    return str(_MemoStrPrinter().doprint(expr))


@functools.lru_cache(maxsize=TEXT_CACHE_SIZE)
def expression_text(expr: sympy.Expr) -> str:
    """``expr`` as text, its exact constants too long to read shown as 15-digit floats.

    A chain's success ``p**steps`` at a large lead keeps thousands of exact digits, beyond
    what Python converts an integer to text (4,300) and of no use to a reader. Otherwise
    ``str(expr)``.
    """
    return _text(readable(expr))


@functools.lru_cache(maxsize=TEXT_CACHE_SIZE)
def text_and_latex(expr: sympy.Expr) -> tuple[str, str]:
    """``str(expr)`` and ``sympy.latex(expr)``: a bound's or a separation's ``text`` and
    ``latex``."""
    return _text(expr), str(_MemoLatexPrinter().doprint(expr))
