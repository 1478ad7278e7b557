"""Undecodable request bytes get INVALID_ARGUMENT, not gRPC's generic UNKNOWN.

gRPC deserializes a request before any servicer code runs, and reports a parse failure as
UNKNOWN ("Unexpected DecodeError"). This interceptor wraps each handler's deserializer so
that a failure becomes a marker, and the handler answers the marker with INVALID_ARGUMENT
and a BadRequest detail, like every other bad input.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from aalps.cost_models.errors import InvalidRequestError
from aalps.server.status import abort_with, status_for
from google.protobuf.message import DecodeError

__all__ = ["Context", "DecodeErrorInterceptor"]

Context = grpc.aio.ServicerContext[Any, Any]


class _Undecodable:
    """Stands for a request whose bytes did not parse."""

    def __init__(self, error: DecodeError) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError as error:
            return _Undecodable(error)

    return parse


async def _reject(request: _Undecodable, context: Context) -> None:
    error = InvalidRequestError.single(
        "", f"the request bytes are not a valid message of this method: {request.error}"
    )
    await abort_with(context, status_for(error))


class DecodeErrorInterceptor(grpc.aio.ServerInterceptor):
    """Answers undecodable unary requests to ``service`` with INVALID_ARGUMENT.

    Other services (health, reflection) keep gRPC's own handling.
    """

    def __init__(self, service: str) -> None:
        self._prefix = f"/{service}/"

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if (
            handler is None
            or handler.request_streaming
            or not handler_call_details.method.startswith(self._prefix)
        ):
            return handler
        codec = {
            "request_deserializer": _tolerant(handler.request_deserializer),
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary), **codec)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(_stream(handler.unary_stream), **codec)
        return handler


def _unary(behavior: Callable[..., Any]) -> Callable[[Any, Context], Any]:
    async def handle(request: Any, context: Context) -> Any:
        if isinstance(request, _Undecodable):
            await _reject(request, context)
        return await behavior(request, context)

    return handle


def _stream(behavior: Callable[..., Any]) -> Callable[[Any, Context], Any]:
    if not inspect.isasyncgenfunction(behavior):  # writes with context.write()
        return _unary(behavior)

    async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
        if isinstance(request, _Undecodable):
            await _reject(request, context)
        async for item in behavior(request, context):
            yield item

    return handle
