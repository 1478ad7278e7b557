"""Catalogs from price tables: LiteLLM's ``model_prices_and_context_window.json`` format.

The table (a file the user passes; aalps does not depend on litellm) maps a provider's
model key to its figures. :func:`from_litellm` turns the picked entries into a catalog
mapping (the shape of a request's ``catalog``):

==========================================================  ===================================
LiteLLM field                                               aalps model field
==========================================================  ===================================
``input_cost_per_token``, ``output_cost_per_token``         ``price_per_input_token``, ``…output…``
``cache_read_input_token_cost``                             ``price_per_cached_input_token``
``cache_creation_input_token_cost``                         ``price_per_cache_write_token``
``*_batches`` (the four above)                              ``batch_prices``
``max_input_tokens``                                        ``context_window``
``*_above_<N>k_tokens`` (a threshold of N·1000 tokens)      ``tier_threshold_tokens``,
                                                            ``tier_prices``
``*_above_<N>k_tokens_batches``                             ``batch_tier_prices``
==========================================================  ===================================

Figures are kept as the file writes them (strings such as ``"2.5e-06"``, which the catalog
reads as exact rationals). The key is kept as ``source_key``; a key that is not an aalps
name becomes one (``openai/gpt-4o`` → ``gpt_4o``) unless the pick names it. Sizes,
capabilities (with their reliabilities), ``latency_per_token``, ``per_variant``,
``per_token_error`` and ``vote_correlation(s)`` are not in price tables: they come from the
overlay, a mapping from each picked model's aalps name to those fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aalps.client.errors import InvalidArgumentError

__all__ = [
    "OVERLAY_FIELDS",
    "aalps_name",
    "from_litellm",
    "parse_pick",
    "read_price_table",
]

#: Catalog fields an overlay may give a model (size and capabilities are required).
OVERLAY_FIELDS = frozenset(
    {
        "size",
        "capabilities",
        "latency_per_token",
        "per_variant",
        "per_token_error",
        "vote_correlation",
        "vote_correlations",
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TIER = re.compile(r"^(?P<base>.+)_above_(?P<n>\d+)(?P<k>k?)_tokens(?P<batch>_batches)?$")
#: LiteLLM's names of one price list's four prices, as aalps's TokenPrices fields.
_PRICES = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
}
_STANDARD = {
    "input": "price_per_input_token",
    "output": "price_per_output_token",
    "cached_input": "price_per_cached_input_token",
    "cache_write": "price_per_cache_write_token",
}


def read_price_table(path: str | Path) -> dict[str, Any]:
    """A LiteLLM price table; numbers with a fraction or exponent stay the file's strings."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise InvalidArgumentError([(name, f"cannot read it: {reason}")]) from None
    try:
        data = json.loads(text, parse_float=str)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidArgumentError([(name, f"not valid JSON: {error.msg} ({where})")]) from None
    if not isinstance(data, dict):
        raise InvalidArgumentError([(name, "must be a JSON object of model entries")])
    return data


def parse_pick(text: str) -> tuple[str, str | None]:
    """``KEY`` or ``KEY=NAME`` (the last ``=`` splits: keys may hold one, names do not)."""
    key, sep, name = text.rpartition("=")
    return (key, name) if sep and key else (text, None)


def aalps_name(key: str) -> str:
    """An aalps model name for a price-table key: the part after the last ``/``, with every
    run of characters other than letters, digits and ``_`` made one ``_``."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", key.rsplit("/", 1)[-1]).strip("_")
    if not name or name[0].isdigit():
        name = "m_" + name
    return name[:64]


def _figure(value: Any, field: str) -> str | int:
    """A price or size as the file writes it (a string, or an integer)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidArgumentError([(field, f"must be a number, not {value!r}")])
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise InvalidArgumentError([(field, f"must be a number, not {value!r}")]) from None
        if not number >= 0 or number == float("inf"):
            raise InvalidArgumentError([(field, f"must be a finite number >= 0, not {value}")])
    return value


def _prices(entry: Mapping[str, Any], key: str, suffix: str) -> dict[str, str | int]:
    found = {}
    for field, litellm in _PRICES.items():
        value = entry.get(litellm + suffix)
        if value is not None:
            found[field] = _figure(value, f"{key}.{litellm}{suffix}")
    return {k: v for k, v in found.items() if float(v) != 0}  # 0: not listed


