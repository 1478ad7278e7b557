"""The numeric guards of the expression parser: nothing huge reaches sympy.

:mod:`aalps.cost_models.expressions` builds every operation through :data:`BUILDERS` after
:func:`precheck` (operands approximated in a private mpmath context, each step
range-checked) and :func:`audit` (every number of the result bounded). A refusal is a
:class:`Rejected` whose message says why; the parser turns it into an
:class:`~aalps.cost_models.errors.ExpressionError` naming the field and the position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import sympy

__all__ = [
    "BUILDERS",
    "MAX_EXPONENT",
    "MAX_MAGNITUDE",
    "MAX_NUMBER_DIGITS",
    "ROOT_LIMIT",
    "Rejected",
    "approx",
    "audit",
    "precheck",
]

MAX_EXPONENT = 256
"""Largest absolute value of a numeric exponent (also of a literal's ``e`` exponent)."""
MAX_NUMBER_DIGITS = 30
"""Most digits in one number literal; also the size limit of a number under a root."""

MAX_MAGNITUDE = 10**300
"""Bound on numerators, denominators and the absolute value of every constant."""

# A private mpmath context, so that nobody else's precision setting affects the checks.
_MP = mpmath.MPContext()
_MP.dps = 30
_UPPER = _MP.mpf(MAX_MAGNITUDE)
_LOWER = 1 / _UPPER
ROOT_LIMIT = 10**MAX_NUMBER_DIGITS
"""Numbers from here on are refused under a fractional power (sympy would factor them)."""
_NOT_REAL = {
    sympy.S.ImaginaryUnit: "the value is not a real number",
    sympy.S.ComplexInfinity: "the value is undefined (a division by zero)",
    sympy.S.NaN: "the value is undefined",
    sympy.S.Infinity: "the value is infinite",
    sympy.S.NegativeInfinity: "the value is infinite",
}


class Rejected(Exception):
    """An operation or a constant the parser refuses; the message says why."""


def precheck(kind: str, args: list[sympy.Expr]) -> None:
    """Refuse an operation on already-built operands before sympy gets to evaluate it."""
    constant = [not arg.free_symbols for arg in args]
    if kind == "inv" and args[0] == 0:
        raise Rejected("division by zero")
    if kind == "**" and constant[1]:
        base, exponent = args
        power = approx(exponent)
        if abs(power) > MAX_EXPONENT:
            raise Rejected(f"exponent {exponent} is beyond the limit of {MAX_EXPONENT}")
        if base == 0 and power < 0:
            raise Rejected("division by zero: 0 raised to a negative power")
        if constant[0] and not exponent.is_Integer and approx(base) < 0:
            raise Rejected("negative number raised to a fractional power")
        if base.is_Rational and not exponent.is_Integer:
            _check_radicand(base)
    if kind == "log":
        if constant[0] and approx(args[0]) <= 0:
            raise Rejected("log of a non-positive number")
        if len(args) == 2 and constant[1] and (approx(args[1]) <= 0 or approx(args[1]) == 1):
            raise Rejected("log base must be positive and not 1")
    if all(constant):
        _apply(kind, [approx(arg) for arg in args])


def _lattice(cls: Any, pick: Callable[..., Any]) -> Callable[..., sympy.Expr]:
    """min/max: exact on rational arguments; otherwise deduplicated but left unevaluated."""

    def build(*args: sympy.Expr) -> sympy.Expr:
        rationals = [arg for arg in args if arg.is_Rational]
        others = [arg for arg in args if not arg.is_Rational]
        if rationals:
            others.append(pick(rationals))
        return cls(*others, evaluate=False) if len(set(others)) > 1 else others[0]

    return build


def _rounding(cls: Any) -> Callable[[sympy.Expr], sympy.Expr]:
    """ceil/floor: exact on rationals; otherwise unevaluated (sympy may evalf for seconds)."""
    return lambda arg: cls(arg) if arg.is_Rational else cls(arg, evaluate=False)


BUILDERS: Mapping[str, Callable[..., sympy.Expr]] = {
    "+": lambda *terms: sympy.Add(*terms),
    "*": lambda *factors: sympy.Mul(*factors),
    "neg": lambda a: -a,
    "inv": lambda a: sympy.Pow(a, -1),
    "**": lambda a, b: sympy.Pow(a, b),
    "log": lambda *args: sympy.log(*args),
    "exp": lambda a: sympy.exp(a),
    "min": _lattice(sympy.Min, min),
    "max": _lattice(sympy.Max, max),
    "ceil": _rounding(sympy.ceiling),
    "floor": _rounding(sympy.floor),
}


def audit(expr: sympy.Basic, *, in_exponent: bool) -> None:
    """Refuse a built expression holding a number too big, a huge exponent or a non-real."""
    if expr.is_Rational:
        if abs(expr.p) > MAX_MAGNITUDE or expr.q > MAX_MAGNITUDE:
            raise Rejected("a number exceeds 10**300")
        if in_exponent and abs(expr) > MAX_EXPONENT:
            raise Rejected(f"an exponent contains {expr}, beyond the limit of {MAX_EXPONENT}")
    elif expr.is_Atom:
        if expr in _NOT_REAL:
            raise Rejected(_NOT_REAL[expr])
    elif expr.is_Pow:
        base, exponent = expr.args
        if base.is_Rational and exponent.is_Rational and not exponent.is_Integer:
            _check_radicand(base)
        audit(base, in_exponent=in_exponent)
        audit(exponent, in_exponent=True)
    else:
        for arg in expr.args:
            audit(arg, in_exponent=in_exponent)


def _check_radicand(base: sympy.Rational) -> None:
    """sympy factors a number under a fractional power: keep that number small."""
    if max(abs(base.p), base.q) >= ROOT_LIMIT:
        raise Rejected(f"fractional power of a number with more than {MAX_NUMBER_DIGITS} digits")


_APPROX_KINDS: Sequence[tuple[Any, str]] = (
    (sympy.Add, "+"),
    (sympy.Mul, "*"),
    (sympy.Pow, "**"),
    (sympy.exp, "exp"),
    (sympy.log, "log"),
    (sympy.Min, "min"),
    (sympy.Max, "max"),
    (sympy.ceiling, "ceil"),
    (sympy.floor, "floor"),
)


def approx(expr: sympy.Basic, values: Mapping[sympy.Symbol, Any] | None = None) -> Any:
    """An mpmath approximation of a sympy expression, each step range-checked.

    Parameters
    ----------
    expr
        A constant expression, or one over the symbols of ``values``.
    values
        A number per symbol (a float or an mpmath number), e.g. the request's scale point:
        this is how an expression's value is bounded at a point without handing it to
        sympy, whose evaluation of a tower such as ``k**k**k`` never ends.

    Raises
    ------
    Rejected
        when a step is not a finite real within 10**-300..10**300 (or 0), or a symbol has
        no value.
    """
    if expr.is_Rational:
        return _checked(_MP.mpf(expr.p) / expr.q)
    if expr is sympy.E:
        return _MP.e
    if expr.is_Symbol or expr.is_Float:
        if expr.is_Float:
            return _checked(_MP.mpf(str(expr)))
        if values is None or expr not in values:
            raise Rejected(f"{expr} has no value here")
        value = values[expr]
        return _checked(_MP.mpf(str(value) if isinstance(value, sympy.Basic) else value))
    for cls, kind in _APPROX_KINDS:
        if isinstance(expr, cls):
            return _apply(kind, [approx(arg, values) for arg in expr.args])
    raise Rejected(_NOT_REAL.get(expr, "a constant part cannot be evaluated"))


def _apply(kind: str, values: list[Any]) -> Any:
    """The mpmath counterpart of one builder; raises :class:`Rejected` on a bad result."""
    first = values[0]
    if kind == "inv" and first == 0:
        raise Rejected("division by a value that is zero")
    if kind == "**" and first == 0 and values[1] < 0:
        raise Rejected("division by zero: 0 raised to a negative power")
    if kind == "log" and any(v <= 0 for v in values):
        raise Rejected("log of a non-positive value")
    if kind == "log" and len(values) == 2 and values[1] == 1:
        raise Rejected("log to base 1")
    try:
        result = _OPERATIONS[kind](*values)
    except (ArithmeticError, ValueError) as error:
        raise Rejected("a constant part cannot be evaluated") from error
    return _checked(result)


_OPERATIONS: Mapping[str, Callable[..., Any]] = {
    "+": lambda *v: _MP.fsum(v),
    "*": lambda *v: _MP.fprod(v),
    "neg": lambda a: -a,
    "inv": lambda a: 1 / a,
    "**": lambda a, b: a**b,
    "log": lambda a, b=None: _MP.log(a) if b is None else _MP.log(a) / _MP.log(b),
    "exp": lambda a: _MP.exp(a),
    "min": lambda *v: min(v),
    "max": lambda *v: max(v),
    "ceil": lambda a: _MP.ceil(a),
    "floor": lambda a: _MP.floor(a),
}


def _checked(value: Any) -> Any:
    """``value`` when it is a finite real within 10**-300..10**300 (or 0), else refused."""
    if not isinstance(value, _MP.mpf) or not _MP.isfinite(value):
        raise Rejected("the value is not a finite real number")
    if value != 0 and not _LOWER <= abs(value) <= _UPPER:
        raise Rejected("a numeric value is beyond the range 10**-300 to 10**300")
    return value
