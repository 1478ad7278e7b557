"""The remote backend: the generated gRPC stub, with bearer-token metadata and typed errors.

The channel (target port, retries, keepalive, TLS) is :mod:`aalps.client.channels`'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
from aalps.client.backend import ProgressCallback
from aalps.client.channels import MAX_MESSAGE_BYTES, channel_options, with_default_port
from aalps.client.errors import error_from_rpc
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc

__all__ = ["MAX_MESSAGE_BYTES", "RemoteBackend", "T", "auth_metadata", "channel_options"]

T = TypeVar("T")


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries a bearer token (none without a token)."""
    return (("authorization", f"Bearer {token}"),) if token else ()


class RemoteBackend:
    """Calls an aalps server over one channel.

    The token travels as call metadata (``authorization: Bearer <token>``) rather than as
    call credentials, so that it also works over a plaintext loopback channel. A target
    without a port gets aalps' (50051).
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.target = target = with_default_port(target)
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=channel_options())
        else:
            self._channel = grpc.secure_channel(target, credentials, options=channel_options())
        self._stub = aalps_pb2_grpc.AalpsServiceStub(self._channel)
        self._metadata = auth_metadata(token)

    def _unary(self, method: Callable[..., T], request: Any, timeout: float | None) -> T:
        try:
            return method(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    def _stream(
        self, method: Callable[..., Any], request: Any, timeout: float | None
    ) -> Iterator[Any]:
        call = method(request, timeout=timeout, metadata=self._metadata)
        try:
            yield from call
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None
        finally:
            call.cancel()  # a no-op once the stream has ended; stops it if we left early

    def optimize(
        self,
        request: pb.OptimizeRequest,
        *,
        timeout: float | None,
        progress: ProgressCallback | None,
    ) -> pb.OptimizeResponse:
        """Optimize is unary: a remote search reports no progress (use a job to watch one)."""
        return self._unary(self._stub.Optimize, request, timeout)

    def analyze(
        self, request: pb.AnalyzePlanRequest, *, timeout: float | None
    ) -> pb.AnalyzePlanResponse:
        return self._unary(self._stub.AnalyzePlan, request, timeout)

    def batch(
        self, request: pb.BatchOptimizeRequest, *, timeout: float | None
    ) -> Iterator[pb.BatchOptimizeResponse]:
        return self._stream(self._stub.BatchOptimize, request, timeout)

    def what_if(
        self, request: pb.WhatIfRequest, *, timeout: float | None
    ) -> Iterator[pb.WhatIfResponse]:
        return self._stream(self._stub.WhatIf, request, timeout)

    def submit(
        self, request: pb.SubmitJobRequest, *, timeout: float | None
    ) -> pb.SubmitJobResponse:
        return self._unary(self._stub.SubmitJob, request, timeout)

    def get_job(self, request: pb.GetJobRequest, *, timeout: float | None) -> pb.GetJobResponse:
        return self._unary(self._stub.GetJob, request, timeout)

    def watch(
        self, request: pb.WatchJobRequest, *, timeout: float | None
    ) -> Iterator[pb.WatchJobResponse]:
        return self._stream(self._stub.WatchJob, request, timeout)

    def cancel(
        self, request: pb.CancelJobRequest, *, timeout: float | None
    ) -> pb.CancelJobResponse:
        return self._unary(self._stub.CancelJob, request, timeout)

    def list_jobs(
        self, request: pb.ListJobsRequest, *, timeout: float | None
    ) -> pb.ListJobsResponse:
        return self._unary(self._stub.ListJobs, request, timeout)

    def close(self) -> None:
        self._channel.close()
