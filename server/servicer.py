"""The gRPC servicer of ``aalps.v1.AalpsService``: a thin adapter over the service core.

Each RPC converts the request, calls :class:`~aalps.server.service.AalpsService`, and
converts the answer back. Domain errors propagate as exceptions and
:mod:`aalps.server.status` turns them into status codes with rich details. The rules (caps,
paging, deadlines, job life cycle, batch isolation) are the core's, shared with
``Client.in_process()``; the CPU-bound work runs in search processes
(:class:`~aalps.server.engines.PoolEngine`), so the event loop only moves bytes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.proto.convert import batch_requests
from aalps.server.auth import TokenAuth
from aalps.server.job_messages import job_state_from_proto, job_to_proto
from aalps.server.service import AalpsService
from aalps.server.status import rpc_errors, rpc_stream_errors, status_for

__all__ = ["AalpsServicer"]

Context = grpc.aio.ServicerContext[Any, Any]


class AalpsServicer(aalps_pb2_grpc.AalpsServiceServicer):
    """Implements every RPC of ``aalps.v1.AalpsService`` on the service core.

    Parameters
    ----------
    service
        The service core (store, engine, job runner, limits).
    auth
        Says which caller owns a call ("" without auth).
    max_message_bytes
        The largest response; a ListJobs page that would exceed half
        of it is sent without the jobs' results (GetJob has them).
    """

    def __init__(self, *, service: AalpsService, auth: TokenAuth, max_message_bytes: int) -> None:
        self._service = service
        self._auth = auth
        self._listing_budget = max_message_bytes // 2

    # --- searches -----------------------------------------------------------------------

    @rpc_errors
    async def Optimize(self, request: pb.OptimizeRequest, context: Context) -> pb.OptimizeResponse:
        return await self._service.optimize(request, deadline=_deadline(context))

    @rpc_stream_errors
    async def BatchOptimize(
        self, request: pb.BatchOptimizeRequest, context: Context
    ) -> AsyncIterator[pb.BatchOptimizeResponse]:
        entries = self._service.batch(batch_requests(request), deadline=_deadline(context))
        async for entry in entries:
            if entry.error is not None:
                yield pb.BatchOptimizeResponse(index=entry.index, error=status_for(entry.error))
            else:
                yield pb.BatchOptimizeResponse(index=entry.index, result=entry.response)

    @rpc_stream_errors
    async def WhatIf(
        self, request: pb.WhatIfRequest, context: Context
    ) -> AsyncIterator[pb.WhatIfResponse]:
        async for entry in self._service.what_if(request, deadline=_deadline(context)):
            yield entry

    @rpc_errors
    async def AnalyzePlan(
        self, request: pb.AnalyzePlanRequest, context: Context
    ) -> pb.AnalyzePlanResponse:
        return await self._service.analyze(request, deadline=_deadline(context))

    # --- jobs ---------------------------------------------------------------------------

    @rpc_errors
    async def SubmitJob(
        self, request: pb.SubmitJobRequest, context: Context
    ) -> pb.SubmitJobResponse:
        owner = self._auth.owner(context)
        job = await self._service.submit_job(
            owner, request.request, deadline=_deadline(context), request_id=request.request_id
        )
        return pb.SubmitJobResponse(job=job_to_proto(job, with_request=True))

    @rpc_errors
    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        job = await self._service.get_job(self._auth.owner(context), request.job_id)
        return pb.GetJobResponse(job=job_to_proto(job, with_request=True))

    @rpc_stream_errors
    async def WatchJob(
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobResponse]:
        async for job in self._service.watch_job(self._auth.owner(context), request.job_id):
            yield pb.WatchJobResponse(job=job_to_proto(job))

    @rpc_errors
    async def CancelJob(
        self, request: pb.CancelJobRequest, context: Context
    ) -> pb.CancelJobResponse:
        job = await self._service.cancel_job(self._auth.owner(context), request.job_id)
        return pb.CancelJobResponse(job=job_to_proto(job))

    @rpc_errors
    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        page = await self._service.list_jobs(
            self._auth.owner(context),
            page_size=request.page_size,
            page_token=request.page_token,
            state=job_state_from_proto(request.state),
        )
        jobs = [job_to_proto(job) for job in page.jobs]
        if sum(job.ByteSize() for job in jobs) > self._listing_budget:
            for job in jobs:
                job.ClearField("result")
        return pb.ListJobsResponse(jobs=jobs, next_page_token=page.next_page_token)


def _deadline(context: Context) -> float | None:
    """The call's deadline as epoch seconds (None when the client set none)."""
    remaining = context.time_remaining()
    return None if remaining is None else time.time() + remaining
