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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aalps.cost_models.errors import InvalidRequestError
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.server import workers
from aalps.server.errors import DeadlineExceededError, SearchLimitError
from aalps.server.outcome import Limits
from aalps.server.service import ProgressHook
from aalps.server.store import JobRecord, JobStore

if TYPE_CHECKING:
    from aalps.server.pool import SearchPool
    from aalps.server.validation import ValidationPool

__all__ = ["LIMIT_GRACE_SECONDS", "LocalEngine", "LocalJobs", "PoolEngine", "limit_deadline"]

T = TypeVar("T")


#: Seconds past ``max_search_seconds`` a search process gets to return its partial result
#: (the plan's baseline and crossovers are computed after the search stops).
LIMIT_GRACE_SECONDS = 10.0


def limit_deadline(limits: Limits) -> float:
    """When a search call starting now reaches ``limits.max_search_seconds`` (epoch s)."""
    return time.time() + limits.max_search_seconds


def _earliest(deadline: float | None, other: float) -> float:
    return other if deadline is None else min(deadline, other)


def _did_not_stop(limits: Limits, field: str) -> SearchLimitError:
    return SearchLimitError(
        f"{field or 'request'}: the search did not stop within the server's limit of "
        f"{limits.max_search_seconds:g} s (max_search_seconds)",
        limit="max_search_seconds",
    )


class PoolEngine:
    """Validates in the validation processes, then runs each call in a search process.

    A deadline, the server's search limit or a cancelled call stops the search.
    """

    def __init__(self, pool: SearchPool, validation: ValidationPool) -> None:
        self._pool = pool
        self._validation = validation

    async def validate(
        self, request: pb.OptimizeRequest, limits: Limits, field: str, *, deadline: float | None
    ) -> int:
        outcome = await self._validation.run(
            workers.validate_request,
            request.SerializeToString(),
            limits,
            field,
            timeout=limits.validation_seconds,
            field=field or "request",
            deadline=deadline,
        )
        outcome.unwrap()
        return outcome.n_trials

    async def validate_analysis(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> None:
        outcome = await self._validation.run(
            workers.validate_analysis_request,
            request.SerializeToString(),
            limits,
            timeout=limits.validation_seconds,
            field="request",
            deadline=deadline,
        )
        outcome.unwrap()

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
        answer = await self._limited(
            workers.optimize_request, (request.SerializeToString(),), limits, field, deadline
        )
        return pb.OptimizeResponse.FromString(answer)

    async def what_if(
        self,
        before: pb.OptimizeRequest,
        after: pb.OptimizeRequest,
        limits: Limits,
        field: str,
        *,
        deadline: float | None,
    ) -> pb.WhatIfResponse:
        """Both of a workflow's searches in one search process."""
        messages = (before.SerializeToString(), after.SerializeToString())
        answer = await self._limited(workers.what_if_request, messages, limits, field, deadline)
        return pb.WhatIfResponse.FromString(answer)

    async def _limited(
        self,
        function: Any,
        messages: tuple[bytes, ...],
        limits: Limits,
        field: str,
        deadline: float | None,
    ) -> bytes:
        """``function(*messages, limits, field, limit_at)`` in a search process, stopped at
        the search limit (then waited on for a grace period) or the caller's deadline."""
        limit_at = limit_deadline(limits)
        wait = _earliest(deadline, limit_at + LIMIT_GRACE_SECONDS)
        try:
            outcome = await self._pool.run_stoppable(
                function, *messages, limits, field, limit_at, deadline=deadline, wait_deadline=wait
            )
        except DeadlineExceededError:
            if deadline is None or wait < deadline:
                raise _did_not_stop(limits, field) from None
            raise
        answer: bytes = outcome.unwrap()
        return answer

    async def analyze(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> pb.AnalyzePlanResponse:
        """Bounded by the call's deadline and ``limits.max_search_seconds``."""
        wait = _earliest(deadline, limit_deadline(limits))
        try:
            outcome = await self._pool.run(
                workers.analyze_request, request.SerializeToString(), limits, deadline=wait
            )
        except DeadlineExceededError:
            if deadline is None or wait < deadline:
                raise _did_not_stop(limits, "request") from None
            raise
        return pb.AnalyzePlanResponse.FromString(outcome.unwrap())


class LocalEngine:
    """Runs each call in a thread of this process (searches report their progress).

    Validation runs first, in its own thread, under ``limits.validation_seconds``: past it
    the call fails as on a server, but the thread (which cannot be killed) runs on.
    """

    async def validate(
        self, request: pb.OptimizeRequest, limits: Limits, field: str, *, deadline: float | None
    ) -> int:
        return await _in_thread_within(
            limits,
            field or "request",
            workers.validate_message,
            request,
            limits,
            field,
        )

    async def validate_analysis(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> None:
        outcome = await _in_thread_within(
            limits,
            "request",
            workers.validate_analysis_request,
            request.SerializeToString(),
            limits,
        )
        outcome.unwrap()

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
        limit_at = limit_deadline(limits)

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
                limit_at=limit_at,
            )
        finally:
            stop.set()  # the call was cancelled (a closed batch): end its search

    async def what_if(
        self,
        before: pb.OptimizeRequest,
        after: pb.OptimizeRequest,
        limits: Limits,
        field: str,
        *,
        deadline: float | None,
    ) -> pb.WhatIfResponse:
        stop = threading.Event()

        def should_stop() -> bool:
            return stop.is_set() or (deadline is not None and time.time() >= deadline)

        try:
            return await asyncio.to_thread(
                workers.what_if_message,
                before,
                after,
                limits,
                field,
                deadline=deadline,
                should_stop=should_stop,
                limit_at=limit_deadline(limits),
            )
        finally:
            stop.set()

    async def analyze(
        self, request: pb.AnalyzePlanRequest, limits: Limits, *, deadline: float | None
    ) -> pb.AnalyzePlanResponse:
        return await asyncio.to_thread(workers.analyze_message, request, limits)


async def _in_thread_within(limits: Limits, field: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), limits.validation_seconds)
    except TimeoutError:
        raise InvalidRequestError.single(
            field,
            f"validation did not finish within {limits.validation_seconds:g} s "
            "(validation_seconds)",
        ) from None


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

    def submit(self, job: JobRecord, size: int = 0) -> None:
        """Queue the job; ``size`` is ignored (in process, jobs run in submission order)."""
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
            run_stored_job(self._store, job, self._limits, None)
