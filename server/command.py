"""The server's command line, shared by ``python -m aalps.server`` and ``aalps serve``.

Flags map one to one onto :class:`~aalps.server.config.ServerConfig` fields; unset flags keep its
defaults. ``serve`` prints ``listening on HOST:PORT`` (flushed) once the server reports
SERVING, so a script or a test can start it with ``--port 0`` and read the port it got.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from aalps.server.config import DEFAULT_STORAGE, ServerConfig

__all__ = ["DEFAULT_PORT", "add_arguments", "config_from_args", "serve"]

if TYPE_CHECKING:
    from aalps.server.app import AalpsServer

DEFAULT_PORT = 50051

#: (flag, ServerConfig field, type, metavar, help) of the flags that are None unless given.
_OPTIONAL = (
    ("--max-message-bytes", "max_message_bytes", int, "N", "largest message (bytes)"),
    ("--max-tasks", "max_tasks", int, "N", "most tasks in one request"),
    ("--max-models", "max_models", int, "N", "most models in one catalog"),
    ("--max-trials", "max_trials", int, "N", "largest search.n_trials"),
    ("--max-trial-tasks", "max_trial_tasks", int, "N", "largest search.n_trials x tasks"),
    ("--validation-workers", "validation_workers", int, "N", "request validation processes"),
    (
        "--validation-seconds",
        "validation_seconds",
        float,
        "SEC",
        "time limit of one request's validation (its process is killed past it)",
    ),
    (
        "--max-search-seconds",
        "max_search_seconds",
        float,
        "SEC",
        "longest search call when the client sets no (or a later) deadline",
    ),
    ("--max-job-seconds", "max_job_seconds", float, "SEC", "longest search of a job attempt"),
    ("--max-active-jobs", "max_active_jobs", int, "N", "queued + running jobs per caller"),
    (
        "--small-job-size",
        "small_job_size",
        int,
        "N",
        "trials x tasks up to which a job may use the slot long jobs never take",
    ),
    ("--auth-token-file", "auth_token_file", str, "FILE", "enable auth: 'name: token' lines"),
    ("--auth-token-env", "auth_token_env", str, "VAR", "enable auth: tokens in this variable"),
    ("--grace-seconds", "grace_seconds", float, "SEC", "time running work gets on shutdown"),
    ("--table-prefix", "table_prefix", str, "PREFIX", "prefix of the job store's tables"),
    (
        "--lease-seconds",
        "lease_seconds",
        float,
        "SEC",
        "how long a claim on a job holds without renewal (a dead replica's jobs move after it)",
    ),
    (
        "--claim-poll-seconds",
        "claim_poll_seconds",
        float,
        "SEC",
        "how often to look for claimable jobs",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server's flags to ``parser``."""
    defaults = ServerConfig()
    parser.add_argument(
        "--host", default=defaults.host, help=f"interface (default {defaults.host})"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port; 0 picks a free one (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        metavar="URL",
        help=f"job store: sqlite:///FILE (default {DEFAULT_STORAGE}) or postgresql://...",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        metavar="N",
        help=f"search processes (default {defaults.workers})",
    )
    parser.add_argument(
        "--batch-workers",
        type=int,
        default=defaults.batch_workers,
        metavar="N",
        help=f"requests of one batch in flight at once (default {defaults.batch_workers})",
    )
    for flag, dest, kind, metavar, text in _OPTIONAL:
        default = getattr(defaults, dest)
        shown = text if default is None else f"{text} (default {_show(default)})"
        parser.add_argument(flag, dest=dest, type=kind, metavar=metavar, help=shown)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO (default), WARNING")


def _show(value: object) -> str:
    """A default as --help shows it: 2,000,000 and 10 (not 10.0); % escaped for argparse."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return text.replace("%", "%%")


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The :class:`ServerConfig` the flags describe (raises ValueError on a bad value)."""
    given = {dest: getattr(args, dest) for _, dest, *_ in _OPTIONAL}
    return ServerConfig(
        host=args.host,
        port=args.port,
        storage=args.storage,
        workers=args.workers,
        batch_workers=args.batch_workers,
        **{k: v for k, v in given.items() if v is not None},
    )


def _announce(server: AalpsServer) -> None:
    print(f"listening on {server.address}", flush=True)


def serve(config: ServerConfig, log_level: str = "INFO") -> None:
    """Run the server until SIGTERM or SIGINT."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The search processes start first (before any gRPC object) and import the optimizer
    # while this process imports the server. The server is imported here, not at the top:
    # spawned processes re-import the main module as ``__mp_main__`` and must stay light.
    from aalps.server.pool import SearchPool

    pool = SearchPool(config.workers)
    from aalps.server.app import run_server
    from aalps.server.store import StoreUnavailableError

    try:
        run_server(config, pool=pool, on_ready=_announce)
    except StoreUnavailableError as error:  # e.g. a corrupt SQLite file: one line, no traceback
        print(f"aalps serve: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
