"""The LLM primitive: what one call costs under each cost model (DESIGN §2).

A call of a model of size ``m`` that reads ``i`` tokens and writes ``t`` tokens. The
functions are plain arithmetic, so they work on sympy expressions, floats and mpmath numbers
alike (see :mod:`aalps.cost_models.arithmetic`). :func:`group_cost` sums one call group of an
operator's schedule in closed form.

PRICED bills what providers' price tables list (issue 12):

* **tiers**: a call whose input is above ``tier_threshold`` tokens is billed, input and
  output, at the tier prices (the provider rule LiteLLM applies to ``*_above_200k_tokens``:
  the whole call, not only the tokens beyond). The cost of a call is piecewise in its
  input: a ``sympy.Piecewise`` on the symbolic side, a comparison on numbers;
  :func:`asymptotic_tiers` keeps the above-threshold branch for Θ (both branches are
  linear in the same tokens, so they have the same Θ).
* **cached prompt**: a task's prompt (``prompt_tokens``, which every operator puts at the
  head of every call's input) is shared by the calls of one call group, votes included
  (one role of one task: one model, one instruction). The group's first call writes it
  to the cache at ``cache_write`` per token, every other call reads it at ``cache_read``;
  the rest of each input is billed at the input price. Calls of other groups, even of the
  same model, do not share it (a conservative rule: their prompts are not known to be the
  same text). A model without a cache-read price caches nothing.
* **batch** prices are chosen when the request is loaded (``pricing: BATCH``), so they
  arrive here as ``price_in``/``price_out``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import sympy
from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.domain import CostModel
from aalps.cost_models.operators import CallGroup
from aalps.cost_models.polynomial_sums import NotPolynomial, Polynomial

__all__ = [
    "Pricing",
    "asymptotic_tiers",
    "attempt_cost",
    "call_cost",
    "forward_pass_cost",
    "group_cost",
    "kv_cached_cost",
    "price_figures",
    "priced_call_cost",
    "priced_cost",
    "quadratic_attention_cost",
]


@dataclass(frozen=True)
class Pricing:
    """What a cost model needs to know about the model making a call.

    The cache and tier figures are PRICED's; 0 means none (``cache_write`` 0: the input
    price).
    """

    size: Value
    price_in: Value
    price_out: Value
    cache_read: Value = 0
    cache_write: Value = 0
    tier_threshold: Value = 0
    tier_in: Value = 0
    tier_out: Value = 0
    tier_cache_read: Value = 0
    tier_cache_write: Value = 0

    @property
    def plain(self) -> bool:
        """Whether PRICED bills every token at ``price_in``/``price_out`` (no cache, no tier)."""
        return self.cache_read == 0 and self.tier_threshold == 0

    @staticmethod
    def of(model: Any, size: Value, number: Callable[[Any], Value]) -> Pricing:
        """A catalog model's pricing, its figures converted with ``number``.

        Defaults: the cache-write price is the input price; a price the tier does not list
        is the standard one (as LiteLLM falls back).
        """
        price_in, price_out = model.price_per_input_token, model.price_per_output_token
        read = model.price_per_cached_input_token
        if read == 0 and model.tier_threshold_tokens == 0:
            return Pricing(size, number(price_in), number(price_out))
        write = model.price_per_cache_write_token or price_in
        tier = model.tier_prices
        if tier is None:
            return Pricing(size, number(price_in), number(price_out), number(read), number(write))
        tier_read = tier.cached_input or read
        tier_write = tier.cache_write or model.price_per_cache_write_token or tier.input or price_in
        return Pricing(
            size,
            number(price_in),
            number(price_out),
            number(read),
            number(write),
            tier_threshold=number(model.tier_threshold_tokens),
            tier_in=number(tier.input or price_in),
            tier_out=number(tier.output or price_out),
            tier_cache_read=number(tier_read),
            tier_cache_write=number(tier_write),
        )


_PRICING_FIELDS = tuple(f.name for f in fields(Pricing))


def price_figures(model: Any) -> tuple[float, ...]:
    """Figures of a model under PRICED such that a model no greater in every one costs no
    more in any call group (the search's dominance test compares them).

    Per price list: input, output, and what a prompt token costs when read from the cache
    and when written (the input price when the model caches nothing); the standard list,
    then the tier's (the standard one again without a tier). The threshold appears as
    ``T`` and ``−T``, so models of different thresholds never dominate each other.
    """
    pricing = Pricing.of(model, 0, float)
    read = pricing.cache_read or pricing.price_in
    write = pricing.cache_write if pricing.cache_read else pricing.price_in
    low = (pricing.price_in, pricing.price_out, read, write)
    if not pricing.tier_threshold:
        return (*low, *low, 0.0, 0.0)
    tier_read = pricing.tier_cache_read or pricing.tier_in
    tier_write = pricing.tier_cache_write if pricing.tier_cache_read else pricing.tier_in
    high = (pricing.tier_in, pricing.tier_out, tier_read, tier_write)
    return (*low, *high, pricing.tier_threshold, -pricing.tier_threshold)


def forward_pass_cost(m: Value, i: Value, t: Value) -> Value:
    """Each output token is a forward pass over the whole string: ``m·Σ_{j<t}(i+j)``."""
    # t(t−1) is even: a Python int count (a symbolic cost's literal output) stays exact.
    pairs = t * (t - 1) // 2 if type(t) is int else t * (t - 1) / 2
    return m * (t * i + pairs)


def kv_cached_cost(m: Value, i: Value, t: Value) -> Value:
    """Every token is processed once: ``m·(i+t)``."""
    return m * (i + t)


def priced_cost(price_in: Value, price_out: Value, i: Value, t: Value) -> Value:
    """API prices per input and output token."""
    return price_in * i + price_out * t


def quadratic_attention_cost(m: Value, i: Value, t: Value) -> Value:
    """Each output token attends over the whole string: ``m·Σ_{j<t}(i+j)²``."""
    # (t−1)t(2t−1) is a multiple of 6: a Python int count stays exact.
    squares = (t - 1) * t * (2 * t - 1)
    squares = squares // 6 if type(t) is int else squares / 6
    return m * (t * i * i + i * t * (t - 1) + squares)


CallCost = Callable[[Pricing, Value, Value], Value]


def _tiered(above: bool | sympy.Basic, high: Value, low: Value) -> Value:
    """``high`` where ``above`` holds, else ``low`` (a Piecewise when undecided)."""
    if isinstance(above, sympy.Basic) and above not in (sympy.true, sympy.false):
        return sympy.Piecewise((high, above), (low, True))
    return high if above else low


def priced_call_cost(p: Pricing, i: Value, t: Value) -> Value:
    """One PRICED call, at the tier prices when its input is above the threshold."""
    low = priced_cost(p.price_in, p.price_out, i, t)
    if p.tier_threshold == 0:
        return low
    return _tiered(i > p.tier_threshold, priced_cost(p.tier_in, p.tier_out, i, t), low)


CALL_COSTS: dict[CostModel, CallCost] = {
    CostModel.FORWARD_PASS: lambda p, i, t: forward_pass_cost(p.size, i, t),
    CostModel.KV_CACHED: lambda p, i, t: kv_cached_cost(p.size, i, t),
    CostModel.PRICED: priced_call_cost,
    CostModel.QUADRATIC_ATTENTION: lambda p, i, t: quadratic_attention_cost(p.size, i, t),
}


def call_cost(cost_model: CostModel, pricing: Pricing, i: Value, t: Value) -> Value:
    """Cost of one call under ``cost_model``."""
    return CALL_COSTS[cost_model](pricing, i, t)


def attempt_cost(
    cost_model: Any, pricing: Pricing, votes: int, i: Value, t: Value, prompt: Value = 0
) -> Value:
    """One more call of a group (times the votes) once its prompt is in the cache: what
    each further attempt of a retry costs (its cost variance and tail are in these units)."""
    cost = call_cost(cost_model, pricing, i, t)
    if cost_model is CostModel.PRICED and pricing.cache_read != 0 and prompt != 0:
        above = bool(pricing.tier_threshold) and i > pricing.tier_threshold
        price_in, read = (
            (pricing.tier_in, pricing.tier_cache_read)
            if above
            else (pricing.price_in, pricing.cache_read)
        )
        cost = cost - prompt * (price_in - read)
    return votes * cost


def group_cost(
    group: CallGroup,
    cost_model: Any,
    pricing: Pricing,
    votes: int,
    arithmetic: Arithmetic,
    prompt: Value = 0,
    writes: Value = 1,
    *,
    memo: bool = True,
) -> Value:
    """Σ over the group's calls of one call's cost, times the votes.

    Calls read an arithmetic progression of inputs; the cost of one call is a polynomial of
    degree ≤ 2 in the call's index, so the sum is exact from three evaluations and the first
    two moments of the index. PRICED with a cache or a tier is summed by
    :func:`_priced_group_cost` (``prompt``: the task's prompt tokens, which the calls share;
    ``writes``: how often they are written to the cache, :mod:`.prompt_cache`). Symbolic
    costs are kept by their exact inputs (``memo=False``: computed anew).
    """
    if arithmetic.symbolic and memo:
        key = _symbolic_key(group, cost_model, pricing, votes, prompt, writes)
        cost = _SYMBOLIC_GROUPS.get(key)
        if cost is None:
            cost = group_cost(
                group, cost_model, pricing, votes, arithmetic, prompt, writes, memo=False
            )
            if len(_SYMBOLIC_GROUPS) >= _MAX_SYMBOLIC_GROUPS:
                _SYMBOLIC_GROUPS.clear()
            _SYMBOLIC_GROUPS[key] = cost
        return cost
    if cost_model is CostModel.PRICED and not pricing.plain:
        return _priced_group_cost(group, pricing, votes, arithmetic, prompt, writes)
    if group.input_step == 0:
        return votes * group.calls * call_cost(cost_model, pricing, group.input, group.output)

    if arithmetic.symbolic:
        expanded = _polynomial_series(group, cost_model, pricing)
        if expanded is not None:
            return votes * expanded

    def f(j: int) -> Value:
        return call_cost(
            cost_model, pricing, group.input + (j - 1) * group.input_step, group.output
        )

    total = _series(f, group.calls)
    if arithmetic.symbolic:
        total = sympy.expand(total)
    return votes * total


def _series(f: Callable[[int], Value], n: Value) -> Value:
    """Σ_{j=1..n} f(j) for ``f`` a polynomial of degree ≤ 2 in ``j``, from f(0), f(1), f(2)."""
    f0, f1, f2 = f(0), f(1), f(2)
    gamma = (f2 - 2 * f1 + f0) / 2
    beta = f1 - f0 - gamma
    mean_j = (n + 1) / 2
    mean_j2 = (n + 1) * (2 * n + 1) / 6
    return n * (f0 + beta * mean_j + gamma * mean_j2)


def _polynomial_series(group: CallGroup, cost_model: Any, pricing: Pricing) -> Value | None:
    """The expanded symbolic sum of a group's calls computed on exact polynomials
    (:mod:`.polynomial_sums`): what ``sympy.expand`` of the sympy series gives, or None when
    an input is not a polynomial in plain symbols.

    A Python ``int`` token count (a detector's one written token) is exact there as well
    (the call's cost multiplies it into the sympy size or prices), so it is taken as a
    sympy Integer; a Python ``int`` call count is not: ``(n + 1) / 2`` is a float there."""
    values = (
        group.calls,
        _integer(group.input),
        _integer(group.output),
        _integer(group.input_step),
        pricing.size,
        pricing.price_in,
        pricing.price_out,
    )
    if not all(isinstance(v, sympy.Basic) for v in values):
        return None  # Python numbers: ``int / int`` is a float there, and so is the sum
    symbols = Polynomial.symbols_of(values)
    try:
        calls, first, output, step, size, price_in, price_out = (
            Polynomial.of(v, symbols) for v in values
        )
        exact = replace(pricing, size=size, price_in=price_in, price_out=price_out)

        def f(j: int) -> Value:
            return call_cost(cost_model, exact, first + (j - 1) * step, output)

        total = _series(f, calls)
    except NotPolynomial:
        return None
    return total.to_expr()


def _integer(value: Value) -> Value:
    """A Python ``int`` as a sympy Integer (:func:`_polynomial_series`), else ``value``."""
    return sympy.Integer(value) if type(value) is int else value


#: Symbolic group costs by their exact inputs: tasks of one shape (a workflow of alike steps,
#: the plans of one request) repeat them, and building one is sympy arithmetic and an expand.
_SYMBOLIC_GROUPS: dict[tuple[Any, ...], Value] = {}
_MAX_SYMBOLIC_GROUPS = 4096  # then cleared (a cost is rebuilt the same on its next use)


def _typed(value: Value) -> tuple[type, Value]:
    """``value`` with its type: ``2`` and ``Integer(2)`` (equal in Python) compute apart."""
    return (value.__class__, value)


def _symbolic_key(
    group: CallGroup,
    cost_model: Any,
    pricing: Pricing,
    votes: int,
    prompt: Value,
    writes: Value,
) -> tuple[Any, ...]:
    """Everything :func:`group_cost` reads, each value with its type."""
    return (
        cost_model,
        _typed(group.calls),
        _typed(group.input),
        _typed(group.output),
        _typed(group.input_step),
        tuple(_typed(getattr(pricing, f)) for f in _PRICING_FIELDS),
        _typed(votes),
        _typed(prompt),
        _typed(writes),
    )


def _priced_group_cost(
    group: CallGroup,
    p: Pricing,
    votes: int,
    arithmetic: Arithmetic,
    prompt: Value,
    writes: Value = 1,
) -> Value:
    """PRICED over a group with a cached prompt and/or a tier (see the module's docstring).

    Calls ``j = 1..n`` read ``a + (j−1)·s`` tokens; those at or below the threshold ``T``
    are the first ``c = ⌊(T−a)/s⌋ + 1`` (all or none when ``s = 0``). Each run of calls at
    one price list is an arithmetic series, summed in closed form; the group's first call
    (input ``a``) writes the prompt to the cache (``writes`` times over a cache lifetime).
    """
    n, a, s, t = group.calls, group.input, group.input_step, group.output
    if n == 0:
        return 0

    def run(price_in: Value, price_out: Value, read: Value, count: Value, first: Value) -> Value:
        # ``count`` calls from input ``first``; the shared prompt is read from the cache.
        billed = count * (price_in * first + price_out * t) + price_in * s * count * (count - 1) / 2
        return billed - count * prompt * (price_in - read) if read != 0 else billed

    def once(read: Value, write: Value) -> Value:
        return writes * prompt * (write - read) if read != 0 else 0

    low_prices = (p.price_in, p.price_out, p.cache_read)
    low = votes * run(*low_prices, n, a) + once(p.cache_read, p.cache_write)
    if p.tier_threshold == 0:
        return low
    high_prices = (p.tier_in, p.tier_out, p.tier_cache_read)
    high = votes * run(*high_prices, n, a) + once(p.tier_cache_read, p.tier_cache_write)
    threshold = p.tier_threshold
    if s == 0:
        return _tiered(a > threshold, high, low)
    last = a + (n - 1) * s

    def mixed(c: Value) -> Value:
        rest = run(*high_prices, n - c, a + c * s)
        return votes * (run(*low_prices, c, a) + rest) + once(p.cache_read, p.cache_write)

    if arithmetic.symbolic:
        c = sympy.floor((threshold - a) / s) + 1
        return sympy.Piecewise((high, a > threshold), (low, last <= threshold), (mixed(c), True))
    if a > threshold:
        return high
    if last <= threshold:
        return low
    return mixed(1 - arithmetic.ceil(-(threshold - a) / s))  # c = ⌊(T−a)/s⌋ + 1


def asymptotic_tiers(cost: sympy.Expr) -> sympy.Expr:
    """``cost`` with every tier's Piecewise replaced by its first (above-threshold) branch.

    The branches of a tier are linear in the same token counts with positive prices, so
    they have the same Θ; the first is the one large inputs take. Θ derivation
    (:func:`~aalps.cost_models.bounds.derive_bound`) does not read Piecewise itself.
    """
    if not cost.has(sympy.Piecewise):
        return cost
    return cost.replace(lambda e: isinstance(e, sympy.Piecewise), lambda e: e.args[0].expr)
