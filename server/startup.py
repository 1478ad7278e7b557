"""Start-up checks that turn an operator's mistake into one line saying what to do.

:func:`preflight` runs before any process starts (a wrong storage URL, a missing driver, a
missing SQLite folder, a port in use, an unreadable TLS file); :class:`StartupError` is also
raised by the server when its ports cannot be bound (a race the check cannot rule out).
``aalps serve`` prints the message alone and exits with status 2.
"""

from __future__ import annotations

import errno
import importlib
import socket
from pathlib import Path

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
    _check_sqlite_folder(url, shown)
    _check_port(config.host, config.port, "gRPC")
    if config.metrics_port:
        _check_port(config.host, config.metrics_port, "metrics")
    files = config.tls
    if files is not None:
        try:
            read_pem(files.cert, "--tls-cert")
            read_pem(files.key, "--tls-key")
            if files.client_ca is not None:
                read_pem(files.client_ca, "--tls-client-ca")
        except ValueError as error:
            raise StartupError(str(error)) from None


def _check_sqlite_folder(url: str, shown: str) -> None:
    """An SQLite file's folder must exist (SQLite creates the file, not its folder)."""
    if not url.startswith("sqlite:///"):
        return
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if path and path != ":memory:" and not Path(path).parent.is_dir():
        raise StartupError(
            f"storage {shown}: the folder {Path(path).parent} does not exist; create it "
            "or give another --storage path"
        )


def _check_port(host: str, port: int, what: str) -> None:
    """Bind and release ``host:port`` as gRPC will (SO_REUSEADDR), so a port in use or an
    address not of this machine is reported before any process starts."""
    if port == 0:
        return
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise StartupError(f"cannot listen on {host}: {error.strerror}; check --host") from None
    for family, kind, proto, _, address in found:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise bind_error(what, host, port, error) from None


def bind_error(what: str, host: str, port: int, error: BaseException) -> StartupError:
    """The error of a port that could not be bound (``what``: "gRPC", "metrics")."""
    if isinstance(error, OSError) and error.errno == errno.EADDRNOTAVAIL:
        return StartupError(
            f"cannot listen on {host}: not an address of this machine; check --host"
        )
    flag = "--port" if what == "gRPC" else "--metrics-port"
    return StartupError(
        f"cannot listen on {host}:{port} for {what} ({_reason(error)}): another process "
        f"may hold the port; stop it or choose another with {flag}"
    )


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return "address already in use"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first.split(";", 1)[0]  # grpc: "Failed to bind to address ...; set GRPC_VERBOSITY"
