"""The Θ analysis' shortcuts give what the plain steps give.

* :func:`aalps.cost_models._cone._log_of_base` builds the canonical log of a rational base
  (``sum e*log(p)`` over its factorization) with unevaluated ``log``\\ s of the primes, summed
  at once: the very expression the plain ``sympy.log`` terms added one by one give.
* :meth:`aalps.cost_models._dominance._Dominance.maximal` compares each term with the kept
  terms of its model monomial only: the same terms as the one-list walk over them all, in
  the same order; and ``maximal`` of what it returned (or of a part of it, as
  :meth:`aalps.cost_models._theta._Theta.bound` takes per model) is that part.
* :meth:`aalps.cost_models._theta._Theta._product` analyses a product's atomic factors
  without building their product (the product itself when every factor is atomic): the
  same terms as analysing ``Mul(*atomic)``.
* :func:`aalps.cost_models._cone._expand_rate` returns an exponential's rate as it is when
  ``sympy.expand`` would give it back: the rates of rational bases, their differences and
  their rational multiples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import sympy
from aalps.cost_models._cone import _expand_rate, _log_of_base
from aalps.cost_models._dominance import _Antichain
from aalps.cost_models._growth_terms import _is_atomic_factor, _Term
from aalps.cost_models._theta import Signed, _Theta


def _plain_log(b: sympy.Rational) -> sympy.Expr:
    """The canonical log as the plain sympy steps form it."""
    out = sympy.Integer(0)
    for p, e in sympy.factorint(int(b.p)).items():
        out += e * sympy.log(sympy.Integer(p))
    for p, e in sympy.factorint(int(b.q)).items():
        out -= e * sympy.log(sympy.Integer(p))
    return out


def test_log_of_a_rational_base_is_the_plain_sum():
    rng = random.Random(3)
    bases = [sympy.Rational(x) for x in (1, 2, 8, 10**6)]
    bases += [sympy.Rational(1, 2), sympy.Rational(99, 100), sympy.Rational(99999**27, 10**135)]
    for _ in range(200):
        bases.append(sympy.Rational(rng.randint(1, 10**6), rng.randint(1, 10**6)))
        bases.append(sympy.Rational(rng.randint(1, 60) ** rng.randint(1, 20), rng.randint(1, 60)))
    for b in bases:
        fast, plain = _log_of_base.__wrapped__(b), _plain_log(b)
        assert fast == plain and sympy.srepr(fast) == sympy.srepr(plain), b


def test_rates_kept_as_they_are_are_what_expand_gives():
    rng = random.Random(5)
    a = sympy.Symbol("a", positive=True)
    kept = 0
    for _ in range(300):
        rates = []
        for _ in range(2):
            r = sympy.Integer(0)
            for _ in range(rng.randint(1, 3)):
                b = sympy.Rational(rng.randint(1, 10**4), rng.randint(1, 10**4))
                lb = _log_of_base.__wrapped__(b) if rng.random() < 0.9 else sympy.Integer(1)
                r += sympy.Rational(rng.randint(-9, 9), rng.randint(1, 5)) * lb
            rates.append(r)
        odd = rng.choice([a, sympy.Float(0.5), sympy.log(sympy.Integer(4), evaluate=False), 1])
        power = sympy.Rational(rng.randint(-9, 9), rng.randint(1, 5))
        for r in (*rates, rates[0] - rates[1], rates[0] * power, odd * rates[0], rates[0] + odd):
            fast, plain = _expand_rate(r), sympy.expand(r)
            assert fast == plain and sympy.srepr(fast) == sympy.srepr(plain), r
            kept += fast is r
    assert kept > 900  # the shortcut is taken for the rational rates


def _one_list_maximal(theta: _Theta, terms: Sequence[_Term]) -> list[_Term]:
    """The walk over one list of every kept term (the independent reading of the rule)."""
    order = sorted(
        range(len(terms)), key=lambda i: (-len(terms[i].key.exp), -sum(terms[i].key.deg), i)
    )
    kept: list[_Term] = []
    for i in order:
        t = terms[i]
        if any(m.model == t.model and theta.dominates(m, t) for m in kept):
            continue
        kept = [m for m in kept if m.model != t.model or not theta.dominates(t, m)]
        kept.append(t)
    position = {id(t): i for i, t in enumerate(terms)}
    return sorted(kept, key=lambda t: position[id(t)])


def _random_terms(theta: _Theta, rng: random.Random) -> list[_Term]:
    b, k, ell = theta.growing
    models = [sympy.Integer(1), *sorted(theta.models, key=str)]
    factors = [k, ell, b, sympy.log(k), sympy.log(ell), 2**k, sympy.Rational(9, 10) ** (-k)]
    out = []
    for _ in range(rng.randint(0, 14)):
        core = sympy.Mul(*(f ** rng.randint(0, 2) for f in rng.sample(factors, 3)))
        model = rng.choice(models)
        out.append(theta._analyze(sympy.Rational(rng.randint(1, 9), 2) * model * core))
    return out


def test_maximal_per_model_is_the_one_list_walk_and_idempotent():
    b, k, ell = sympy.symbols("b k l", positive=True)
    models = sympy.symbols("m_a m_b m_c", positive=True)
    theta = _Theta((b, k, ell), models, (b <= k,))
    rng = random.Random(11)
    dropped = 0
    for _ in range(300):
        terms = _random_terms(theta, rng)
        kept = theta.maximal(terms)
        dropped += len(terms) - len(kept)
        assert isinstance(kept, _Antichain)
        assert [id(t) for t in kept] == [id(t) for t in _one_list_maximal(theta, terms)]
        for model in {t.model for t in kept}:
            part = [t for t in kept if t.model == model]
            assert [id(t) for t in theta.maximal(part)] == [id(t) for t in part]
    assert dropped > 300  # the walks did drop dominated terms


class _BuiltProduct(_Theta):
    """:class:`_Theta` whose products analyse ``Mul(*atomic)`` (the plain steps)."""

    def _product(self, e: sympy.Expr) -> Signed:
        factors = e.args
        atomic = [f for f in factors if _is_atomic_factor(f) or not self._growing_in(f)]
        r = self._signed(self._analyze(sympy.Mul(*atomic)))
        if r is None or len(atomic) == len(factors):
            return r
        sign, terms = r
        for f in factors:
            if _is_atomic_factor(f) or not self._growing_in(f):
                continue
            rf = self.theta(f)
            if rf is None:
                return None
            if rf[0] == 0:
                return 0, []
            sign *= rf[0]
            terms = self.maximal([self.mul(x, y) for x in terms for y in rf[1]])
        return sign, terms


def _fields(signed: Signed) -> object:
    """Everything of a Θ result but the records' identities (expressions by ``srepr``)."""
    if signed is None:
        return None
    return signed[0], [
        (sympy.srepr(t.model), sympy.srepr(t.core), sympy.srepr(t.coef), t.key, t.proj, t.alts)
        for t in signed[1]
    ]


