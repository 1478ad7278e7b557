"""The in-process backend: the service core itself, run in this process.

``Client.in_process()`` starts an :class:`~aalps.server.service.AalpsService` over the
in-memory job store, a :class:`~aalps.server.engines.LocalEngine` (searches in threads of
this process) and :class:`~aalps.server.engines.LocalJobs` (jobs one at a time on a
thread): the same rules as a server (caps, paging, deadlines, job life cycle, batch
isolation), run on a private event loop. Failures become the client's typed errors through
the server's own status mapping, so in-process and remote callers catch the same classes.
Jobs live as long as the process and are meant for scripts and tests; persisted jobs need
a server. This module is the client's one import of :mod:`aalps.server` besides ``aalps
serve``: it starts a service.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from aalps.client.backend import ProgressCallback
from aalps.client.batch_pool import BatchProcessEngine, EntryFailed, start_forkserver
from aalps.client.errors import AalpsClientError, error_from_status
from aalps.client.results import Progress
from aalps.proto.aalps.v1 import aalps_pb2 as pb

T = TypeVar("T")

__all__ = ["POOL_MIN_REQUESTS", "InProcessBackend", "prepare_batch"]

#: By default a batch of at least this many requests runs in the pool of processes.
POOL_MIN_REQUESTS = 64


def prepare_batch(count: int) -> None:
    """Start the pool's forkserver now when a default backend will run a batch of ``count``
    requests in its pool: it imports the search while the caller reads the requests
    (``aalps batch`` reads its files after this)."""
    if count >= POOL_MIN_REQUESTS and (os.cpu_count() or 1) > 1:
        start_forkserver()


def _epoch_deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.time() + timeout


class InProcessBackend:
    """Runs every call on the service core in this process; jobs are kept in memory."""

    def __init__(self, *, batch_processes: int | None = None) -> None:
        """``batch_processes``: processes a batch's searches run in (default: one per core;
        1 runs them one after another in this process)."""
        from aalps.server.config import ServerConfig
        from aalps.server.engines import LocalEngine, LocalJobs
        from aalps.server.service import AalpsService
        from aalps.server.store_memory import InMemoryJobStore

        limits = ServerConfig().limits
        store = InMemoryJobStore()
        self._jobs = LocalJobs(store, limits)
        self._service = AalpsService(
            store=store, engine=LocalEngine(), jobs=self._jobs, limits=limits
        )
        processes = max(1, batch_processes or os.cpu_count() or 1)
        # By default the pool serves batches large enough to repay its processes' start-up
        # (imports and warm caches in each, seconds of CPU); asked for, it serves any batch.
        self._pool_from = 2 if batch_processes is not None else POOL_MIN_REQUESTS
        self._batch_engine = BatchProcessEngine(processes) if processes > 1 else None
        if self._batch_engine is not None and batch_processes is not None:
            start_forkserver()  # a pool asked for: its imports begin now, in the background
        # The same rules for a batch (caps, isolation, completion order), searched in a pool;
        # two requests in flight per process: each finds its next one queued as it finishes.
        self._batch_service = (
            AalpsService(
                store=store,
                engine=self._batch_engine,  # type: ignore[arg-type]
                jobs=self._jobs,
                limits=limits,
                batch_workers=processes * 2,
            )
            if self._batch_engine is not None
            else self._service
        )
        self._loop = asyncio.new_event_loop()
        # A daemon thread: jobs stay readable after close (a watch sees them end).
        thread = threading.Thread(target=self._loop.run_forever, name="aalps-core", daemon=True)
        thread.start()

    # --- running the core's coroutines --------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one of the core's coroutines; its domain errors as the client's typed errors."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except (AalpsClientError, StopAsyncIteration):
            raise
        except Exception as error:
            from aalps.server.status import status_for

            raise error_from_status(status_for(error)) from error
        except BaseException:  # Ctrl-C: stop the call too
            future.cancel()
            raise

    def _iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        """A sync iterator over one of the core's streams; leaving early closes it."""

        async def step() -> T:
            return await anext(stream)

        async def close() -> None:
            await stream.aclose()  # type: ignore[attr-defined]

        try:
            while True:
                try:
                    item = self._call(step())
                except StopAsyncIteration:
                    return
                yield item
        finally:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result()

    # --- the calls ----------------------------------------------------------------------

    def optimize(
        self,
        request: pb.OptimizeRequest,
        *,
        timeout: float | None,
        progress: ProgressCallback | None,
    ) -> pb.OptimizeResponse:
        """The server's Optimize, reporting the search's progress (in process only)."""

        def report(update: Any) -> None:
            assert progress is not None
            best = update.best_expected_cost
            progress(
                Progress(
                    trials_done=int(update.trials_done),
                    n_trials=int(update.n_trials),
                    best_expected_cost=(
                        float(best) if best is not None and math.isfinite(best) else None
                    ),
                )
            )

        return self._call(
            self._service.optimize(
                request, deadline=_epoch_deadline(timeout), progress=report if progress else None
            )
        )

    def analyze(
        self, request: pb.AnalyzePlanRequest, *, timeout: float | None
    ) -> pb.AnalyzePlanResponse:
        return self._call(self._service.analyze(request, deadline=_epoch_deadline(timeout)))

    def batch(
        self, request: pb.BatchOptimizeRequest, *, timeout: float | None
    ) -> Iterator[pb.BatchOptimizeResponse]:
        """Every request's entry as it finishes; in a pool of processes
        (:mod:`aalps.client.batch_pool`) when ``batch_processes`` allows and the batch is
        large enough (:data:`POOL_MIN_REQUESTS` by default, two when asked for). The shared
        ``catalog``, if any, replaces each request's own."""
        from aalps.proto.convert import batch_requests
        from aalps.server.status import status_for

        pooled = len(request.requests) >= self._pool_from
        service = self._batch_service if pooled else self._service
        stream = service.batch(batch_requests(request), deadline=_epoch_deadline(timeout))
        for entry in self._iterate(stream):
            if isinstance(entry.error, EntryFailed):
                yield pb.BatchOptimizeResponse(index=entry.index, error=entry.error.status)
            elif entry.error is not None:
                yield pb.BatchOptimizeResponse(index=entry.index, error=status_for(entry.error))
            else:
                yield pb.BatchOptimizeResponse(index=entry.index, result=entry.response)

    def what_if(
        self, request: pb.WhatIfRequest, *, timeout: float | None
    ) -> Iterator[pb.WhatIfResponse]:
        """The server's WhatIf; in the pool of processes, as :meth:`batch`, for as many
        workflows."""
        pooled = len(request.requests) >= self._pool_from
        service = self._batch_service if pooled else self._service
        yield from self._iterate(service.what_if(request, deadline=_epoch_deadline(timeout)))

    def submit(
        self, request: pb.SubmitJobRequest, *, timeout: float | None
    ) -> pb.SubmitJobResponse:
        from aalps.server.job_messages import job_to_proto

        job = self._call(
            self._service.submit_job(
                "",
                request.request,
                deadline=_epoch_deadline(timeout),
                request_id=request.request_id,
            )
        )
        return pb.SubmitJobResponse(job=job_to_proto(job, with_request=True))

    def get_job(self, request: pb.GetJobRequest, *, timeout: float | None) -> pb.GetJobResponse:
        from aalps.server.job_messages import job_to_proto

        job = self._call(self._service.get_job("", request.job_id))
        return pb.GetJobResponse(job=job_to_proto(job, with_request=True))

    def watch(
        self, request: pb.WatchJobRequest, *, timeout: float | None
    ) -> Iterator[pb.WatchJobResponse]:
        from aalps.server.job_messages import job_to_proto

        stream = self._service.watch_job("", request.job_id, deadline=_epoch_deadline(timeout))
        for job in self._iterate(stream):
            yield pb.WatchJobResponse(job=job_to_proto(job))

    def cancel(
        self, request: pb.CancelJobRequest, *, timeout: float | None
    ) -> pb.CancelJobResponse:
        from aalps.server.job_messages import job_to_proto

        job = self._call(self._service.cancel_job("", request.job_id))
        return pb.CancelJobResponse(job=job_to_proto(job))

    def list_jobs(
        self, request: pb.ListJobsRequest, *, timeout: float | None
    ) -> pb.ListJobsResponse:
        from aalps.server.job_messages import job_state_from_proto, job_to_proto

        async def page() -> Any:
            return await self._service.list_jobs(
                "",
                page_size=request.page_size,
                page_token=request.page_token,
                state=job_state_from_proto(request.state),
            )

        result = self._call(page())
        jobs = [job_to_proto(job) for job in result.jobs]
        return pb.ListJobsResponse(jobs=jobs, next_page_token=result.next_page_token)

    def close(self, *, wait: bool = False) -> None:
        """Cancel every unfinished job and let the job thread end; stop the batch processes
        (``wait``: until they have exited, so that their CPU time is counted)."""
        from aalps.server.store import JobFinishedError

        for job in self._service.store.unfinished():
            try:
                self._call(self._service.cancel_job(job.owner, job.job_id))
            except AalpsClientError as error:
                if not isinstance(error.__cause__, JobFinishedError):
                    raise
        self._jobs.close()
        if self._batch_engine is not None:
            self._batch_engine.close(wait=wait)
