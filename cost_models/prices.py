"""A catalog model's prices: reading its price lists, and choosing the batch ones.

Prices are per token and exact: a price table's decimal figure (``2.5e-06``) becomes the
rational it writes (1/400000), so a catalog's prices equal the table's. Beside the standard
``price_per_*`` fields a model may list ``batch_prices``, a ``tier_threshold_tokens`` with
``tier_prices`` and ``batch_tier_prices`` (:class:`~aalps.cost_models.domain.TokenPrices`);
what PRICED makes of them is in :mod:`aalps.cost_models.call_costs`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sympy
from aalps.cost_models.domain import Model, TokenPrices
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import check_keys, read_mapping, read_number

__all__ = ["PRICE_KEYS", "PRICE_LISTS", "batch_prices", "read_price", "read_price_list"]

#: A model's standard prices per token (exact rationals, >= 0).
PRICE_KEYS = (
    "price_per_input_token",
    "price_per_output_token",
    "price_per_cached_input_token",
    "price_per_cache_write_token",
)
#: A model's other price lists (``TokenPrices`` messages).
PRICE_LISTS = ("batch_prices", "tier_prices", "batch_tier_prices")


def read_price(value: Any, field: str, errors: Violations) -> sympy.Rational:
    """A price per token: a number >= 0, kept exact (``2.5e-06`` is 1/400000)."""
    number = read_number(value, field, errors, low=0.0, default=0.0)
    return sympy.Rational(repr(number or 0.0))


def read_price_list(value: Any, field: str, errors: Violations) -> TokenPrices | None:
    """A ``TokenPrices`` mapping (None when absent or all zero)."""
    data = read_mapping(value, field, errors)
    check_keys(data, {"input", "output", "cached_input", "cache_write"}, field, errors)
    prices = TokenPrices(
        *(read_price(data.get(k), f"{field}.{k}", errors) for k in TokenPrices.__annotations__)
    )
    return prices if prices != TokenPrices() else None


def batch_prices(models: list[Model], errors: Violations) -> list[Model]:
    """``pricing: BATCH``: every model billed at its batch prices (an error names each that
    has none). Cache prices the batch list leaves out keep the standard ones; tier prices
    are the batch tier's when listed, else the standard tier's (never less than billed)."""
    priced = []
    for i, m in enumerate(models):
        batch = m.batch_prices
        if batch is None or (batch.input == 0 and batch.output == 0):
            errors.add(
                f"catalog.models[{i}].batch_prices",
                f"pricing BATCH needs model {m.name}'s batch prices",
            )
            continue
        priced.append(
            replace(
                m,
                price_per_input_token=batch.input,
                price_per_output_token=batch.output,
                price_per_cached_input_token=batch.cached_input or m.price_per_cached_input_token,
                price_per_cache_write_token=batch.cache_write or m.price_per_cache_write_token,
                tier_prices=m.batch_tier_prices or m.tier_prices,
            )
        )
    return priced