def test_products_are_analysed_as_their_built_atomic_part():
    b, k, ell = sympy.symbols("b k l", positive=True)
    models = sympy.symbols("m_a m_b m_c", positive=True)
    context = ((b, k, ell), models, (b <= k,))
    fast, plain = _Theta(*context), _BuiltProduct(*context)
    half, keep = sympy.Rational(1, 2), sympy.Rational(99999, 100000)
    pool = [
        *models,
        k,
        ell**2,
        b,
        sympy.log(k),
        2**k,
        sympy.Rational(9, 10) ** (-k),
        sympy.log(9),
        1 / sympy.log(99),
        ell + 200,
        ell * (ell - 1) / 2 + ell * (ell + 200),
        1 / (9 * keep ** (ell + 20) / 20 + half),
        (1 - 10 / (59049 * k)) / (1 + 10 / (59049 * k)),
        sympy.log(k / 10) + 4,
        1 - sympy.Rational(19, 20) * keep ** (k * ell),
    ]
    rng = random.Random(5)
    products = 0
    for _ in range(600):
        coefficient = sympy.Rational(rng.randint(-9, 9) or 1, rng.randint(1, 9))
        e = coefficient * sympy.Mul(*rng.sample(pool, rng.randint(1, 5)))
        if isinstance(e, sympy.Mul):
            products += 1
            assert sympy.Mul(*e.args) == e
        assert _fields(fast.theta(e)) == _fields(plain.theta(e)), e
    assert products > 500
