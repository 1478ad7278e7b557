"""The server's command line, shared by ``python -m aalps.server`` and ``aalps serve``.

Every flag maps onto a :class:`~aalps.server.config.ServerConfig` field (or the log
settings) and may also be given as an environment variable ``AALPS_<FLAG>`` (``--port`` is
``AALPS_PORT``, ``--max-search-seconds`` is ``AALPS_MAX_SEARCH_SECONDS``): a flag wins over
the variable, the variable over the default. ``--help`` shows each default and variable. A
bad value, from a flag or a variable, is a ``ValueError`` whose message names it.

``serve`` checks what it can before starting (:func:`~aalps.server.startup.preflight`), then
prints ``listening on HOST:PORT`` (flushed) once the server reports SERVING, so a script or a
test can start it with ``--port 0`` and read the port it got. A start-up failure is one line
on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aalps.server.config import DEFAULT_STORAGE, ServerConfig
from aalps.server.log_format import LOG_FORMATS, configure_logging, masked_url

__all__ = ["DEFAULT_PORT", "ENV_PREFIX", "FLAGS", "Flag", "LOG_FLAGS", "add_arguments"]
__all__ += ["config_from_args", "env_name", "log_settings", "serve"]

if TYPE_CHECKING:
    from aalps.server.app import AalpsServer

DEFAULT_PORT = 50051
ENV_PREFIX = "AALPS_"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(text: str) -> str:
    if text.upper() not in _LEVELS:
        raise ValueError(f"must be one of {', '.join(_LEVELS)}")
    return text.upper()


def _log_format(text: str) -> str:
    if text not in LOG_FORMATS:
        raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}")
    return text


@dataclass(frozen=True)
class Flag:
    """One ``serve`` flag: its ServerConfig field (``dest``), parser, metavar, help, default.

    ``default`` None means the field's default in :class:`ServerConfig` (or none at all).
    """

    flag: str
    dest: str
    kind: Callable[[str], Any]
    metavar: str
    help: str
    default: Any = None

    @property
    def env(self) -> str:
        return env_name(self.flag)


def env_name(flag: str) -> str:
    """The variable of ``flag``: ``--max-search-seconds`` -> ``AALPS_MAX_SEARCH_SECONDS``."""
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


_S = "SEC"
FLAGS: tuple[Flag, ...] = (
    Flag("--host", "host", str, "HOST", "interface to listen on"),
    Flag("--port", "port", int, "PORT", "TCP port; 0 picks a free one", DEFAULT_PORT),
    Flag(
        "--storage",
        "storage",
        str,
        "URL",
        "job store: sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB",
        DEFAULT_STORAGE,
    ),
    Flag("--workers", "workers", int, "N", "search processes"),
    Flag("--batch-workers", "batch_workers", int, "N", "requests of one batch in flight at once"),
    Flag("--max-message-bytes", "max_message_bytes", int, "N", "largest message (bytes)"),
    Flag("--max-tasks", "max_tasks", int, "N", "most tasks in one request"),
    Flag("--max-models", "max_models", int, "N", "most models in one catalog"),
    Flag("--max-trials", "max_trials", int, "N", "largest search.n_trials"),
    Flag("--max-trial-tasks", "max_trial_tasks", int, "N", "largest search.n_trials x tasks"),
    Flag("--validation-workers", "validation_workers", int, "N", "request validation processes"),
    Flag(
        "--validation-seconds",
        "validation_seconds",
        float,
        _S,
        "time limit of one request's validation (its process is killed past it)",
    ),
    Flag(
        "--max-search-seconds",
        "max_search_seconds",
        float,
        _S,
        "longest search call when the client sets no (or a later) deadline",
    ),
    Flag("--max-job-seconds", "max_job_seconds", float, _S, "longest search of a job attempt"),
    Flag("--max-active-jobs", "max_active_jobs", int, "N", "queued + running jobs per caller"),
    Flag(
        "--small-job-size",
        "small_job_size",
        int,
        "N",
        "trials x tasks up to which a job may use the slot long jobs never take",
    ),
    Flag("--auth-token-file", "auth_token_file", str, "FILE", "enable auth: 'name: token' lines"),
    Flag("--auth-token-env", "auth_token_env", str, "VAR", "enable auth: tokens in this variable"),
    Flag("--grace-seconds", "grace_seconds", float, _S, "time running work gets on shutdown"),
    Flag("--table-prefix", "table_prefix", str, "PREFIX", "prefix of the job store's tables"),
    Flag(
        "--lease-seconds",
        "lease_seconds",
        float,
        _S,
        "how long a claim on a job holds without renewal (a dead replica's jobs move after it)",
    ),
    Flag("--claim-poll-seconds", "claim_poll_seconds", float, _S, "how often to look for jobs"),
    Flag("--metrics-port", "metrics_port", int, "PORT", "serve Prometheus metrics on this port"),
    Flag("--tls-cert", "tls_cert", str, "FILE", "PEM certificate chain: serve TLS"),
    Flag("--tls-key", "tls_key", str, "FILE", "PEM private key of --tls-cert"),
    Flag(
        "--tls-client-ca",
        "tls_client_ca",
        str,
        "FILE",
        "PEM CA: require client certificates it signed (mTLS)",
    ),
)
#: Flags that set logging rather than a ServerConfig field.
LOG_FLAGS: tuple[Flag, ...] = (
    Flag("--log-level", "log_level", _log_level, "LEVEL", "DEBUG, INFO, WARNING or ERROR", "INFO"),
    Flag(
        "--log-format",
        "log_format",
        _log_format,
        "FORMAT",
        "text, or json (one object a line, with an access line per call)",
        "text",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server's flags to ``parser``: each is None unless given (the variable and
    the default are applied by :func:`config_from_args` and :func:`log_settings`)."""
    defaults = ServerConfig()
    for spec in (*FLAGS, *LOG_FLAGS):
        default = spec.default if spec.default is not None else getattr(defaults, spec.dest, None)
        text = str(default) if spec.dest.endswith("port") else _show(default)
        shown = "" if default is None else f" (default {text})"
        parser.add_argument(
            spec.flag,
            dest=spec.dest,
            type=spec.kind,
            metavar=spec.metavar,
            default=None,
            help=f"{spec.help}{shown} [env {spec.env}]",
        )


