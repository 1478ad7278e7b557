"""Two arithmetics for one formula: symbolic (sympy) and numeric (floats, or mpmath on overflow).

Every operator writes its cost once, against an :class:`Arithmetic`; evaluated with
:data:`SYMBOLIC` it yields the expression that bounds are derived from, with :data:`FLOAT` the
number a search compares in microseconds, and with :data:`BIG` the same number when a float
would overflow (``2**k`` at large ``k``). Sharing the formula is what makes the two agree.
:data:`BIG_SUCCESS` is :data:`BIG` for a run that wants only the success (the far point's
log success when its float underflowed): the operators may skip the work that only their
call groups need, the success comes from the same operations. :data:`SYMBOLIC_COST` is
:data:`SYMBOLIC` the other way round, for a run that wants only the call groups (the
symbolic cost, :func:`~.symbolic_costs.cost_schedule`): the operators may skip what only
their success reads, the groups come from the same operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy

__all__ = [
    "Arithmetic",
    "BIG",
    "BIG_SUCCESS",
    "FLOAT",
    "SYMBOLIC",
    "SYMBOLIC_COST",
    "UNWORKED",
    "Value",
    "power",
]

Value = Any  # a sympy.Expr, a float or an mpmath.mpf, depending on the arithmetic


@dataclass(frozen=True)
class Arithmetic:
    """The non-operator functions a formula needs, for one kind of number."""

    name: str
    symbolic: bool
    ceil: Callable[[Value], Value]
    log: Callable[[Value], Value]
    number: Callable[[Any], Value]
    #: Whether the schedule's call groups are wanted (False: only its success, which an
    #: operator then computes by the same operations, skipping what only the groups read).
    groups: bool = True
    #: Whether the schedule's success is wanted (False: only its call groups and tools; an
    #: operator may then leave the success :data:`UNWORKED`, skipping what only it reads).
    success: bool = True

    def rounds(self, calls: Value, parallelism: int | None) -> Value:
        """Rounds needed for ``calls`` independent calls on ``parallelism`` workers."""
        if parallelism is None:
            return 1
        return self.ceil(calls / parallelism)


def _sym_number(x: Any) -> sympy.Expr:
    if isinstance(x, sympy.Basic):
        return x
    if isinstance(x, int):
        return sympy.Integer(x)
    return sympy.Rational(repr(float(x)))


def _float_number(x: Any) -> float:
    return float(x)


def _big_number(x: Any) -> Any:
    return mpmath.mpf(x) if not isinstance(x, sympy.Basic) else mpmath.mpf(str(sympy.N(x, 30)))


SYMBOLIC = Arithmetic("symbolic", True, sympy.ceiling, sympy.log, _sym_number)
FLOAT = Arithmetic("float", False, lambda x: float(math.ceil(x)), math.log, _float_number)
BIG = Arithmetic("mpmath", False, mpmath.ceil, mpmath.log, _big_number)
BIG_SUCCESS = Arithmetic("mpmath", False, mpmath.ceil, mpmath.log, _big_number, groups=False)
#: Named as :data:`SYMBOLIC` (so the roles' symbolic figures, kept by name, are shared: the
#: same numbers), as :data:`BIG_SUCCESS` is named as :data:`BIG`.
SYMBOLIC_COST = Arithmetic("symbolic", True, sympy.ceiling, sympy.log, _sym_number, success=False)
#: The success of a schedule run with ``success`` off (:data:`SYMBOLIC_COST`): not worked
#: out (sympy's ``nan``, so that a reader who took it for a probability would see it).
UNWORKED = sympy.nan


_MPF = mpmath.mpf
_MP = mpmath.mp
#: mpmath powers by (base, exponent with its type, precision and rounding): see :func:`power`.
_POWERS: dict[tuple[Any, ...], Any] = {}
#: The most powers kept (then the memo starts over).
_MAX_POWERS = 1 << 15


def power(base: Value, exponent: Value) -> Value:
    """``base ** exponent``, the very operation; remembered when ``base`` is an mpmath
    number and ``exponent`` an int or one too.

    An mpmath power to a large exponent takes tens of microseconds, and the far point's
    successes (:data:`BIG_SUCCESS`) raise few bases to few exponents many times over (a
    task's acceptance to its block count, a step's success to the steps). The answer
    depends on the two numbers and the context's precision and rounding alone, which the
    key holds (an int exponent by its value, an mpmath one by its exact digits)."""
    if type(base) is not _MPF:
        return base**exponent
    kind = type(exponent)
    if kind is int:
        key: tuple[Any, ...] = (base._mpf_, exponent, *_MP._prec_rounding)
    elif kind is _MPF:
        key = (base._mpf_, None, exponent._mpf_, *_MP._prec_rounding)
    else:
        return base**exponent
    known = _POWERS.get(key)
    if known is None:
        if len(_POWERS) >= _MAX_POWERS:
            _POWERS.clear()
        known = _POWERS[key] = base**exponent
    return known
