"""Options and helpers the subcommands share: output format, server, search overrides."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aalps.client.document import FORMATS

if TYPE_CHECKING:  # imported when a command runs, not for `aalps --help`
    import grpc
    from aalps.client.client import Client
    from aalps.client.progress import ProgressBar
    from aalps.proto.aalps.v1 import aalps_pb2 as pb

__all__ = [
    "Command",
    "TOKEN_ENV",
    "catalog_option",
    "load_request",
    "shared_catalog",
    "make_client",
    "out",
    "output_options",
    "overridden",
    "positive_float",
    "positive_int",
    "progress_bar",
    "search_options",
    "seed",
    "server_options",
]

#: The environment variable read when ``--token`` is not given.
TOKEN_ENV = "AALPS_TOKEN"

Command = Callable[[argparse.Namespace], int]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in 0..{2**32 - 1}, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def output_options() -> argparse.ArgumentParser:
    """``--format`` and ``--no-progress``."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("output")
    group.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), json (the response message, proto field names), markdown or latex",
    )
    group.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar on stderr (it is off anyway when stderr is not a terminal)",
    )
    return parser


def server_options(*, required: bool) -> argparse.ArgumentParser:
    """``--server``, ``--token`` (default: the AALPS_TOKEN environment variable) and TLS."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("server")
    where = "the aalps server to use" if required else "use this aalps server (default: run here)"
    group.add_argument(
        "--server", metavar="HOST[:PORT]", required=required, help=f"{where} (port 50051)"
    )
    group.add_argument(
        "--token",
        default=None,
        help=f"bearer token for the server (default: ${TOKEN_ENV})",
    )
    group.add_argument(
        "--tls", action="store_true", help="connect with TLS, trusting the system's CAs"
    )
    group.add_argument(
        "--tls-ca", metavar="FILE", help="connect with TLS, trusting the CAs in this PEM file"
    )
    group.add_argument(
        "--tls-cert", metavar="FILE", help="client certificate (PEM) for a server that asks"
    )
    group.add_argument("--tls-key", metavar="FILE", help="private key (PEM) of --tls-cert")
    return parser


def search_options() -> argparse.ArgumentParser:
    """``--trials``, ``--seed`` and ``--timeout``: override the file's search options."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("search (overrides the file's `search` options)")
    group.add_argument("--trials", type=positive_int, metavar="N", help="search.n_trials")
    group.add_argument("--seed", type=seed, metavar="S", help="search.seed")
    group.add_argument(
        "--timeout", type=positive_float, metavar="SEC", help="search.timeout_seconds"
    )
    return parser


def catalog_option() -> argparse.ArgumentParser:
    """``--catalog CATALOG.yaml``: one catalog for every request (theirs is replaced)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--catalog",
        metavar="CATALOG.yaml",
        help="use this catalog file (models: [...]) in place of each request's catalog; "
        "request files may then leave `catalog` out",
    )
    return parser


def shared_catalog(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--catalog`` file's catalog mapping, or None without the option."""
    from aalps.client.catalog_files import read_catalog_file

    path = getattr(args, "catalog", None)
    return read_catalog_file(path) if path else None


def load_request(
    source: str, args: argparse.Namespace, catalog: dict[str, Any] | None = None
) -> pb.OptimizeRequest:
    """The request of a file with ``catalog`` (the ``--catalog`` one) and the search
    overrides applied."""
    from aalps.client.catalog_files import request_with_catalog

    return overridden(request_with_catalog(source, catalog), args)


def make_client(args: argparse.Namespace) -> Client:
    """A remote client when ``--server`` is given, else an in-process one."""
    from aalps.client.client import Client

    if getattr(args, "server", None):
        token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
        return Client.remote(args.server, token=token, credentials=_credentials(args))
    return Client.in_process()


def _credentials(args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    """TLS credentials when a ``--tls*`` flag is given (a bad file names its flag)."""
    ca, cert, key = (getattr(args, name, None) for name in ("tls_ca", "tls_cert", "tls_key"))
    if not (getattr(args, "tls", False) or ca or cert or key):
        return None
    from aalps.client.channels import TlsOptions, channel_credentials
    from aalps.client.errors import InvalidArgumentError

    try:
        return channel_credentials(TlsOptions(ca=ca, cert=cert, key=key))
    except ValueError as error:
        flag, _, message = str(error).partition(": ")
        raise InvalidArgumentError([(flag, message)]) from None


def progress_bar(args: argparse.Namespace, label: str, unit: str = "trials") -> ProgressBar:
    from aalps.client.progress import ProgressBar

    """A progress bar on stderr, unless ``--no-progress`` (or stderr is not a terminal)."""
    enabled = False if getattr(args, "no_progress", False) else None
    return ProgressBar(label, unit=unit, stream=sys.stderr, enabled=enabled)


def overridden(request: pb.OptimizeRequest, args: argparse.Namespace) -> pb.OptimizeRequest:
    """The request with ``--trials``/``--seed``/``--timeout`` applied."""
    from aalps.client.inputs import with_search_options

    return with_search_options(
        request,
        n_trials=getattr(args, "trials", None),
        seed=getattr(args, "seed", None),
        timeout_seconds=getattr(args, "timeout", None),
    )


def out(text: str) -> None:
    """Write a result to stdout."""
    sys.stdout.write(text)
    sys.stdout.flush()
