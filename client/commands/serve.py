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
        "Prints 'listening on HOST:PORT' once it serves. Every flag may also be set by the "
        "environment variable shown in [env ...]; a flag wins over its variable.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run_serve)


def config_from_args(args: argparse.Namespace) -> Any:
    """The ``ServerConfig`` of the flags and ``AALPS_*`` variables; a bad value is a usage
    error naming the flag or the variable."""
    from aalps.server import command

    try:
        return command.config_from_args(args)
    except ValueError as error:
        raise InvalidArgumentError([("serve", str(error))]) from None


def run_serve(args: argparse.Namespace) -> int:
    from aalps.server.command import log_settings, serve

    config = config_from_args(args)
    try:
        level, log_format = log_settings(args)
    except ValueError as error:
        raise InvalidArgumentError([("serve", str(error))]) from None
    serve(config, level, log_format)
    return 0
