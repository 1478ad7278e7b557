"""The LLM primitive: what one call costs under each cost model (DESIGN §2).

A call of a model of size ``m`` that reads ``i`` tokens and writes ``t`` tokens. The
functions are plain arithmetic, so they work on sympy expressions, floats and mpmath numbers
alike (see :mod:`aalps.cost_models.arithmetic`). :func:`group_cost` sums one call group of an
operator's schedule in closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy
from aalps.cost_models.arithmetic import Arithmetic, Value
from aalps.cost_models.domain import CostModel
from aalps.cost_models.operators import CallGroup

__all__ = [
    "Pricing",
    "call_cost",
    "forward_pass_cost",
    "group_cost",
    "kv_cached_cost",
    "priced_cost",
    "quadratic_attention_cost",
]


@dataclass(frozen=True)
class Pricing:
    """What a cost model needs to know about the model making a call."""

    size: Value
    price_in: Value
    price_out: Value


def forward_pass_cost(m: Value, i: Value, t: Value) -> Value:
    """Each output token is a forward pass over the whole string: ``m·Σ_{j<t}(i+j)``."""
    return m * (t * i + t * (t - 1) / 2)


def kv_cached_cost(m: Value, i: Value, t: Value) -> Value:
    """Every token is processed once: ``m·(i+t)``."""
    return m * (i + t)


def priced_cost(price_in: Value, price_out: Value, i: Value, t: Value) -> Value:
    """API prices per input and output token."""
    return price_in * i + price_out * t


def quadratic_attention_cost(m: Value, i: Value, t: Value) -> Value:
    """Each output token attends over the whole string: ``m·Σ_{j<t}(i+j)²``."""
    return m * (t * i * i + i * t * (t - 1) + (t - 1) * t * (2 * t - 1) / 6)


CallCost = Callable[[Pricing, Value, Value], Value]

CALL_COSTS: dict[CostModel, CallCost] = {
    CostModel.FORWARD_PASS: lambda p, i, t: forward_pass_cost(p.size, i, t),
    CostModel.KV_CACHED: lambda p, i, t: kv_cached_cost(p.size, i, t),
    CostModel.PRICED: lambda p, i, t: priced_cost(p.price_in, p.price_out, i, t),
    CostModel.QUADRATIC_ATTENTION: lambda p, i, t: quadratic_attention_cost(p.size, i, t),
}


def call_cost(cost_model: CostModel, pricing: Pricing, i: Value, t: Value) -> Value:
    """Cost of one call under ``cost_model``."""
    return CALL_COSTS[cost_model](pricing, i, t)


def group_cost(
    group: CallGroup, cost_model: Any, pricing: Pricing, votes: int, arithmetic: Arithmetic
) -> Value:
    """Σ over the group's calls of one call's cost, times the votes.

    Calls read an arithmetic progression of inputs; the cost of one call is a polynomial of
    degree ≤ 2 in the call's index, so the sum is exact from three evaluations and the first
    two moments of the index.
    """
    if group.input_step == 0:
        return votes * group.calls * call_cost(cost_model, pricing, group.input, group.output)

    def f(j: int) -> Value:
        return call_cost(
            cost_model, pricing, group.input + (j - 1) * group.input_step, group.output
        )

    f0, f1, f2 = f(0), f(1), f(2)
    gamma = (f2 - 2 * f1 + f0) / 2
    beta = f1 - f0 - gamma
    n = group.calls
    mean_j = (n + 1) / 2
    mean_j2 = (n + 1) * (2 * n + 1) / 6
    total = n * (f0 + beta * mean_j + gamma * mean_j2)
    if arithmetic.symbolic:
        total = sympy.expand(total)
    return votes * total
