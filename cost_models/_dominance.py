"""Growth keys of terms and dominance between them, on the assumptions' cone (see :mod:`bounds`)."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from fractions import Fraction
from typing import Any

import sympy
from aalps.cost_models._cone import (
    Ray,
    Vec,
    _compact,
    _cone_generators,
    _dot,
    _expand_rate,
    _log_of_base,
    _rational,
    _sign,
    relation_sides,
)
from aalps.cost_models._growth_terms import (
    _EPS,
    _MAX_ALTS,
    _MAX_SUBSETS,
    _base_exp,
    _is_atomic_factor,
    _Key,
    _Term,
    _times,
    _vec_sum,
    exp_margin,
)
from sympy.core.relational import (
    Relational,
)

__all__ = ["_MAX_ALTS", "_Antichain", "_Dominance", "_Term", "_is_atomic_factor"]


class _Antichain(list[_Term]):
    """What :meth:`_Dominance.maximal` returns: terms none of which was shown to dominate
    another of its model monomial (each pair was tested both ways as the later one came
    in), so that ``maximal`` of any part of it is that part, in its order."""


class _Dominance:
    """Keys and dominance for one set of growing symbols and assumptions."""

    def __init__(
        self,
        growing: Sequence[sympy.Symbol],
        model_symbols: Collection[sympy.Symbol],
        assumptions: Sequence[Any],
    ) -> None:
        self.growing = tuple(growing)
        self.index = {s: i for i, s in enumerate(self.growing)}
        self.grow_set = frozenset(self.growing)
        self.active = dict(self.index)  # growing symbols that the assumptions do not bound
        self.models = frozenset(model_symbols)
        self.n = len(self.growing)
        self._exp_ids: dict[tuple[tuple[Vec, sympy.Expr], ...], int] = {}
        self._exp_cache: dict[tuple[int, int], tuple[int, ...] | None] = {}
        self._growing: dict[sympy.Expr, bool] = {}  # :meth:`_growing_in`'s answers
        self.gens: list[Ray] = []  # assumptions are parsed before the cone exists
        rows, unit_rows = self._constraints(assumptions)
        self.gens = _cone_generators(self.n, rows)
        self.unit_gens = (
            self.gens if len(unit_rows) == len(rows) else _cone_generators(self.n, unit_rows)
        )
        self.all_gens = tuple(range(len(self.gens)))
        # Symbols the assumptions keep bounded (b <= 5, Eq(b, c)) are constants from now on.
        self.active = {s: i for s, i in self.index.items() if any(g[i] for g in self.gens)}
        self.grow_set = frozenset(self.active)
        self._growing = {}  # answers for the symbols before the constants were known
        self.one = self._analyze(sympy.Integer(1))
        self.bumps: list[_Term] = []
        for s, i in self.active.items():
            for deg, logs in ((True, False), (False, True)):
                v = tuple(_EPS if j == i else 0 for j in range(self.n))
                zero = tuple(0 for _ in range(self.n))
                key = _Key((), v if deg else zero, v if logs else zero, ())
                e = sympy.Rational(1, _EPS.denominator)
                self.bumps.append(
                    self._term(
                        sympy.Integer(1), s**e if deg else sympy.log(s) ** e, sympy.Integer(1), key
                    )
                )

    # ----------------------------------------------------------------- assumptions

    def _constraints(self, assumptions: Sequence[Any]) -> tuple[list[Vec], list[Vec]]:
        rows: list[Vec] = []
        unit_rows: list[Vec] = []
        for rel in assumptions:
            if rel is sympy.true:
                continue
            if rel is sympy.false:
                raise ValueError("an assumption evaluates to False")
            if not isinstance(rel, Relational):
                raise TypeError(f"assumptions must be sympy relations, got {rel!r}")
            pairs = relation_sides(rel)
            if pairs is None:
                continue
            for small, big in pairs:
                big_terms = self._plain_terms(big)
                small_terms = self._plain_terms(small)
                if not big_terms or small_terms is None:
                    continue
                # A sum on the larger side is usable when one of its terms is the largest
                # degree-wise (b <= k + 1 is Θ(b <= k)); its constant is then unknown.
                big_coef, big_deg = next(
                    (
                        (c, d)
                        for c, d in big_terms
                        if all(x >= y for _, o in big_terms for x, y in zip(d, o, strict=True))
                    ),
                    (None, None),
                )
                if big_deg is None:
                    continue
                for coef, deg in small_terms:
                    row = tuple(x - y for x, y in zip(deg, big_deg, strict=True))
                    if not any(row):
                        continue
                    rows.append(row)
                    if len(big_terms) == 1 and _sign(coef - big_coef) in (0, 1):
                        unit_rows.append(row)
        return rows, unit_rows

    def _plain_terms(self, side: sympy.Expr) -> list[tuple[sympy.Expr, Vec]] | None:
        out = []
        for t in sympy.Add.make_args(sympy.expand(side)):
            term = self._analyze(t)
            if term.key.exp or term.key.opaque or any(term.key.logs):
                return None
            out.append((term.coef * term.model, term.key.deg))
        return out

    # ----------------------------------------------------------------- normalization

    def _growing_in(self, e: sympy.Expr) -> bool:
        """Whether a growing symbol is free in ``e``. A sum's, product's or power's free
        symbols are the union of its arguments', so a sum (a plan's cost: thousands of
        terms) stops at its first growing term instead of collecting every symbol of every
        term, and a product asks its factors (shared by many products). Remembered per
        expression (``free_symbols`` walks the whole tree; plans share most terms and
        factors)."""
        known = self._growing.get(e)
        if known is None:
            if isinstance(e, sympy.Add | sympy.Mul | sympy.Pow):
                known = any(self._growing_in(a) for a in e.args)
            else:
                known = bool(e.free_symbols & self.grow_set)
            self._growing[e] = known
        return known

    def _exponent(self, e: sympy.Expr) -> tuple[sympy.Expr, dict[Vec, sympy.Expr]] | None:
        """Split an exponent into a constant and ``{monomial: coefficient}``."""
        const = sympy.Integer(0)
        parts: dict[Vec, sympy.Expr] = {}
        for t in sympy.Add.make_args(sympy.expand(e)):
            c = sympy.Integer(1)
            mono = [Fraction(0)] * self.n
            for f in sympy.Mul.make_args(t):
                if not self._growing_in(f):
                    c *= f
                elif f in self.active:
                    mono[self.active[f]] += 1
                elif f.is_Pow and f.base in self.active and _rational(f.exp) is not None:
                    mono[self.active[f.base]] += _rational(f.exp)  # type: ignore[operator]
                else:
                    return None
            if any(m < 0 for m in mono):
                return None
            if any(mono):
                key = _compact(mono)
                parts[key] = parts.get(key, sympy.Integer(0)) + c
            else:
                const += c
        return const, parts

    def _analyze(self, term: sympy.Expr) -> _Term:
        return self._analyze_factors(sympy.Mul.make_args(term), term)

    def _analyze_factors(self, factors: Sequence[sympy.Expr], term: sympy.Expr | None) -> _Term:
        """:meth:`_analyze` of the product of ``factors``: ``term``'s arguments, or (``term``
        None) factors that ``Mul`` leaves as they are (some arguments of a product, no
        ``Add`` among them), whose product is then built only when it is the core."""
        consts: list[sympy.Expr] = []  # numbers and non-growing parameters
        models: list[sympy.Expr] = []
        core: list[sympy.Expr] = []
        deg = [Fraction(0)] * self.n
        logs = [Fraction(0)] * self.n
        rates: dict[Vec, sympy.Expr] = {}
        opaque: list[sympy.Expr] = []
        active = self.active
        for f in factors:
            if f.is_Number:
                consts.append(f)
                continue
            if f in active:  # the common cases first, without free_symbols
                deg[active[f]] += 1
                core.append(f)
                continue
            if f.is_Pow and f.base in active and f.exp.is_Rational:
                deg[active[f.base]] += Fraction(int(f.exp.p), int(f.exp.q))
                core.append(f)
                continue
            if not self._growing_in(f):
                if f in self.models or (f.is_Pow and f.base in self.models and f.exp.is_Rational):
                    models.append(f)
                else:
                    consts.append(f)
                continue
            if isinstance(f, sympy.log) and f.args[0] in active:
                logs[active[f.args[0]]] += 1
                core.append(f)
                continue
            if isinstance(f, (sympy.Pow, sympy.exp)):
                base, e = f.as_base_exp()
                if not self._growing_in(e):
                    q = _rational(e)
                    if q is not None and base in active:
                        deg[active[base]] += q
                        core.append(f)
                        continue
                    if q is not None and isinstance(base, sympy.log) and base.args[0] in active:
                        logs[active[base.args[0]]] += q
                        core.append(f)
                        continue
                elif not (base.free_symbols & (self.grow_set | self.models)):
                    lb = _log_of_base(base)
                    split = self._exponent(e)
                    if lb is not None and split is not None:
                        const, parts = split
                        for mono, c in parts.items():
                            rates[mono] = rates.get(mono, sympy.Integer(0)) + c * lb
                        if const != 0:
                            consts.append(sympy.Pow(base, const))
                            f = sympy.Pow(base, sympy.expand(e - const))
                        core.append(f)
                        continue
            opaque.append(f)
            core.append(f)
        exp_key = []
        for mono in sorted(rates):
            r = _expand_rate(rates[mono])
            if r != 0:
                exp_key.append((mono, r))
        key = _Key(
            exp=tuple(exp_key),
            deg=_compact(deg),
            logs=_compact(logs),
            opaque=tuple(sorted(opaque, key=sympy.default_sort_key)),
        )
        whole = len(core) == len(factors) and term is not None  # spare a Mul: nothing split off
        return self._term(
            sympy.Mul(*models), term if whole else sympy.Mul(*core), sympy.Mul(*consts), key
        )

    def _term(
        self,
        model: sympy.Expr,
        core: sympy.Expr,
        coef: sympy.Expr,
        key: _Key,
        alts: tuple[tuple[_Term, ...], ...] = (),
    ) -> _Term:
        proj = tuple(_dot(key.deg, g) for g in self.gens)
        exp_id = self._exp_ids.setdefault(key.exp, len(self._exp_ids))
        return _Term(model, core, coef, key, proj, exp_id, alts)

    # ----------------------------------------------------------------- term arithmetic

    def mul(self, a: _Term, b: _Term) -> _Term:
        """The product of two terms (keys added, alternatives multiplied out)."""
        if a is self.one:
            return b
        if b is self.one:
            return a
        rates: dict[Vec, sympy.Expr] = dict(a.key.exp)
        for mono, r in b.key.exp:
            rates[mono] = rates.get(mono, sympy.Integer(0)) + r
        key = _Key(
            exp=tuple((m, r) for m, r in sorted(rates.items()) if r != 0),
            deg=_vec_sum(a.key.deg, b.key.deg),
            logs=_vec_sum(a.key.logs, b.key.logs),
            opaque=tuple(sorted((*a.key.opaque, *b.key.opaque), key=sympy.default_sort_key)),
        )
        alts: tuple[tuple[_Term, ...], ...] = ()
        if a.alts or b.alts:
            alts_a = a.alts or ((a,),)
            alts_b = b.alts or ((b,),)
            if len(alts_a) * len(alts_b) <= _MAX_ALTS:
                alts = tuple(
                    tuple(self.mul(x, y) for x in alpha for y in beta)
                    for alpha in alts_a
                    for beta in alts_b
                )
        model, core, coef = _times(a.model, b.model), _times(a.core, b.core), _times(a.coef, b.coef)
        return self._term(model, core, coef, key, alts)

    def power(self, t: _Term, q: Fraction) -> _Term | None:
        """``t**q`` for a plain term (None when ``t`` has alternatives and ``q < 0``)."""
        if t.alts and q < 0:
            return None
        e = sympy.Rational(q.numerator, q.denominator)
        key = _Key(
            exp=tuple((m, _expand_rate(r * e)) for m, r in t.key.exp),
            deg=_compact(x * q for x in t.key.deg),
            logs=_compact(x * q for x in t.key.logs),
            opaque=tuple(sorted((o**e for o in t.key.opaque), key=sympy.default_sort_key)),
        )
        alts: tuple[tuple[_Term, ...], ...] = ()
        if t.alts:
            powered = [[self.power(x, q) for x in alpha] for alpha in t.alts]
            alts = tuple(tuple(x for x in alpha if x is not None) for alpha in powered)
        core = sympy.Mul(
            *(sympy.Pow(f, x * e) for f, x in map(_base_exp, sympy.Mul.make_args(t.core)))
        )
        return self._term(t.model**e, core, t.coef**e, key, alts)

    def maximal(self, terms: Sequence[_Term]) -> list[_Term]:
        """Terms not dominated by another term of the same model monomial, in input order.

        Of mutually dominating terms (equivalent under the assumptions) the one with more
        exponentials and higher total degree is kept, ties going to the earlier one.
        """
        if len(terms) < 2:
            return _Antichain(terms)
        order = sorted(
            range(len(terms)),
            key=lambda i: (-len(terms[i].key.exp), -sum(terms[i].key.deg), i),
        )
        # The kept terms per model monomial (only those are compared), each in the order
        # they came in: the same tests, in the same order, as over one list of them all.
        kept: dict[sympy.Expr, list[_Term]] = {}
        for i in order:
            t = terms[i]
            same = kept.get(t.model)
            if same is None:
                kept[t.model] = [t]
                continue
            if any(self.dominates(m, t) for m in same):
                continue
            same[:] = [m for m in same if not self.dominates(t, m)]
            same.append(t)
        position = {id(t): i for i, t in enumerate(terms)}
        return _Antichain(
            sorted((t for same in kept.values() for t in same), key=lambda t: position[id(t)])
        )

    # ----------------------------------------------------------------- dominance

    def dominates(self, a: _Term, b: _Term) -> bool:
        """True when ``b.core / a.core`` is provably bounded on the region.

        A term with alternatives is the smallest of them: ``b <= C*a`` holds when for every
        alternative of ``a`` some alternative of ``b`` is dominated by it term by term.
        """
        if a.key.opaque != b.key.opaque:
            if not (a.alts or b.alts):
                return False
            return all(
                any(
                    all(any(self.dominates(x, y) for x in alpha) for y in beta)
                    for beta in b.alts or ((b,),)
                )
                for alpha in a.alts or ((a,),)
            )
        if a.exp_id == b.exp_id:
            return self._poly_log(a, b, self.all_gens)
        pair = (a.exp_id, b.exp_id)
        if pair not in self._exp_cache:
            self._exp_cache[pair] = self._exp_level(a.key.exp, b.key.exp)
        gens = self._exp_cache[pair]
        return gens is not None and self._poly_log(a, b, gens)

    def strictly(self, a: _Term, b: _Term) -> bool:
        """True when ``b / a -> 0`` as every growing symbol goes to infinity (sufficient test:
        ``a`` dominates ``b`` times ``x**eps`` or ``log(x)**eps`` for some growing ``x``)."""
        if not self.dominates(a, b):
            return False
        return any(self.dominates(a, self.mul(b, u)) for u in self.bumps)

    def _exp_level(
        self, exp_a: tuple[tuple[Vec, sympy.Expr], ...], exp_b: tuple[tuple[Vec, sympy.Expr], ...]
    ) -> tuple[int, ...] | None:
        """Exponential level of ``b`` against ``a``: None when ``b``'s exponential is not
        shown to be at most ``a``'s, else the cone generators left for the next levels."""
        delta: dict[Vec, sympy.Expr] = dict(exp_b)
        for mono, r in exp_a:
            delta[mono] = delta.get(mono, sympy.Integer(0)) - r
        diff = [(m, _expand_rate(d)) for m, d in delta.items()]
        diff = [(m, d) for m, d in diff if d != 0]
        if not diff:
            return self.all_gens
        margin = exp_margin(diff, self.unit_gens)
        if margin is None:
            return None
        if margin == "weak":
            return self.all_gens
        support = {i for mono, _ in diff for i, x in enumerate(mono) if x}
        return tuple(g for g in self.all_gens if all(self.gens[g][i] == 0 for i in support))

    def _poly_log(self, a: _Term, b: _Term, gens: Sequence[int]) -> bool:
        """Degrees, then log powers, of ``b`` against ``a`` on the cone spanned by ``gens``."""
        pa, pb = a.proj, b.proj
        if a.key.logs == b.key.logs:
            if gens is self.all_gens:
                return all(y <= x for x, y in zip(pa, pb, strict=True))
            return all(pb[g] <= pa[g] for g in gens)
        tie = []
        for g in gens:
            if pb[g] > pa[g]:
                return False
            if pb[g] == pa[g]:
                tie.append(g)
        dl = [y - x for x, y in zip(a.key.logs, b.key.logs, strict=True)]
        support = {
            j: frozenset(g for g in tie if self.gens[g][j] > 0) for j in range(self.n) if dl[j]
        }
        unbounded = [j for j, s in support.items() if s]
        positive = [j for j in unbounded if dl[j] > 0]
        if not positive:
            return True
        if len(positive) > _MAX_SUBSETS:
            return False
        for r in range(1, len(positive) + 1):
            for subset in itertools.combinations(positive, r):
                upset = [i for i in unbounded if any(support[j] <= support[i] for j in subset)]
                if sum((dl[i] for i in upset), Fraction(0)) > 0:
                    return False
        return True
