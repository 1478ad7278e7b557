"""``aalps schema``: print the JSON Schema of request files.

Generated from ``proto/aalps/v1/aalps.proto`` (its messages and comments), the same source
as ``docs/requests.md``; point an editor or a validator (``check-jsonschema``) at it.
"""

from __future__ import annotations

import argparse
from typing import Any

from aalps.client.commands import common

__all__ = ["register", "run_schema"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of request files",
        description="Print a JSON Schema (draft 2020-12) of request files, generated from the "
        "proto's messages and comments (docs/request.schema.json holds the same).",
    )
    parser.set_defaults(run=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    from aalps.client.render import json_text
    from aalps.proto.request_docs import request_schema

    common.out(json_text(request_schema()))
    return 0
