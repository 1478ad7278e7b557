"""``aalps examples [NAME]``: list the built-in request files, or print one.

``--format proto-json`` prints the request as protobuf's JSON mapping wants it (numbers
quoted where the proto has strings), so ``grpcurl -d @`` and any reflection-only client
accept it as is; the YAML file itself is for aalps, which accepts the numbers.
"""

from __future__ import annotations

import argparse
from typing import Any

from aalps.client.commands import common
from aalps.client.examples import examples, get_example

__all__ = ["proto_json", "register", "run_examples"]


def proto_json(data: Any) -> str:
    """Request file data as the wire's JSON (``OptimizeRequest`` by proto field names)."""
    from aalps.client.render import json_text
    from aalps.proto.aalps.v1 import aalps_pb2 as pb
    from aalps.proto.convert import wire_json_dict

    return json_text(wire_json_dict(data, pb.OptimizeRequest()))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "examples",
        help="list the built-in example requests, or print one",
        description="Without NAME, list the built-in requests with their one-line description; "
        "with NAME (e.g. k_task_routing), print that file. Any command that takes FILE also "
        "accepts these names.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME")
    parser.add_argument(
        "--format",
        choices=("yaml", "proto-json"),
        default="yaml",
        help="yaml: the file as it is (default); proto-json: the request in protobuf's JSON "
        "mapping (numbers quoted where the proto has strings), ready for grpcurl -d @",
    )
    parser.set_defaults(run=run_examples)


def run_examples(args: argparse.Namespace) -> int:
    if args.name:
        text = get_example(args.name).read_text()
        if args.format == "proto-json":
            import yaml

            text = proto_json(yaml.safe_load(text))
        common.out(text)
        return 0
    found = examples()
    width = max((len(e.name) for e in found), default=0)
    common.out("".join(f"{e.name.ljust(width)}  {e.description}\n" for e in found))
    return 0
