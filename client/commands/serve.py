"""``aalps serve``: run the gRPC service (the flags of ``python -m aalps.server``)."""

from __future__ import annotations

import argparse
from typing import Any

from aalps.client.errors import InvalidArgumentError

__all__ = ["config_from_args", "register", "run_serve"]


def register(subparsers: Any) -> None:
    from aalps.server.command import add_arguments

    parser = subparsers.add_parser(
        "serve",
        help="run the aalps gRPC server",
        description="Run the aalps gRPC service until SIGTERM or Ctrl-C (graceful stop). "
        "Prints 'listening on HOST:PORT' once it serves.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run_serve)


def config_from_args(args: argparse.Namespace) -> Any:
    """The ``ServerConfig`` the flags describe; a bad value is a usage error naming it."""
    from aalps.server import command

    try:
        return command.config_from_args(args)
    except ValueError as error:
        raise InvalidArgumentError([("serve", str(error))]) from None


def run_serve(args: argparse.Namespace) -> int:
    from aalps.server.command import serve

    serve(config_from_args(args), args.log_level)
    return 0
