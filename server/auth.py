"""Optional bearer-token auth: an aio server interceptor and the caller's identity.

Clients send ``authorization: Bearer <token>`` metadata. A call without a token, or with
one the server does not know, fails with UNAUTHENTICATED before it reaches the servicer;
the health and reflection services stay open (load balancers and tools use them
anonymously). Each token has a name, and that name owns the jobs the call creates: another
token sees NOT_FOUND for them, exactly as for a job that does not exist.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import grpc

__all__ = ["Metadata", "OPEN_SERVICES", "TokenAuth"]

#: Services anyone may call: health checks and server reflection.
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

Metadata = Iterable[tuple[str, str | bytes]] | None


class TokenAuth:
    """Maps bearer tokens to caller names. With no tokens, auth is off (owner "")."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = [(token.encode(), name) for token, name in tokens.items()]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def identify(self, metadata: Metadata) -> str | None:
        """The caller's name, "" when auth is off, None for a missing or unknown token.

        Every known token is compared in constant time, so timing reveals nothing.
        """
        if not self._tokens:
            return ""
        given = _bearer(metadata)
        if given is None:
            return None
        found = None
        for token, name in self._tokens:
            if hmac.compare_digest(token, given):
                found = name
        return found

    def owner(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """The identity of an admitted call (the interceptor has checked the token)."""
        return self.identify(context.invocation_metadata()) or ""

    def interceptor(self) -> grpc.aio.ServerInterceptor:
        return _BearerTokenInterceptor(self)


def _bearer(metadata: Metadata) -> bytes | None:
    for key, value in metadata or ():
        if key.lower() != "authorization":
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        scheme, _, token = text.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip().encode()
    return None


class _BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Rejects calls without a known token (except to :data:`OPEN_SERVICES`)."""

    def __init__(self, auth: TokenAuth) -> None:
        self._auth = auth

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_SERVICES):
            return handler
        if self._auth.identify(handler_call_details.invocation_metadata) is not None:
            return handler
        return _deny(handler)


_DENIED = "a valid bearer token is required (metadata 'authorization: Bearer <token>')"


def _deny(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape that fails with UNAUTHENTICATED."""

    async def unary(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

    async def stream(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
        yield  # pragma: no cover - makes this an async generator

    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(stream, **codec)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(unary, **codec)
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(stream, **codec)
    return grpc.unary_unary_rpc_method_handler(unary, **codec)
