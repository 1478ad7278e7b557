"""One interceptor that sees every call end: it feeds the metrics and writes the access log.

It is the outermost interceptor, so a call refused by auth or by the decoder is observed
too, with the code the client gets. The code is read from the servicer context once the
handler returns or raises (:func:`aalps.server.status.abort_with` sets it before aborting);
an exception that escapes a handler is UNKNOWN, as gRPC reports it, and a call cancelled
by its client is CANCELLED.

The access log is one line per call on the ``aalps.access`` logger at INFO: method, code,
duration, request size and the caller's hash (a digest of its name; never a token).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.server.auth import TokenAuth
from aalps.server.metrics import ServerMetrics

__all__ = ["ACCESS_LOGGER", "CallObserver", "owner_hash"]

ACCESS_LOGGER = "aalps.access"
_access = logging.getLogger(ACCESS_LOGGER)

Context = grpc.aio.ServicerContext[Any, Any]


def owner_hash(owner: str | None) -> str:
    """A short digest of a caller's name ("-" without auth): logs link calls, not people."""
    if not owner:
        return "-"
    return hashlib.sha256(owner.encode()).hexdigest()[:12]


def _code_name(context: Context, default: grpc.StatusCode) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int):
        for known in grpc.StatusCode:
            if known.value[0] == code:
                return known.name
    return default.name


class CallObserver(grpc.aio.ServerInterceptor):
    """Records each call's method, code and duration (metrics), and logs it (access log).

    Parameters
    ----------
    auth
        Names the caller for the access log's owner hash.
    metrics
        Where calls and searches are counted; None: access log only.
    """

    def __init__(self, auth: TokenAuth, metrics: ServerMetrics | None) -> None:
        self._auth = auth
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        call = _Call(self, handler_call_details)
        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(call.wrap(handler.unary_unary), **codec)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(call.wrap(handler.unary_stream), **codec)
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(call.wrap(handler.stream_unary), **codec)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(call.wrap(handler.stream_stream), **codec)
        return handler

    def finished(
        self, details: grpc.HandlerCallDetails, code: str, seconds: float, size: int
    ) -> None:
        """Count and log one call that has ended."""
        if self._metrics is not None:
            self._metrics.observe_call(details.method, code, seconds)
        owner = self._auth.identify(details.invocation_metadata) if self._auth.enabled else ""
        fields = {
            "method": details.method,
            "code": code,
            "duration_ms": round(seconds * 1000, 3),
            "owner": owner_hash(owner),
            "request_bytes": size,
        }
        _access.info(
            "%s %s %.1fms owner=%s request_bytes=%d",
            details.method,
            code,
            seconds * 1000,
            fields["owner"],
            size,
            extra={"fields": fields},
        )

    def searched(self, response: Any) -> None:
        """Record the search behind a response that carries one."""
        if self._metrics is None:
            return
        stats = None
        if isinstance(response, pb.OptimizeResponse):
            stats = response.stats
        elif isinstance(response, pb.BatchOptimizeResponse) and response.HasField("result"):
            stats = response.result.stats
        if stats is not None:
            self._metrics.observe_search(stats.seconds, stats.trials)


class _Call:
    """Wraps one call's behavior: times it and reports how it ended."""

    def __init__(self, observer: CallObserver, details: grpc.HandlerCallDetails) -> None:
        self._observer = observer
        self._details = details

    def wrap(self, behavior: Callable[..., Any]) -> Callable[[Any, Context], Any]:
        if inspect.isasyncgenfunction(behavior):
            return self._stream(behavior)
        return self._unary(behavior)

    def _end(self, context: Context, start: float, size: int, default: grpc.StatusCode) -> None:
        code = _code_name(context, default)
        self._observer.finished(self._details, code, time.perf_counter() - start, size)

    def _unary(self, behavior: Callable[..., Any]) -> Callable[[Any, Context], Any]:
        async def handle(request: Any, context: Context) -> Any:
            start, size = time.perf_counter(), _size(request)
            ended = grpc.StatusCode.UNKNOWN
            try:
                response = await behavior(request, context)
                ended = grpc.StatusCode.OK
                self._observer.searched(response)
                return response
            except grpc.aio.AbortError:
                raise
            except asyncio.CancelledError:
                ended = grpc.StatusCode.CANCELLED
                raise
            finally:
                self._end(context, start, size, ended)

        return handle

    def _stream(self, behavior: Callable[..., Any]) -> Callable[[Any, Context], Any]:
        async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
            start, size = time.perf_counter(), _size(request)
            ended = grpc.StatusCode.UNKNOWN
            try:
                async for response in behavior(request, context):
                    self._observer.searched(response)
                    yield response
                ended = grpc.StatusCode.OK
            except grpc.aio.AbortError:
                raise
            except (asyncio.CancelledError, GeneratorExit):
                ended = grpc.StatusCode.CANCELLED
                raise
            finally:
                self._end(context, start, size, ended)

        return handle


def _size(request: Any) -> int:
    """The request's serialized size in bytes (-1 for a request stream or bad bytes)."""
    measure = getattr(request, "ByteSize", None)
    return int(measure()) if callable(measure) else -1
