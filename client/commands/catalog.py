"""``aalps catalog from-litellm PRICES.json --pick KEY[=NAME] …``: a catalog file from a price
table (:mod:`aalps.client.price_tables`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aalps.client.commands import common

__all__ = ["register", "run_from_litellm"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="make catalog files (from a LiteLLM price table)",
        description="Make catalog files for `--catalog`.",
    )
    commands = parser.add_subparsers(dest="catalog_command", metavar="COMMAND", required=True)
    sub = commands.add_parser(
        "from-litellm",
        help="a catalog from LiteLLM's model_prices_and_context_window.json",
        description="Write a catalog of the picked models of a LiteLLM price table "
        "(model_prices_and_context_window.json format): input, output, cache, batch and "
        "tiered prices kept exactly as the file writes them, max_input_tokens as the "
        "context window, the key as source_key. Sizes and capabilities come from the "
        "overlay. The key -> name mapping is printed on stderr.",
    )
    sub.add_argument("prices", metavar="PRICES.json", help="the price table")
    sub.add_argument(
        "--pick",
        action="append",
        required=True,
        metavar="KEY[=NAME]",
        help="a model's key in the table, optionally its aalps name (repeatable; default "
        "name: the key's last part made an identifier, openai/gpt-4o -> gpt_4o)",
    )
    sub.add_argument(
        "--overlay",
        metavar="OVERLAY.yaml",
        help="YAML mapping: aalps name -> {size, capabilities, latency_per_token, "
        "per_variant, per_token_error, vote_correlation, vote_correlations}; size and "
        "capabilities are required for every pick",
    )
    sub.add_argument("-o", "--out", metavar="CATALOG.yaml", help="write here (default: stdout)")
    sub.set_defaults(run=run_from_litellm)


def _overlay(path: str | None) -> dict[str, Any]:
    from aalps.client.errors import InvalidArgumentError
    from aalps.client.inputs import read_data

    if path is None:
        return {}
    name, data = read_data(path)
    if not isinstance(data, dict):
        raise InvalidArgumentError([(name, "must be a mapping: model name -> fields")])
    return data


def run_from_litellm(args: argparse.Namespace) -> int:
    import yaml
    from aalps.client.price_tables import from_litellm, parse_pick, read_price_table

    table = read_price_table(args.prices)
    picks = [parse_pick(text) for text in args.pick]
    catalog, names = from_litellm(table, picks, _overlay(args.overlay))
    for key, name in names:
        print(f"{key} -> {name}", file=sys.stderr)
    header = f"# aalps catalog from the LiteLLM price table {Path(args.prices).name}\n"
    text = header + yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        common.out(text)
    return 0
