"""``aalps examples [NAME]``: list the built-in request files, or print one."""

from __future__ import annotations

import argparse
from typing import Any

from aalps.client.commands import common
from aalps.client.examples import examples, get_example

__all__ = ["register", "run_examples"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "examples",
        help="list the built-in example requests, or print one",
        description="Without NAME, list the built-in requests with their one-line description; "
        "with NAME (e.g. k_task_routing), print that file. Any command that takes FILE also "
        "accepts these names.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME")
    parser.set_defaults(run=run_examples)


def run_examples(args: argparse.Namespace) -> int:
    if args.name:
        common.out(get_example(args.name).read_text())
        return 0
    found = examples()
    width = max((len(e.name) for e in found), default=0)
    common.out("".join(f"{e.name.ljust(width)}  {e.description}\n" for e in found))
    return 0