def _tiers(entry: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``tier_threshold_tokens`` and the tier price lists (one threshold at most)."""
    thresholds: dict[int, dict[bool, dict[str, str | int]]] = {}
    for field, value in entry.items():
        match = _TIER.match(field)
        if match is None or match["base"] not in _PRICES.values():
            continue
        tokens = int(match["n"]) * (1000 if match["k"] else 1)
        lists = thresholds.setdefault(tokens, {})
        prices = lists.setdefault(bool(match["batch"]), {})
        name = next(k for k, v in _PRICES.items() if v == match["base"])
        figure = _figure(value, f"{key}.{field}")
        if float(figure) != 0:  # 0: not listed (some entries list free tiers as zeros)
            prices[name] = figure
    thresholds = {t: lists for t, lists in thresholds.items() if any(lists.values())}
    if not thresholds:
        return {}
    if len(thresholds) > 1:
        found = ", ".join(str(t) for t in sorted(thresholds))
        raise InvalidArgumentError(
            [(key, f"has price tiers above {found} tokens; aalps takes one tier per model")]
        )
    ((threshold, lists),) = thresholds.items()
    if "input" not in lists.get(False, {}):
        raise InvalidArgumentError(
            [(key, f"a tier above {threshold} tokens needs input_cost_per_token_above_…")]
        )
    ordered = {batch: {k: p[k] for k in _PRICES if k in p} for batch, p in lists.items()}
    tier: dict[str, Any] = {"tier_threshold_tokens": threshold, "tier_prices": ordered[False]}
    if ordered.get(True):
        tier["batch_tier_prices"] = ordered[True]
    return tier


def _model(key: str, entry: Any, name: str, overlay: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise InvalidArgumentError([(key, "is not a model entry (an object)")])
    standard = _prices(entry, key, "")
    if "input" not in standard and "output" not in standard:
        raise InvalidArgumentError([(key, "lists no input_cost_per_token/output_cost_per_token")])
    extra = overlay.get(name)
    if not isinstance(extra, Mapping) or "size" not in extra or "capabilities" not in extra:
        raise InvalidArgumentError(
            [(name, f"(from {key}) needs size and capabilities in the overlay")]
        )
    unknown = sorted(set(extra) - OVERLAY_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(OVERLAY_FIELDS))
        raise InvalidArgumentError(
            [(f"overlay.{name}.{unknown[0]}", f"unknown field; an overlay gives {allowed}")]
        )
    model: dict[str, Any] = {"name": name, "source_key": key, "size": extra["size"]}
    model.update({_STANDARD[k]: v for k, v in standard.items()})
    if entry.get("max_input_tokens") is not None:
        model["context_window"] = _figure(entry["max_input_tokens"], f"{key}.max_input_tokens")
    batch = _prices(entry, key, "_batches")
    if batch:
        model["batch_prices"] = batch
    model.update(_tiers(entry, key))
    model["capabilities"] = extra["capabilities"]
    model.update(
        {k: extra[k] for k in sorted(OVERLAY_FIELDS - {"size", "capabilities"}) if k in extra}
    )
    return model


def from_litellm(
    table: Mapping[str, Any],
    picks: Sequence[tuple[str, str | None]],
    overlay: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The catalog of the picked entries, and the (key, aalps name) of each pick.

    Raises
    ------
    InvalidArgumentError
        a key not in the table, a name that is not an identifier or is picked twice, an
        entry without prices, a model the overlay gives no size or capabilities.
    """
    overlay = overlay or {}
    models: list[dict[str, Any]] = []
    names: list[tuple[str, str]] = []
    for key, given in picks:
        if key not in table:
            raise InvalidArgumentError([(key, "no such key in the price table")])
        name = given if given is not None else aalps_name(key)
        if not _IDENTIFIER.match(name):
            raise InvalidArgumentError(
                [(f"--pick {key}={name}", "the name must be an identifier (letters, digits, _)")]
            )
        if name in (n for _, n in names):
            raise InvalidArgumentError([(name, f"picked twice (again for {key})")])
        models.append(_model(key, table[key], name, overlay))
        names.append((key, name))
    return {"models": models}, names
