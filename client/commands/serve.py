"""``aalps serve``: run the gRPC service (flags map one to one onto ``ServerConfig``)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from client.commands import common
from client.errors import InvalidArgumentError

#: Flags whose value goes to the ServerConfig field of the same name when given.
_OPTIONAL = (
    ("--max-message-bytes", "max_message_bytes", common.positive_int, "N", "largest message"),
    ("--max-tasks", "max_tasks", common.positive_int, "N", "most tasks in one request"),
    ("--max-models", "max_models", common.positive_int, "N", "most models in one catalog"),
    ("--max-trials", "max_trials", common.positive_int, "N", "largest search.n_trials"),
    ("--auth-token-file", "auth_token_file", str, "FILE", "enable auth: 'name: token' lines"),
    ("--auth-token-env", "auth_token_env", str, "VAR", "enable auth: tokens in this variable"),
    ("--grace-seconds", "grace_seconds", float, "SEC", "time running work gets on shutdown"),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the aalps gRPC server",
        description="Run the aalps gRPC service until SIGTERM or Ctrl-C (graceful stop). "
        "Prints 'listening on HOST:PORT' once it serves.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=50051, help="TCP port; 0 picks a free one (default 50051)"
    )
    parser.add_argument(
        "--storage",
        default="sqlite:///aalps.db",
        metavar="URL",
        help="job store: sqlite:///FILE (default sqlite:///aalps.db) or postgresql://...",
    )
    parser.add_argument(
        "--workers", type=common.positive_int, default=2, metavar="N", help="search processes"
    )
    parser.add_argument(
        "--batch-workers",
        type=common.positive_int,
        default=4,
        metavar="N",
        help="requests of one batch in flight at once",
    )
    for flag, dest, kind, metavar, text in _OPTIONAL:
        parser.add_argument(flag, dest=dest, type=kind, metavar=metavar, help=text)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO (default), WARNING")
    parser.set_defaults(run=run_serve)


def config_from_args(args: argparse.Namespace) -> Any:
    """The ``ServerConfig`` the flags describe (unset optional flags keep its defaults)."""
    from server.config import ServerConfig

    given = {dest: getattr(args, dest) for _, dest, *_ in _OPTIONAL}
    try:
        return ServerConfig(
            host=args.host,
            port=args.port,
            storage=args.storage,
            workers=args.workers,
            batch_workers=args.batch_workers,
            **{k: v for k, v in given.items() if v is not None},
        )
    except ValueError as error:
        raise InvalidArgumentError([("serve", str(error))]) from None


def _announce(server: Any) -> None:
    print(f"listening on {server.address}", flush=True)


def run_serve(args: argparse.Namespace) -> int:
    from server.app import run_server

    config = config_from_args(args)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_server(config, on_ready=_announce)
    return 0
