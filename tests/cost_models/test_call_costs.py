"""The LLM primitive (DESIGN §2, "Cost of one call") against hand sums, token by token.

Each cost model is checked three ways: exactly (Fractions) against a Python loop over the
``t`` output tokens, symbolically against ``sympy.summation``, and through the
:func:`call_cost` dispatch (which must hand each cost model the right fields of the
:class:`Pricing`).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from aalps.cost_models.call_costs import (
    CALL_COSTS,
    Pricing,
    call_cost,
    forward_pass_cost,
    kv_cached_cost,
    priced_cost,
    quadratic_attention_cost,
)
from aalps.cost_models.domain import CostModel

# (model size, input tokens, output tokens): t = 1 (a one-token answer), short and long
# outputs, outputs longer than inputs, and an empty input.
CALLS = [
    (1, 0, 1),
    (1, 1, 1),
    (3, 10, 1),
    (7, 5, 2),
    (2, 100, 7),
    (13, 17, 50),
    (5, 0, 9),
    (11, 1000, 1000),
]

i_, t_, j_, m_ = sympy.symbols("i t j m", positive=True, integer=True)


def loop_forward_pass(m: int, i: int, t: int) -> Fraction:
    """Each output token is a forward pass over the whole string so far."""
    total = Fraction(0)
    for j in range(t):
        total += m * (i + j)
    return total


def loop_quadratic_attention(m: int, i: int, t: int) -> Fraction:
    """Each output token attends over the whole string so far: quadratic in its length."""
    total = Fraction(0)
    for j in range(t):
        total += m * (i + j) ** 2
    return total


def loop_kv_cached(m: int, i: int, t: int) -> Fraction:
    """Every token (input, then each output) is processed once."""
    total = Fraction(0)
    for _ in range(i):
        total += m
    for _ in range(t):
        total += m
    return total


@pytest.mark.parametrize(("m", "i", "t"), CALLS)
def test_forward_pass_is_the_sum_over_output_tokens(m, i, t):
    got = forward_pass_cost(Fraction(m), Fraction(i), Fraction(t))
    assert got == loop_forward_pass(m, i, t)


@pytest.mark.parametrize(("m", "i", "t"), CALLS)
def test_quadratic_attention_is_the_sum_of_squares(m, i, t):
    got = quadratic_attention_cost(Fraction(m), Fraction(i), Fraction(t))
    assert got == loop_quadratic_attention(m, i, t)


@pytest.mark.parametrize(("m", "i", "t"), CALLS)
def test_kv_cached_counts_every_token_once(m, i, t):
    assert kv_cached_cost(Fraction(m), Fraction(i), Fraction(t)) == loop_kv_cached(m, i, t)


@pytest.mark.parametrize(("m", "i", "t"), CALLS)
def test_priced_charges_input_and_output_at_their_own_prices(m, i, t):
    price_in, price_out = Fraction(3, 8), Fraction(5, 4)
    expected = sum((price_in for _ in range(i)), Fraction(0)) + sum(
        (price_out for _ in range(t)), Fraction(0)
    )
    assert priced_cost(price_in, price_out, Fraction(i), Fraction(t)) == expected


@pytest.mark.parametrize(("m", "i", "t"), CALLS)
def test_float_arithmetic_matches_the_exact_sum(m, i, t):
    """The search runs on floats: same values to rounding."""
    assert forward_pass_cost(float(m), float(i), float(t)) == pytest.approx(
        float(loop_forward_pass(m, i, t)), rel=1e-12
    )
    assert quadratic_attention_cost(float(m), float(i), float(t)) == pytest.approx(
        float(loop_quadratic_attention(m, i, t)), rel=1e-12
    )


# --------------------------------------------------------------------- symbolic forms


def test_forward_pass_symbolic_form_is_the_summation():
    expected = sympy.summation(m_ * (i_ + j_), (j_, 0, t_ - 1))
    assert sympy.expand(forward_pass_cost(m_, i_, t_) - expected) == 0


def test_quadratic_attention_symbolic_form_is_the_summation():
    expected = sympy.summation(m_ * (i_ + j_) ** 2, (j_, 0, t_ - 1))
    assert sympy.expand(quadratic_attention_cost(m_, i_, t_) - expected) == 0


def test_kv_cached_symbolic_form_is_the_summation():
    expected = sympy.summation(m_, (j_, 1, i_)) + sympy.summation(m_, (j_, 1, t_))
    assert sympy.expand(kv_cached_cost(m_, i_, t_) - expected) == 0


def test_priced_symbolic_form_is_the_summation():
    p_in, p_out = sympy.symbols("p_in p_out", positive=True)
    expected = sympy.summation(p_in, (j_, 1, i_)) + sympy.summation(p_out, (j_, 1, t_))
    assert sympy.expand(priced_cost(p_in, p_out, i_, t_) - expected) == 0


def test_the_paper_definition_of_one_call():
    """Def. 2.2: reading n tokens and writing one costs m·n; writing n costs m·(n² + n(n−1)/2)."""
    n = sympy.Symbol("n", positive=True)
    assert forward_pass_cost(m_, n, 1) == m_ * n
    assert sympy.expand(forward_pass_cost(m_, n, n) - m_ * (3 * n**2 - n) / 2) == 0


# --------------------------------------------------------------------- the dispatch

PRICING = Pricing(size=Fraction(7), price_in=Fraction(1, 8), price_out=Fraction(3, 2))


@pytest.mark.parametrize("cost_model", list(CostModel), ids=str)
@pytest.mark.parametrize(("i", "t"), [(0, 1), (10, 1), (17, 50), (300, 4)])
def test_call_cost_dispatch_uses_the_right_fields(cost_model, i, t):
    m = int(PRICING.size)
    expected = {
        CostModel.FORWARD_PASS: loop_forward_pass(m, i, t),
        CostModel.KV_CACHED: loop_kv_cached(m, i, t),
        CostModel.PRICED: PRICING.price_in * i + PRICING.price_out * t,
        CostModel.QUADRATIC_ATTENTION: loop_quadratic_attention(m, i, t),
    }[cost_model]
    assert call_cost(cost_model, PRICING, Fraction(i), Fraction(t)) == expected


def test_every_cost_model_has_a_call_cost():
    assert set(CALL_COSTS) == set(CostModel)


@pytest.mark.parametrize("cost_model", list(CostModel), ids=str)
def test_one_more_output_token_costs_more(cost_model):
    """Monotone in both the input and the output length."""
    base = call_cost(cost_model, PRICING, Fraction(50), Fraction(5))
    assert call_cost(cost_model, PRICING, Fraction(51), Fraction(5)) > base
    assert call_cost(cost_model, PRICING, Fraction(50), Fraction(6)) > base


@pytest.mark.parametrize("cost", [forward_pass_cost, quadratic_attention_cost])
@pytest.mark.parametrize("t", [1, 2, 3, 7, 40])
def test_a_python_int_output_keeps_a_symbolic_cost_exact(cost, t):
    """An operator's literal output count (a Python int, e.g. a detector's one-token verdict)
    must not turn the symbolic cost's integer coefficients into Floats (48.0·m for 48·m)."""
    m, i = sympy.Symbol("m", positive=True), sympy.Integer(48)
    power = 1 if cost is forward_pass_cost else 2
    expected = m * sum((i + j) ** power for j in range(t))  # the definition, term by term
    got = cost(m, i, t)
    assert not got.atoms(sympy.Float)
    assert sympy.expand(got - expected) == 0