def _show(value: object) -> str:
    """A default as --help shows it: 2,000,000 and 10 (not 10.0); % escaped for argparse."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return text.replace("%", "%%")


def _resolve(
    args: argparse.Namespace, specs: tuple[Flag, ...], environ: Mapping[str, str]
) -> dict[str, Any]:
    """The value of each flag given, else of its variable, else its explicit default."""
    values: dict[str, Any] = {}
    for spec in specs:
        value = getattr(args, spec.dest, None)
        if value is None:
            raw = environ.get(spec.env, "").strip()
            if raw:
                try:
                    value = spec.kind(raw)
                except ValueError as error:
                    reason = str(error) if spec.kind not in (int, float) else "not a number"
                    raise ValueError(f"{spec.env}={raw!r}: {reason}") from None
        if value is None:
            value = spec.default
        if value is not None:
            values[spec.dest] = value
    return values


def config_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> ServerConfig:
    """The :class:`ServerConfig` of the flags and ``AALPS_*`` variables (ValueError if bad)."""
    values = _resolve(args, FLAGS, os.environ if environ is None else environ)
    try:
        return ServerConfig(**values)
    except ValueError as error:
        given = {
            spec.dest: spec.flag if getattr(args, spec.dest, None) is not None else spec.env
            for spec in FLAGS
        }
        raise ValueError(_name_the_source(str(error), given)) from None


def _name_the_source(message: str, given: Mapping[str, str]) -> str:
    """Prefix the flag or variable behind the first field a config error names."""
    for dest, source in given.items():
        if message.startswith(dest) or f" {dest} " in message:
            return f"{source}: {message}"
    return message


def log_settings(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """``(level, format)`` of the logs, from the flags, ``AALPS_LOG_*`` or the defaults."""
    values = _resolve(args, LOG_FLAGS, os.environ if environ is None else environ)
    return values["log_level"], values["log_format"]


def _announce(server: AalpsServer) -> None:
    print(f"listening on {server.address}", flush=True)


def _fail(message: str) -> None:
    print(f"aalps serve: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def serve(config: ServerConfig, log_level: str = "INFO", log_format: str = "text") -> None:
    """Run the server until SIGTERM or SIGINT; a start-up failure exits 2 with one line."""
    from aalps.server.startup import StartupError, preflight

    try:
        preflight(config)
    except StartupError as error:
        _fail(str(error))
    configure_logging(log_level, log_format)
    # gRPC's core prints INFO lines of its own (a client's failed TLS handshake) unless told
    # otherwise before it is imported: only its errors, in a log that may be JSON lines.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # The search processes start first (before any gRPC object) and import the optimizer
    # while this process imports the server. The server is imported here, not at the top:
    # spawned processes re-import the main module as ``__mp_main__`` and must stay light.
    from aalps.server.pool import SearchPool

    pool = SearchPool(config.workers)
    from aalps.server.app import run_server
    from aalps.server.store import StoreUnavailableError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        run_server(config, pool=pool, on_ready=_announce)
    except (StoreUnavailableError, StartupError, ValueError, OSError) as error:
        # a corrupt SQLite file, a port in use, an unreadable token file: one line
        _fail(str(error))
    except SQLAlchemyError as error:  # the database is down, refuses us, or is not there
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines() or [type(cause).__name__]
        _fail(
            f"cannot open the job store {masked_url(config.storage)}: {lines[0]}; check that "
            "the database runs and accepts this --storage URL"
        )
