"""``plain_function`` against ``sympy.lambdify`` (its independent oracle): each form it
builds returns what the generated code returns, bit for bit and of the same type, in both
modules the sizes use, at float, int and mpmath points and at two mpmath precisions; the
other forms are left to ``lambdify`` (None)."""

from __future__ import annotations

import random
from typing import Any

import mpmath
import pytest
import sympy
from aalps.cost_models.domain import CHUNK
from aalps.cost_models.plain_functions import plain_function

K, L, N = sympy.symbols("k l n", positive=True)
SYMBOLS = (CHUNK, K, L, N)
R = sympy.Rational
BUILT = [
    R(19, 20),
    R(1, 3),
    R(10**20, 7),
    K,
    2 * N,
    10**20 * N,
    N / 3,
    2 * N / 3,
    R(10**20, 3) * L,
    N**2,
    N**3 / 10,
    3 * N**2,
    K * L,
    N + 1,
    N - 3,
    2 * N + 1,
    2 * N + 4,
    L + N,
    L + 2 * N,
    CHUNK / 10 + 2,
    CHUNK / 3 + L / 7,
    N**2 + K * L,
    sympy.Integer(5) + N**2 / 3,
]
LEFT = [
    sympy.Float("0.1", 30),
    sympy.Float("0.5") * N,
    -N + 3,
    -2 * N,
    R(-1, 3),
    -N / 3 + 1,
    N ** (-1),
    sympy.sqrt(N),
    2 * K * L,
    K + L + N,
    sympy.ceiling(N / 3),
    sympy.Max(N, L),
    sympy.Symbol("zzz_not_a_parameter") + 1,
]


def _points(module: str) -> list[tuple[Any, ...]]:
    rng = random.Random(7)
    floats = [tuple(rng.uniform(0.0, 10.0**e) for _ in SYMBOLS) for e in (1, 3, 6, 12, 30)]
    floats += [(7.0, 10.0, 200.0, 2000.0), (0.5, 0.0, -3.0, 1e300), (1e-300, 3e-7, 0.1, 0.3)]
    if module == "mpmath":
        return [tuple(mpmath.mpf(x) for x in p) for p in floats]
    return floats + [(7, 10, 200, 2000), (3, 1, 10**20, 5)]


def _call(fn: Any, args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except OverflowError as error:
        return ("overflow", type(error))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, mpmath.mpf) and isinstance(b, mpmath.mpf):
        return a._mpf_ == b._mpf_
    return type(a) is type(b) and (a == b or a != a and b != b)


@pytest.mark.parametrize("expr", BUILT, ids=str)
@pytest.mark.parametrize("module", ["math", "mpmath"])
def test_plain_function_is_lambdify(expr: sympy.Expr, module: str) -> None:
    oracle = sympy.lambdify(SYMBOLS, expr, modules=module)
    plain = plain_function(expr, SYMBOLS, module)
    assert plain is not None
    for dps in (15, 40) if module == "mpmath" else (15,):
        with mpmath.workdps(dps):
            for point in _points(module):
                expected, got = _call(oracle, point), _call(plain, point)
                assert _same(got, expected), (expr, module, dps, point, got, expected)


@pytest.mark.parametrize("expr", LEFT, ids=str)
def test_other_forms_are_left_to_lambdify(expr: sympy.Expr) -> None:
    assert plain_function(expr, SYMBOLS, "math") is None
    assert plain_function(expr, SYMBOLS, "mpmath") is None


def test_chunk_alone() -> None:
    """The compiled chunk bound's and the chunking search's form: the chunk size the one
    argument."""
    expr = CHUNK / 10 + 2
    plain = plain_function(expr, (CHUNK,), "math")
    assert plain is not None
    for size in (1, 7, 10**6, 3.5):
        assert _same(plain(size), sympy.lambdify(CHUNK, expr, modules="math")(size))
