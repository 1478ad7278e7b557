"""Start-up checks that turn an operator's mistake into one line saying what to do.

:func:`preflight` runs before any process or port is opened (a wrong storage URL, a missing
driver, an unreadable TLS file); :class:`StartupError` is also raised by the server when its
ports cannot be bound. ``aalps serve`` prints the message alone and exits with status 2.
"""

from __future__ import annotations

import importlib

from aalps.server.config import ServerConfig
from aalps.server.log_format import masked_url
from aalps.server.tls import read_pem

__all__ = ["StartupError", "bind_error", "preflight"]

#: URL schemes the job store supports, and the module each one needs.
_DRIVERS = {
    "sqlite": ("sqlite3", None),
    "postgresql+psycopg": ("psycopg", "pip install 'aalps[postgres]'"),
}


class StartupError(Exception):
    """The server cannot start; the message says why and what to do."""


def preflight(config: ServerConfig) -> None:
    """Check what can be checked before starting: storage URL, its driver, TLS files.

    Raises
    ------
    StartupError
        a check failed.
    """
    url = config.storage_url
    scheme = url.split("://", 1)[0] if "://" in url else ""
    shown = masked_url(config.storage)
    if scheme not in _DRIVERS:
        raise StartupError(
            f"unsupported storage URL {shown!r}: use sqlite:///FILE or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    module, install = _DRIVERS[scheme]
    try:
        importlib.import_module(module)
    except ImportError:
        hint = install or f"a Python built with the {module} module"
        raise StartupError(
            f"storage {shown} needs the {module} driver, which is not installed: {hint}"
        ) from None
    files = config.tls
    if files is not None:
        try:
            read_pem(files.cert, "--tls-cert")
            read_pem(files.key, "--tls-key")
            if files.client_ca is not None:
                read_pem(files.client_ca, "--tls-client-ca")
        except ValueError as error:
            raise StartupError(str(error)) from None


def bind_error(what: str, host: str, port: int, error: BaseException) -> StartupError:
    """The error of a port that could not be bound (``what``: "gRPC", "metrics")."""
    flag = "--port" if what == "gRPC" else "--metrics-port"
    return StartupError(
        f"cannot listen on {host}:{port} for {what} ({_reason(error)}): another process "
        f"may hold the port; stop it or choose another with {flag}"
    )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
