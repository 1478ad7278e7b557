"""``aalps serve``: run the gRPC service (the flags of ``python -m aalps.server``)."""

from __future__ import annotations

import argparse
from typing import Any

from aalps.client.errors import InvalidArgumentError

__all__ = ["config_from_args", "register", "run_serve"]


class _ServeParser(argparse.ArgumentParser):
    """``serve``'s parser: its flag table (:mod:`aalps.server.command`, with the server's
    config and TLS modules) is added when ``serve`` is parsed, so the other commands and
    ``aalps --help`` never import the server."""

    _flags_added = False

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if not self._flags_added:
            from aalps.server.command import add_arguments

            add_arguments(self)
            self._flags_added = True
        return super().parse_known_args(args, namespace)


def register(subparsers: Any) -> None:
    # add_parser builds the subcommand's parser with the action's class: ours for serve.
    factory = subparsers._parser_class
    subparsers._parser_class = _ServeParser
    try:
        parser = subparsers.add_parser(
            "serve",
            help="run the aalps gRPC server",
            description="Run the aalps gRPC service until SIGTERM or Ctrl-C (graceful stop). "
            "Prints 'listening on HOST:PORT' once it serves. Every flag may also be set by the "
            "environment variable shown in [env ...]; a flag wins over its variable.",
        )
    finally:
        subparsers._parser_class = factory
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
