"""How the clients open a channel: target, TLS credentials, retries and keepalive.

Every channel (sync and asyncio) carries a gRPC service config whose retry policy retries a
call that fails with UNAVAILABLE (the server is starting, restarting, or its job store is
briefly unreachable: the server says "may be retried") up to :data:`MAX_ATTEMPTS` times with
exponential backoff, and keepalive pings that find a dead connection behind a NAT or a load
balancer. The server accepts pings at this rate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc

__all__ = [
    "DEFAULT_PORT",
    "KEEPALIVE_MS",
    "MAX_ATTEMPTS",
    "MAX_MESSAGE_BYTES",
    "SERVICE",
    "TlsOptions",
    "channel_credentials",
    "channel_options",
    "service_config",
    "with_default_port",
]

#: The port ``aalps serve`` listens on by default (``--server HOST`` means HOST:50051).
DEFAULT_PORT = 50051
#: Matches the server's default limit, so large batches and results get through.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
SERVICE = "aalps.v1.AalpsService"
#: Attempts of a call that fails with UNAVAILABLE (the first one included).
MAX_ATTEMPTS = 5
#: Keepalive ping interval; the server permits one every 30 s.
KEEPALIVE_MS = 60_000


def service_config() -> str:
    """The gRPC service config (JSON) of every aalps channel: retry UNAVAILABLE calls.

    Backoff before attempt n is random in [0, min(0.2 s x 2^(n-1), 3 s)], per gRPC's
    retry design (A6); a call that already received a response is never retried.
    """
    policy = {
        "maxAttempts": MAX_ATTEMPTS,
        "initialBackoff": "0.2s",
        "maxBackoff": "3s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    return json.dumps(
        {"methodConfig": [{"name": [{"service": SERVICE}], "retryPolicy": policy}]},
        separators=(",", ":"),
    )


def channel_options() -> list[tuple[str, Any]]:
    """Channel options shared by the sync and async clients."""
    return [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config()),
        ("grpc.keepalive_time_ms", KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def with_default_port(target: str) -> str:
    """``target`` with the aalps port when it names none: ``localhost`` -> ``localhost:50051``.

    Targets with a scheme (``dns:///h:1``, ``unix:/path``) and bare IPv6 addresses are kept
    as given; ``[::1]`` becomes ``[::1]:50051``.

    Examples
    --------
    >>> with_default_port("aalps.example.com"), with_default_port("h:8443")
    ('aalps.example.com:50051', 'h:8443')
    """
    if "://" in target or target.startswith(("unix:", "dns:", "ipv4:", "ipv6:")):
        return target
    if target.startswith("["):
        return target if "]:" in target else f"{target}:{DEFAULT_PORT}"
    if target.count(":") == 0:
        return f"{target}:{DEFAULT_PORT}"
    return target


class TlsOptions:
    """A client's TLS settings: trust roots and an optional client certificate (mTLS).

    ``ca`` None trusts the system's roots; ``cert`` and ``key`` go together.
    """

    def __init__(
        self, ca: str | None = None, cert: str | None = None, key: str | None = None
    ) -> None:
        if (cert is None) != (key is None):
            raise ValueError("--tls-key: give it with --tls-cert (both or neither)")
        self.ca = ca
        self.cert = cert
        self.key = key


def channel_credentials(tls: TlsOptions) -> grpc.ChannelCredentials:
    """TLS credentials for ``tls``.

    Raises
    ------
    ValueError
        a file cannot be read or is not PEM (the message names the flag).
    """
    return grpc.ssl_channel_credentials(
        root_certificates=None if tls.ca is None else _pem(tls.ca, "--tls-ca"),
        private_key=None if tls.key is None else _pem(tls.key, "--tls-key"),
        certificate_chain=None if tls.cert is None else _pem(tls.cert, "--tls-cert"),
    )


def _pem(path: str, flag: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{flag}: cannot read {path}: {error.strerror or error}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{flag}: {path} is not a PEM file (no '-----BEGIN' line)")
    return data
