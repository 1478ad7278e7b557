"""The sign of a constant coefficient (:func:`aalps.cost_models._cone._sign`) is the sign
of its value: checked against mpmath at 80 digits, for numbers far from 0 (evaluated
without sympy's expansion) and for those that are 0 or nearly so (the expansion's way)."""

from __future__ import annotations

import random

import mpmath
import sympy
from aalps.cost_models._cone import _clear_sign, _worked_sign

_RATIONALS = [
    sympy.Rational(9, 10),
    sympy.Rational(19, 20),
    sympy.Rational(3, 2),
    sympy.Integer(7),
    sympy.Rational(99999, 100000) ** 200,  # a success over many tokens: 1000-digit terms
    sympy.Rational(4, 5) ** 37,
]


def _value(e: sympy.Expr) -> mpmath.mpf:
    """``e`` at 80 digits, by mpmath from its tree (rationals, logs, powers, products, sums)."""
    if e.is_Rational:
        return mpmath.mpf(int(e.p)) / int(e.q)
    if isinstance(e, sympy.log):
        return mpmath.log(_value(e.args[0]))
    if e.is_Pow:
        return _value(e.base) ** _value(e.exp)
    if e.is_Mul:
        return mpmath.fprod(_value(a) for a in e.args)
    if e.is_Add:
        return mpmath.fsum(_value(a) for a in e.args)
    raise AssertionError(f"unexpected {e!r}")


def _oracle(e: sympy.Expr) -> int:
    with mpmath.workdps(80):
        v = _value(e)
    assert abs(v) > mpmath.mpf(10) ** -25, e  # the cases below are far from 0
    return 1 if v > 0 else -1


def _coefficient(rng: random.Random) -> sympy.Expr:
    """A product of rationals and (inverse) logs of rationals, maybe plus another one."""
    factors = [sympy.Rational(rng.randint(-9, 9) or 1, rng.randint(1, 9))]
    for _ in range(rng.randint(1, 3)):
        factors.append(sympy.log(rng.choice(_RATIONALS)) ** rng.choice((-1, 1, 2)))
    out = sympy.Mul(*factors)
    if rng.random() < 0.3:
        out += sympy.Rational(rng.randint(-9, 9), 7) * sympy.log(rng.choice(_RATIONALS))
    return out


def test_numbers_far_from_zero_have_their_values_sign():
    rng = random.Random(3)
    for _ in range(300):
        e = _coefficient(rng)
        if e.is_Rational:
            continue
        assert _worked_sign.__wrapped__(e) == _oracle(e), e
        clear = _clear_sign(e)
        assert clear is None or clear == _oracle(e), e


def test_zero_and_tiny_numbers_go_the_expansions_way():
    zero = sympy.log(sympy.Rational(3, 2)) - sympy.log(3) + sympy.log(2)
    assert _clear_sign(zero) is None
    assert _worked_sign.__wrapped__(zero) == 0  # expanded: log(3/2) splits, the logs cancel
    tiny = sympy.Rational(1, 10**40) * sympy.log(sympy.Rational(3, 2))
    assert _clear_sign(tiny) is None
    assert _worked_sign.__wrapped__(tiny) is None  # past the 1e-30 the expansion reads


def test_a_thousand_digit_log_is_read_without_expanding():
    p = sympy.Rational(99999, 100000) ** 760
    e = sympy.Rational(5, 2) / sympy.log(p)  # log(p) < 0
    assert _clear_sign(e) == -1 == _oracle(e)
    assert _worked_sign.__wrapped__(e) == -1
