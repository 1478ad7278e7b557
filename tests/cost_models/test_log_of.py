""":func:`log_of` against ``float(mpmath.log(x))`` (its independent oracle): the remembered
answers are the oracle's, bit for bit, asked once or again, at the default precision and
inside a higher or lower one (the memo must not hand one precision's log to another)."""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from aalps.cost_models.shapes import log_of


def _numbers() -> list[object]:
    rng = random.Random(7)
    found: list[object] = [1, 2, 3, 10**30, 7**400]
    found += [mpmath.mpf(x) for x in ("1", "0.5", "0.999999999999", "1e-400", "3.7e-90000")]
    for _ in range(200):
        mantissa = mpmath.mpf(rng.random())
        found.append(mantissa * mpmath.power(10, -rng.randrange(0, 200000)))
        found.append(mpmath.mpf(rng.random()) * mpmath.power(2, rng.randrange(-5000, 5000)))
    return found


def _oracle(value: object) -> float:
    return float(mpmath.log(value))


@pytest.mark.parametrize("prec", [None, 30, 53, 113, 200])
def test_log_of_is_mpmath_log(prec: int | None) -> None:
    numbers = _numbers()
    for _ in range(2):  # the second round answers from the memo
        for value in numbers:
            if prec is None:
                expected, got = _oracle(value), log_of(value)  # type: ignore[arg-type]
            else:
                with mpmath.workprec(prec):
                    expected, got = _oracle(value), log_of(value)  # type: ignore[arg-type]
            assert got == expected, (value, prec, got, expected)
            assert type(got) is float


def test_log_of_edges() -> None:
    assert log_of(0.0) == -math.inf and log_of(-1.0) == -math.inf
    assert log_of(0) == -math.inf and log_of(mpmath.mpf(0)) == -math.inf
    assert log_of(mpmath.mpf(-2)) == -math.inf
    assert log_of(2.5) == math.log(2.5)
    one = log_of(1)
    assert one == 0.0 and math.copysign(1.0, one) == 1.0
