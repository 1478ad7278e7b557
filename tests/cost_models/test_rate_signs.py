"""The exponential levels' sign of a sum of rates from floats (``_sum_sign``) is the exact
one :func:`aalps.cost_models._cone._sign` gives for the sympy sum."""

from __future__ import annotations

import random

import sympy
from aalps.cost_models._cone import _log_of_base, _sign
from aalps.cost_models._growth_terms import _sum_sign

_BASES = [
    sympy.Integer(2),
    sympy.Rational(9, 10),
    sympy.Rational(19, 20),
    sympy.Rational(99999, 100000),
    sympy.Integer(3),
    sympy.Rational(4, 3),
    sympy.Rational(8, 1),
]


def _rate(rng: random.Random) -> sympy.Expr:
    """A rate as the analysis forms one: a rational times a canonical log of a base."""
    base = rng.choice(_BASES)
    log = _log_of_base(base)
    assert log is not None
    return sympy.Rational(rng.randint(-6, 6), rng.randint(1, 4)) * log


def test_random_sums_of_rates_have_the_exact_sign():
    rng = random.Random(7)
    for _ in range(400):
        rates = [_rate(rng) for _ in range(rng.randint(1, 4))]
        assert _sum_sign(rates) == _sign(sympy.Add(*rates)), rates


def test_cancelling_and_tiny_sums_go_the_exact_way():
    two, eight = _log_of_base(sympy.Integer(2)), _log_of_base(sympy.Integer(8))
    assert _sum_sign([3 * two, -eight]) == 0  # 3*log(2) - log(8)
    near = _log_of_base(sympy.Rational(10**12 + 1, 10**12))
    assert _sum_sign([near]) == 1
    assert _sum_sign([near, -near]) == 0
    p = sympy.Symbol("p", positive=True)
    assert _sum_sign([p * two]) == _sign(p * two) == 1
