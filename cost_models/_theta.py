"""Reduction of a cost expression to its Θ terms (see :mod:`bounds` for the rules).

:meth:`_Theta.theta` returns, for an expression ``e``, its sign and the maximal terms of a
sum of positive terms that is Θ(``|e|``), or None when that cannot be shown (the caller then
tries the exact expansion, and :meth:`_Theta.bound` keeps what stays undecided verbatim).
Every Θ-shortcut (a power of a sum by the powers of its maximal terms, a log of a sum by the
logs of its maximal terms, ``Max`` by a sum) is applied only to a factor whose value is
positive: a sum is split into its positive and negative parts, and the negative part must be
strictly dominated (``o(·)``) by the positive part, else the sum is expanded exactly first so
that cancellations happen before anything is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import sympy
from aalps.cost_models._cone import Vec, _dot, _rational, _sign
from aalps.cost_models._dominance import (
    _MAX_ALTS,
    _Antichain,
    _Dominance,
    _is_atomic_factor,
    _Term,
)
from aalps.cost_models._growth_terms import _Key

__all__ = ["Signed"]

Signed = tuple[int, list[_Term]] | None  # sign of e (1, -1, 0) and the Θ terms of |e|


class _Theta(_Dominance):
    """Θ reduction and bounds for one set of growing symbols and assumptions."""

    def __init__(self, *args: Any) -> None:
        # None while the assumptions are parsed (before the cone and the constants exist).
        self._analyzed: dict[sympy.Expr, _Term] | None = None
        self._projections: dict[Vec, tuple[Fraction | int, ...]] | None = None
        super().__init__(*args)
        self._analyzed = {}
        self._atomic: dict[tuple[sympy.Expr, ...], _Term] = {}
        self._projections = {}
        self._cache: dict[sympy.Expr, Signed] = {}

    def _analyze(self, term: sympy.Expr) -> _Term:
        """:meth:`_Dominance._analyze`, remembered per expression (a plan's terms share
        their factors, and the exact expansions meet the same terms again). A new record
        each time, as the analysis gives: terms are told apart by identity
        (:meth:`maximal`)."""
        memo = self._analyzed
        if memo is None:
            return super()._analyze(term)
        known = memo.get(term)
        if known is None:
            known = memo[term] = super()._analyze(term)
        return _Term(
            known.model, known.core, known.coef, known.key, known.proj, known.exp_id, known.alts
        )

    def _analyze_atomic(self, factors: list[sympy.Expr]) -> _Term:
        """:meth:`_analyze` of the product of some of a product's arguments (no ``Add``
        among them: ``Mul`` leaves them as they are), remembered per factors: the product
        itself, a new expression for each coefficient and model of a plan's terms, is not
        built."""
        memo = self._atomic
        key = tuple(factors)
        known = memo.get(key)
        if known is None:
            known = memo[key] = self._analyze_factors(factors, None)
        return _Term(
            known.model, known.core, known.coef, known.key, known.proj, known.exp_id, known.alts
        )

    def _term(
        self,
        model: sympy.Expr,
        core: sympy.Expr,
        coef: sympy.Expr,
        key: _Key,
        alts: tuple[tuple[_Term, ...], ...] = (),
    ) -> _Term:
        """:meth:`_Dominance._term` with the degree vector's projections on the cone's
        generators remembered per vector (terms of a plan share a few degree vectors)."""
        memo = self._projections
        if memo is None:
            return super()._term(model, core, coef, key, alts)
        proj = memo.get(key.deg)
        if proj is None:
            proj = memo[key.deg] = tuple(_dot(key.deg, g) for g in self.gens)
        exp_id = self._exp_ids.setdefault(key.exp, len(self._exp_ids))
        return _Term(model, core, coef, key, proj, exp_id, alts)

    # ----------------------------------------------------------------- entry points

    def bound(self, e: sympy.Expr) -> tuple[sympy.Expr, dict[sympy.Expr, sympy.Expr]]:
        r = self.theta(e)
        if r is not None and r[0] == 0:
            return sympy.Integer(0), {}
        terms = r[1] if r is not None and r[0] > 0 else self._undecided(e)
        by_model: dict[sympy.Expr, list[_Term]] = {}
        for t in terms:
            by_model.setdefault(t.model, []).append(t)
        # An antichain's part is its own maximal terms (:class:`._dominance._Antichain`).
        done = isinstance(terms, _Antichain)
        kept = {m: ts if done else self.maximal(ts) for m, ts in by_model.items()}
        growing = {m for m, ts in kept.items() if any(not self.dominates(self.one, t) for t in ts)}
        if growing:
            kept = {m: ts for m, ts in kept.items() if m in growing}
        ordered = sorted(kept, key=sympy.default_sort_key)
        groups = {m: sympy.Add(*(t.core for t in kept[m])) for m in ordered}
        total = sympy.Add(*(m * t.core for m in ordered for t in kept[m]))
        return total, groups

    def _undecided(self, e: sympy.Expr) -> list[_Term]:
        """Per model monomial: its Θ when decided, else its exact sum, verbatim."""
        by_model: dict[sympy.Expr, list[sympy.Expr]] = {}
        for a in sympy.Add.make_args(sympy.expand(e)):
            by_model.setdefault(self._analyze(a).model, []).append(a)
        out: list[_Term] = []
        for m, args in by_model.items():
            r = self.theta(sympy.Add(*args))
            if r is not None and r[0] > 0:
                out.extend(r[1])
            elif r is None or r[0] != 0:
                core = sympy.Add(*(a / m for a in args))
                out.append(replace(self._analyze(core), model=m))
        return out

    def theta(self, e: sympy.Expr) -> Signed:
        if e not in self._cache:
            self._cache[e] = self._theta(e)
        return self._cache[e]

    # ----------------------------------------------------------------- cases

    def _theta(self, e: sympy.Expr) -> Signed:
        if e.is_Number or not self._growing_in(e):
            if isinstance(e, sympy.Add) and e.free_symbols & self.models:
                return self._sum(e)  # one term per model monomial
            return self._signed(self._analyze(e))
        if e in self.active:
            return 1, [self._analyze(e)]
        if isinstance(e, sympy.Mul):
            return self._product(e)
        if isinstance(e, sympy.Add):
            return self._sum(e)
        if isinstance(e, (sympy.Pow, sympy.exp)):
            return self._power(e)
        if isinstance(e, sympy.log):
            return self._log(e.args[0])
        if isinstance(e, (sympy.ceiling, sympy.floor)):
            r = self.theta(e.args[0])
            if r is None or r[0] != 1:
                return None
            if isinstance(e, sympy.ceiling):  # x <= ceiling(x) < x + 1
                return 1, self.maximal([*r[1], self.one])
            if any(self.strictly(t, self.one) for t in r[1]):  # x/2 <= floor(x) <= x for x >= 1
                return r
            return 1, [self._analyze(e)]
        if isinstance(e, sympy.Max):
            parts = [self.theta(a) for a in e.args]
            if any(r is None or r[0] != 1 for r in parts):
                return None
            return 1, self.maximal([t for r in parts if r is not None for t in r[1]])
        if isinstance(e, sympy.Min):
            return self._min(e.args)
        if isinstance(e, sympy.Abs):
            r = self.theta(e.args[0])
            return None if r is None else (abs(r[0]), r[1])
        if e.is_positive:
            return 1, [self._analyze(e)]
        return None

    def _signed(self, t: _Term) -> Signed:
        s = _sign(t.coef)
        if s is None:
            return None
        return (s, [t]) if s else (0, [])

    def _product(self, e: sympy.Expr) -> Signed:
        factors = e.args
        atomic = [f for f in factors if _is_atomic_factor(f) or not self._growing_in(f)]
        if len(atomic) == len(factors):  # their product is ``e`` (``Mul(*e.args) == e``)
            return self._signed(self._analyze(e))
        if any(f.is_Add for f in atomic):  # ``Mul`` may distribute a number over it
            r = self._signed(self._analyze(sympy.Mul(*atomic)))
        else:
            r = self._signed(self._analyze_atomic(atomic))
        if r is None:
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

    def _sum(self, e: sympy.Expr) -> Signed:
        pos: list[_Term] = []
        neg: list[_Term] = []
        for a in e.args:
            r = self.theta(a)
            if r is None:
                return self._exact(e)
            (pos if r[0] > 0 else neg).extend(r[1])
        out = self._combine(pos, neg, [])
        return out if out is not None else self._exact(e)

    def _combine(self, pos: list[_Term], neg: list[_Term], unknown: list[_Term]) -> Signed:
        """Sign and Θ of ``sum(pos) - sum(neg) ± unknown`` when one side strictly wins."""
        if not neg and not unknown:
            return (1, self.maximal(pos)) if pos else (0, [])
        for sign, big, small in ((1, pos, neg), (-1, neg, pos)):
            if not big:
                continue
            top = self.maximal(big)
            if all(
                any(x.model == y.model and self.strictly(x, y) for x in top)
                for y in (*small, *unknown)
            ):
                return sign, top
        return None

    def _exact(self, e: sympy.Expr) -> Signed:
        """Expand exactly (logs too), merge equal cores, then split by sign."""
        x = sympy.expand(e)
        if not isinstance(x, sympy.Add):
            return None if x == e else self.theta(x)
        merged: dict[tuple[sympy.Expr, Any], list[Any]] = {}
        for a in x.args:
            t = self._analyze(a)
            k = (t.model, t.key)
            if k in merged:
                merged[k][1] += t.coef
            else:
                merged[k] = [t, t.coef]
        pos: list[_Term] = []
        neg: list[_Term] = []
        unknown: list[_Term] = []
        for t, coef in merged.values():
            s = _sign(coef)
            if s == 0:
                continue
            terms = [t]
            if t.key.opaque:
                r = self._opaque(t)
                if r is None:
                    return None
                if r[0] == 0:
                    continue
                terms = r[1]
                s = None if s is None else s * r[0]
            (unknown if s is None else pos if s > 0 else neg).extend(terms)
        return self._combine(pos, neg, unknown)

    def _opaque(self, t: _Term) -> Signed:
        """Θ of a term whose opaque factors (Min, logs of sums, ...) are reduced in turn."""
        opaque = set(t.key.opaque)
        plain = [f for f in sympy.Mul.make_args(t.core) if f not in opaque]
        r = self.theta(sympy.Mul(*t.key.opaque))
        if r is None or r[0] == 0:
            return r
        base = self._analyze(t.model * sympy.Mul(*plain))
        return r[0], [self.mul(base, u) for u in r[1]]

    def _power(self, e: sympy.Expr) -> Signed:
        base, ex = e.as_base_exp()
        if self._growing_in(ex):
            if self._growing_in(base):
                r = self.theta(base)
                return (1, [self._analyze(e)]) if r is not None and r[0] == 1 else None
            if _sign(base) != 1:
                return None
            # base**ceiling(x) is within a constant factor of base**x
            stripped = ex.replace(
                lambda z: isinstance(z, (sympy.ceiling, sympy.floor)), lambda z: z.args[0]
            )
            return 1, [self._analyze(sympy.Pow(base, sympy.expand(stripped)))]
        r = self.theta(base)
        if r is None:
            return None
        sign, terms = r
        q = _rational(ex)
        if sign == 0:
            return (0, []) if q is not None and q > 0 else None
        if sign < 0:
            if q is None or q.denominator != 1:
                return None
            sign = -1 if q.numerator % 2 else 1
        if q is None:  # a symbolic constant exponent
            return sign, [self._analyze(sympy.Pow(self._display(terms), ex))]
        if q > 0:  # (t1 + t2)**q is Θ(t1**q + t2**q)
            return sign, [self._pow(t, q) for t in terms]
        if len(terms) == 1 and not terms[0].alts:
            return sign, [self._pow(terms[0], q)]
        # (t1 + t2)**q for q < 0 is Θ(min(t1**q, t2**q))
        alts = tuple((self._pow(t, q),) for t in terms if not t.alts)
        display = sympy.Pow(self._display(terms), ex)
        if len(alts) < len(terms) or len(alts) > _MAX_ALTS:
            return sign, [self._analyze(display)]
        return sign, [replace(self._analyze(display), alts=alts)]

    def _pow(self, t: _Term, q: Fraction) -> _Term:
        p = self.power(t, q)
        if p is None:
            e = sympy.Rational(q.numerator, q.denominator)
            return self._analyze(sympy.Pow(t.model * t.core, e))
        return p

    @staticmethod
    def _display(terms: Sequence[_Term]) -> sympy.Expr:
        return sympy.factor_terms(sympy.Add(*(t.model * t.core for t in terms)))

    def _min(self, args: Sequence[sympy.Expr]) -> Signed:
        forms: list[list[_Term]] = []
        for a in args:
            r = self.theta(a)
            if r is None or r[0] != 1:
                return None
            forms.append(r[1])

        def below(small: list[_Term], big: list[_Term]) -> bool:
            return all(any(self.dominates(x, y) for x in big) for y in small)

        keep: list[int] = []
        for i, f in enumerate(forms):
            if any(below(forms[j], f) for j in keep):
                continue  # a kept argument is at most C times this one
            keep = [j for j in keep if not below(f, forms[j])]
            keep.append(i)
        if len(keep) == 1:
            return 1, forms[keep[0]]
        display = sympy.Min(*(self._display(forms[i]) for i in keep))
        alts = tuple(tuple(forms[i]) for i in keep)
        term = self._analyze(display)
        if len(alts) > _MAX_ALTS:
            return 1, [term]
        return 1, [replace(term, alts=alts)]

    def _log(self, arg: sympy.Expr) -> Signed:
        here = sympy.log(arg)
        if arg in self.active:
            return 1, [self._analyze(here)]
        split = sympy.expand_log(here, force=True)
        if split != here:  # log of a product, quotient or power: exact
            return self.theta(split)
        r = self.theta(arg)
        if r is None or r[0] != 1 or not any(self.strictly(t, self.one) for t in r[1]):
            return None  # log of something that does not grow: sign unknown
        # arg -> oo, so log(arg) = log(max term) + O(1) -> oo.
        if all(self._nonneg_monomial(t) for t in r[1]):
            parts = sympy.Add(*(sympy.expand_log(sympy.log(t.core), force=True) for t in r[1]))
            if parts != here:
                return self.theta(parts)
            return 1, [self._analyze(here)]
        return 1, [self._analyze(sympy.log(sympy.Add(*(t.core for t in r[1]))))]

    def _nonneg_monomial(self, t: _Term) -> bool:
        """A product of non-negative powers of growing symbols, of their logs and of
        growing exponentials: its log is a sum of positive terms."""
        return (
            not t.alts
            and not t.key.opaque
            and all(x >= 0 for x in t.key.deg)
            and all(x >= 0 for x in t.key.logs)
            and all(_sign(r) == 1 for _, r in t.key.exp)
        )
