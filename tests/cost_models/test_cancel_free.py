"""A separation's ratio is not cancelled only when cancelling surely keeps as many terms
(:mod:`aalps.cost_models._cancel_free`).

The oracles are sympy's own: the gcd of the ratio's numerator and denominator polynomials
(a monomial whenever the shortcut answers), ``cancel(together(num/den))`` reduced by
``derive_bound`` (as many terms as the ratio as it stands), and ``separation`` with the
shortcut switched off.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import aalps.cost_models.bounds as bounds_module
import pytest
import sympy
from aalps.cost_models._cancel_free import cancel_keeps_terms
from aalps.cost_models.bounds import derive_bound, separation
from sympy import Rational, log

from tests.cost_models.random_costs import GROWING, MODELS, b, k, l, m1, m2, m3, random_cost
from tests.cost_models.random_costs import context as _context

_FACTORS = (
    k,
    l,
    b,
    k**2,
    l**2,
    k * l,
    log(k),
    2**k,
    Rational(9, 10) ** k,
    Rational(19, 20) ** (-k),
    Rational(99999, 100000) ** (-2 * k * l - 201),  # a success over tokens: long numbers
    Rational(99999, 100000) ** (-l - 20),
)


def _terms(e: sympy.Expr) -> int:
    return len(sympy.Add.make_args(e))


def _random_cost(rng: random.Random, models) -> sympy.Expr:
    return random_cost(rng, models, _FACTORS)


def _shown(num: sympy.Expr, den: sympy.Expr, context) -> bool:
    analyzer = bounds_module._context_analyzer(num, den, context)
    return analyzer is not None and cancel_keeps_terms(analyzer, num, den)


def _gcd_is_monomial(num: sympy.Expr, den: sympy.Expr) -> bool:
    p, q = sympy.together(num / den).as_numer_denom()
    return _terms(sympy.expand(sympy.gcd(p, q))) == 1


def test_a_common_factor_is_cancelled():
    context = _context()
    assert not _shown(k**2 + k * l, k + l, context)  # (k + l) in common
    assert not _shown(k**2 * m1 + l**2 * m1, k * m2 + l * m2, context)  # k - l and k + l
    # after the gcd k*l both sides are constants, read as one term: cancelled
    assert not _shown(k * l * m1 + k * l * m2, k * l * m3 + k * l * m1, context)
    assert _shown(k**2 * m1 + l * m2, k * m3 + l**2 * m1, context)


def _random_bound_pairs(rng: random.Random, count: int) -> Iterator[tuple[Any, ...]]:
    """``count`` random (context, baseline bound, plan bound, ratio pairs): bounds of random
    costs under ``b <= k`` or nothing, and the (numerator, denominator) pairs a separation
    forms of them (the whole bounds, then each model's groups both have)."""
    for _ in range(count):
        assumptions = rng.choice(((), (b <= k,)))
        context = _context(assumptions)
        kw = {"growing": GROWING, "model_symbols": MODELS, "assumptions": assumptions}
        base = derive_bound(_random_cost(rng, rng.sample(MODELS, rng.randint(1, 3))), **kw)
        plan = derive_bound(_random_cost(rng, rng.sample(MODELS, rng.randint(1, 3))), **kw)
        pairs = [(base.expr, plan.expr)]
        pairs += [(g, plan.groups[m]) for m, g in base.groups.items() if m in plan.groups]
        yield context, base, plan, pairs


@pytest.mark.parametrize("seed", range(3))
def test_random_bounds_separate_as_the_plain_path(monkeypatch, seed):
    """Random bounds (of random costs under b <= k or nothing): whenever the shortcut
    answers, the gcd is a monomial and the cancelled ratio has as many terms or more; the
    separation is the plain path's."""
    fired = 0
    for context, base, plan, pairs in _random_bound_pairs(random.Random(seed), 25):
        for num, den in pairs:
            if _shown(num, den, context):
                fired += 1
                assert _gcd_is_monomial(num, den), (num, den)
                raw = derive_bound(num / den, **context).expr
                cancelled = derive_bound(sympy.cancel(sympy.together(num / den)), **context)
                assert _terms(cancelled.expr) >= _terms(raw), (num, den)
        got = separation(base, plan)
        with monkeypatch.context() as patch:
            patch.setattr(bounds_module, "cancel_keeps_terms", lambda *a: False)
            assert got == separation(base, plan)
    assert fired >= 3


@pytest.mark.parametrize("seed", range(4))
def test_the_growth_keys_answer_only_when_sympys_polynomials_would(seed):
    """Whenever the terms' growth keys show the conditions (``_keys_show_it``, tried before
    sympy's polynomials are formed), the gcd of the ratio's polynomials is a monomial and
    the cancelled ratio has as many terms or more."""
    from aalps.cost_models._cancel_free import _keys_show_it, _plain

    fired = 0
    for context, _, _, pairs in _random_bound_pairs(random.Random(100 + seed), 40):
        for num, den in pairs:
            analyzer = bounds_module._context_analyzer(num, den, context)
            tops, bottoms = sympy.Add.make_args(num), sympy.Add.make_args(den)
            if analyzer is None or len(tops) < 2 or len(bottoms) < 2:
                continue
            if not all(_plain(analyzer, t) for t in (*tops, *bottoms)):
                continue  # (what cancel_keeps_terms asks before)
            if not (analyzer._growing_in(num) and analyzer._growing_in(den)):
                continue
            if not _keys_show_it(analyzer, tops, bottoms):
                continue
            fired += 1
            assert _gcd_is_monomial(num, den), (num, den)
            raw = derive_bound(num / den, **context).expr
            cancelled = derive_bound(sympy.cancel(sympy.together(num / den)), **context)
            assert _terms(cancelled.expr) >= _terms(raw), (num, den)
    assert fired >= 3
