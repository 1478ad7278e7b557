"""The per-term memos of the Θ side return what the plain sympy calls do: a plan cost's
substitution of the defined parameters (``xreplace``), its free symbols, and the growing test
of a sum, compared with sympy on the same expressions (``sympy.srepr`` for expressions)."""

from __future__ import annotations

import random

import sympy
from aalps.cost_models import bounds
from aalps.cost_models._theta import _Theta
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request

from tests.optimizer.random_requests import wide_request_data


def _sums(symbols: list[sympy.Symbol], rng: random.Random) -> list[sympy.Expr]:
    """Sums of products of ``symbols`` (some repeated across sums, as plans share tasks)."""
    pool = [
        sympy.Rational(rng.randint(1, 9), rng.randint(1, 3))
        * sympy.Mul(*rng.sample(symbols, rng.randint(1, 3)))
        * rng.choice((1, symbols[0] + 2, sympy.log(symbols[-1])))
        for _ in range(40)
    ]
    return [sympy.Add(*rng.sample(pool, rng.randint(1, 25))) for _ in range(30)]


def test_substitution_memo_equals_xreplace():
    request = load_request(wide_request_data(1, 6, 4))
    evaluator = PlanEvaluator(request)
    rule = request.graph.substitutions
    assert rule  # the wide requests define parameters (n = k*l)
    symbols = sorted(
        {*rule, *(s for e in rule.values() for s in e.free_symbols)}, key=sympy.default_sort_key
    )
    rng = random.Random(5)
    for cost in [*_sums(symbols, rng), symbols[0], sympy.Integer(3), *rule]:
        for _ in range(2):  # the second time from the memo
            got = evaluator._substituted(cost)
            assert sympy.srepr(got) == sympy.srepr(cost.xreplace(rule))


def test_free_symbols_memo_equals_sympy():
    k, l, b = sympy.symbols("k l b", positive=True)  # noqa: E741 (the paper's names)
    x = sympy.Symbol("x")  # not declared positive: derive_bound works on a stand-in
    rng = random.Random(9)
    for expr in [*_sums([k, l, b, x], rng), k, x * k, sympy.Integer(2)]:
        for _ in range(2):
            assert bounds._free_symbols(expr) == expr.free_symbols


def test_growing_test_of_sums_equals_free_symbols():
    k, l, b = sympy.symbols("k l b", positive=True)  # noqa: E741
    m = sympy.Symbol("m_x", positive=True)
    c = sympy.Symbol("c", positive=True)  # a constant parameter
    analyzer = _Theta((k, l), (m,), ())
    rng = random.Random(2)
    for expr in [*_sums([c, m, b, k, l], rng), *_sums([c, m, b], rng), c + m, c * k]:
        assert analyzer._growing_in(expr) == bool(expr.free_symbols & {k, l})
