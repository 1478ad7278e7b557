"""``_ray_function`` against ``sympy.lambdify`` (its independent oracle): an integer size or
a parameter itself skips ``lambdify``, and must return what the generated code returns, of
the same type (a Python ``int``, or the very argument), in both modules the sizes use."""

from __future__ import annotations

from typing import Any

import mpmath
import pytest
import sympy
from aalps.cost_models.domain import CHUNK
from aalps.cost_models.task_sizes import _ray_function

K, L, N = sympy.symbols("k l n")
SYMBOLS = (CHUNK, K, L, N)
EXPRESSIONS = [
    sympy.Integer(0),
    sympy.Integer(1),
    sympy.Integer(-1),
    sympy.Integer(93),
    sympy.Integer(10**30),  # beyond a float's integers: an int, converted by the caller
    sympy.Integer(-(2**70) + 1),
    K,
    L,
    N,
    CHUNK,
    sympy.Rational(19, 20),  # the rest still go through lambdify
    sympy.Float("0.1", 30),
    2 * N + 4,
    K * L,
    CHUNK / 10 + L,
]
POINTS = [(7.0, 10.0, 200.0, 2000.0), (1e9, 40.0, 8e5, 3.2e7), (0.5, 0.0, -3.0, 1e300)]


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
@pytest.mark.parametrize("module", ["math", "mpmath"])
def test_ray_function_is_lambdify(expr: sympy.Expr, module: str) -> None:
    oracle = sympy.lambdify(SYMBOLS, expr, modules=module)
    fast = _ray_function(expr, SYMBOLS, module)
    for point in POINTS:
        args = tuple(mpmath.mpf(x) for x in point) if module == "mpmath" else point
        expected, got = oracle(*args), fast(*args)
        assert _same(got, expected), (expr, module, point, got, expected)
        if expr in SYMBOLS:
            assert got is args[SYMBOLS.index(expr)]


def test_symbol_outside_the_arguments_is_left_to_lambdify() -> None:
    """A symbol the point does not give is compiled by ``lambdify`` (which answers the
    symbol itself), not taken for an argument."""
    other = sympy.Symbol("zzz_not_a_parameter")
    fn = _ray_function(other, (K, L), "math")
    assert fn(1.0, 2.0) == sympy.lambdify((K, L), other, modules="math")(1.0, 2.0) == other
