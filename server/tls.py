"""TLS for the server port: a certificate and key, and optionally client certificates (mTLS).

``--tls-cert`` and ``--tls-key`` (PEM files) turn the port into a TLS port; with
``--tls-client-ca`` every client must also present a certificate signed by that CA, or its
handshake fails before any call. The files are read once, when the server starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # grpc is imported when the server starts, not with its config
    import grpc

__all__ = ["TlsFiles", "read_pem", "server_credentials"]


class TlsFiles:
    """The PEM files of a TLS port: certificate chain, private key, client CA (optional)."""

    def __init__(self, cert: str, key: str, client_ca: str | None = None) -> None:
        self.cert = cert
        self.key = key
        self.client_ca = client_ca


def read_pem(path: str, flag: str) -> bytes:
    """The bytes of the PEM file at ``path``, given with ``flag``.

    Raises
    ------
    ValueError
        the file cannot be read or holds no PEM block (the message names ``flag``).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{flag}: cannot read {path}: {error.strerror or error}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{flag}: {path} is not a PEM file (no '-----BEGIN' line)")
    return data


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """Credentials for ``add_secure_port``: mTLS when ``files.client_ca`` is set."""
    import grpc

    chain = read_pem(files.cert, "--tls-cert")
    key = read_pem(files.key, "--tls-key")
    if files.client_ca is None:
        return grpc.ssl_server_credentials([(key, chain)])
    roots = read_pem(files.client_ca, "--tls-client-ca")
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=roots, require_client_auth=True
    )
