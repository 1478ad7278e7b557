"""Asymptotic (Θ) bounds of symbolic plan costs, and separations between plans.

A plan's expected cost is a sympy expression built from sizes (``k``, ``l``, ``b``, ...),
model-size symbols (``m_dev``, ``m_qa``, ...), rationals, exponentials (``2**k``), logs,
``ceiling``/``floor`` and ``Max``/``Min``. :func:`derive_bound` reduces it to the argument
of its Θ as the *growing* symbols go to infinity, the way the AALPs position paper does by
hand (§3.1-3.3): expand, drop constant factors, drop every term dominated by another term
of the same role, keep one sum per model-size symbol. :func:`separation` divides two
bounds.

Everything here is pure sympy plus exact rational arithmetic: no ``simplify``, ``Order``,
``limit`` or solvers, which are far too slow on plan costs with hundreds of terms.

Dominance model
---------------
A term is ``coefficient * model-monomial * core``; the coefficient (numbers and
non-growing parameters) is dropped and the model monomial is a positive constant when
comparing. The core's *growth key* is, per growing symbol ``x``: the exponential rates
(``c**(a*x)`` has rate ``a*log(c)``, per monomial of the exponent), the polynomial degree
(rational) and the power of ``log(x)``. Term ``A`` dominates ``B`` when ``B/A`` stays
bounded on the region ``{x >= x0 > 1}`` cut by the assumptions. Assumptions are monomial
relations (``b <= k``, ``b**2 <= k``, ``b <= k*l``); with ``y = log x`` they are linear
constraints that, together with ``y >= 0``, form a polyhedral cone whose generators are
computed once (double description). Then, lexicographically:

* exponentials: the rate difference ``sum_mu d_mu * x**mu`` must be ``<= 0`` with every
  exponent monomial ``x**mu`` treated as an independent non-negative variable, ordered only
  by the monomial relations implied by the assumptions whose constants allow it
  (``b <= k`` does, ``b <= 2*k`` does not). If it is strictly negative, ``A``'s exponential
  lead outgrows any polynomial, and only the face of the cone on which those exponent
  symbols stay bounded is left for the next level; otherwise the next level must hold on
  the whole cone;
* polynomials: ``(deg_B - deg_A) . y <= 0`` on every cone generator (exact);
* logs: on the face where the degrees tie, the surplus log powers of ``B`` must be paid for
  by log powers of ``A`` of symbols that grow at least as fast there.

Every test only claims dominance when it holds, so an undecided pair keeps both terms: the
result is always a correct Θ (a sum with a redundant term is Θ-equivalent), possibly not a
minimal one. Known cases left undecided: ties between different multi-symbol exponent
monomials (``2**(k*l)`` against ``2**k * l**3``), exponent rates with symbolic parameters
of unknown order, and sums dominated only jointly (``k*l`` against ``k**2 + l**2``).

Normalization before expansion (all Θ-preserving for positive arguments):

* ``ceiling(x)``, ``floor(x)`` -> ``x`` (also inside exponents: the error is a constant
  factor);
* ``Max(a, b, ...)`` -> ``a + b + ...``; ``Min(a, ...)`` -> the argument that every other
  one dominates (term by term); when there is none, the *first* argument is kept, which is
  an upper bound rather than a Θ;
* ``(s1 + s2 + ...)**e`` -> ``s1**e + s2**e + ...`` over the maximal terms for ``e > 0``,
  ``smax**e`` for ``e < 0`` when one term is maximal (avoids multinomial blow-up);
* ``log(product)`` -> sum of logs; ``log(sum)`` -> sum of the logs of its maximal terms
  (``log(k + l)`` is Θ(``log k + log l``)), so ``log(k*l)`` splits into two terms exactly.

Factors the key cannot describe (``log(log(n))``, ``n**k``, ``factorial(k)``, ``Max`` in an
exponent, ``1/(k + l)``) are *opaque*: two terms are compared only when their opaque
factors are identical. Logs of quantities that do not grow, and terms whose leading
coefficient is negative, are outside the model (costs are positive); an exact
cancellation of equal cores is honoured.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd, lcm
from types import MappingProxyType
from typing import Any

import sympy
from sympy.core.relational import (
    Equality,
    GreaterThan,
    LessThan,
    Relational,
    StrictGreaterThan,
    StrictLessThan,
)

__all__ = ["Bound", "Separation", "derive_bound", "separation"]

Vec = tuple[Fraction | int, ...]
Ray = tuple[int, ...]

_MAX_SUBSETS = 12  # up-set enumeration is exponential in this; beyond it, stay undecided


@dataclass(frozen=True)
class Bound:
    """The Θ of a plan's cost.

    Attributes
    ----------
    expr
        The Θ argument, e.g. ``b*l**2*m_dev + k*l*m_qa``.
    groups
        Model-size monomial (``m_dev``, or ``1`` when a term has none) -> that role's Θ
        argument without the model factor (``b*l**2``).
    growing, model_symbols, assumptions
        The context the bound was derived in, reused by :func:`separation`.
    """

    expr: sympy.Expr
    groups: Mapping[sympy.Expr, sympy.Expr] = field(hash=False)  # expr already determines it
    growing: tuple[sympy.Symbol, ...] = ()
    model_symbols: tuple[sympy.Symbol, ...] = ()
    assumptions: tuple[Relational, ...] = ()

    @property
    def text(self) -> str:
        """``str`` of :attr:`expr`, e.g. ``"b*l**2*m_dev + k*l*m_qa"``."""
        return str(self.expr)

    @property
    def latex(self) -> str:
        """LaTeX of :attr:`expr`."""
        return str(sympy.latex(self.expr))


@dataclass(frozen=True)
class Separation:
    """Θ(baseline / plan), for the whole plan (``role == ""``) or one model-size role."""

    role: str
    expr: sympy.Expr

    @property
    def text(self) -> str:
        """``str`` of :attr:`expr`."""
        return str(self.expr)

    @property
    def latex(self) -> str:
        """LaTeX of :attr:`expr`."""
        return str(sympy.latex(self.expr))


def _as_sympy(value: Any) -> Any:
    """A sympy object, from one or a Python number (never from text: that is the parser's job)."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a sympy expression or a number, got {type(value).__name__}")
    return sympy.Integer(value) if isinstance(value, int) else sympy.Rational(repr(value))


def derive_bound(
    expr: sympy.Expr,
    *,
    growing: Collection[sympy.Symbol],
    model_symbols: Collection[sympy.Symbol] = (),
    assumptions: Sequence[Relational] = (),
) -> Bound:
    """Derive the Θ of a symbolic cost as the growing symbols go to infinity.

    Parameters
    ----------
    expr
        The plan's expected cost, with defined parameters already substituted.
    growing
        Symbols that go to infinity. Every other symbol that is not a model size is a
        positive constant.
    model_symbols
        Model-size symbols: kept as factors of the bound, constants when comparing terms.
    assumptions
        Relations between monomials of growing symbols (``b <= k``, ``b**2 <= k``,
        ``b < k*l``, ``k >= b``, ``Eq(b, k)``). A sum on the smaller side gives one relation
        per term; a sum on the larger side is replaced by its largest term when it has one
        (``b <= k + 1``), else the relation is ignored, as are relations with exponentials
        or logs: fewer assumptions only ever keep more terms. A symbol bounded by a
        constant (``b <= 5``) becomes a constant. Constant factors (``b <= 2*k``) are
        harmless for polynomials; exponents only use relations whose constant is at most 1.

    Returns
    -------
    Bound
        The maximal terms of every role that grows, coefficients dropped. Roles whose terms
        are bounded are dropped when another role grows; when nothing grows, the bound is
        the sum of the model monomials (or ``1``). ``0`` gives ``0``.

    Examples
    --------
    >>> import sympy
    >>> k, l, b = sympy.symbols("k l b", positive=True)
    >>> m_qa, m_dev = sympy.symbols("m_qa m_dev", positive=True)
    >>> n = k * l
    >>> cost = m_qa * n * b * (b + 1) / 2 + m_dev * (n**2 * (b * (b + 1) / 2 + b / 2) - b * n / 2)
    >>> bound = derive_bound(
    ...     cost, growing=(k, l, b), model_symbols=(m_qa, m_dev), assumptions=(b <= k,)
    ... )
    >>> bound.text
    'b**2*k**2*l**2*m_dev + b**2*k*l*m_qa'
    >>> derive_bound(2**k * k**2 + k**100, growing=(k,)).text
    '2**k*k**2'
    >>> derive_bound(b**2 * k + b * k**2, growing=(b, k), assumptions=(b <= k,)).text
    'b*k**2'
    """
    expr = _as_sympy(expr)
    assumptions = tuple(assumptions)
    growing_t = tuple(sorted(set(growing), key=sympy.default_sort_key))
    models_t = tuple(sorted(set(model_symbols), key=sympy.default_sort_key))
    for s in (*growing_t, *models_t):
        if not isinstance(s, sympy.Symbol):
            raise TypeError(f"growing and model symbols must be sympy Symbols, got {s!r}")
    both = set(growing_t) & set(models_t)
    if both:
        raise ValueError(
            f"symbols cannot be both growing and model sizes: {sorted(map(str, both))}"
        )

    # Work on positive stand-ins of symbols the caller did not declare positive.
    symbols: set[Any] = set(expr.free_symbols) | set(growing_t) | set(models_t)
    for rel in assumptions:
        symbols |= getattr(rel, "free_symbols", set())
    to_pos = {
        s: sympy.Dummy(s.name, positive=True)
        for s in symbols
        if isinstance(s, sympy.Symbol) and s.is_positive is not True
    }
    back = {v: k for k, v in to_pos.items()}

    analyzer = _Analyzer(
        [to_pos.get(s, s) for s in growing_t],
        [to_pos.get(s, s) for s in models_t],
        [_as_sympy(rel).xreplace(to_pos) for rel in assumptions],
    )
    total, groups = analyzer.bound(expr.xreplace(to_pos))
    if back:
        total = total.xreplace(back)
        groups = {m.xreplace(back): g.xreplace(back) for m, g in groups.items()}
    return Bound(
        expr=total,
        groups=MappingProxyType(groups),
        growing=growing_t,
        model_symbols=models_t,
        assumptions=assumptions,
    )


def separation(
    baseline: Bound, plan: Bound, *, assumptions: Sequence[Relational] = ()
) -> list[Separation]:
    """Θ(baseline / plan): one whole-plan entry when the ratio is a single term, else per role.

    Parameters
    ----------
    baseline, plan
        Bounds from :func:`derive_bound`; their growing symbols, model symbols and
        assumptions are merged.
    assumptions
        Extra assumptions for the comparison.

    Returns
    -------
    list of Separation
        ``[Separation("", ratio)]`` when ``baseline.expr / plan.expr`` cancels to one
        product, e.g. ``2**k*k``; otherwise one entry per model monomial present in both
        bounds (``role`` is its ``str``), in the order of ``baseline.groups``.
    """
    if plan.expr == 0:
        raise ValueError("cannot separate against a plan whose bound is 0")
    context: dict[str, Any] = {
        "growing": tuple(dict.fromkeys((*baseline.growing, *plan.growing))),
        "model_symbols": tuple(dict.fromkeys((*baseline.model_symbols, *plan.model_symbols))),
        "assumptions": tuple(
            dict.fromkeys((*baseline.assumptions, *plan.assumptions, *assumptions))
        ),
    }
    ratio = sympy.cancel(sympy.together(baseline.expr / plan.expr))
    num, den = sympy.fraction(ratio)
    if _is_single_term(num) and _is_single_term(den):
        return [Separation("", derive_bound(ratio, **context).expr)]
    out = []
    for monomial, group in baseline.groups.items():
        if monomial not in plan.groups:
            continue
        role_ratio = sympy.cancel(sympy.together(group / plan.groups[monomial]))
        out.append(Separation(str(monomial), derive_bound(role_ratio, **context).expr))
    return out


def _is_single_term(expr: sympy.Expr) -> bool:
    return len(sympy.Add.make_args(sympy.expand(expr))) == 1


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Key:
    """Growth key of a term's core (what survives when constants are dropped)."""

    exp: tuple[tuple[Vec, sympy.Expr], ...]  # exponent monomial -> rate (sum of c*log(p))
    deg: Vec  # polynomial degree per growing symbol
    logs: Vec  # power of log(x) per growing symbol
    opaque: tuple[sympy.Expr, ...]  # factors outside the model, compared by identity


@dataclass
class _Term:
    model: sympy.Expr
    core: sympy.Expr
    coef: sympy.Expr
    key: _Key
    proj: tuple[Fraction | int, ...]  # degree vector projected on each cone generator
    exp_id: int  # interned key.exp, so exponential levels are compared once per pair
    merged: bool = False


def _rational(e: sympy.Expr) -> Fraction | None:
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e.is_Float:
        r = sympy.nsimplify(e, rational=True)
        return Fraction(int(r.p), int(r.q))
    return None


def _sign(e: sympy.Expr) -> int | None:
    """Sign of a constant expression (numbers, logs, positive parameters), None if unknown."""
    e = sympy.expand(e)
    if e == 0:
        return 0
    if e.is_number:
        v = e.evalf(40)
        if v.is_comparable:
            if v > sympy.Float("1e-30"):
                return 1
            if v < sympy.Float("-1e-30"):
                return -1
        return None
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


def _is_atomic_factor(f: sympy.Expr) -> bool:
    """``x``, ``3``, ``x**q``, ``2**x``, ``exp(x)``, ``log(x)``, ``log(x)**q``."""
    if f.is_Symbol or f.is_Number:
        return True
    if f.is_Pow:
        base, e = f.args
        if e.is_Number:
            return bool(base.is_Symbol) or (isinstance(base, sympy.log) and base.args[0].is_Symbol)
        return bool(base.is_Number and e.is_Symbol)
    if isinstance(f, sympy.exp | sympy.log):
        return bool(f.args[0].is_Symbol)
    return False


def _is_expanded_product(t: sympy.Expr) -> bool:
    """A product of atomic factors: ``sympy.expand`` would leave it as it is."""
    return all(_is_atomic_factor(f) for f in sympy.Mul.make_args(t))


def _expand(e: sympy.Expr) -> sympy.Expr:
    """``sympy.expand``, skipping the terms of a sum that are already plain products."""
    if not isinstance(e, sympy.Add):
        return sympy.expand(e)
    plain = [t for t in e.args if _is_expanded_product(t)]
    if len(plain) == len(e.args):
        return e
    rest = [sympy.expand(t) for t in e.args if not _is_expanded_product(t)]
    return sympy.Add(*plain, *rest)


def _log_of_base(b: sympy.Expr) -> sympy.Expr | None:
    """Canonical ``log(b)`` for an exponential's base: a sum of ``c*log(prime)``."""
    if b == sympy.E:
        return sympy.Integer(1)
    if b.is_Float:
        b = sympy.nsimplify(b, rational=True)
    if b.is_Rational:
        if b <= 0:
            return None
        out = sympy.Integer(0)
        for p, e in sympy.factorint(int(b.p)).items():
            out += e * sympy.log(sympy.Integer(p))
        for p, e in sympy.factorint(int(b.q)).items():
            out -= e * sympy.log(sympy.Integer(p))
        return out
    if b.is_positive:
        return sympy.expand_log(sympy.log(b), force=True)
    return None


def _compact(v: Iterable[Fraction]) -> Vec:
    """Integral entries as ``int`` (equal and hashing like the Fraction, compared faster)."""
    return tuple(x.numerator if x.denominator == 1 else x for x in v)


def _dot(a: Sequence[Fraction | int], g: Sequence[int]) -> Fraction | int:
    """Exact dot product; an ``int`` when integral (int comparisons are much faster)."""
    total: Fraction | int = sum(x * y for x, y in zip(a, g, strict=True) if x and y)
    if isinstance(total, Fraction) and total.denominator == 1:
        return total.numerator
    return total


def _primitive(v: Sequence[Fraction | int]) -> Ray:
    den = lcm(*(x.denominator for x in v)) if v else 1
    ints = [int(x * den) for x in v]
    g = gcd(*ints) if ints else 1
    return tuple(i // g for i in ints) if g else tuple(ints)


def _cone_generators(n: int, rows: Sequence[Vec]) -> list[Ray]:
    """Extreme rays of ``{y >= 0, a . y <= 0 for a in rows}`` by double description.

    Candidates are all pairwise combinations across each new constraint; a candidate is
    kept when no other candidate is tight on a superset of its tight constraints (the
    combinatorial extremality test: the candidates contain every extreme ray).
    """
    gens: list[Ray] = [tuple(int(i == j) for i in range(n)) for j in range(n)]
    active: list[Ray] = []
    for a in (_primitive(row) for row in rows):
        active.append(a)
        vals = [sum(x * y for x, y in zip(a, g, strict=True)) for g in gens]
        if all(v <= 0 for v in vals):
            continue
        new: list[Ray] = [g for g, v in zip(gens, vals, strict=True) if v <= 0]
        for g, v in zip(gens, vals, strict=True):
            if v <= 0:
                continue
            for h, w in zip(gens, vals, strict=True):
                if w < 0:
                    new.append(_primitive([v * y - w * x for x, y in zip(g, h, strict=True)]))
        candidates = [r for r in dict.fromkeys(new) if any(r)]
        tight = []
        for r in candidates:
            mask = sum(1 << j for j in range(n) if r[j] == 0)
            for i, row in enumerate(active):
                if sum(x * y for x, y in zip(row, r, strict=True)) == 0:
                    mask |= 1 << (n + i)
            tight.append(mask)
        gens = [
            r
            for r, mask in zip(candidates, tight, strict=True)
            if not any(other != mask and other & mask == mask for other in tight)
        ]
    return gens


class _Analyzer:
    """Keys, normalization and dominance for one set of growing symbols and assumptions."""

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
        self._norm_cache: dict[sympy.Expr, sympy.Expr] = {}
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
        self.one = self._analyze(sympy.Integer(1))

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
            if isinstance(rel, (LessThan, StrictLessThan)):
                pairs = [(rel.lhs, rel.rhs)]
            elif isinstance(rel, (GreaterThan, StrictGreaterThan)):
                pairs = [(rel.rhs, rel.lhs)]
            elif isinstance(rel, Equality):
                pairs = [(rel.lhs, rel.rhs), (rel.rhs, rel.lhs)]
            else:
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
        return bool(e.free_symbols & self.grow_set)

    def normalize(self, e: sympy.Expr) -> sympy.Expr:
        if e.is_Atom or not self._growing_in(e):
            return e
        if isinstance(e, (sympy.ceiling, sympy.floor)):
            return self.normalize(e.args[0])
        if isinstance(e, sympy.Max):
            return sympy.Add(*(self.normalize(a) for a in e.args))
        if isinstance(e, sympy.Min):
            return self._min([self.normalize(a) for a in e.args])
        if isinstance(e, (sympy.Add, sympy.Mul)):
            args = [self.normalize(a) for a in e.args]
            if all(x is y for x, y in zip(args, e.args, strict=True)):
                return e
            return e.func(*args)
        if e in self._norm_cache:
            return self._norm_cache[e]
        out = e
        if isinstance(e, (sympy.Pow, sympy.exp)):
            out = self._power(e)
        elif isinstance(e, sympy.log):
            out = self._log(e.args[0])
        self._norm_cache[e] = out
        return out

    def _power(self, e: sympy.Expr) -> sympy.Expr:
        base, exponent = e.as_base_exp()
        if self._growing_in(exponent):
            if self._growing_in(base):
                return e
            stripped = exponent.replace(
                lambda x: isinstance(x, (sympy.ceiling, sympy.floor)), lambda x: x.args[0]
            )
            return e if stripped == exponent else sympy.Pow(base, stripped)
        if base.is_Atom:
            return e
        nb = sympy.expand(self.normalize(base))
        if not isinstance(nb, sympy.Add):
            return sympy.Pow(nb, exponent)
        terms = self.maximal(self.terms(nb))
        if not terms or any(_sign(t.coef) != 1 for t in terms):
            return sympy.Pow(nb, exponent)
        parts = [t.model * t.core for t in terms]
        if exponent.is_number and _sign(exponent) == 1:
            return sympy.Add(*(p**exponent for p in parts))
        if len(parts) == 1:
            return parts[0] ** exponent
        return sympy.Pow(sympy.Add(*parts), exponent)

    def _log(self, arg: sympy.Expr) -> sympy.Expr:
        na = self.normalize(arg)
        if not self._growing_in(na):
            return sympy.log(na)
        parts = [
            sympy.expand_log(sympy.log(t.core), force=True)
            for t in self.maximal(self.terms(na))
            if t.core != 1
        ]
        return sympy.Add(*parts) if parts else sympy.log(na)

    def _min(self, args: list[sympy.Expr]) -> sympy.Expr:
        maxima = [self.maximal(self.terms(a)) for a in args]
        for i, small in enumerate(maxima):
            if all(
                all(any(self.dominates(big, s) for big in other) for s in small)
                for j, other in enumerate(maxima)
                if j != i
            ):
                return args[i]
        return args[0]

    # ----------------------------------------------------------------- terms

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
        consts: list[sympy.Expr] = []  # numbers and non-growing parameters
        models: list[sympy.Expr] = []
        core: list[sympy.Expr] = []
        deg = [Fraction(0)] * self.n
        logs = [Fraction(0)] * self.n
        rates: dict[Vec, sympy.Expr] = {}
        opaque: list[sympy.Expr] = []
        active = self.active
        factors = sympy.Mul.make_args(term)
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
            r = sympy.expand(rates[mono])
            if r != 0:
                exp_key.append((mono, r))
        key = _Key(
            exp=tuple(exp_key),
            deg=_compact(deg),
            logs=_compact(logs),
            opaque=tuple(sorted(opaque, key=sympy.default_sort_key)),
        )
        proj = tuple(_dot(key.deg, g) for g in self.gens)
        exp_id = self._exp_ids.setdefault(key.exp, len(self._exp_ids))
        whole = len(core) == len(factors)  # spare a Mul when nothing was split off
        return _Term(
            model=sympy.Mul(*models),
            core=term if whole else sympy.Mul(*core),
            coef=sympy.Mul(*consts),
            key=key,
            proj=proj,
            exp_id=exp_id,
        )

    def terms(self, e: sympy.Expr) -> list[_Term]:
        """Normalize, expand, split and merge terms with equal model monomial and core."""
        expanded = _expand(self.normalize(e))
        merged: dict[tuple[sympy.Expr, _Key], _Term] = {}
        for t in sympy.Add.make_args(expanded):
            if t == 0:
                continue
            term = self._analyze(t)
            k = (term.model, term.key)
            if k in merged:
                merged[k].coef += term.coef
                merged[k].merged = True
            else:
                merged[k] = term
        return [t for t in merged.values() if not (t.merged and sympy.expand(t.coef) == 0)]

    def maximal(self, terms: Sequence[_Term]) -> list[_Term]:
        """Terms not dominated by another, in input order.

        Of mutually dominating terms (equivalent under the assumptions) the one with more
        exponentials and higher total degree is kept, ties going to the earlier one.
        """
        order = sorted(
            range(len(terms)),
            key=lambda i: (-len(terms[i].key.exp), -sum(terms[i].key.deg), i),
        )
        kept: list[_Term] = []
        for i in order:
            t = terms[i]
            if any(self.dominates(m, t) for m in kept):
                continue
            kept = [m for m in kept if not self.dominates(t, m)]
            kept.append(t)
        position = {id(t): i for i, t in enumerate(terms)}
        return sorted(kept, key=lambda t: position[id(t)])

    def bound(self, e: sympy.Expr) -> tuple[sympy.Expr, dict[sympy.Expr, sympy.Expr]]:
        by_model: dict[sympy.Expr, list[_Term]] = {}
        for t in self.terms(e):
            by_model.setdefault(t.model, []).append(t)
        kept = {m: self.maximal(ts) for m, ts in by_model.items()}
        growing = {m for m, ts in kept.items() if any(not self.dominates(self.one, t) for t in ts)}
        if growing:
            kept = {m: ts for m, ts in kept.items() if m in growing}
        ordered = sorted(kept, key=sympy.default_sort_key)
        groups = {m: sympy.Add(*(t.core for t in kept[m])) for m in ordered}
        total = sympy.Add(*(m * t.core for m in ordered for t in kept[m]))
        return total, groups

    # ----------------------------------------------------------------- dominance

    def dominates(self, a: _Term, b: _Term) -> bool:
        """True when ``b.core / a.core`` is provably bounded on the region."""
        if a.key.opaque != b.key.opaque:
            return False
        if a.exp_id == b.exp_id:
            return self._poly_log(a, b, self.all_gens)
        pair = (a.exp_id, b.exp_id)
        if pair not in self._exp_cache:
            self._exp_cache[pair] = self._exp_level(a.key.exp, b.key.exp)
        gens = self._exp_cache[pair]
        return gens is not None and self._poly_log(a, b, gens)

    def _exp_level(
        self, exp_a: tuple[tuple[Vec, sympy.Expr], ...], exp_b: tuple[tuple[Vec, sympy.Expr], ...]
    ) -> tuple[int, ...] | None:
        """Exponential level of ``b`` against ``a``: None when ``b``'s exponential is not
        shown to be at most ``a``'s, else the cone generators left for the next levels."""
        delta: dict[Vec, sympy.Expr] = dict(exp_b)
        for mono, r in exp_a:
            delta[mono] = delta.get(mono, sympy.Integer(0)) - r
        diff = [(m, sympy.expand(d)) for m, d in delta.items()]
        diff = [(m, d) for m, d in diff if d != 0]
        if not diff:
            return self.all_gens
        margin = self._exp_margin(diff)
        if margin is None:
            return None
        if margin == "weak":
            return self.all_gens
        support = {i for mono, _ in diff for i, x in enumerate(mono) if x}
        return tuple(g for g in self.all_gens if all(self.gens[g][i] == 0 for i in support))

    def _exp_margin(self, diff: list[tuple[Vec, sympy.Expr]]) -> str | None:
        """Is ``sum d_mu * z_mu <= 0`` on the order cone of the exponent monomials?

        Returns ``"strict"`` (< 0 away from 0), ``"weak"`` (<= 0), or None (not shown).
        """
        items = sorted(diff, key=lambda md: md[0])
        if len(items) > _MAX_SUBSETS:
            return None
        monos = [m for m, _ in items]
        below = [
            [
                all(_dot(monos[i], g) <= _dot(monos[j], g) for g in self.unit_gens)
                for j in range(len(monos))
            ]
            for i in range(len(monos))
        ]
        seen: set[frozenset[int]] = set()
        weak = False
        for r in range(1, len(items) + 1):
            for subset in itertools.combinations(range(len(items)), r):
                upset = frozenset(j for j in range(len(items)) if any(below[i][j] for i in subset))
                if upset in seen:
                    continue
                seen.add(upset)
                s = _sign(sympy.Add(*(items[j][1] for j in upset)))
                if s is None or s > 0:
                    return None
                weak = weak or s == 0
        return "weak" if weak else "strict"

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
