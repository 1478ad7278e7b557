"""The gRPC servicer of ``aalps.v1.AalpsService``: thin by design.

Each RPC converts the request, calls the search pool, the job store or the job runner,
and converts the answer back. Domain errors propagate as exceptions and
:mod:`aalps.server.status` turns them into status codes with rich details. The CPU-bound work
(validation with sympy, searches with Optuna, bounds) runs in search processes; store
calls run in threads; so the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from aalps.cost_models.errors import InvalidRequestError
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.aalps.v1 import aalps_pb2_grpc
from aalps.server import workers
from aalps.server.auth import TokenAuth
from aalps.server.batch import optimize_batch
from aalps.server.converters import (
    check_request_caps,
    job_state_from_proto,
    job_to_proto,
    message_to_json,
)
from aalps.server.errors import JobNotFoundError
from aalps.server.jobs import JobRunner
from aalps.server.outcome import Limits
from aalps.server.pool import SearchPool
from aalps.server.status import rpc_errors, rpc_stream_errors
from aalps.server.store import JobRecord, JobStore

Context = grpc.aio.ServicerContext[Any, Any]

#: ListJobs page size when the request says 0, and the largest served.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: Requests one BatchOptimize call may carry.
MAX_BATCH = 10_000
#: How often WatchJob reads the store.
WATCH_INTERVAL_SECONDS = 0.1


class AalpsServicer(aalps_pb2_grpc.AalpsServiceServicer):
    """Implements every RPC of ``aalps.v1.AalpsService``.

    Args:
        store: The job store (opened).
        pool: The search processes.
        jobs: Schedules persisted jobs.
        auth: Says which caller owns a call ("" without auth).
        limits: Caps on one request.
        batch_workers: Requests of one BatchOptimize call in flight at once.
        max_message_bytes: The largest response; a ListJobs page that would exceed half
            of it is sent without the jobs' results (GetJob has them).
    """

    def __init__(
        self,
        *,
        store: JobStore,
        pool: SearchPool,
        jobs: JobRunner,
        auth: TokenAuth,
        limits: Limits,
        batch_workers: int,
        max_message_bytes: int,
    ) -> None:
        self._store = store
        self._pool = pool
        self._jobs = jobs
        self._auth = auth
        self._limits = limits
        self._batch_workers = batch_workers
        self._listing_budget = max_message_bytes // 2

    # --- searches -----------------------------------------------------------------------

    @rpc_errors
    async def Optimize(self, request: pb.OptimizeRequest, context: Context) -> pb.OptimizeResponse:
        self._check_caps(request)
        outcome = await self._pool.run_stoppable(
            workers.optimize_request,
            request.SerializeToString(),
            self._limits,
            "",
            deadline=_deadline(context),
        )
        return pb.OptimizeResponse.FromString(outcome.unwrap())

    @rpc_stream_errors
    async def BatchOptimize(
        self, request: pb.BatchOptimizeRequest, context: Context
    ) -> AsyncIterator[pb.BatchOptimizeResponse]:
        if len(request.requests) > MAX_BATCH:
            raise InvalidRequestError.single(
                "requests", f"has {len(request.requests)} entries; at most {MAX_BATCH} are accepted"
            )
        items = optimize_batch(
            self._pool,
            request.requests,
            self._limits,
            parallel=self._batch_workers,
            deadline=_deadline(context),
        )
        async for item in items:
            yield item

    @rpc_errors
    async def AnalyzePlan(
        self, request: pb.AnalyzePlanRequest, context: Context
    ) -> pb.AnalyzePlanResponse:
        self._check_caps(request.request, field="request")
        outcome = await self._pool.run(
            workers.analyze_request,
            request.SerializeToString(),
            self._limits,
            deadline=_deadline(context),
        )
        return pb.AnalyzePlanResponse.FromString(outcome.unwrap())

    # --- jobs ---------------------------------------------------------------------------

    @rpc_errors
    async def SubmitJob(
        self, request: pb.SubmitJobRequest, context: Context
    ) -> pb.SubmitJobResponse:
        self._check_caps(request.request, field="request")
        outcome = await self._pool.run(
            workers.validate_request,
            request.request.SerializeToString(),
            self._limits,
            "request",
            deadline=_deadline(context),
        )
        outcome.unwrap()
        job = await asyncio.to_thread(
            self._store.create,
            owner=self._auth.owner(context),
            request_json=message_to_json(request.request),
            n_trials=outcome.n_trials,
        )
        self._jobs.submit(job)
        return pb.SubmitJobResponse(job=job_to_proto(job, with_request=True))

    @rpc_errors
    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        job = await self._get(request.job_id, context)
        return pb.GetJobResponse(job=job_to_proto(job, with_request=True))

    @rpc_stream_errors
    async def WatchJob(
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobResponse]:
        last: tuple[object, ...] | None = None
        while True:
            job = await self._get(request.job_id, context)
            seen = (job.state, job.trials_done, job.best_expected_cost, job.cancel_requested)
            if seen != last:
                last = seen
                yield pb.WatchJobResponse(job=job_to_proto(job))
            if job.state.finished:
                return
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)

    @rpc_errors
    async def CancelJob(
        self, request: pb.CancelJobRequest, context: Context
    ) -> pb.CancelJobResponse:
        _require_id(request.job_id)
        owner = self._auth.owner(context)
        job = await asyncio.to_thread(self._store.request_cancel, request.job_id, owner)
        if job is None:
            raise JobNotFoundError(request.job_id)
        self._jobs.stop(job.job_id)
        return pb.CancelJobResponse(job=job_to_proto(job))

    @rpc_errors
    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        if request.page_size < 0:
            raise InvalidRequestError.single("page_size", "must be >= 0")
        page = await asyncio.to_thread(
            self._store.list,
            self._auth.owner(context),
            page_size=min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            page_token=request.page_token,
            state=job_state_from_proto(request.state),
        )
        jobs = [job_to_proto(job) for job in page.jobs]
        if sum(job.ByteSize() for job in jobs) > self._listing_budget:
            for job in jobs:
                job.ClearField("result")
        return pb.ListJobsResponse(jobs=jobs, next_page_token=page.next_page_token)

    # --- helpers ------------------------------------------------------------------------

    def _check_caps(self, request: pb.OptimizeRequest, field: str = "") -> None:
        check_request_caps(
            request,
            max_tasks=self._limits.max_tasks,
            max_models=self._limits.max_models,
            max_trials=self._limits.max_trials,
            field=field,
        )

    async def _get(self, job_id: str, context: Context) -> JobRecord:
        _require_id(job_id)
        job = await asyncio.to_thread(self._store.get, job_id, self._auth.owner(context))
        if job is None:
            raise JobNotFoundError(job_id)
        return job


def _require_id(job_id: str) -> None:
    if not job_id:
        raise InvalidRequestError.single("job_id", "is required")


def _deadline(context: Context) -> float | None:
    """The call's deadline as epoch seconds (None when the client set none)."""
    remaining = context.time_remaining()
    return None if remaining is None else time.time() + remaining
