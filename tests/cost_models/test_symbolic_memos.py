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


def test_memo_xreplace_equals_xreplace_on_shared_factors():
    """Expressions that share factors (logs, powers, ceilings, sums in sums), replaced with
    one memo, equal sympy's ``xreplace`` of each."""
    from aalps.cost_models.memo_replace import memo_xreplace

    k, l, n = sympy.symbols("k l n", positive=True)  # noqa: E741
    m = sympy.Symbol("m_x", positive=True)
    rule = {n: k * l}
    rng = random.Random(4)
    factors = [
        2 * n + 200,
        l * (l - 1) / 2 + l * (n + 20),
        sympy.log(n / 10),
        sympy.ceiling(n / 3),
        (n + 1) ** 2,
        1 / (1 + 10 / n),
        sympy.Rational(9, 10) ** n,
        sympy.Max(n, l),
        k + 3,
    ]
    memo: dict[sympy.Basic, tuple[sympy.Basic, bool]] = {}
    for _ in range(200):
        expr = sympy.Add(
            *(
                sympy.Rational(rng.randint(1, 9), rng.randint(1, 4))
                * m
                * sympy.Mul(*rng.sample(factors, rng.randint(1, 3)))
                for _ in range(rng.randint(1, 4))
            )
        )
        for _ in range(2):
            got, changed = memo_xreplace(expr, rule, memo)
            assert sympy.srepr(got) == sympy.srepr(expr.xreplace(rule))
            assert changed == (got != expr)


def test_growing_memo_follows_the_symbols_the_assumptions_bound():
    """A symbol the assumptions bound (``b <= 5``) is a constant: the remembered answers
    are those of the symbols that still grow, asked twice."""
    k, l, b = sympy.symbols("k l b", positive=True)  # noqa: E741
    analyzer = _Theta((b, k, l), (), (b <= 5,))
    for expr in [b, b + 1, b * k, sympy.log(b) + 2, k + l, sympy.Integer(3)]:
        for _ in range(2):
            assert analyzer._growing_in(expr) == bool(expr.free_symbols & {k, l})


def test_analysis_memo_gives_new_equal_records():
    """A term analyzed again is a new record equal to a fresh analyzer's (terms are told
    apart by identity), its projections the plain dot products."""
    from aalps.cost_models._cone import _dot

    k, l, b = sympy.symbols("k l b", positive=True)  # noqa: E741
    m = sympy.Symbol("m_x", positive=True)
    terms = [3 * m * k**2 * l, 2**k * k, sympy.log(k) * l / 7, m * (k + l), b * k]
    kept = _Theta((b, k, l), (m,), (b <= k,))
    for term in terms:
        first, again = kept._analyze(term), kept._analyze(term)
        fresh = _Theta((b, k, l), (m,), (b <= k,))._analyze(term)
        assert first is not again
        # The remembered projections are the degree vector's on each cone generator.
        assert first.proj == tuple(_dot(first.key.deg, g) for g in kept.gens)
        for field in ("model", "core", "coef", "key", "proj", "alts"):
            assert getattr(first, field) == getattr(again, field) == getattr(fresh, field)


def test_term_product_helpers_equal_the_plain_operations():
    """:func:`_vec_sum` is ``_compact`` of the Fraction sums (values and types), and
    :func:`_times` is ``x * y`` (the very expression)."""
    from fractions import Fraction

    from aalps.cost_models._cone import _compact
    from aalps.cost_models._growth_terms import _times, _vec_sum

    rng = random.Random(8)
    values = [0, 1, 2, -1, Fraction(1, 2), Fraction(-3, 4), Fraction(1, 2**20), Fraction(5, 3)]
    for _ in range(500):
        size = rng.randint(0, 4)
        a = _compact(Fraction(rng.choice(values)) for _ in range(size))
        b = _compact(Fraction(rng.choice(values)) for _ in range(size))
        got, expected = _vec_sum(a, b), _compact(Fraction(x) + y for x, y in zip(a, b, strict=True))
        assert got == expected and list(map(type, got)) == list(map(type, expected))
    k, l = sympy.symbols("k l", positive=True)  # noqa: E741
    one = sympy.S.One
    for x in (one, k, 2 * k, k * l, sympy.Rational(1, 3), sympy.log(k)):
        for y in (one, l, k**2, sympy.Rational(3, 2)):
            assert sympy.srepr(_times(x, y)) == sympy.srepr(x * y)
            assert sympy.srepr(_times(y, x)) == sympy.srepr(y * x)
