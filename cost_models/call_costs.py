"""The LLM primitive: what one call costs under each cost model (DESIGN §2).

A call of a model of size ``m`` that reads ``i`` tokens and writes ``t`` tokens. The
functions are plain arithmetic, so they work on sympy expressions, floats and mpmath numbers
alike (see :mod:`aalps.cost_models.arithmetic`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aalps.cost_models.arithmetic import Value
from aalps.cost_models.domain import CostModel


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
