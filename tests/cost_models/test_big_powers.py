"""The far point's mpmath shortcuts against the plain operations: the remembered powers
and majorities (:func:`aalps.cost_models.arithmetic.power`,
``vote_reliability._big_majority``: the same number, of the same type, whether the memo
answers or computes, at every precision; other numbers pass through untouched) and the log
of a success (:func:`aalps.cost_models.far_successes.log_success`)."""

from __future__ import annotations

import itertools
import math
import random

import mpmath
import sympy
from aalps.cost_models.arithmetic import power
from aalps.cost_models.far_successes import _log_53, log_success
from aalps.cost_models.shapes import log_of
from aalps.cost_models.stochastic import majority_vote_success
from aalps.cost_models.vote_reliability import _big_majority
from mpmath.libmp import mpf_log, to_float

BASES = [mpmath.mpf("0.999"), mpmath.mpf(0.9), mpmath.mpf("1e-30"), mpmath.mpf(1), mpmath.mpf(0)]
EXPONENTS = [0, 1, 7, 123456, 10**9, mpmath.mpf(3), mpmath.mpf("2.5e6"), mpmath.mpf("0.5")]


def _identical(a: object, b: object) -> bool:
    """The same type and value (mpmath numbers by their exact digits)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, mpmath.mpf):
        return a._mpf_ == b._mpf_  # type: ignore[attr-defined]
    return a == b


def test_mpmath_powers_are_the_plain_powers_at_every_precision() -> None:
    for _ in range(2):  # the second round answers from the memo
        for prec in (53, 113):
            with mpmath.workprec(prec):
                for base, exponent in itertools.product(BASES, EXPONENTS):
                    assert _identical(power(base, exponent), base**exponent), (prec, base, exponent)


def test_a_precision_changes_the_answer_not_the_memo() -> None:
    base, exponent = mpmath.mpf(1) / 3, 1001
    low = power(base, exponent)
    with mpmath.workprec(200):
        high = power(base, exponent)
        assert _identical(high, base**exponent)
    assert not _identical(low, high)
    assert _identical(power(base, exponent), low)


def test_other_numbers_pass_through() -> None:
    x = sympy.Symbol("x")
    assert power(x, 3) == x**3
    assert _identical(power(0.9, 12), 0.9**12)
    assert _identical(power(3, 4), 81)
    assert _identical(power(mpmath.mpf(2), 0.5), mpmath.mpf(2) ** 0.5)  # float exponent: plain


def test_big_majorities_are_the_plain_sums() -> None:
    for _ in range(2):
        for prec in (53, 113):
            with mpmath.workprec(prec):
                for p, votes in itertools.product(BASES[:3], (1, 3, 5, 8)):
                    assert _identical(_big_majority(p, votes), majority_vote_success(p, votes))
    p = sympy.Rational(9, 10)
    assert _big_majority(p, 3) == majority_vote_success(p, 3)


def test_far_log_success_is_log_of() -> None:
    """:func:`.far_successes.log_success` against :func:`.shapes.log_of`, bit for bit,
    on mpmath numbers across the exponent range and on the special values (0, negatives,
    infinities, nan), and on the other number types it passes on."""
    rng = random.Random(7)
    values: list[object] = [
        mpmath.mpf(0),
        mpmath.mpf(-2),
        mpmath.mpf("-1e-400000"),
        mpmath.inf,
        -mpmath.inf,
        mpmath.nan,
        mpmath.mpf(1),
        mpmath.mpf("1e-400000"),
        0,
        1,
        0.0,
        -1.0,
        0.25,
    ]
    for _ in range(300):
        mantissa = mpmath.mpf(rng.random())
        values.append(mantissa * mpmath.mpf(2) ** rng.randint(-(10**6), 10**6))
    for value in values:
        mine, reference = log_success(value), log_of(value)
        assert type(mine) is type(reference) is float, value
        assert mine.hex() == reference.hex() or (math.isnan(mine) and math.isnan(reference))


def test_far_log_success_general_path_is_libmp_log() -> None:
    """The fast general path (``_log_53``: ``mpf_log``'s fixed-point steps, then one
    correctly rounded ``int / int``) against ``to_float(mpf_log(x, 53, "n"))``, bit for
    bit: mantissas of every width up to 53 bits, magnitudes at the path's edges (±2, just
    inside and outside ±2^73) and across the range, at the default precision; at other
    precisions and on the edges outside the path ``log_success`` still equals libmp."""
    rng = random.Random(11)
    edge = 1 << 73
    magnitudes = [-2, 2, -3, 3, 64, -1100, edge - 1, -(edge - 1), edge, -edge, -1, 0, 1]
    taken = 0
    for trial in range(40000):
        bits = rng.randint(1, 53)
        man = rng.getrandbits(bits) | 1 | (1 << (bits - 1))  # odd, ``bits`` wide
        mag = magnitudes[trial] if trial < len(magnitudes) else rng.randint(-3000, 3000)
        if trial % 7 == 0:
            mag = rng.randint(-(edge + 5), edge + 5)
        digits = (0, man, mag - man.bit_length(), man.bit_length())
        reference = to_float(mpf_log(digits, 53, "n"), rnd="n")
        fast = _log_53(digits)
        if fast is not None:
            taken += 1
            assert fast.hex() == reference.hex(), digits
        assert log_success(mpmath.mpf(digits)).hex() == reference.hex(), digits
    assert taken > 30000
    with mpmath.workprec(80):
        value = mpmath.mpf(2) ** -5000 / 3
        reference = to_float(mpf_log(value._mpf_, 80, "n"), rnd="n")
        assert log_success(value).hex() == reference.hex()
