"""The whole-plan separation skips reducing the ratio only when its bound surely has two
terms or more, as it stands and cancelled (:mod:`aalps.cost_models._apart_roles`).

The oracle is the plain path: ``num/den`` and ``cancel(together(num/den))`` reduced by
``derive_bound``, and ``separation`` with the shortcut switched off.
"""

from __future__ import annotations

import random

import aalps.cost_models.bounds as bounds_module
import pytest
import sympy
from aalps.cost_models.bounds import derive_bound, separation
from sympy import Rational, log

from tests.cost_models.random_costs import GROWING, MODELS, b, k, l, m1, m2, m3, m4, random_cost
from tests.cost_models.random_costs import context as _context


def _cancelled_terms(num, den, context) -> int:
    """The plain path's count: the fewer terms of the ratio's bound as it stands and of the
    cancelled ratio's."""
    raw = derive_bound(num / den, **context).expr
    cancelled = derive_bound(sympy.cancel(sympy.together(num / den)), **context).expr
    return min(len(sympy.Add.make_args(raw)), len(sympy.Add.make_args(cancelled)))


def test_the_wide_requests_ratio_stays_apart_and_its_cancelled_bound_has_two_terms():
    # The 50x20 wide request's baseline and plan bounds (b <= k): role m2 grows along
    # k = t, role m1 only with l exponential in k (l = e**t), both unbounded.
    num = 2**k * k**2 * l**2 * m2 + k * l * m3 + k**2 * l**2 * m1 / Rational(19, 20) ** k
    den = (
        b * l**2 * m4
        + k * l**2 * m1
        + k * l**2 * m2
        + k * l * m4
        + k * m1 * log(k)
        + m2 / Rational(9, 10) ** k
    )
    context = _context((b <= k,))
    assert bounds_module._apart(num, den, context)
    assert _cancelled_terms(num, den, context) >= 2


def test_a_common_factor_across_roles_is_cancelled():
    # (k**2*m1 + k**2*m2) / (k*m1 + k*m2) is k: the same model symbols on both sides.
    num, den = k**2 * m1 + k**2 * m2, k * m1 + k * m2
    context = _context()
    assert not bounds_module._apart(num, den, context)
    assert separation(
        derive_bound(num, growing=GROWING, model_symbols=MODELS),
        derive_bound(den, growing=GROWING, model_symbols=MODELS),
    ) == [bounds_module.Separation("", k)]


def test_a_role_bounded_on_the_region_is_not_counted():
    # m3's part k*l/(k*l**2 + ...) is bounded: only m1 is shown unbounded.
    num = k**3 * l**2 * m1 + k * l * m3
    den = k * l**2 * m2 + l * m4
    assert not bounds_module._apart(num, den, _context())
    # With both roles growing past the plan, it is shown.
    assert bounds_module._apart(num + k**2 * l**3 * m3, den, _context())


def test_paths_must_keep_the_assumptions():
    # b**2*m1/(k*m2) and b*l*m3/(k*m2) grow only where b outgrows k: not under b <= k.
    num, den = b**2 * m1 + b * l * m3, k * l * m2
    assert bounds_module._apart(num, den, _context())
    assert not bounds_module._apart(num, den, _context((b <= k,)))
    # b**2 <= k still leaves b**2*l*m1/(k*m2) bounded, and b*l**2*m3/(k*m2) growing: one role.
    num = b**2 * l * m1 + b * l**2 * m3
    assert not bounds_module._apart(num, den, _context((b**2 <= k,)))


def test_what_it_cannot_read_is_cancelled():
    # A term with two model symbols, a symbol not declared positive, a symbolic rate.
    x = sympy.Symbol("x")
    q = sympy.Symbol("q", positive=True)
    den = k * m2
    assert not bounds_module._apart(k**2 * m1 * m3 + k**2 * m4, den, _context())
    assert not bounds_module._apart(x * k**2 * m1 + k**2 * m4, den, _context())
    assert not bounds_module._apart(q**k * m1 + k**2 * m4, den, _context())


_FACTORS = (
    k,
    l,
    b,
    k**2,
    l**2,
    k * l,
    log(k),
    log(l),
    2**k,
    Rational(9, 10) ** k,
    Rational(19, 20) ** (-k),
    Rational(3, 2) ** l,
    sympy.sqrt(k),
)


def _random_cost(rng: random.Random, models) -> sympy.Expr:
    return random_cost(rng, models, _FACTORS)


@pytest.mark.parametrize("seed", range(3))
def test_random_bounds_separate_as_the_plain_path(monkeypatch, seed):
    """Random bounds (of random costs in k, l, b under b <= k or nothing): the separation is
    the plain path's, and whenever the shortcut answers the cancelled ratio has two terms."""
    rng = random.Random(seed)
    fired = 0
    for _ in range(30):
        assumptions = rng.choice(((), (b <= k,), (b**2 <= k,)))
        context = _context(assumptions)
        base_models = rng.sample(MODELS, rng.randint(1, 3))
        plan_models = rng.sample(MODELS, rng.randint(1, 3))
        kw = {"growing": GROWING, "model_symbols": MODELS, "assumptions": assumptions}
        base = derive_bound(_random_cost(rng, base_models), **kw)
        plan = derive_bound(_random_cost(rng, plan_models), **kw)
        if bounds_module._apart(base.expr, plan.expr, context):
            fired += 1
            assert _cancelled_terms(base.expr, plan.expr, context) >= 2
        got = separation(base, plan)
        with monkeypatch.context() as patch:
            patch.setattr(bounds_module, "_apart", lambda *a: False)
            assert got == separation(base, plan)
    assert fired >= 3
