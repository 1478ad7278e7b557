"""Asymptotic (Θ) bounds of symbolic plan costs, and separations between plans.

A plan's expected cost is a sympy expression built from sizes (``k``, ``l``, ``b``, ...),
model-size symbols (``m_dev``, ``m_qa``, ...), rationals, exponentials (``2**k``), logs,
``ceiling``/``floor`` and ``Max``/``Min``. :func:`derive_bound` reduces it to the argument
of its Θ as the *growing* symbols go to infinity, the way the AALPs position paper does by
hand (§3.1-3.3): expand, drop constant factors, drop every term dominated by another term
of the same role, keep one sum per model-size symbol. :func:`separation` divides two
bounds and reduces the ratio the same way.

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
Terms of different model monomials are never compared (the roles are kept apart).

Reduction (``_theta``): every subexpression gets a sign and the maximal terms of a sum of
positive terms that is Θ of its absolute value. Θ-shortcuts are applied to positive values
only, which is what makes them exact up to constants:

* a product is the product of its factors' Θ (terms multiplied out, then maximal terms);
* a sum is split by sign; when every negative term is strictly dominated (``o(·)``, shown
  as: a positive term dominates it times ``x**eps`` or ``log(x)**eps``) the sum is Θ of its
  positive part. Otherwise it is first expanded exactly (multinomials, ``log`` of products
  and quotients), equal cores are merged, and the test is made again, so
  ``(n+k)**2 - n**2 - k**2`` is Θ(``k*n``) and ``n*(log(n) - log(n/2))`` is Θ(``n``);
* ``(t1 + t2 + ...)**q`` is Θ(``t1**q + t2**q + ...``) over the maximal terms for ``q > 0``
  and Θ(``min(t1**q, t2**q, ...)``) for ``q < 0``: kept as ``1/(t1 + t2)`` and compared
  through its *alternatives* (below), so ``k*n/(k + n)`` is one term;
* ``log(x)``: of a product or quotient, the exact expanded sum of logs (constants cancel);
  of a sum that grows, the sum of the logs of its maximal terms when they are products of
  non-negative powers (``log(k + l)`` is Θ(``log k + log l``)), else ``log`` of the sum of
  maximal terms, verbatim;
* ``Max(a, b)`` is Θ(``a + b``); ``Min(a, b)`` is the argument that every other one dominates
  when there is one, else ``Min`` of the reduced arguments, a term with alternatives;
* ``ceiling(x)`` is Θ(``x + 1``), ``floor(x)`` is Θ(``x``) when ``x`` grows (else verbatim),
  and both go from exponents (the error is a constant factor).

A term with alternatives (``Min(k, n)``, ``1/(k + n)``) is Θ of the smallest of them:
``b <= C*a`` is shown when for every alternative of ``a`` some alternative of ``b`` is
dominated by it. What stays undecided (a sum whose negative part is not strictly dominated
even after exact expansion, such as ``k**2 - k*l + l**2`` or ``sqrt(n + 1) - sqrt(n)``) is
kept exactly, per model monomial: a correct Θ, not a reduced one.

Factors the key cannot describe (``log(log(n))``, ``n**k``, ``factorial(k)``, ``Max`` in an
exponent) are *opaque*: two terms are compared only when their opaque factors are
identical. Logs of quantities that do not grow have an unknown sign and are decided, if at
all, by the exact expansion.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sympy
from aalps.cost_models._apart_roles import roles_stay_apart
from aalps.cost_models._cancel_free import cancel_keeps_terms
from aalps.cost_models._theta import _Theta
from sympy.core.relational import Relational

__all__ = ["Bound", "Separation", "derive_bound", "separation"]


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
    symbols: set[Any] = _free_symbols(expr) | set(growing_t) | set(models_t)
    for rel in assumptions:
        symbols |= getattr(rel, "free_symbols", set())
    to_pos = {
        s: sympy.Dummy(s.name, positive=True)
        for s in symbols
        if isinstance(s, sympy.Symbol) and s.is_positive is not True
    }
    back = {v: k for k, v in to_pos.items()}

    analyzer = _analyzer(
        tuple(to_pos.get(s, s) for s in growing_t),
        tuple(to_pos.get(s, s) for s in models_t),
        tuple(_as_sympy(rel).xreplace(to_pos) for rel in assumptions),
        reuse=not to_pos,
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


#: Free symbols per term of the sums :func:`derive_bound` was given (per thread): the plan,
#: the baseline and every challenger are sums of mostly the same task-cost terms.
_MAX_TERM_SYMBOLS = 50_000  # terms kept before the memo starts afresh


def _free_symbols(expr: sympy.Expr) -> set[Any]:
    """``expr.free_symbols``; of a sum, the union of its terms', each looked up once per
    thread (a plan's cost has thousands of terms, and plans share most of them)."""
    if not isinstance(expr, sympy.Add):
        return set(expr.free_symbols)
    memo: dict[sympy.Expr, frozenset[Any]] | None = getattr(_LOCAL, "term_symbols", None)
    if memo is None or len(memo) > _MAX_TERM_SYMBOLS:
        memo = _LOCAL.term_symbols = {}
    out: set[Any] = set()
    for term in expr.args:
        known = memo.get(term)
        if known is None:
            known = memo[term] = frozenset(term.free_symbols)
        out |= known
    return out


#: Per thread (an analyzer is not safe to share: it numbers exponential keys as it meets
#: them), the analyzers kept per context (growing symbols, model symbols, assumptions).
_LOCAL = threading.local()
_MAX_ANALYZERS = 4  # contexts kept per thread (a batch of requests usually shares one)
_MAX_REMEMBERED = 20_000  # Θ results one analyzer keeps before it is replaced by a fresh one


def _analyzers() -> dict[tuple[Any, ...], _Theta]:
    """This thread's analyzers by context, newest last."""
    kept: dict[tuple[Any, ...], _Theta] | None = getattr(_LOCAL, "analyzers", None)
    if kept is None:
        kept = _LOCAL.analyzers = {}
    return kept


def _analyzer(
    growing: tuple[sympy.Symbol, ...],
    models: tuple[sympy.Symbol, ...],
    assumptions: tuple[Any, ...],
    *,
    reuse: bool,
) -> _Theta:
    """The Θ analyzer of one context, shared by every bound and separation derived in it.

    An analyzer is a pure function of the expressions it is given (its cache maps an
    expression to its Θ), so reusing it across calls returns what a fresh one would, without
    rebuilding the assumptions' cone and re-deriving the terms plans share (a plan's tasks,
    the baseline's bound in each separation, the same task shapes across a batch). Contexts
    with positive stand-ins (fresh Dummies every call) are never reused.
    """
    if not reuse:
        return _Theta(growing, models, assumptions)
    key = (growing, models, assumptions)
    kept = _analyzers()
    analyzer = kept.pop(key, None)
    if analyzer is None or len(analyzer._cache) > _MAX_REMEMBERED:
        analyzer = _Theta(growing, models, assumptions)
    kept[key] = analyzer  # newest last
    while len(kept) > _MAX_ANALYZERS:
        del kept[next(iter(kept))]
    return analyzer


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
    # Two roles that surely grow apart (:func:`_apart`) make the whole ratio two terms or
    # more, as it stands and cancelled: it is then not worked out.
    if not _apart(baseline.expr, plan.expr, context):
        whole = _ratio_bound(baseline.expr, plan.expr, context)
        if len(sympy.Add.make_args(whole)) == 1:
            return [Separation("", whole)]
    return [
        Separation(str(monomial), _ratio_bound(group, plan.groups[monomial], context))
        for monomial, group in baseline.groups.items()
        if monomial in plan.groups
    ]


def _ratio_bound(num: sympy.Expr, den: sympy.Expr, context: Mapping[str, Any]) -> sympy.Expr:
    """Θ(num / den), reduced like a bound; of the ratio as it is and the ratio with its
    polynomial common factors cancelled (``(k**2 + k*l)/(k + l)`` is ``k``), the one with
    fewer terms."""
    raw = derive_bound(num / den, **context).expr
    if len(sympy.Add.make_args(raw)) == 1 or not _cheap_to_cancel(num / den):
        return raw
    # A gcd that surely cancels nothing but a monomial is not worked out (:mod:`._cancel_free`).
    analyzer = _context_analyzer(num, den, context)
    if analyzer is not None and cancel_keeps_terms(analyzer, num, den):
        return raw
    cancelled = derive_bound(sympy.cancel(sympy.together(num / den)), **context).expr
    return min((raw, cancelled), key=lambda e: len(sympy.Add.make_args(e)))


def _apart(num: sympy.Expr, den: sympy.Expr, context: Mapping[str, Any]) -> bool:
    """:func:`._apart_roles.roles_stay_apart` in the context's analyzer; False without one."""
    analyzer = _context_analyzer(num, den, context)
    if analyzer is None:
        return False
    assumptions = tuple(_as_sympy(rel) for rel in context["assumptions"])
    return roles_stay_apart(analyzer, num, den, assumptions)


def _context_analyzer(
    num: sympy.Expr, den: sympy.Expr, context: Mapping[str, Any]
) -> _Theta | None:
    """The analyzer :func:`derive_bound` reduces ``num / den`` in; None when a symbol is not
    declared positive (:func:`derive_bound` then works on stand-ins)."""
    growing = tuple(sorted(set(context["growing"]), key=sympy.default_sort_key))
    models = tuple(sorted(set(context["model_symbols"]), key=sympy.default_sort_key))
    assumptions = tuple(_as_sympy(rel) for rel in context["assumptions"])
    symbols: set[Any] = _free_symbols(num) | _free_symbols(den) | set(growing) | set(models)
    for rel in assumptions:
        symbols |= getattr(rel, "free_symbols", set())
    if any(not isinstance(s, sympy.Symbol) or s.is_positive is not True for s in symbols):
        return None
    return _analyzer(growing, models, assumptions, reuse=True)


#: Past these sizes :func:`sympy.cancel`'s polynomial gcd can run for many minutes (a
#: 200-task plan's exponential terms with 240-digit rational bases took over 25 minutes):
#: the ratio is then reduced without cancelling its common factors.
_CANCEL_MAX_OPS = 200
_CANCEL_MAX_DIGITS = 40


def _cheap_to_cancel(ratio: sympy.Expr) -> bool:
    """Whether cancelling ``ratio``'s common factors stays cheap: few operations and no
    rational with a long numerator or denominator."""
    if sympy.count_ops(ratio) > _CANCEL_MAX_OPS:
        return False
    limit = 10**_CANCEL_MAX_DIGITS
    return all(abs(r.p) < limit and r.q < limit for r in ratio.atoms(sympy.Rational))
