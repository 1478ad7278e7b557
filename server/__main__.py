"""``python -m server``: run an aalps server until SIGTERM or SIGINT.

Prints ``listening on HOST:PORT`` (flushed) once the server reports SERVING, so a script
or a test can start it with ``--port 0`` and read the port it got.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.config import DEFAULT_STORAGE, ServerConfig

if TYPE_CHECKING:
    from server.app import AalpsServer


def parse_args(argv: Sequence[str] | None = None) -> ServerConfig:
    """The command line as a :class:`ServerConfig`."""
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help="SQLAlchemy URL (sqlite:///..., postgresql://...)",
    )
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--batch-workers", type=int, default=defaults.batch_workers)
    parser.add_argument("--max-message-bytes", type=int, default=defaults.max_message_bytes)
    parser.add_argument("--max-tasks", type=int, default=defaults.max_tasks)
    parser.add_argument("--max-models", type=int, default=defaults.max_models)
    parser.add_argument("--max-trials", type=int, default=defaults.max_trials)
    parser.add_argument("--auth-token-file", help="'name: token' lines, or bare tokens")
    parser.add_argument("--auth-token-env", help="an environment variable holding tokens")
    parser.add_argument("--grace-seconds", type=float, default=defaults.grace_seconds)
    parser.add_argument("--table-prefix", default=defaults.table_prefix)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return ServerConfig(
        host=args.host,
        port=args.port,
        storage=args.storage,
        workers=args.workers,
        batch_workers=args.batch_workers,
        max_message_bytes=args.max_message_bytes,
        max_tasks=args.max_tasks,
        max_models=args.max_models,
        max_trials=args.max_trials,
        auth_token_file=args.auth_token_file,
        auth_token_env=args.auth_token_env,
        grace_seconds=args.grace_seconds,
        table_prefix=args.table_prefix,
    )


def _announce(server: AalpsServer) -> None:
    print(f"listening on {server.address}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(argv)
    # The search processes start first (before any gRPC object) and import the optimizer
    # while this process imports the server. The server is imported here, not at the top:
    # spawned processes re-import this module as ``__mp_main__`` and must stay light.
    from server.pool import SearchPool

    pool = SearchPool(config.workers)
    from server.app import run_server

    run_server(config, pool=pool, on_ready=_announce)


if __name__ == "__main__":
    main()
