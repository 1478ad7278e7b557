"""A catalog model from plain data: its size, capabilities, prices and the figures of the
operators that read a model (cascade rates, vote correlation, one-time setup).

Part of :mod:`aalps.cost_models.loading`, which reads the rest of a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy
from aalps.cost_models.cascade_facts import read_rate_map
from aalps.cost_models.domain import Model
from aalps.cost_models.errors import Violations
from aalps.cost_models.fields import (
    IDENTIFIER,
    ExpressionReader,
    check_keys,
    read_mapping,
    read_number,
    read_probability,
)
from aalps.cost_models.prices import PRICE_KEYS, PRICE_LISTS, read_price, read_price_list

__all__ = ["read_model"]


def read_model(
    data: Mapping[str, Any], field: str, ex: ExpressionReader, errors: Violations
) -> Model | None:
    """One catalog entry from plain data, or None when it cannot be built (its problems
    are in ``errors``, each with its field path)."""
    keys = {
        "name",
        "size",
        "price_per_input_token",
        "price_per_output_token",
        "context_window",
        "capabilities",
        "per_variant",
        "latency_per_token",
        "per_token_error",
        "vote_correlation",
        "vote_correlations",
        *PRICE_KEYS,
        *PRICE_LISTS,
        "source_key",
        "tier_threshold_tokens",
        "cascade",
        "setup_cost",
    }
    check_keys(data, keys, field, errors)
    name = data.get("name")
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        errors.add(f"{field}.name", f"must be an identifier (letters, digits, _), got {name!r}")
        return None
    raw_size = data.get("size")
    if raw_size is None or raw_size == "":
        errors.add(f"{field}.size", "is required")
        return None
    size_expr = ex.parse(raw_size, f"{field}.size", errors)
    if size_expr is None:
        return None
    size_value = ex.value(size_expr, f"{field}.size", errors)
    if size_value is None:
        return None  # over a parameter without a value (reported already), or out of range
    size = sympy.Symbol(f"m_{name}", positive=True) if size_expr.is_number else size_expr
    caps_raw = read_mapping(data.get("capabilities"), f"{field}.capabilities", errors)
    capabilities = {}
    for cap, p in caps_raw.items():
        value = read_probability(p, f"{field}.capabilities[{cap}]", errors)
        if value is not None:
            capabilities[str(cap)] = value
    if not caps_raw:
        errors.add(f"{field}.capabilities", "a model needs at least one capability")

    def price(key: str) -> sympy.Rational:
        return read_price(data.get(key), f"{field}.{key}", errors)

    per_variant = data.get("per_variant", False)
    if not isinstance(per_variant, bool):
        errors.add(f"{field}.per_variant", "must be true or false")
        per_variant = False
    error = read_number(
        data.get("per_token_error"), f"{field}.per_token_error", errors, low=0.0, high=0.5
    )
    rho = read_number(
        data.get("vote_correlation"), f"{field}.vote_correlation", errors, low=0.0, high=1.0
    )
    rhos_raw = read_mapping(data.get("vote_correlations"), f"{field}.vote_correlations", errors)
    rhos = {}
    for cap, value in rhos_raw.items():
        where = f"{field}.vote_correlations[{cap}]"
        if cap not in caps_raw:
            errors.add(where, "names a capability the model does not list")
        number = read_number(value, where, errors, low=0.0, high=1.0)
        if number is not None:
            rhos[str(cap)] = number
    source_key = data.get("source_key") or ""
    if not isinstance(source_key, str):
        errors.add(f"{field}.source_key", "must be a string")
        source_key = ""
    threshold = read_number(
        data.get("tier_threshold_tokens"), f"{field}.tier_threshold_tokens", errors, low=0.0
    )
    lists = {key: read_price_list(data.get(key), f"{field}.{key}", errors) for key in PRICE_LISTS}
    if threshold and lists["tier_prices"] is None:
        errors.add(f"{field}.tier_prices", "a tier_threshold_tokens needs tier prices")
    elif not threshold and (lists["tier_prices"] or lists["batch_tier_prices"]):
        errors.add(f"{field}.tier_threshold_tokens", "is required with tier prices")
    return Model(
        name=name,
        size=size,
        size_value=size_value,
        capabilities=capabilities,
        price_per_input_token=price("price_per_input_token"),
        price_per_output_token=price("price_per_output_token"),
        context_window=read_number(
            data.get("context_window"), f"{field}.context_window", errors, low=0.0, default=0.0
        )
        or 0.0,
        per_variant=per_variant,
        latency_per_token=read_number(
            data.get("latency_per_token"),
            f"{field}.latency_per_token",
            errors,
            low=0.0,
            default=1.0,
        )
        or 1.0,
        per_token_error=sympy.Rational(repr(error or 0.0)),
        source_key=source_key,
        price_per_cached_input_token=price("price_per_cached_input_token"),
        price_per_cache_write_token=price("price_per_cache_write_token"),
        batch_prices=lists["batch_prices"],
        tier_threshold_tokens=threshold or 0.0,
        tier_prices=lists["tier_prices"],
        batch_tier_prices=lists["batch_tier_prices"],
        cascade=read_rate_map(data.get("cascade"), f"{field}.cascade", errors),
        vote_correlation=rho or 0.0,
        vote_correlations=rhos,
        setup_cost=price("setup_cost"),
    )
