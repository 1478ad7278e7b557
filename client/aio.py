"""The asyncio client (``grpc.aio``) for remote servers: the same calls and records as
:class:`~aalps.client.Client`, awaited.

>>> async with AsyncClient("localhost:50051", token="s3cret") as aalps:   # doctest: +SKIP
...     job = await aalps.submit("evolutionary_optimization")
...     async for snapshot in aalps.watch(job.job_id):
...         print(snapshot.state, snapshot.trials_done)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio
from aalps.client.channels import channel_options, with_default_port
from aalps.client.errors import (
    AalpsClientError,
    error_from_rpc,
    status_from_error,
    strip_field_prefix,
)
from aalps.client.inputs import PlanLike, RequestLike, plan_message, request_message
from aalps.client.remote import auth_metadata
from aalps.client.results import (
    AnalysisReport,
    BatchItem,
    JobInfo,
    JobState,
    OptimizeReport,
    analysis_report_from_proto,
    batch_item_from_proto,
    job_from_proto,
    optimize_report_from_proto,
)
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc

__all__ = ["AsyncClient", "T"]

T = TypeVar("T")


class AsyncClient:
    """An asyncio client of one aalps server. Create it inside a running event loop."""

    def __init__(
        self,
        target: str,
        token: str | None = None,
        timeout: float | None = None,
        *,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        target = with_default_port(target)
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(target, options=channel_options())
        else:
            self._channel = grpc.aio.secure_channel(target, credentials, options=channel_options())
        self._stub = aalps_pb2_grpc.AalpsServiceStub(self._channel)
        self._metadata = auth_metadata(token)
        self._timeout = timeout

    async def _unary(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        try:
            return await method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    async def _stream(
        self, method: Callable[..., Any], request: Any, timeout: float | None
    ) -> AsyncIterator[Any]:
        call = method(request, timeout=timeout, metadata=self._metadata)
        try:
            async for response in call:
                yield response
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None
        finally:
            call.cancel()

    async def optimize(self, request: RequestLike) -> OptimizeReport:
        """Find the cheapest plan for ``request`` (see :meth:`Client.optimize`)."""
        response = await self._unary(self._stub.Optimize, request_message(request))
        return optimize_report_from_proto(response)

    async def analyze(
        self, request: RequestLike, plan: PlanLike, baseline: PlanLike | None = None
    ) -> AnalysisReport:
        """Cost a plan without search (see :meth:`Client.analyze`)."""
        message = pb.AnalyzePlanRequest(request=request_message(request), plan=plan_message(plan))
        if baseline is not None:
            message.baseline.CopyFrom(plan_message(baseline))
        return analysis_report_from_proto(await self._unary(self._stub.AnalyzePlan, message))

    async def batch(
        self,
        requests: Iterable[RequestLike],
        *,
        catalog: Mapping[str, Any] | pb.Catalog | None = None,
    ) -> AsyncIterator[BatchItem]:
        """Outcomes of many requests as each finishes; unreadable ones fail at once.

        ``catalog`` is sent once and replaces every request's own (see :meth:`Client.batch`).
        """
        shared = None
        if catalog is not None:
            from aalps.client.catalog_files import catalog_message

            shared = catalog if isinstance(catalog, pb.Catalog) else catalog_message(catalog)
        messages: list[pb.OptimizeRequest] = []
        positions: list[int] = []
        for index, request in enumerate(requests):
            try:
                messages.append(request_message(request))
                positions.append(index)
            except AalpsClientError as error:
                entry = pb.BatchOptimizeResponse(index=index, error=status_from_error(error))
                yield batch_item_from_proto(entry)
        if not messages:
            return
        message = pb.BatchOptimizeRequest(requests=messages)
        if shared is not None:
            message.catalog.CopyFrom(shared)
        async for entry in self._stream(self._stub.BatchOptimize, message, self._timeout):
            if entry.HasField("error"):
                strip_field_prefix(entry.error, f"requests[{entry.index}].")
            entry.index = positions[entry.index]
            yield batch_item_from_proto(entry)

    async def submit(self, request: RequestLike, *, request_id: str | None = None) -> JobInfo:
        """Start a job; returns it at once (state PENDING). ``request_id`` (default: a
        fresh UUID) makes a retry return the same job (:meth:`Client.submit`)."""
        message = pb.SubmitJobRequest(
            request=request_message(request), request_id=request_id or uuid.uuid4().hex
        )
        return job_from_proto((await self._unary(self._stub.SubmitJob, message)).job)

    async def get_job(self, job_id: str) -> JobInfo:
        """One job, with its result once it has finished."""
        message = pb.GetJobRequest(job_id=job_id)
        return job_from_proto((await self._unary(self._stub.GetJob, message)).job)

    async def watch(self, job_id: str, *, timeout: float | None = None) -> AsyncIterator[JobInfo]:
        """Snapshots of a job until it is final (``timeout`` bounds the whole watch)."""
        message = pb.WatchJobRequest(job_id=job_id)
        async for response in self._stream(self._stub.WatchJob, message, timeout):
            yield job_from_proto(response.job)

    async def cancel(self, job_id: str) -> JobInfo:
        """Ask a job to stop; returns its state."""
        message = pb.CancelJobRequest(job_id=job_id)
        return job_from_proto((await self._unary(self._stub.CancelJob, message)).job)

    async def list_jobs(
        self, state: JobState | str | None = None, page_size: int = 50
    ) -> AsyncIterator[JobInfo]:
        """The caller's jobs, newest first, following page tokens."""
        request = pb.ListJobsRequest(page_size=page_size)
        if state is not None:
            request.state = JobState.number(state)
        while True:
            page = await self._unary(self._stub.ListJobs, request)
            for job in page.jobs:
                yield job_from_proto(job)
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
