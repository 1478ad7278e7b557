"""Where the service core's work runs: the server's search processes, or this process.

:class:`PoolEngine` hands each call to a search process (:mod:`aalps.server.workers`), so
the server's event loop only moves bytes. :class:`LocalEngine` and :class:`LocalJobs` run
the same functions in threads of this process, over the in-memory store: what
``Client.in_process()`` starts. Either way the rules are those of
:class:`~aalps.server.service.AalpsService`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import TYPE_CHECKING

from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.server import workers
from aalps.server.outcome import Limits
from aalps.server.service import ProgressHook
from aalps.server.store import JobRecord, JobStore

if TYPE_CHECKING:
    from aalps.server.pool import SearchPool

__all__ = ["LocalEngine", "LocalJobs", "PoolEngine"]


class PoolEngine:
    """Runs each call in a search process; a deadline or a cancelled call stops it."""

    def __init__(self, pool: SearchPool) -> None:
        self._pool = pool

    async def validate(self, request: pb.OptimizeRequest, limits: Limits, field: str) -> int:
        outcome = await self._pool.run(
            workers.validate_request, request.SerializeToString(), limits, field
        )
        outcome.unwrap()
        return outcome.n_trials

    async def optimize(
        self,
        request: pb.OptimizeRequest,
        limits: Limits,
        field: str,
        *,
        deadline: float | None,
        progress: ProgressHook | None,
    ) -> pb.OptimizeResponse:
        """A remote search reports no progress (``progress`` is ignored)."""
        outcome = await self._pool.run_stoppable(
            workers.optimize_request,
            request.SerializeToString(),
            limits,
            field,
            deadline=deadline,
        )
        return pb.OptimizeResponse.FromString(outcome.unwrap())

    async def analyze(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> pb.AnalyzePlanResponse:
        outcome = await self._pool.run(
            workers.analyze_request, request.SerializeToString(), limits, deadline=deadline
        )
        return pb.AnalyzePlanResponse.FromString(outcome.unwrap())


class LocalEngine:
    """Runs each call in a thread of this process (searches report their progress)."""

    async def validate(self, request: pb.OptimizeRequest, limits: Limits, field: str) -> int:
        return await asyncio.to_thread(workers.validate_message, request, limits, field)

    async def optimize(
        self,
        request: pb.OptimizeRequest,
        limits: Limits,
        field: str,
        *,
        deadline: float | None,
        progress: ProgressHook | None,
    ) -> pb.OptimizeResponse:
        stop = threading.Event()

        def should_stop() -> bool:
            return stop.is_set() or (deadline is not None and time.time() >= deadline)

        try:
            return await asyncio.to_thread(
                workers.optimize_message,
                request,
                limits,
                field,
                deadline=deadline,
                should_stop=should_stop,
                progress=progress,
            )
        finally:
            stop.set()  # the call was cancelled (a closed batch): end its search

    async def analyze(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> pb.AnalyzePlanResponse:
        return await asyncio.to_thread(workers.analyze_message, request, limits)


class LocalJobs:
    """Runs jobs one at a time, in submission order, on one daemon thread.

    Searches are CPU-bound: several in threads would only interleave. A cancel reaches a
    running search through the store's cancel flag. Nothing outlives the process: for
    persisted, restartable jobs run ``aalps serve``.
    """

    def __init__(self, store: JobStore, limits: Limits) -> None:
        self._store = store
        self._limits = limits
        self._queue: queue.Queue[JobRecord | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: JobRecord) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="aalps-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job)

    def stop(self, job_id: str) -> None:
        """Nothing to wake: the running search polls the store's cancel flag."""

    def close(self) -> None:
        """Let the thread end once the queue is drained."""
        self._queue.put(None)

    def _work(self) -> None:
        from aalps.server.job_worker import run_stored_job

        while (job := self._queue.get()) is not None:
            run_stored_job(self._store, job.job_id, job.attempts, self._limits, None)
